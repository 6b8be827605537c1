/**
 * The error classes shared by the query compiler, the backends and the
 * pipeline, in one module below all of them, so that nothing imports upward
 * to reach an error class. Errors that cross the worker boundary carry a
 * stable string `code`, because structured clone drops subclasses.
 *
 * @module
 */
import { defaultTransient } from "./transient.ts";

/**
 * Stable codes of errors that cross the worker boundary. `"QUERY_TIMEOUT"`:
 * a query ran longer than `queryTimeoutMs` and was cancelled.
 */
export type BackendErrorCode =
  | "EXPORT_ONLY"
  | "CONNECTION"
  | "WRITE_FAILED"
  | "QUERY_FAILED"
  | "QUERY_TIMEOUT"
  | "CLOSED"
  | "BAD_CONFIG"
  | "BAD_QUERY"
  | "BAD_RECORD";

/** Options of a {@linkcode BackendError}. */
export interface BackendErrorOptions extends ErrorOptions {
  /**
   * Whether writing the same batch again later can succeed (the connection,
   * the server or a lock failed, not a record).
   *
   * @default {true for codes "CONNECTION", "CLOSED" and "BAD_CONFIG"; false
   * for "BAD_RECORD"; else what the `cause` tells (a PostgreSQL SQLSTATE of
   * class 08, 53, 57 or 58, 40001, 40P01; a SQLite BUSY, LOCKED, IOERR, FULL;
   * a refused, reset or timed-out socket), false when it tells nothing}
   */
  transient?: boolean;
}

/**
 * An error raised by a backend. It carries a stable string `code` because
 * structured clone across the worker boundary drops subclasses, and whether
 * it is `transient`: the flusher retries a transient write failure until it
 * passes, and isolates the records behind any other (see
 * {@linkcode Backend.write}).
 *
 * @example
 * ```ts
 * import { BackendError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const error = new BackendError("EXPORT_ONLY", "Cannot query: otlp_http only exports");
 * assert.equal(error.code, "EXPORT_ONLY");
 * assert.ok(error instanceof Error);
 *
 * // A lost connection is transient; a value the database refuses is not.
 * assert.equal(new BackendError("CONNECTION", "Cannot write: reset").transient, true);
 * const tooLong = Object.assign(new Error("index row size 2816 exceeds maximum 2704"), {
 *   code: "54000",
 * });
 * assert.equal(
 *   new BackendError("WRITE_FAILED", "Cannot write", { cause: tooLong }).transient,
 *   false,
 * );
 * ```
 */
export class BackendError extends Error {
  /** Stable code, e.g. `"CONNECTION"`. */
  readonly code: BackendErrorCode;
  /** Whether retrying the same write later can succeed (see {@linkcode BackendErrorOptions.transient}). */
  readonly transient: boolean;

  /**
   * Creates the error.
   *
   * @param code Stable code.
   * @param message "Cannot <action>: <why>".
   * @param options The cause, if any, and whether the failure is transient.
   */
  constructor(code: BackendErrorCode, message: string, options?: BackendErrorOptions) {
    super(message, options);
    this.name = "BackendError";
    this.code = code;
    this.transient = options?.transient ?? defaultTransient(code, options?.cause);
  }
}
