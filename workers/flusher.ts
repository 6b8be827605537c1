/**
 * The flusher worker: drains the ring buffer in batches into one backend.
 *
 * It writes a batch when `bufferSize` records are waiting, when
 * `exportInterval` has passed since the last write (0: never by time), or at
 * once when the application asked for it (`flush`, a query, shutdown, or the
 * `DRAIN` word on process exit). Each batch is one `backend.write()` (one
 * transaction). A throwing write is retried with exponential backoff with
 * the same batch; frames leave the ring (`commit`) only after their records
 * are stored, so a worker that dies is replaced by one that replays them
 * (backends upsert by id, so a replay stores no duplicates). Opening the
 * backend is retried the same way while it fails with `CONNECTION` (a
 * server not up yet): records wait in the ring meanwhile; only another
 * failure (a bad configuration) is fatal.
 *
 * Pipelining: a backend that sets {@linkcode Backend.writePipelineDepth}
 * (PostgreSQL) gets up to that many writes in flight at once, so the worker
 * decodes and builds the next batch while the server stores the previous
 * one. Batches still complete strictly in order: a batch is committed (ring
 * space freed, `durable` advanced, `progress` posted) only once it and every
 * earlier batch are stored. When an in-flight write fails, the worker waits
 * for every write in flight to settle, then stores the failed batch and all
 * later ones again one at a time, in order, with the usual retries and
 * isolation of refused records — re-sending later batches even if they succeeded,
 * so a record written twice (a trace at start and at end) ends with its
 * last version. Only the first failure of such a group is reported as a
 * `backendError`; the later in-flight results are discarded unseen, and
 * the re-sends report their own failures, so `exportErrors` counts the same
 * as without pipelining.
 *
 * How it waits for frames: polling with a short, adaptive interval (1 ms
 * after finding work, doubling to 16 ms while idle), not `Atomics.waitAsync`.
 * Measured on this machine class (Deno 2.9.6, a burst of 2M spans in chunks
 * of 500): with `waitAsync`, the producer's `Atomics.notify` of the sleeping
 * worker averaged ~250 µs per call under load (2001 calls, 505 ms in total,
 * ~250 ns per recorded span); with polling the same 2001 wake checks took
 * 2.5 ms in total. Control messages (flush, query, shutdown) cut a sleep
 * short. `wake: "wait"` keeps the `waitAsync` variant for comparison.
 *
 * No record blocks the stream: a write that fails with a transient error
 * (connection, server shutdown, lock; see `isTransientError`) is retried
 * until it passes, but one that fails otherwise is taken to be caused by a
 * record of the batch (a value the database cannot index, a constraint):
 * after a few attempts the batch is split in halves, recursively, until the
 * records that fail alone are found; those are dropped and reported in
 * `progress.refused` by reason, and everything else is stored, in order.
 *
 * It runs as a `node:worker_threads` worker rather than a Web Worker: a Web
 * Worker keeps a Deno process alive forever and cannot be `unref()`ed, while
 * this one lets the process exit and drains on `unload`.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import type { QueryPlan } from "../query/plan.ts";
import {
  type PipelineMessage,
  type RefusedRecords,
  toWireError,
  type WakeMode,
} from "../src/pipeline/messages.ts";
import { type Backend, isTransientError } from "../src/backends/backend.ts";
import { refusalReason } from "../src/transient.ts";
import type { ExportStats } from "../src/backends/export_stats.ts";
import type { Batch } from "../src/model/types.ts";
import { splitInvalidRecords } from "../src/backends/validate_batch.ts";
import { openBackend } from "../src/backends/open_backend.ts";
import { appendToBatch, decodeFrame, emptyBatch } from "../src/frame/decoder.ts";
import type { RecordTuple } from "../src/frame/format.ts";
import { RingBuffer } from "../src/pipeline/ring_buffer.ts";

const RETENTION_EVERY_MS = 60 * 60 * 1000;
const MAX_SLEEP_MS = 1000;
/** Polling interval right after finding work; doubles while idle up to POLL_MAX_MS. */
const POLL_MIN_MS = 1;
const POLL_MAX_MS = 16;
const BACKOFF_FIRST_MS = 20;
/** Keeps the next attempt within ~1 s of a server coming back. */
const BACKOFF_MAX_MS = 1000;
/** Opening also creates or migrates the schema: try sooner, to keep within ~1 s all the same. */
const OPEN_BACKOFF_MAX_MS = 500;
/**
 * How often an exporting backend's counters are compared with the last ones
 * posted: the exporter makes progress in the background, between store
 * writes, and `stats().export` must not wait for the next write to show it.
 */
