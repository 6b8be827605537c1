/**
 * {@linkcode Pipeline}: the application-thread side of recording, composed
 * of a {@linkcode FrameBatcher} (the current frame), the shared
 * {@linkcode RingBuffer}, a {@linkcode SpillQueue}, the link to the flusher
 * worker (started, restarted with back-off, told to flush, asked queries)
 * and, for SQLite files and PostgreSQL, a {@linkcode ReaderLink} that runs
 * queries apart from writing. It also keeps the counters of `stats()` and
 * drains at exit.
 *
 * Back-pressure, in order:
 * 1. ring full → wait for space (`Atomics.wait`), at most `maxBlockMs`; after
 *    one wait that timed out, no further waits until the worker commits
 *    something again, so a stuck worker costs at most one wait;
 * 2. → spill to a bounded queue on this thread (`maxSpillRecords`), moved
 *    into the ring, oldest first, as it drains;
 * 3. → beyond that, drop and count (`stats().dropped`), never silently.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import type { TelemetryConfig } from "../config.ts";
import type { PipelineMessage, RefusedRecords, WakeMode } from "./messages.ts";
import { readerSpec } from "../backends/open_reader.ts";
import type { FieldsOf } from "../frame/encoder.ts";
import type { RecordKind } from "../frame/format.ts";
import { FrameBatcher } from "./frame_batcher.ts";
import { RingBuffer } from "./ring_buffer.ts";
import { SpillQueue } from "./spill_queue.ts";
import { fromWire, PipelineError, queryError } from "./pipeline_error.ts";
import { ReaderLink } from "./reader_link.ts";
import { WorkerLink } from "./worker_link.ts";
import { addSignalDrain, noteClosedLosses, removeSignalDrain } from "./_exit_hooks.ts";
import type { TelemetryStats } from "./telemetry_stats.ts";
import type { ExportStats } from "../backends/export_stats.ts";

/** Internal knobs of a {@linkcode Pipeline}, for tests and benchmarks. */
export interface PipelineOptions {
  /** How the worker waits for frames. @default {"poll"} */
  wake?: WakeMode;
  /**
   * Whether to drain on the `unload` event and on an uncaught exception or
   * unhandled rejection. @default {true}
   */
  drainOnUnload?: boolean;
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface PendingQuery extends Waiter {
  plan: QueryPlan;
  resolveRows: (rows: QueryRow[]) => void;
}

export { PipelineError };

/**
 * The recording pipeline of one {@linkcode TelemetryManager}: one ring, one
 * worker. Internal; the manager is the public face.
 */
export class Pipeline {
  #config: TelemetryConfig;
  #ring: RingBuffer;
  #worker: WorkerLink;
  #ready: Promise<void>;
  #resolveReady!: () => void;
  #rejectReady!: (error: Error) => void;

  #exportStats: ExportStats | null = null;
  /** Records the backend refused (invalid, or failing alone): stored nowhere, counted as dropped. */
  #rejected = 0;
  /** `#rejected` by reason; each reason is warned about once. */
  #rejectedByReason = new Map<string, number>();
  #frame: FrameBatcher;
  #publishScheduled = false;
  #spill: SpillQueue;

  /** Records accepted into the ring or the spill queue, in ring order. */
  #accepted = 0;
  #durable = 0;
  #recorded = 0;
  #dropped = 0;
  #spilled = 0;
  #sinceWake = 0;
  #blocked = false;
  #blockedAt = 0;

  #batches = 0;
  #exportErrors = 0;
  #lastExportError: string | null = null;
  #lastLatencyMs: number | null = null;
  #latencySumMs = 0;
  #timerStarted = false;

