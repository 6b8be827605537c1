/**
 * {@linkcode FanoutBackend}: a local store and an exporter behind one
 * backend, so records can be queried locally and sent to a collector.
 *
 * ```
 * write(batch) ─► store.write(batch) ──(throws? the worker retries; nothing queued)
 *                      │ ok
 *                      ▼
 *               export queue (bounded, oldest dropped first, counted)
 *                      │ background pump, one batch at a time
 *                      ▼
 *               exporter.write(batch) ──(throws? wait with backoff, retry the same batch)
 * query(plan) ─► store.query(plan)
 * ```
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import { nowSeconds } from "../model/clock.ts";
import { sleep } from "./_sleep.ts";
import type { Batch } from "../model/types.ts";
import { type Backend, BackendError, type QueryRunOptions } from "./backend.ts";
import type { ExportStats } from "./export_stats.ts";

/** Settings of a {@linkcode FanoutBackend}. */
export interface FanoutOptions {
  /**
   * Records (spans, events and metric points) the export queue holds while
   * the exporter is behind or failing; beyond it the oldest batches are
   * dropped and counted.
   * @default {100000}
   */
  maxQueueRecords?: number;
  /** First delay in milliseconds before a failed export is tried again, doubled per failure. @default {1000} */
  retryDelayMs?: number;
  /** Longest delay in milliseconds between export attempts. @default {30000} */
  maxRetryDelayMs?: number;
  /** Milliseconds `close()` waits for the export queue to drain. @default {5000} */
  closeTimeoutMs?: number;
}

function recordCount(batch: Batch): number {
  return batch.spans.length + batch.events.length + batch.metrics.length;
}

/**
 * Writes every batch to a local store and, through a bounded queue of its
 * own, to an exporter; queries and retention go to the store. The store's
 * write decides `write()`'s outcome: an exporter that fails, hangs or is slow
 * never blocks, fails or repeats a store write. A store write that throws
 * queues nothing, so the worker's retry of that batch exports it once.
 *
 * @example A store plus an exporter
 * ```ts
 * import { type Backend, FanoutBackend } from "@spark/telemetry";
 * import { OtlpHttpBackend } from "@spark/telemetry/otlp";
 * import assert from "node:assert/strict";
 *
 * const written: number[] = [];
 * const store: Backend = {
 *   name: "fixture",
 *   write: (batch) => (written.push(batch.spans.length), Promise.resolve()),
 *   query: () => Promise.resolve([]),
 *   applyRetention: () => Promise.resolve(0),
 *   close: () => Promise.resolve(),
 * };
 * // Nothing listens on port 9: the export fails, the store write does not.
 * const exporter = new OtlpHttpBackend({ endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 });
 * await using backend = new FanoutBackend(store, exporter, { closeTimeoutMs: 0 });
 * await backend.write({ traces: [], spans: [], events: [], metrics: [] });
 * assert.deepEqual(written, [0]);
 * assert.equal(backend.name, "fixture+otlp_http");
 * ```
 */
export class FanoutBackend implements Backend {
  /** `"<store>+<exporter>"`, e.g. `"sqlite+otlp_http"`. */
  readonly name: string;
  readonly #store: Backend;
  readonly #exporter: Backend;
  readonly #maxQueueRecords: number;
  readonly #retryDelayMs: number;
  readonly #maxRetryDelayMs: number;
  readonly #closeTimeoutMs: number;
  readonly #queue: Batch[] = [];
  #queued = 0;
  #dropped = 0;
  #lastError: string | null = null;
  #lastErrorTime: number | null = null;
  #pump: Promise<void> | null = null;
  #inFlight: Batch | null = null;
  readonly #stopping = new AbortController();
  #closed = false;

  /**
   * Combines a store and an exporter; both are closed by {@linkcode FanoutBackend.close}.
   *
   * @param store Where records are stored and queried.
   * @param exporter Where records are also sent.
   * @param options Queue and retry settings.
   */
  constructor(store: Backend, exporter: Backend, options: FanoutOptions = {}) {
    this.name = `${store.name}+${exporter.name}`;
    this.#store = store;
    this.#exporter = exporter;
    this.#maxQueueRecords = options.maxQueueRecords ?? 100_000;
    this.#retryDelayMs = options.retryDelayMs ?? 1000;
    this.#maxRetryDelayMs = Math.max(this.#retryDelayMs, options.maxRetryDelayMs ?? 30_000);
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 5000;
  }

