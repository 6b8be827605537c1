/**
 * A delay that an abort signal cuts short, for retry backoff that must not
 * hold up `close()`.
 *
 * @module
 */

/**
 * Resolves after `ms` milliseconds, or at once when `signal` aborts (never
 * rejects).
 *
 * @param ms The delay.
 * @param signal Ends the wait early.
 * @returns A promise that resolves when the wait is over.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
