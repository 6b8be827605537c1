/**
 * {@linkcode ReaderLink}: the application thread's link to the reader worker
 * (`workers/reader.ts`), which answers queries on its own read-only
 * connection to a SQLite file or PostgreSQL, so a query never holds up
 * writing. It starts the reader on the first query, holds each query until
 * everything recorded before it is stored, enforces `queryTimeoutMs`, and
 * replaces a reader that cannot stop a query in time (the other queries it
 * had run again on the new one).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import { queryTimeoutError } from "../../query/deadline.ts";
import type { BackendSpec } from "../backends/open_backend.ts";
import type { ReaderMessage } from "./messages.ts";
import { fromWire, PipelineError, queryError } from "./pipeline_error.ts";

/**
 * Extra time the pipeline gives a PostgreSQL reader past `queryTimeoutMs`
 * before replacing it: the server's `statement_timeout` cancels the
 * statement itself, which keeps the reader's connections.
 */
const SERVER_CANCEL_GRACE_MS = 1000;

/**
 * How long a SQLite reader told to cancel a query (through its functions,
 * see `workers/reader.ts`) may take to answer before it is replaced.
 */
const CANCEL_ANSWER_MS = 1000;

/** A query for the reader worker: waiting for its records to be stored, or running. */
interface ReaderQuery {
  id: number;
  plan: QueryPlan;
  resolveRows: (rows: QueryRow[]) => void;
  reject: (error: Error) => void;
  /** Whether it was handed to the reader. */
  posted: boolean;
  /** The time limit, running once the reader is ready. */
  timer: ReturnType<typeof setTimeout> | null;
}

/** What a {@linkcode ReaderLink} needs from the writer side of its pipeline. */
export interface ReaderLinkWriter {
  /** Resolves when everything recorded so far is stored (and the store exists); rejects when it cannot be. */
  whenStored(): Promise<void>;
  /** Keeps the writer worker alive while a query waits for it. */
  ref(): void;
  /** Undoes one {@linkcode ReaderLinkWriter.ref}. */
  unref(): void;
  /** Whether the pipeline is shut down or shutting down. */
  closed(): boolean;
}

/** The reader worker of one pipeline, started on the first query. */
export class ReaderLink {
  #spec: BackendSpec;
  #timeoutMs: number;
  #writer: ReaderLinkWriter;
  #nextQueryId = 1;
  #worker: Worker | null = null;
  #ready = false;
  /** The reader's cancel words: [0] query to cancel, [1] query running. */
  #cancel: Int32Array<SharedArrayBuffer> = new Int32Array(new SharedArrayBuffer(8));
  /** Queries the reader was told to cancel, with the timer that replaces it if it does not answer. */
  #cancelling = new Map<number, ReturnType<typeof setTimeout>>();
  /** Queries by id, from the call until settled. */
  #queries = new Map<number, ReaderQuery>();

  /**
   * Creates the link; the reader starts on the first query.
   *
   * @param spec The store the reader opens.
   * @param timeoutMs `queryTimeoutMs`.
   * @param writer The writer side of the pipeline.
   */
  constructor(spec: BackendSpec, timeoutMs: number, writer: ReaderLinkWriter) {
    this.#spec = spec;
    this.#timeoutMs = timeoutMs;
    this.#writer = writer;
  }

  /**
   * Runs a query on the reader, once everything recorded before the call is
   * stored (`whenStored`).
   *
   * @param plan The plan.
   * @returns The rows.
   */
  query(plan: QueryPlan): Promise<QueryRow[]> {
    const id = this.#nextQueryId++;
    return new Promise<QueryRow[]>((resolveRows, reject) => {
      const read: ReaderQuery = { id, plan, resolveRows, reject, posted: false, timer: null };
      this.#queries.set(id, read);
      // The reader opens the store read-only: it needs the writer to have
      // created it (ready), even when there is nothing to flush.
      // The writer stays ref'ed meanwhile: someone awaits it.
      const writer = this.#writer;
      writer.ref();
      writer.whenStored().then(
        () => {
          writer.unref();
          this.#send(read);
        },
        (error: Error) => {
          writer.unref();
          this.#settle(id, error, null);
        },
      );
    });
  }

