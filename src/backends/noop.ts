/**
 * The noop backend: accepts every batch and stores nothing. For telemetry
 * that is switched off in production and for measuring the pipeline alone.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import type { Batch } from "../model/types.ts";
import { type Backend, BackendError } from "./backend.ts";

/**
 * A {@linkcode Backend} that discards writes and answers every query with no rows.
 *
 * @example
 * ```ts
 * import { NoopBackend } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const backend = new NoopBackend();
 * await backend.write({ traces: [], spans: [], events: [], metrics: [] });
 * assert.deepEqual(
 *   await backend.query({ type: "select", entity: "spans", where: null, orderBy: [], limit: 1, offset: 0 }),
 *   [],
 * );
 * ```
 */
export class NoopBackend implements Backend, AsyncDisposable {
  /** Always `"noop"`. */
  readonly name: string = "noop";
  #closed = false;

  #check(action: string): Promise<void> {
    return this.#closed
      ? Promise.reject(new BackendError("CLOSED", `Cannot ${action}: the noop backend is closed`))
      : Promise.resolve();
  }

  /** Discards the batch. @param _batch Ignored. */
  write(_batch: Batch): Promise<void> {
    return this.#check("write");
  }

  /** Returns no rows. @param _plan Ignored. @returns `[]`. */
  async query(_plan: QueryPlan): Promise<QueryRow[]> {
    await this.#check("query");
    return [];
  }

  /** Deletes nothing. @param _cutoff Ignored. @returns `0`. */
  async applyRetention(_cutoff: number): Promise<number> {
    await this.#check("apply retention");
    return 0;
  }

  /** Marks the backend closed. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  /** Same as {@linkcode NoopBackend.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