  #flushes: Waiter[] = [];
  #queries = new Map<number, PendingQuery>();
  #nextQueryId = 1;
  /** The reader worker's link; null when the writer answers queries. */
  #reader: ReaderLink | null;
  #fatal: PipelineError | null = null;
  #closing: Promise<void> | null = null;
  #closed = false;
  #resolveClosed: (() => void) | null = null;
  #drainOnExit: boolean;
  #exitDrained = false;
  #warnedClosed = false;
  #onUnload = (): void => this.#exitDrain("exit");
  // Deno delivers an uncaught exception as "error" and an unhandled
  // rejection (also a throw at a module's top level) as
  // "unhandledrejection", then prints it and exits with code 1 — unless a
  // listener calls preventDefault(), which this one never does. "unload"
  // does not fire on that path, so this is the only chance to drain.
  #onCrash = (event: Event): void => {
    if (!event.defaultPrevented) this.#exitDrain("crash");
  };
  #onSignal = (): void => this.#exitDrain("signal");
  #publishTask = (): void => {
    this.#publishScheduled = false;
    this.#publish(true);
  };

  /**
   * Creates the ring and starts the worker.
   *
   * @param config An enabled configuration.
   * @param options Internal knobs.
   */
  constructor(config: TelemetryConfig, options: PipelineOptions = {}) {
    this.#config = config;
    const spec = readerSpec({ backend: config.backend, backendConfig: config.backendConfig });
    this.#reader = spec === null ? null : new ReaderLink(spec, config.queryTimeoutMs, {
      // The reader opens the store read-only: it needs the writer to have
      // created it (ready), even when there is nothing to flush.
      whenStored: () => this.flush().then(() => this.#ready),
      ref: () => this.#ref(),
      unref: () => this.#unref(),
      closed: () => this.#closed || this.#closing !== null,
    });
    this.#ring = RingBuffer.create(config.ringBufferBytes & ~7);
    this.#frame = new FrameBatcher({
      maxPayloadBytes: this.#ring.maxPayloadBytes,
      publish: () => this.#publish(true),
      drop: (reason) => {
        this.#dropped++;
        this.#lastExportError = reason;
      },
    });
    this.#spill = new SpillQueue(config.maxSpillRecords);
    this.#ready = new Promise<void>((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    // Nobody may be awaiting readiness; an open failure is reported by the
    // next flush or query instead.
    this.#ready.catch(() => {});
    this.#worker = new WorkerLink({
      type: "init",
      buffer: this.#ring.buffer,
      spec: { backend: config.backend, backendConfig: config.backendConfig },
      bufferSize: config.bufferSize,
      exportIntervalMs: config.exportInterval * 1000,
      retentionDays: config.retentionDays,
      wake: options.wake ?? "poll",
    }, {
      message: (message) => this.#onMessage(message),
      error: (error) => {
        this.#exportErrors++;
        this.#lastExportError = `WORKER_EXIT: ${error?.message ?? String(error)}`;
      },
      mayRestart: () => this.#closing === null && this.#fatal === null,
      restarted: () => this.#reaskPending(),
    });
    this.#drainOnExit = options.drainOnUnload ?? true;
    if (this.#drainOnExit) {
      globalThis.addEventListener("unload", this.#onUnload);
      globalThis.addEventListener("error", this.#onCrash);
      globalThis.addEventListener("unhandledrejection", this.#onCrash);
      if (config.drainOnSignal) addSignalDrain(this.#onSignal);
    }
  }

  #removeExitListeners(): void {
    if (!this.#drainOnExit) return;
    globalThis.removeEventListener("unload", this.#onUnload);
    globalThis.removeEventListener("error", this.#onCrash);
    globalThis.removeEventListener("unhandledrejection", this.#onCrash);
    removeSignalDrain(this.#onSignal);
  }

  /** Resolves once the worker has opened the backend; rejects when it cannot. */
  get ready(): Promise<void> {
    return this.#ready;
  }

  /** Whether records are accepted; counts the record as recorded (and dropped when not). */
  #accepting(): boolean {
    this.#recorded++;
    if (this.#closed || this.#fatal !== null) {
      this.#dropped++;
      if (this.#closed) this.#droppedAfterShutdown();
      return false;
    }
    return true;
  }

  /** A record made after `shutdown()`: counted, said once on stderr, and reported again at exit. */
  #droppedAfterShutdown(): void {
    noteClosedLosses(1);
    if (this.#warnedClosed) return;
    this.#warnedClosed = true;
    console.error(
      "@spark/telemetry: a record was made after shutdown(); it and any later ones are dropped and counted in stats().dropped",
    );
  }

  /**
   * Records a trace (at start and again at end), span, event or metric
   * point. Cheap and synchronous: the record is encoded at once into the
   * current frame, which is published when full or at the end of the
   * current microtask.
   *
   * @param kind The record's tag (`TRACE`, `SPAN`, `EVENT`, `METRIC`).
   * @param record Its fields.
   * @param idCodes Where its id's character codes are, if known (see `RecordEncoder.write`).
   * @param idAt See `idCodes`.
   */
  append<K extends RecordKind>(
    kind: K,
    record: FieldsOf[K],
    idCodes: DataView | null = null,
    idAt = 0,
  ): void {
    if (!this.#accepting()) return;
    if (!this.#frame.append(kind, record, idCodes, idAt)) return;
    if (this.#frame.full) {
      this.#publish(true);
    } else if (!this.#publishScheduled) {
      this.#publishScheduled = true;
      queueMicrotask(this.#publishTask);
    }
  }

  /** Counts values the manager replaced before they reached the encoder (see `stats().sanitizedValues`). */
  countSanitized(n: number): void {
    this.#frame.countSanitized(n);
  }

  /**
   * Resolves when every record pushed before the call is durably stored.
   *
   * @returns Resolves when stored; rejects with a {@linkcode PipelineError}
   * when the backend could not be opened or the pipeline is closed.
   */
  flush(): Promise<void> {
    if (this.#fatal !== null) return Promise.reject(this.#fatal);
    if (this.#closed) return Promise.resolve();
    this.#publish(true);
    const seq = this.#accepted;
    if (this.#durable >= seq) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#flushes.push({ seq, resolve, reject });
      this.#ref();
      this.#post({ type: "flush", seq });
      this.#ring.wakeConsumer();
    });
  }

  /**
   * Runs a query plan after everything pushed before the call is stored:
   * on the reader worker's own read-only connection for SQLite files and
   * PostgreSQL (so it never holds up writing), else in the writer worker
   * (memory, which bounds it by `queryTimeoutMs` itself). Past
   * `queryTimeoutMs` of running it fails with a `BackendError` coded
   * `"QUERY_TIMEOUT"`, and a reader that cannot stop is replaced.
   *
   * @param plan The plan.
   * @returns The rows.
   */
  query(plan: QueryPlan): Promise<QueryRow[]> {
    if (this.#fatal !== null) return Promise.reject(this.#fatal);
    if (this.#closed) {
      return Promise.reject(new PipelineError("CLOSED", "Cannot query: the manager is shut down"));
    }
    if (this.#reader !== null) return this.#reader.query(plan);
    this.#publish(true);
    const id = this.#nextQueryId++;
    const seq = this.#accepted;
    const timeoutMs = this.#config.queryTimeoutMs;
    return new Promise<QueryRow[]>((resolveRows, reject) => {
      this.#queries.set(id, { seq, plan, resolveRows, resolve: () => {}, reject });
      this.#ref();
      this.#post({ type: "query", id, seq, plan, timeoutMs });
      this.#ring.wakeConsumer();
    });
  }

  /**
   * Makes sure background export runs: starts the worker's export timer if
   * it was not running, and resolves once the backend is open or its server
   * could not be reached a first time (the worker keeps trying).
   *
   * @returns Resolves when the worker is ready; rejects when the backend cannot open
   *   for a reason other than a connection failure.
   */
  async startBackgroundExport(): Promise<void> {
    if (!this.#timerStarted) {
      this.#timerStarted = true;
      this.#post({ type: "startTimer" });
    }
    this.#ref();
    try {
      await this.#ready;
    } finally {
      this.#unref();
    }
  }

  /**
   * Stores everything pushed so far, closes the backend and stops the
   * worker, within `shutdownTimeoutMs`. Records still unstored when the time
   * is up are counted as dropped.
   *
   * @returns Resolves when closed.
   */
  shutdown(): Promise<void> {
    if (this.#closing === null) this.#closing = this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.#publish(false);
    const seq = this.#accepted;
    this.#removeExitListeners();
    if (this.#fatal === null && this.#worker.running) {
      this.#ref();
      const closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));
      this.#post({ type: "shutdown", seq });
      this.#ring.wakeConsumer();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#config.shutdownTimeoutMs);
      });
      await Promise.race([closed, timedOut]);
      clearTimeout(timer);
    }
    this.#closed = true;
    const lost = this.#accepted - this.#durable;
    if (lost > 0) this.#dropped += lost;
    const exported = this.#exportStats;
    if (exported !== null) {
      // Records the collector never got: not stored in time (so never
      // handed to the exporter), or still queued when the worker was stopped.
      this.#exportStats = {
        ...exported,
        dropped: exported.dropped + Math.max(0, lost) + exported.queued,
        queued: 0,
      };
    }
    this.#accepted = this.#durable;
    this.#spill.clear();
    noteClosedLosses(this.#dropped + this.#rejected);
    await this.#worker.terminate();
    const error = new PipelineError("CLOSED", "Cannot complete: the manager was shut down");
    for (const w of this.#flushes) w.seq <= this.#durable ? w.resolve() : w.reject(error);
    this.#flushes = [];
    for (const q of this.#queries.values()) q.reject(error);
    this.#queries.clear();
    await this.#reader?.close(error);
  }

  /** Counters of the pipeline (see {@linkcode TelemetryStats}). */
  stats(): TelemetryStats {
    const spillQueue = this.#spill.records;
    return {
      recorded: this.#recorded,
      exported: this.#durable - this.#rejected,
      dropped: this.#dropped + this.#rejected,
      spilled: this.#spilled,
      spillQueue,
      pending: this.#accepted - this.#durable + this.#frame.records,
      batches: this.#batches,
      exportErrors: this.#exportErrors,
      lastExportError: this.#lastExportError,
      sanitizedValues: this.#frame.sanitized,
      lastExportLatencyMs: this.#lastLatencyMs,
      avgExportLatencyMs: this.#batches > 0 ? this.#latencySumMs / this.#batches : null,
      ringUsage: this.#ring.usedBytes() / this.#ring.capacity,
      workerRestarts: this.#worker.restarts,
      export: this.#exportStats === null ? null : { ...this.#exportStats },
      rejected: this.#rejected,
      rejectedByReason: Object.fromEntries(this.#rejectedByReason),
    };
  }

  // ---- frames, ring, spill -------------------------------------------------

  /** Moves the spill queue, then the current frame, into the ring. */
  #publish(mayWait: boolean): void {
    if (!this.#spill.empty) this.#moveSpill(mayWait);
    const records = this.#frame.records;
    if (records === 0) return;
    const bytes = this.#frame.take();
    if (!this.#spill.empty || !this.#write(bytes, records, mayWait)) {
      // Older records still wait in the spill queue (ring order must be
      // recording order), or the ring is full.
      this.#toSpill(bytes, records);
    }
    this.#frame.reset();
  }

  #moveSpill(mayWait: boolean): void {
    for (let frame = this.#spill.peek(); frame !== undefined; frame = this.#spill.peek()) {
      // Spilled records were already accepted: undo the count #write adds.
      if (!this.#write(frame.bytes, frame.records, mayWait)) break;
      this.#accepted -= frame.records;
      this.#spill.shift();
    }
  }

  /** Writes one frame into the ring (waiting for space if allowed); counts its records as accepted. */
  #write(bytes: Uint8Array, records: number, mayWait: boolean): boolean {
    const ring = this.#ring;
    if (!ring.tryWrite(bytes, records) && !this.#waitAndWrite(bytes, records, mayWait)) {
      return false;
    }
    this.#accepted += records;
    this.#sinceWake += records;
    if (this.#sinceWake >= this.#config.bufferSize || ring.usedBytes() * 2 > ring.capacity) {
      this.#sinceWake = 0;
      ring.wakeConsumer();
    }
    return true;
  }

  #waitAndWrite(bytes: Uint8Array, records: number, mayWait: boolean): boolean {
    const ring = this.#ring;
    if (this.#blocked) {
      // Wait again only once the worker has shown it is alive.
      if (ring.readPosition === this.#blockedAt) return false;
      this.#blocked = false;
    }
    if (!mayWait || this.#config.maxBlockMs <= 0) return false;
    ring.wakeConsumer();
    const deadline = performance.now() + this.#config.maxBlockMs;
    for (;;) {
      const left = deadline - performance.now();
      if (left <= 0 || !ring.waitForSpace(left)) break;
      if (ring.tryWrite(bytes, records)) return true;
    }
    if (ring.tryWrite(bytes, records)) return true;
    this.#blocked = true;
    this.#blockedAt = ring.readPosition;
    return false;
  }

  /** Queues a frame on this thread (a copy), or drops it when the queue is full. */
  #toSpill(bytes: Uint8Array, records: number): void {
    if (!this.#spill.push(bytes, records)) {
      this.#dropped += records;
      return;
    }
    this.#accepted += records;
    this.#spilled += records;
  }

  // ---- worker ---------------------------------------------------------------

  /** The new worker replays uncommitted frames; re-ask what was pending. */
  #reaskPending(): void {
    const seq = this.#flushes.reduce((m, w) => Math.max(m, w.seq), 0);
    if (seq > 0) this.#post({ type: "flush", seq });
    if (this.#timerStarted) this.#post({ type: "startTimer" });
    for (const [id, q] of this.#queries) {
      this.#post({
        type: "query",
        id,
        seq: q.seq,
        plan: q.plan,
        timeoutMs: this.#config.queryTimeoutMs,
      });
    }
  }

  #onMessage(message: PipelineMessage): void {
    switch (message.type) {
      case "ready":
        this.#resolveReady();
        break;
      case "progress":
        this.#exportStats = message.exportStats;
        this.#rejected += message.rejected;
        if (message.refused.length > 0) this.#countRefused(message.refused);
        this.#batches++;
        this.#lastLatencyMs = message.latencyMs;
        this.#latencySumMs += message.latencyMs;
        if (message.durable > this.#durable) this.#durable = message.durable;
        this.#blocked = false;
        this.#publish(false);
        this.#settleFlushes();
        break;
      case "backendError":
        this.#exportStats = message.exportStats ?? this.#exportStats;
        this.#exportErrors++;
        this.#lastExportError = `${message.error.code}: ${message.error.message}`;
        break;
      case "fatal":
        this.#fail(fromWire(message.error));
        break;
      case "queryResult":
      case "queryFailed": {
        const q = this.#queries.get(message.id);
        if (q === undefined) return;
        this.#queries.delete(message.id);
        this.#unref();
        if (message.type === "queryResult") q.resolveRows(message.rows);
        else q.reject(queryError(message.error));
        break;
      }
      case "exportStats":
        this.#exportStats = message.exportStats;
        break;
      case "closed":
        if (message.durable > this.#durable) this.#durable = message.durable;
        this.#exportStats = message.exportStats ?? this.#exportStats;
        this.#settleFlushes();
        this.#resolveClosed?.();
        break;
    }
  }

  /** Counts refused records by reason; says each new reason once on stderr. */
  #countRefused(refused: readonly RefusedRecords[]): void {
    for (const { reason, count, example } of refused) {
      const known = this.#rejectedByReason.get(reason);
      this.#rejectedByReason.set(reason, (known ?? 0) + count);
      if (known === undefined) {
        console.warn(
          `spark-telemetry: ${count} record${count === 1 ? " was" : "s were"} dropped, ` +
            `${reason} (${this.#config.backend} backend); the rest of the batch was stored. ` +
            `Later records dropped for this reason are only counted ` +
            `(stats().rejectedByReason). First error: ${example.slice(0, 500)}`,
        );
      }
    }
  }

  #settleFlushes(): void {
    if (this.#flushes.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#flushes) {
      if (w.seq <= this.#durable) {
        this.#unref();
        w.resolve();
      } else {
        still.push(w);
      }
    }
    this.#flushes = still;
  }

  #fail(error: PipelineError): void {
    this.#fatal = error;
    this.#lastExportError = `${error.code}: ${error.message}`;
    this.#rejectReady(error);
    this.#dropped += this.#accepted - this.#durable;
    this.#accepted = this.#durable;
    this.#spill.clear();
    for (const w of this.#flushes) w.reject(error);
    for (const q of this.#queries.values()) q.reject(error);
    this.#flushes = [];
    this.#queries.clear();
    void this.#reader?.close(error);
    void this.#worker.terminate();
  }

  #post(message: PipelineMessage): void {
    this.#worker.post(message);
  }

  #ref(): void {
    this.#worker.ref();
  }

  #unref(): void {
    this.#worker.unref();
  }

  /**
   * The exit path (`unload`, an uncaught error, a signal with
   * `drainOnSignal`): the event loop is gone or about to be, so drain
   * synchronously — publish everything, ask the worker to write it all, and
   * wait (bounded by `shutdownTimeoutMs`) until the ring is empty. Then say
   * on stderr, in one line, how many records were lost, if any.
   */
  #exitDrain(reason: "exit" | "crash" | "signal"): void {
    if (this.#exitDrained || this.#closing !== null) return;
    // After "error"/"unhandledrejection" the process normally dies, but a
    // listener added after ours may still call preventDefault() and keep it
    // alive: then this drain must leave the pipeline as it was (records not
    // yet stored are still on their way, not lost), and the real exit
    // drains again.
    const final = reason !== "crash";
    if (final) {
      this.#exitDrained = true;
      this.#removeExitListeners();
    }
    const lost = this.#drainSync(final);
    const dropped = this.#dropped + this.#rejected + (final ? 0 : lost);
    if (dropped === 0) return;
    const when = reason === "exit"
      ? "at exit"
      : reason === "crash"
      ? "at exit after an uncaught error"
      : "at exit on a signal";
    const parts: string[] = [];
    if (lost > 0) {
      parts.push(
        `${lost} not stored within shutdownTimeoutMs (${this.#config.shutdownTimeoutMs} ms)`,
      );
    }
    if (dropped > lost) parts.push(`${dropped - lost} dropped before (stats().dropped)`);
    console.error(`@spark/telemetry: ${dropped} records lost ${when}: ${parts.join(", ")}`);
  }

  /**
   * Drains synchronously (see `#exitDrain`); returns the records it could
   * not store in time, counted as dropped when `final`.
   */
  #drainSync(final: boolean): number {
    if (this.#fatal !== null || !this.#worker.running) return 0;
    const deadline = performance.now() + this.#config.shutdownTimeoutMs;
    this.#blocked = false;
    this.#publish(false);
    this.#ring.requestDrain();
    for (;;) {
      this.#publish(false);
      this.#durable = Math.max(this.#durable, this.#ring.committedRecords);
      const left = deadline - performance.now();
      if (this.#durable >= this.#accepted || left <= 0) break;
      this.#ring.waitForSpace(Math.min(left, 50));
    }
    const lost = this.#accepted - this.#durable;
    if (final && lost > 0) this.#dropped += lost;
    // The worker goes back to batching as usual if the process lives on.
    if (!final) this.#ring.cancelDrain();
    return Math.max(0, lost);
  }
}
