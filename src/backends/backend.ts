/**
 * The contract every storage or export backend implements. The flusher
 * worker hosts exactly one {@linkcode Backend} and does not know which; a new
 * storage engine is one new file implementing this interface plus a line in
 * `open_backend.ts`, and it must pass `tests/backend_conformance.ts`.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import type { Batch } from "../types.ts";
import type { ExportStats } from "./export_stats.ts";

/** A place records are written to and, for stores, queried from. */
export interface Backend {
  /** Short name for errors and stats, e.g. `"sqlite"`. */
  readonly name: string;
  /**
   * Writes a batch in one transaction: all of it or none of it. Records are
   * upserted by id (last write wins), so replaying a batch after a retry or a
   * worker restart stores no duplicates. Throws when the batch was not stored.
   */
  write(batch: Batch): Promise<void>;
  /**
   * How many `write()` calls the flusher may have in flight at once
   * (default 1: it awaits each write before starting the next). A backend
   * that sets more must apply concurrent writes in call order — each still
   * atomic, none applied before a write that started earlier (PostgreSQL:
   * one connection, pipelined statements) — so that a record written twice
   * (a trace at start and at end) ends with its last version. A failing
   * write need not stop later ones: the flusher lets all in-flight writes
   * settle and then re-sends, one at a time, the failed batch and every
   * later one.
   */
  readonly writePipelineDepth?: number;
  /**
   * Runs a query plan. Throws a {@linkcode BackendError} with code
   * `"EXPORT_ONLY"` for backends that store nothing queryable, and
   * `"QUERY_TIMEOUT"` when it runs past `options.timeoutMs` (a backend that
   * can stop a query part-way does; the pipeline enforces the limit for
   * those that cannot).
   */
  query(plan: QueryPlan, options?: QueryRunOptions): Promise<QueryRow[]>;
  /**
   * Deletes records older than `cutoff` (seconds since the epoch; by
   * `start_time` for traces and spans, `timestamp` for events and metrics).
   * Returns how many records were deleted.
   */
  applyRetention(cutoff: number): Promise<number>;
  /** Releases connections and files. Further calls fail. */
  close(): Promise<void>;
  /**
   * Export counters, for backends that send records elsewhere (OTLP, or a
   * store with an exporter beside it). Stores without an exporter omit it.
   */
  stats?(): ExportStats;
}

/** Options of {@linkcode Backend.query}. */
export interface QueryRunOptions {
  /**
   * Milliseconds the query may run; past them it stops and throws a
   * {@linkcode BackendError} coded `"QUERY_TIMEOUT"`.
   * @default {Infinity}
   */
  timeoutMs?: number;
}

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

/**
 * An error raised by a backend. It carries a stable string `code` because
 * structured clone across the worker boundary drops subclasses.
 *
 * @example
 * ```ts
 * import { BackendError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const error = new BackendError("EXPORT_ONLY", "Cannot query: otlp_http only exports");
 * assert.equal(error.code, "EXPORT_ONLY");
 * assert.ok(error instanceof Error);
 * ```
 */
export class BackendError extends Error {
  /** Stable code, e.g. `"CONNECTION"`. */
  readonly code: BackendErrorCode;

  /**
   * Creates the error.
   *
   * @param code Stable code.
   * @param message "Cannot <action>: <why>".
   * @param options The cause, if any.
   */
  constructor(code: BackendErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackendError";
    this.code = code;
  }
}
