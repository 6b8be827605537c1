/**
 * The recording pipeline: everything between a finished record on the
 * application thread and the flusher worker. {@linkcode Pipeline} composes
 * a {@linkcode FrameBatcher} (the current frame, one append path for all
 * four kinds of record), the shared-memory {@linkcode RingBuffer} (its
 * control words named in `indexes.ts`), a bounded {@linkcode SpillQueue}
 * for back-pressure, a {@linkcode WorkerLink} to the flusher worker and a
 * {@linkcode ReaderLink} to the reader worker that runs queries apart from
 * writing (messages in `messages.ts`, one tagged union per worker), and the
 * counters of {@linkcode TelemetryStats}.
 *
 * @module
 */
export * from "./pipeline.ts";
export * from "./pipeline_error.ts";
export * from "./frame_batcher.ts";
export * from "./spill_queue.ts";
export * from "./reader_link.ts";
export * from "./worker_link.ts";
export * from "./ring_buffer.ts";
export * from "./indexes.ts";
export * from "./messages.ts";
export * from "./telemetry_stats.ts";