const EXPORT_STATS_EVERY_MS = 20;
/**
 * Attempts, with backoff, of a batch that fails with a non-transient error
 * before it is split: a failure that only looked deterministic gets a few
 * chances.
 */
const NON_TRANSIENT_ATTEMPTS = 3;
/**
 * Attempts of a record that fails alone before it is dropped, without
 * backoff (its batch already had its chances; when every record of a batch
 * fails, waiting between them would only stall the stream).
 */
const LONE_RECORD_ATTEMPTS = 2;
/** Reason under which records the shared checks refuse (`BAD_RECORD`) are counted. */
const INVALID_RECORD = "invalid record";

type Init = Extract<PipelineMessage, { type: "init" }>;

interface FrameMark {
  /** Ring position just after the frame. */
  next: number;
  /** Records in the frame. */
  records: number;
  /** Of which not yet written. */
  remaining: number;
}

/** A batch handed to `backend.write()` and not yet committed. */
interface InFlight {
  /** Records of `#pending` it covers (before `BAD_RECORD` removals). */
  count: number;
  batch: Batch;
  started: number;
  /** Settles with the write: null when stored, else what it threw. Never rejects. */
  outcome: Promise<{ error: unknown } | null>;
}

interface PendingQuery {
  id: number;
  seq: number;
  plan: QueryPlan;
  timeoutMs: number;
}

