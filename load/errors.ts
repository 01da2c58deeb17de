/**
 * The one error type of the load tooling (generate.ts, harness.ts), with a kind that says which
 * step failed. Threshold failures are not errors: they are results, reported in the summary and
 * by the harness's exit code.
 *
 * @module
 */

/** Which step failed: arguments, payload files, or an HTTP exchange outside the measured run. */
export type LoadErrorKind = 'config' | 'payloads' | 'http';

/**
 * @example
 * ```ts
 * throw new LoadError('config', '--rate-scale: expected a positive number');
 * ```
 */
export class LoadError extends Error {
  override readonly name = 'LoadError';

  constructor(
    readonly kind: LoadErrorKind,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Whether `e` is a {@link LoadError}.
 *
 * @example
 * ```ts
 * if (isLoadError(e) && e.kind === 'payloads') hint();
 * ```
 */
export function isLoadError(e: unknown): e is LoadError {
  return e instanceof LoadError;
}
