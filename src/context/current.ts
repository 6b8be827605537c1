/**
 * The one place instrumentation reads the current trace and span from the
 * async context kept by `context.ts`.
 *
 * @module
 */
import { getCurrentContext } from "./context.ts";

/** The current trace and span ids. */
export interface CurrentIds {
  /** The current trace. */
  traceId: string;
  /** The current span, or `null` at the top of a trace. */
  spanId: string | null;
}

/** Returns the current trace and span ids, or `null` outside any trace. */
export function currentIds(): CurrentIds | null {
  const context = getCurrentContext();
  if (context === undefined) return null;
  return { traceId: context.traceId, spanId: context.spanId };
}
