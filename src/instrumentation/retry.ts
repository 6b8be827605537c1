/**
 * {@linkcode withRetry}: retries an operation with exponential backoff and
 * records each retry as a `retry.attempted` event on the current span and the
 * metric `retry_count`, so flaky calls show in the trace that suffered them.
 *
 * @module
 */
import type { TelemetryManager } from "../manager.ts";
import { toSpanError } from "../model/span.ts";
import { EventType, MetricKind } from "../model/types.ts";

/** Options of {@linkcode withRetry}. */
export interface RetryOptions {
  /** What is retried, recorded as the event's `operation`. @default {"operation"} */
  operation?: string;
  /** Attempts in all, the first included. @default {3} */
  attempts?: number;
  /** Delay before the first retry, in milliseconds. @default {100} */
  baseDelayMs?: number;
  /** Factor by which the delay grows per retry. @default {2} */
  factor?: number;
  /** Upper bound of a delay, in milliseconds. @default {10000} */
  maxDelayMs?: number;
  /**
   * Returns a number in [0, 1) to spread delays (full jitter: the delay is
   * scaled by it); pass a seeded generator for reproducible runs.
   * @default {no jitter}
   */
  random?: () => number;
  /** Decides whether an error is worth retrying. @default {every error} */
  retryOn?: (error: unknown, attempt: number) => boolean;
}

/**
 * Calls `fn` until it succeeds or `attempts` run out, waiting with
 * exponential backoff between attempts. Before each retry it records a
 * `retry.attempted` event on the current span with `operation`, `attempt`
 * (the attempt that failed, from 1), `max_attempts`, `delay_ms`, `error` and
 * `error_type`, and the metric `retry_count`. The last error is rethrown.
 *
 * @param manager The telemetry manager.
 * @param fn The operation; receives the attempt number, from 1.
 * @param options Attempts, backoff and which errors to retry.
 * @returns What `fn` returns once it succeeds.
 * @throws {RangeError} When `attempts` is not a whole number >= 1.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager, withRetry } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const result = await withRetry(manager, (attempt) => {
 *   if (attempt < 3) throw new Error("flaky");
 *   return Promise.resolve("done");
 * }, { operation: "fetch_page", baseDelayMs: 1 });
 * assert.equal(result, "done");
 * await manager.flush();
 * const retries = await manager.queryEvents({ eventType: "retry.attempted" });
 * assert.equal(retries.length, 2);
 * ```
 */
export async function withRetry<T>(
  manager: TelemetryManager,
  fn: (attempt: number) => Promise<T>,
  options: RetryOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 3;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`Cannot retry: attempts must be a whole number >= 1, got ${attempts}`);
  }
  const operation = options.operation ?? "operation";
  const base = options.baseDelayMs ?? 100;
  const factor = options.factor ?? 2;
  const max = options.maxDelayMs ?? 10_000;
  for (let attempt = 1;; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (attempt >= attempts || (options.retryOn && !options.retryOn(error, attempt))) throw error;
      const backoff = Math.min(max, base * factor ** (attempt - 1));
      const delayMs = options.random ? backoff * options.random() : backoff;
      const { type, message } = toSpanError(error);
      // The current span and trace (from async context) own the event.
      manager.recordEvent(EventType.RETRY_ATTEMPTED, `${operation} retry ${attempt}`, {
        attributes: {
          operation,
          attempt,
          max_attempts: attempts,
          delay_ms: delayMs,
          error: message,
          error_type: type,
        },
      });
      manager.recordMetric("retry_count", 1, {
        kind: MetricKind.COUNTER,
        attributes: { operation, error_type: type },
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
