/**
 * {@linkcode WorkerLink}: the application thread's link to the flusher
 * worker (`workers/flusher.ts`). It starts the worker with its `init`
 * message, restarts it with exponential back-off when it exits (the new
 * worker replays the frames the old one had not committed; the pipeline
 * re-asks what was pending), and keeps it from holding the process open
 * unless someone awaits it (`ref`/`unref` are counted).
 *
 * @module
 */
import { Worker } from "node:worker_threads";
import type { PipelineMessage } from "./messages.ts";

const RESTART_FIRST_MS = 50;
const RESTART_MAX_MS = 5000;

/** What a {@linkcode WorkerLink} tells its pipeline, and asks it. */
export interface WorkerLinkEvents {
  /** A message from the worker. */
  message(message: PipelineMessage): void;
  /** The worker threw (it exits next). */
  error(error: Error): void;
  /** Whether a worker that exited may be replaced (not while closing, not after a fatal error). */
  mayRestart(): boolean;
  /** A replacement worker was started: re-post what was pending. */
  restarted(): void;
}

/** The flusher worker of one pipeline. */
export class WorkerLink {
  #init: PipelineMessage;
  #events: WorkerLinkEvents;
  #worker: Worker | null = null;
  #refs = 0;
  #restarts = 0;

  /**
   * Starts the worker.
   *
   * @param init The `init` message, posted to each worker started.
   * @param events The pipeline's side.
   */
  constructor(init: PipelineMessage & { type: "init" }, events: WorkerLinkEvents) {
    this.#init = init;
    this.#events = events;
    this.#start();
  }

  /** Whether a worker is running (not stopped, not between a crash and its restart). */
  get running(): boolean {
    return this.#worker !== null;
  }

  /** Workers started again after one exited (`stats().workerRestarts`). */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Posts a message to the worker (dropped while none runs: the pipeline
   * re-posts what is pending after a restart).
   *
   * @param message The message.
   */
  post(message: PipelineMessage): void {
    this.#worker?.postMessage(message);
  }

  /** Keeps the process alive for the worker: someone awaits it. */
  ref(): void {
    if (this.#refs++ === 0) this.#worker?.ref();
  }

  /** Undoes one {@linkcode WorkerLink.ref}. */
  unref(): void {
    if (this.#refs > 0 && --this.#refs === 0) this.#worker?.unref();
  }

  /**
   * Stops the worker for good.
   *
   * @returns Resolves once its thread is gone.
   */
  async terminate(): Promise<void> {
    this.#refs = 0;
    const worker = this.#worker;
    this.#worker = null;
    await worker?.terminate();
  }

  #start(): void {
    const worker = new Worker(new URL("../../workers/flusher.ts", import.meta.url));
    this.#worker = worker;
    // The worker must not keep the process alive on its own; it is ref'ed
    // while someone awaits it (flush, query, shutdown).
    if (this.#refs === 0) worker.unref();
    worker.on("message", (message: PipelineMessage) => this.#events.message(message));
    worker.on("error", (error: Error) => this.#events.error(error));
    worker.on("exit", () => {
      if (this.#worker !== worker || !this.#events.mayRestart()) return;
      this.#worker = null;
      this.#restart();
    });
    this.post(this.#init);
  }

  #restart(): void {
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** this.#restarts);
    this.#restarts++;
    const timer = setTimeout(() => {
      if (!this.#events.mayRestart()) return;
      this.#start();
      this.#events.restarted();
    }, delay);
    if (this.#refs === 0) Deno.unrefTimer(timer);
  }
}