  /**
   * Stores the batch, then queues it for export.
   *
   * @param batch The records.
   * @throws {BackendError} Whatever the store's write throws; never the exporter's failures.
   */
  async write(batch: Batch): Promise<void> {
    if (this.#closed) throw new BackendError("CLOSED", `Cannot write: ${this.name} is closed`);
    await this.#store.write(batch);
    this.#enqueue({
      // The worker may reuse its arrays once write() returns: keep our own.
      traces: [...batch.traces],
      spans: [...batch.spans],
      events: [...batch.events],
      metrics: [...batch.metrics],
    });
  }

  #enqueue(batch: Batch): void {
    const count = recordCount(batch);
    if (count === 0 && batch.traces.length === 0) return;
    this.#queue.push(batch);
    this.#queued += count;
    // Drop the oldest waiting batches, never the one being sent.
    while (this.#queued > this.#maxQueueRecords) {
      const index = this.#queue[0] === this.#inFlight ? 1 : 0;
      const victim = this.#queue[index];
      if (victim === undefined || victim === batch) break;
      this.#queue.splice(index, 1);
      const lost = recordCount(victim);
      this.#queued -= lost;
      this.#dropped += lost;
      this.#noteError(
        `Cannot export ${lost} records: the export queue is full (${this.#maxQueueRecords} records); ` +
          `the exporter is failing or slower than recording`,
      );
    }
    this.#pump ??= this.#drain().finally(() => {
      this.#pump = null;
    });
  }

  async #drain(): Promise<void> {
    let failures = 0;
    while (this.#queue.length > 0 && !this.#stopping.signal.aborted) {
      const batch = this.#queue[0]!;
      this.#inFlight = batch;
      try {
        await this.#exporter.write(batch);
        failures = 0;
        if (this.#queue[0] === batch) this.#queue.shift();
        this.#queued -= recordCount(batch);
      } catch (error) {
        if (this.#stopping.signal.aborted) break;
        failures++;
        this.#noteError(error instanceof Error ? error.message : String(error));
        const delay = Math.min(this.#maxRetryDelayMs, this.#retryDelayMs * 2 ** (failures - 1));
        await sleep(delay * (0.5 + Math.random() * 0.5), this.#stopping.signal);
      } finally {
        this.#inFlight = null;
      }
    }
  }

  #noteError(message: string): void {
    this.#lastError = message;
    this.#lastErrorTime = nowSeconds();
  }

  /**
   * Runs the query on the store.
   *
   * @param plan The query plan.
   * @param options Its time limit, passed on.
   * @returns The store's rows.
   */
  query(plan: QueryPlan, options?: QueryRunOptions): Promise<QueryRow[]> {
    return this.#store.query(plan, options);
  }

  /**
   * Applies retention to the store.
   *
   * @param cutoff Seconds since the epoch.
   * @returns Records deleted from the store.
   */
  applyRetention(cutoff: number): Promise<number> {
    return this.#store.applyRetention(cutoff);
  }

  /**
   * The exporter's counters plus the queue's: records waiting, records the
   * queue dropped, and the latest error of either.
   *
   * @returns A copy of the counters.
   */
  stats(): ExportStats {
    const inner = this.#exporter.stats?.();
    const innerTime = inner?.lastErrorTime ?? null;
    const ownIsLater = this.#lastErrorTime !== null &&
      (innerTime === null || this.#lastErrorTime >= innerTime);
    return {
      exported: inner?.exported ?? 0,
      dropped: (inner?.dropped ?? 0) + this.#dropped,
      rejected: inner?.rejected ?? 0,
      retries: inner?.retries ?? 0,
      queued: this.#queued,
      lastError: ownIsLater ? this.#lastError : inner?.lastError ?? this.#lastError,
      lastErrorTime: ownIsLater ? this.#lastErrorTime : innerTime ?? this.#lastErrorTime,
    };
  }

  /**
   * Waits up to `closeTimeoutMs` for the export queue to drain, then closes
   * the exporter and the store. Records still queued then are counted as dropped.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pump = this.#pump;
    if (pump !== null) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        pump,
        new Promise<void>((resolve) => timer = setTimeout(resolve, this.#closeTimeoutMs)),
      ]);
      clearTimeout(timer);
    }
    this.#stopping.abort();
    try {
      await this.#exporter.close();
    } finally {
      await this.#pump;
      // Noted after the exporter's own "closed" failure, so this is the last error.
      if (this.#queued > 0) {
        this.#dropped += this.#queued;
        this.#noteError(
          `Cannot export ${this.#queued} records: closed before the exporter caught up`,
        );
        this.#queued = 0;
        this.#queue.length = 0;
      }
      await this.#store.close();
    }
  }

  /** Closes the backend, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
