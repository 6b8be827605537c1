/**
 * The contract every storage or export backend implements. The flusher
 * worker hosts exactly one {@linkcode Backend} and does not know which; a new
 * storage engine is one new file implementing this interface plus a line in
 * `open_backend.ts`, and it must pass `tests/backends/backend_conformance.ts`.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import type { Batch } from "../model/types.ts";
import type { ExportStats } from "./export_stats.ts";
import { isTransient } from "../transient.ts";

/** A place records are written to and, for stores, queried from. */
export interface Backend {
  /** Short name for errors and stats, e.g. `"sqlite"`. */
  readonly name: string;
  /**
   * Writes a batch in one transaction: all of it or none of it. Records are
   * upserted by id (last write wins), so replaying a batch after a retry or a
   * worker restart stores no duplicates. Throws when the batch was not stored.
   *
   * What it throws decides what the flusher does (see
   * {@linkcode isTransientError}): a transient failure (the connection, the
   * server, a lock) is retried with the same batch until it passes; any
   * other failure is taken to be caused by a record of the batch, which the
   * flusher then isolates by writing halves of the batch, dropping and
   * counting only the records that fail alone. Throw a
   * {@linkcode BackendError} with `"BAD_RECORD"` for a record you can name,
   * and label other failures with its `transient` option when the default
   * (by code and cause) would be wrong.
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

export { BackendError, type BackendErrorCode, type BackendErrorOptions } from "../backend_error.ts";

/**
 * Whether a failed write may succeed when retried with the same batch: the
 * error's own `transient` flag when it has one (every
 * {@linkcode BackendError} does), else its code and cause as for
 * {@linkcode BackendErrorOptions.transient}. Anything unrecognised (a plain
 * `Error`) is not transient, so a failure that keeps repeating costs the
 * records it isolates rather than stopping the stream.
 *
 * @param error What a write threw.
 * @returns `true` to retry the batch as it is; `false` to isolate its records.
 *
 * @example
 * ```ts
 * import { BackendError, isTransientError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isTransientError(Object.assign(new Error("reset"), { code: "ECONNRESET" })), true);
 * assert.equal(isTransientError(new BackendError("BAD_RECORD", "Cannot write span 'a'")), false);
 * assert.equal(isTransientError(new Error("no such column")), false);
 * ```
 */
export function isTransientError(error: unknown): boolean {
  return isTransient(error);
}
