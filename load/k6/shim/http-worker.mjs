/**
 * The HTTP side of ./k6.mjs: does one fetch per message and wakes the waiting main thread.
 *
 * @module
 */
import { parentPort } from 'node:worker_threads';

parentPort.on('message', async ({ method, url, body, headers, timeoutMs, flag, port }) => {
  let reply;
  try {
    const res = await fetch(url, { method, headers, ...(body ? { body } : {}), signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    reply = { status: res.status, headers: [...res.headers] };
  } catch (e) {
    reply = { status: 0, headers: [], error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
  port.close();
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