  #send(read: ReaderQuery): void {
    if (!this.#queries.has(read.id)) return;
    if (this.#writer.closed()) {
      this.#settle(
        read.id,
        new PipelineError("CLOSED", "Cannot query: the manager is shut down"),
        null,
      );
      return;
    }
    this.#post(read);
  }

  #post(read: ReaderQuery): void {
    if (this.#worker === null) this.#start();
    read.posted = true;
    // The limit counts from when the reader can run it, not its start-up.
    if (this.#ready) this.#startTimer(read);
    this.#worker!.ref();
    this.#worker!.postMessage(
      { type: "query", id: read.id, plan: read.plan } satisfies ReaderMessage,
    );
  }

  #startTimer(read: ReaderQuery): void {
    if (read.timer !== null) return;
    const limit = this.#timeoutMs;
    const grace = this.#spec.backend === "postgresql" ? SERVER_CANCEL_GRACE_MS : 0;
    read.timer = setTimeout(() => this.#timedOut(read.id), limit + grace);
  }

  #start(): void {
    const reader = new Worker(new URL("../../workers/reader.ts", import.meta.url));
    this.#worker = reader;
    this.#ready = false;
    this.#cancel = new Int32Array(new SharedArrayBuffer(8));
    this.#clearCancelling();
    reader.unref();
    reader.on("message", (message: ReaderMessage) => {
      if (this.#worker !== reader) return;
      if ("id" in message) {
        // An answer, even to a query already failed by its time limit: the
        // reader is alive and need not be replaced.
        const replace = this.#cancelling.get(message.id);
        if (replace !== undefined) {
          clearTimeout(replace);
          this.#cancelling.delete(message.id);
        }
      }
      switch (message.type) {
        case "ready":
          this.#ready = true;
          for (const read of this.#queries.values()) if (read.posted) this.#startTimer(read);
          break;
        case "queryResult":
          this.#settle(message.id, null, message.rows);
          break;
        case "queryFailed":
          this.#settle(message.id, queryError(message.error), null);
          break;
        case "fatal":
          // The store cannot be opened for reading: fail what it was asked;
          // the next query tries a fresh reader.
          this.#drop(fromWire(message.error));
          break;
      }
    });
    reader.on("error", (error: Error) => {
      if (this.#worker !== reader) return;
      this.#drop(
        new PipelineError(
          "QUERY_FAILED",
          `Cannot run query: the reader worker failed: ${error?.message ?? error}`,
        ),
      );
    });
    reader.on("exit", () => {
      if (this.#worker !== reader) return;
      this.#drop(
        new PipelineError("QUERY_FAILED", "Cannot run query: the reader worker exited"),
      );
    });
    reader.postMessage(
      {
        type: "init",
        spec: this.#spec,
        timeoutMs: this.#timeoutMs,
        cancel: this.#cancel.buffer,
      } satisfies ReaderMessage,
    );
  }

  /** Ends the reader and fails every query handed to it. */
  #drop(error: Error): void {
    const reader = this.#worker;
    this.#worker = null;
    reader?.terminate();
    for (const read of [...this.#queries.values()]) {
      if (read.posted) this.#settle(read.id, error, null);
    }
  }

  /**
   * A query ran past its limit: it fails at once. A SQLite reader is told to
   * stop it (its registered functions check the cancel words) and kept if
   * it answers within `CANCEL_ANSWER_MS`; otherwise — and for PostgreSQL,
   * whose server had its own chance — the reader, which may be stuck in it,
   * is terminated and replaced, and the other queries it had start again on
   * the new one.
   */
  #timedOut(id: number): void {
    if (!this.#queries.has(id)) return;
    this.#settle(id, queryTimeoutError(this.#timeoutMs), null);
    if (this.#spec.backend === "sqlite" && this.#worker !== null) {
      Atomics.store(this.#cancel, 0, id);
      const reader = this.#worker;
      this.#cancelling.set(
        id,
        setTimeout(() => {
          this.#cancelling.delete(id);
          if (this.#worker === reader) this.#replace();
        }, CANCEL_ANSWER_MS),
      );
      return;
    }
    this.#replace();
  }

  #clearCancelling(): void {
    for (const timer of this.#cancelling.values()) clearTimeout(timer);
    this.#cancelling.clear();
  }

  #replace(): void {
    this.#clearCancelling();
    const reader = this.#worker;
    this.#worker = null;
    reader?.terminate();
    for (const read of this.#queries.values()) {
      if (read.posted) this.#post(read);
    }
  }

  #settle(id: number, error: Error | null, rows: QueryRow[] | null): void {
    const read = this.#queries.get(id);
    if (read === undefined) return;
    this.#queries.delete(id);
    if (read.timer !== null) clearTimeout(read.timer);
    if (this.#worker !== null && ![...this.#queries.values()].some((r) => r.posted)) {
      // Idle: it must not keep the process alive.
      this.#worker.unref();
    }
    if (error !== null) read.reject(error);
    else read.resolveRows(rows!);
  }

  /**
   * Fails every query and ends the reader; resolves once its thread is gone.
   *
   * @param error What the queries fail with.
   */
  async close(error: Error): Promise<void> {
    this.#clearCancelling();
    for (const read of [...this.#queries.values()]) this.#settle(read.id, error, null);
    const reader = this.#worker;
    this.#worker = null;
    await reader?.terminate();
  }
}