function post(message: PipelineMessage): void {
  parentPort!.postMessage(message);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Flusher {
  #ring: RingBuffer;
  #backend: Backend | null = null;
  #bufferSize: number;
  #intervalMs: number;
  #retentionDays: number;
  #wake: WakeMode;
  #cursor: number;
  /** Decoded records not yet committed; the first `#sent` are in `#inFlight`. */
  #pending: RecordTuple[] = [];
  #sent = 0;
  #inFlight: InFlight[] = [];
  #depth = 1;
  #marks: FrameMark[] = [];
  #durable: number;
  #flushTarget = 0;
  #queries: PendingQuery[] = [];
  #shutdownSeq: number | null = null;
  #deadline: number;
  #pollMs = POLL_MIN_MS;
  #wakeSleep: (() => void) | null = null;
  #postedStats = "";
  #statsTimer: ReturnType<typeof setInterval> | undefined;

  constructor(init: Init) {
    this.#ring = new RingBuffer(init.buffer);
    this.#bufferSize = init.bufferSize;
    this.#intervalMs = init.exportIntervalMs;
    this.#retentionDays = init.retentionDays;
    this.#wake = init.wake;
    // A restarted worker resumes at the last committed frame: everything
    // after it is replayed.
    this.#cursor = this.#ring.readPosition;
    this.#durable = this.#ring.committedRecords;
    this.#deadline = this.#intervalMs > 0 ? performance.now() + this.#intervalMs : Infinity;
  }

  handle(message: PipelineMessage): void {
    switch (message.type) {
      case "flush":
        this.#flushTarget = Math.max(this.#flushTarget, message.seq);
        break;
      case "query":
        this.#queries.push({
          id: message.id,
          seq: message.seq,
          plan: message.plan,
          timeoutMs: message.timeoutMs,
        });
        break;
      case "startTimer":
        if (this.#intervalMs > 0 && this.#deadline === Infinity) {
          this.#deadline = performance.now() + this.#intervalMs;
        }
        break;
      case "shutdown":
        this.#shutdownSeq = message.seq;
        break;
      default:
        return;
    }
    if (this.#wake === "wait") this.#ring.interruptWait();
    this.#wakeSleep?.();
  }

  /** Sleeps `ms`, or less when a control message arrives. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wakeSleep = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakeSleep = done;
    });
  }

  async run(init: Init): Promise<void> {
    this.#backend = await this.#open(init);
    if (this.#backend === null) return;
    const depth = this.#backend.writePipelineDepth ?? 1;
    this.#depth = Number.isInteger(depth) && depth >= 1 ? depth : 1;
    if (this.#backend.stats !== undefined) {
      this.#statsTimer = setInterval(() => this.#postExportStats(), EXPORT_STATS_EVERY_MS);
    }
    await this.#retention();
    let nextRetention = performance.now() + RETENTION_EVERY_MS;
    for (;;) {
      const token = this.#ring.wakeToken();
      const fresh = this.#readAhead();
      const now = performance.now();
      const urgent = this.#flushTarget > this.#durable || this.#ring.drainRequested ||
        this.#shutdownSeq !== null || this.#queries.some((q) => q.seq > this.#durable);
      const unsent = this.#pending.length - this.#sent;
      if (
        this.#inFlight.length < this.#depth && (
          unsent >= this.#bufferSize ||
          (unsent > 0 && (urgent || now >= this.#deadline))
        )
      ) {
        this.#send(Math.min(unsent, this.#bufferSize));
        this.#pollMs = POLL_MIN_MS;
        continue;
      }
      if (this.#inFlight.length > 0) {
        // Nothing more to send now (or the pipeline is full): wait for the
        // oldest write; the next pass decodes and sends what came meanwhile.
        await this.#settleOldest();
        this.#pollMs = POLL_MIN_MS;
        continue;
      }
      if (now >= this.#deadline) this.#deadline = now + this.#intervalMs;
      await this.#answerQueries();
      if (this.#shutdownSeq !== null && this.#durable >= this.#shutdownSeq) {
        await this.#backend.close();
        clearInterval(this.#statsTimer);
        // The final counters: what close() gave up on is counted by now.
        post({ type: "closed", durable: this.#durable, exportStats: this.#exportStats() });
        return;
      }
      if (now >= nextRetention) {
        await this.#retention();
        nextRetention = performance.now() + RETENTION_EVERY_MS;
      }
      const timeout = Math.max(
        0,
        Math.min(MAX_SLEEP_MS, this.#deadline - now, nextRetention - now),
      );
      if (this.#wake === "wait") {
        await this.#ring.waitForData(token, timeout);
      } else {
        // Polling: the producer never pays for a notify (see the module doc).
        this.#pollMs = fresh > 0 ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.#pollMs * 2);
        await this.#sleep(Math.min(timeout, this.#pollMs));
      }
    }
  }

  #exportStats(): ExportStats | null {
    try {
      return this.#backend?.stats?.() ?? null;
    } catch {
      return null;
    }
  }

  /** Posts the exporter's counters when they changed since last posted. */
  #postExportStats(): void {
    const stats = this.#exportStats();
    if (stats === null) return;
    const text = JSON.stringify(stats);
    if (text === this.#postedStats) return;
    this.#postedStats = text;
    post({ type: "exportStats", exportStats: stats });
  }

  /**
   * Opens the backend. While it fails with `"CONNECTION"` (the server is
   * not up yet, the network is down) it tries again with backoff, the
   * records waiting in the ring meanwhile: each failure is a `backendError`
   * (counted in `stats()`), `ready` is posted after the first one so the
   * application's start-up does not wait for the server, and queries with
   * no record to wait for fail with the error. Any other failure (a bad
   * configuration) is `fatal`. Returns null when done: fatal, or shut down
   * with nothing left to store.
   */
  async #open(init: Init): Promise<Backend | null> {
    let ready = false;
    for (let attempt = 1;; attempt++) {
      let error: unknown;
      try {
        const backend = await openBackend(init.spec);
        if (!ready) post({ type: "ready" });
        return backend;
      } catch (thrown) {
        error = thrown;
      }
      // A server may come up later; a SQLite file that cannot be opened
      // (its "CONNECTION") will not open by waiting.
      const retry = (error as { code?: unknown } | null)?.code === "CONNECTION" &&
        (init.spec.backend !== "sqlite" || init.spec.backendConfig.module !== undefined);
      if (!retry) {
        post({ type: "fatal", error: toWireError(error, "CONNECTION") });
        return null;
      }
      const wire = toWireError(error, "CONNECTION");
      post({ type: "backendError", op: "open", error: wire, exportStats: null });
      if (!ready) post({ type: "ready" });
      ready = true;
      const until = performance.now() +
        Math.min(OPEN_BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** attempt);
      for (let now = performance.now(); now < until; now = performance.now()) {
        for (const q of this.#queries.filter((q) => q.seq <= this.#durable)) {
          post({ type: "queryFailed", id: q.id, error: wire });
        }
        this.#queries = this.#queries.filter((q) => q.seq > this.#durable);
        if (this.#shutdownSeq !== null && this.#durable >= this.#shutdownSeq) {
          post({ type: "closed", durable: this.#durable, exportStats: null });
          return null;
        }
        await this.#sleep(until - now);
      }
    }
  }

  /** Decodes frames until a full unsent batch is waiting or the ring has no more; returns how many. */
  #readAhead(): number {
    let frames = 0;
    while (this.#pending.length - this.#sent < this.#bufferSize) {
      const frame = this.#ring.read(this.#cursor);
      if (frame === null) return frames;
      frames++;
      const tuples = decodeFrame(frame.payload);
      for (let i = 0; i < tuples.length; i++) this.#pending.push(tuples[i]!);
      this.#marks.push({ next: frame.next, records: frame.records, remaining: frame.records });
      this.#cursor = frame.next;
    }
    return frames;
  }

  /** Starts writing the next `count` unsent records; the loop collects the outcome. */
  #send(count: number): void {
    const batch = emptyBatch();
    appendToBatch(batch, this.#pending, this.#sent, this.#sent + count);
    this.#sent += count;
    let outcome: Promise<{ error: unknown } | null>;
    try {
      outcome = this.#backend!.write(batch).then(() => null, (error: unknown) => ({ error }));
    } catch (error) {
      // A write that throws before returning its promise.
      outcome = Promise.resolve({ error });
    }
    this.#inFlight.push({ count, batch, started: performance.now(), outcome });
  }

  /**
   * Waits for the oldest write in flight. Stored: commits it. Failed: lets
   * every later write settle, then stores the failed batch and each later
   * one again, one at a time, in order (see the module doc).
   */
  async #settleOldest(): Promise<void> {
    const oldest = this.#inFlight[0]!;
    const outcome = await oldest.outcome;
    if (outcome === null) {
      this.#inFlight.shift();
      this.#done(oldest.count, 0, performance.now() - oldest.started);
      return;
    }
    await Promise.all(this.#inFlight.map((w) => w.outcome));
    const again = this.#inFlight;
    this.#inFlight = [];
    for (let i = 0; i < again.length; i++) {
      const w = again[i]!;
      await this.#writeSerially(w.batch, w.count, i === 0 ? outcome : null);
    }
  }

  /**
   * Stores `batch` (the first `count` records of `#pending`), retrying
   * transient failures with backoff until it is, then commits it. `failed`:
   * what its last attempt threw, when it has already been tried once.
   * Records that cannot be stored are left out and counted (see `#store`).
   */
  async #writeSerially(
    batch: Batch,
    count: number,
    failed: { error: unknown } | null,
  ): Promise<void> {
    const refused = new Map<string, RefusedRecords>();
    const latencyMs = await this.#store(batch, failed, refused, true);
    let rejected = 0;
    for (const r of refused.values()) rejected += r.count;
    this.#done(count, rejected, latencyMs, [...refused.values()]);
  }

  /**
   * Stores `batch`, leaving out the records that cannot be stored; returns
   * how long the successful writes took.
   *
   * - Transient failure (connection, server, lock; see `isTransientError`):
   *   back off and retry the same batch, for as long as it takes.
   * - `BAD_RECORD`: the shared checks name the invalid records; they are
   *   left out and the rest is written at once.
   * - Any other failure: tried `NON_TRANSIENT_ATTEMPTS` times, then the
   *   batch is split in halves, each stored the same way (a half that fails
   *   is split at once: the failure is known to repeat), first half first,
   *   so a record written twice still ends with its last version. A record
   *   that fails alone `LONE_RECORD_ATTEMPTS` times is dropped and counted
   *   under its reason. A batch of n records with one poisoned record
   *   takes about 2·log2(n) + 4 writes instead of one.
   *
   * `whole`: `batch` is what the flusher sent, not a half of it.
   */
  async #store(
    batch: Batch,
    failed: { error: unknown } | null,
    refused: Map<string, RefusedRecords>,
    whole: boolean,
  ): Promise<number> {
    let nonTransient = 0;
    for (let attempt = 1;; attempt++) {
      let error: unknown;
      if (failed !== null) {
        error = failed.error;
        failed = null;
      } else {
        const started = performance.now();
        try {
          await this.#backend!.write(batch);
          return performance.now() - started;
        } catch (thrown) {
          error = thrown;
        }
      }
      post({
        type: "backendError",
        op: "write",
        error: toWireError(error, "WRITE_FAILED"),
        exportStats: this.#backend!.stats?.() ?? null,
      });
      if ((error as { code?: unknown } | null)?.code === "BAD_RECORD") {
        // Retrying cannot fix a record the backend refuses (a NaN, say):
        // store the rest of the batch now and leave the bad ones out.
        // (When the shared checks find nothing, the error is handled as
        // any other non-transient one below.)
        const split = splitInvalidRecords(batch);
        if (split.rejected > 0) {
          refuse(refused, INVALID_RECORD, split.rejected, split.firstError!);
          batch = split.valid;
          continue;
        }
      }
      const size = recordCount(batch);
      if (!isTransientError(error) && size > 0) {
        nonTransient++;
        if (size === 1 && !whole) {
          if (nonTransient >= LONE_RECORD_ATTEMPTS) {
            refuse(refused, refusalReason(error), 1, toWireError(error, "WRITE_FAILED").message);
            return 0;
          }
          continue;
        }
        if (nonTransient >= NON_TRANSIENT_ATTEMPTS || !whole) {
          if (size === 1) {
            refuse(refused, refusalReason(error), 1, toWireError(error, "WRITE_FAILED").message);
            return 0;
          }
          const [first, second] = halves(batch);
          const firstMs = await this.#store(first, null, refused, false);
          return firstMs + await this.#store(second, null, refused, false);
        }
      }
      // Keep the batch and try again: it is stored whole or not at all,
      // and upserts make a repeat harmless.
      await sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** (attempt - 1)));
    }
  }

  /** The oldest `count` pending records are stored: commit them and report. */
  #done(
    count: number,
    rejected: number,
    latencyMs: number,
    refused: RefusedRecords[] = [],
  ): void {
    this.#pending = this.#pending.slice(count);
    this.#sent -= count;
    this.#durable += count;
    this.#commit(count);
    post({
      type: "progress",
      durable: this.#durable,
      records: count,
      rejected,
      refused,
      latencyMs,
      exportStats: this.#backend!.stats?.() ?? null,
    });
  }

  /** Frees the ring space of every frame whose records are all stored. */
  #commit(written: number): void {
    let left = written;
    let position = -1;
    let records = 0;
    while (left > 0) {
      const mark = this.#marks[0]!;
      const take = Math.min(left, mark.remaining);
      mark.remaining -= take;
      left -= take;
      if (mark.remaining === 0) {
        position = mark.next;
        records += mark.records;
        this.#marks.shift();
      }
    }
    if (position >= 0) this.#ring.commit(position, records);
  }

  async #answerQueries(): Promise<void> {
    if (this.#queries.length === 0) return;
    const ready = this.#queries.filter((q) => q.seq <= this.#durable);
    this.#queries = this.#queries.filter((q) => q.seq > this.#durable);
    for (const q of ready) {
      try {
        // Only stores without a reader of their own (memory, a private
        // SQLite ":memory:", custom modules) and exporters are asked here;
        // the limit makes the memory backend let go of this thread in time.
        const rows = await this.#backend!.query(q.plan, { timeoutMs: q.timeoutMs });
        post({ type: "queryResult", id: q.id, rows });
      } catch (error) {
        post({ type: "queryFailed", id: q.id, error: toWireError(error, "QUERY_FAILED") });
      }
    }
  }

  async #retention(): Promise<void> {
    try {
      await this.#backend!.applyRetention(Date.now() / 1000 - this.#retentionDays * 86400);
    } catch (error) {
      post({
        type: "backendError",
        op: "retention",
        error: toWireError(error, "WRITE_FAILED"),
        exportStats: this.#backend?.stats?.() ?? null,
      });
    }
  }
}

