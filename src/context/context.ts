/**
 * The current trace and span, carried through async calls with
 * `AsyncLocalStorage`, so that concurrent runs never mix their parents.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

/** The trace and span that new spans, events and metrics attach to. */
export interface TelemetryContext {
  /** The current trace. */
  readonly traceId: string;
  /** The current span, or `null` directly under the trace. */
  readonly spanId: string | null;
}

// One storage for the whole process: a trace id means the same trace to every
// manager, so independent managers can share it.
const storage = new AsyncLocalStorage<TelemetryContext>();

/**
 * Returns the current trace and span, or `undefined` outside any.
 *
 * @returns The context set by the innermost enclosing `withTrace`/`withSpan`.
 *
 * @example
 * ```ts
 * import { getCurrentContext, runWithContext } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(getCurrentContext(), undefined);
 * const traceId = "0af7651916cd43dd8448eb211c80319c";
 * await runWithContext({ traceId, spanId: null }, async () => {
 *   await Promise.resolve();
 *   assert.equal(getCurrentContext()?.traceId, traceId);
 * });
 * ```
 */
export function getCurrentContext(): TelemetryContext | undefined {
  return storage.getStore();
}

/**
 * Runs `fn` with `context` as the current trace and span, for `fn` and every
 * async continuation it starts.
 *
 * @param context The trace and span to make current.
 * @param fn The function to run.
 * @returns What `fn` returns.
 */
export function runWithContext<T>(context: TelemetryContext, fn: () => T): T {
  return storage.run(context, fn);
}
