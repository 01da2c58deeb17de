/**
 * Slot clock (PROTOCOL.md §3.2): wall-clock slots of configurable length over an injectable time
 * source.
 *
 * Primer: every timed action of a node happens at a slot boundary — leadership checks at the
 * start of slot s, the earliest vote at `T(s + 3·L_hdr)`, the certification horizon at
 * `T(s + 14)` — so the node is driven by one "slot started" callback plus the messages it
 * receives. The time source is injected so that tests and devnets can run 100–200 ms slots on
 * the real clock ({@link SystemTime}) or step time deterministically ({@link ManualTime}), in
 * which case {@link ManualTime.advanceTo} runs every due timer to completion, in time order,
 * before it returns.
 *
 * Missed slots (a paused process) are not replayed: producing a block for a slot that has passed
 * is pointless, so the clock delivers only the current slot and counts the skipped ones.
 *
 * @module
 */
import type { Epoch, Slot } from '@leios/shared/types';

/** A cancellable timer. */
export interface TimerHandle {
  cancel(): void;
}

/** Where time comes from: Unix milliseconds and one-shot timers at absolute times. */
export interface TimeSource {
  /** Current Unix time in milliseconds. */
  now(): number;
  /** Run `fn` once `now() >= atMs`. A returned promise is awaited by {@link ManualTime}. */
  at(atMs: number, fn: () => void | Promise<void>): TimerHandle;
}

/**
 * The real clock (`Date.now` + `setTimeout`). Errors thrown by a timer callback are passed to
 * `onError` (never swallowed).
 *
 * @example
 * ```ts
 * const time = new SystemTime((e) => log.error(e));
 * ```
 */
export class SystemTime implements TimeSource {
  constructor(private readonly onError: (e: unknown) => void = (e) => queueMicrotask(() => { throw e; })) {}
  now(): number {
    return Date.now();
  }
  at(atMs: number, fn: () => void | Promise<void>): TimerHandle {
    const t = setTimeout(
      () => {
        try {
          const r = fn();
          if (r instanceof Promise) r.catch(this.onError);
        } catch (e) {
          this.onError(e);
        }
      },
      Math.max(0, atMs - Date.now()),
    );
    return { cancel: () => clearTimeout(t) };
  }
}

interface ManualTimer {
  atMs: number;
  seq: number;
  fn: () => void | Promise<void>;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. Timers due at the same time run in creation order.
 *
 * @example
 * ```ts
 * const time = new ManualTime(Date.parse('2026-11-24T00:00:00Z'));
 * const clock = new SlotClock({ systemStartMs: time.now(), slotLengthMs: 100, epochLength: 1200 }, time);
 * clock.onSlot(async (s) => { … });
 * clock.start();
 * await time.advanceTo(time.now() + 1000); // runs slots 1..10
 * ```
 */
export class ManualTime implements TimeSource {
  private t: number;
  private seq = 0;
  private timers: ManualTimer[] = [];
  constructor(startMs: number) {
    this.t = startMs;
  }
  now(): number {
    return this.t;
  }
  at(atMs: number, fn: () => void | Promise<void>): TimerHandle {
    const timer: ManualTimer = { atMs, seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }
  /** Number of pending (not cancelled) timers. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
  /** Move time to `targetMs`, running (and awaiting) each due timer in time order. */
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.atMs <= targetMs && (!next || t.atMs < next.atMs || (t.atMs === next.atMs && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers.splice(this.timers.indexOf(next), 1);
      if (next.atMs > this.t) this.t = next.atMs;
      await next.fn();
    }
    if (targetMs > this.t) this.t = targetMs;
  }
  /** Move time forward without running timers (a paused process); they run at the next advance. */
  jump(ms: number): void {
    this.t += ms;
  }
  /** `advanceTo(now + ms)`. */
  advance(ms: number): Promise<void> {
    return this.advanceTo(this.t + ms);
  }
}

/** The time parameters of a network (from genesis, PROTOCOL.md §3.1). */
export interface SlotTiming {
  /** `systemStart` in Unix milliseconds. */
  readonly systemStartMs: number;
  readonly slotLengthMs: number;
  /** Slots per epoch, E. */
  readonly epochLength: number;
}

/** Handler for "slot s has started". */
export type SlotHandler = (slot: Slot) => void | Promise<void>;

/**
 * Slot arithmetic and a per-slot tick.
 *
 * @example
 * ```ts
 * const clock = new SlotClock(timing, new SystemTime());
 * clock.onSlot((s) => node.onSlot(s));
 * clock.start();
 * ```
 */
export class SlotClock {
  private handlers: SlotHandler[] = [];
  private timer: TimerHandle | undefined;
  private lastSlot = -1;
  /** Slots that passed without a tick (process paused or a handler overran). */
  skippedSlots = 0;

  constructor(
    readonly timing: SlotTiming,
    readonly time: TimeSource,
  ) {
    if (!Number.isSafeInteger(timing.slotLengthMs) || timing.slotLengthMs < 1) {
      throw new RangeError('slotLengthMs must be a positive integer');
    }
    if (!Number.isSafeInteger(timing.epochLength) || timing.epochLength < 1) {
      throw new RangeError('epochLength must be a positive integer');
    }
  }

  /** `T(s)`: the start of slot s in Unix ms. @example `clock.slotStart(10 as Slot)` */
  slotStart(slot: number): number {
    return this.timing.systemStartMs + slot * this.timing.slotLengthMs;
  }
  /** `slot(t)`; negative before systemStart. @example `clock.slotAt(Date.now())` */
  slotAt(ms: number): number {
    return Math.floor((ms - this.timing.systemStartMs) / this.timing.slotLengthMs);
  }
  /** The current slot (clamped at 0 before systemStart). */
  currentSlot(): Slot {
    return Math.max(0, this.slotAt(this.time.now())) as Slot;
  }
  /** `epoch(s) = floor(s / E)`. */
  epochOf(slot: number): Epoch {
    return Math.floor(slot / this.timing.epochLength) as Epoch;
  }
  /** First slot of epoch e. */
  epochStart(epoch: number): Slot {
    return (epoch * this.timing.epochLength) as Slot;
  }
  /** Seconds since systemStart (trace `time_s`, PROTOCOL.md §14.1). */
  timeS(ms: number = this.time.now()): number {
    return (ms - this.timing.systemStartMs) / 1000;
  }

  /** Register a slot handler (called in registration order, awaited one after another). */
  onSlot(handler: SlotHandler): void {
    this.handlers.push(handler);
  }

  /** Start ticking at the next slot boundary (slot 0 at systemStart if that is in the future). */
  start(): void {
    if (this.timer) return;
    const now = this.time.now();
    const next = Math.max(0, this.slotAt(now) + 1);
    this.schedule(next);
  }

  /** Stop ticking. */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  private schedule(slot: number): void {
    this.timer = this.time.at(this.slotStart(slot), async () => {
      // Deliver the slot that is current now; count the ones we slept through.
      const now = Math.max(slot, this.slotAt(this.time.now()));
      if (this.lastSlot >= 0 && now > this.lastSlot + 1) this.skippedSlots += now - this.lastSlot - 1;
      this.lastSlot = now;
      if (this.timer) this.schedule(now + 1);
      for (const h of this.handlers) await h(now as Slot);
    });
  }
}