function recordCount(batch: Batch): number {
  return batch.traces.length + batch.spans.length + batch.events.length + batch.metrics.length;
}

/**
 * Splits a batch of two or more records in two: the first half of its
 * records (traces, then spans, events, metrics), then the rest. Each kind
 * keeps its order, so the later of two versions of a record stays later.
 */
function halves(batch: Batch): [Batch, Batch] {
  let left = Math.ceil(recordCount(batch) / 2);
  const cut = (length: number): number => {
    const take = Math.min(left, length);
    left -= take;
    return take;
  };
  const t = cut(batch.traces.length);
  const s = cut(batch.spans.length);
  const e = cut(batch.events.length);
  const m = cut(batch.metrics.length);
  return [
    {
      traces: batch.traces.slice(0, t),
      spans: batch.spans.slice(0, s),
      events: batch.events.slice(0, e),
      metrics: batch.metrics.slice(0, m),
    },
    {
      traces: batch.traces.slice(t),
      spans: batch.spans.slice(s),
      events: batch.events.slice(e),
      metrics: batch.metrics.slice(m),
    },
  ];
}

/** Counts `count` records left out under `reason`. */
function refuse(
  refused: Map<string, RefusedRecords>,
  reason: string,
  count: number,
  example: string,
): void {
  const known = refused.get(reason);
  if (known === undefined) refused.set(reason, { reason, count, example });
  else known.count += count;
}

let flusher: Flusher | null = null;
parentPort!.on("message", (message: PipelineMessage) => {
  if (message.type === "init") {
    flusher = new Flusher(message);
    flusher.run(message).catch((error) => {
      post({ type: "fatal", error: toWireError(error, "WORKER_FAILED") });
    });
  } else {
    flusher?.handle(message);
  }
});
