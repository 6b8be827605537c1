/**
 * Frames: how records cross from the application thread to the flusher
 * worker. `format.ts` fixes the layout both threads share (a frame is one
 * MessagePack array of record tuples `[kind, ...fields]`, with integer
 * markers for fields that repeat an earlier record of the frame);
 * `encoder.ts` is the application thread's side, appending each record as
 * it is recorded and owning the "previous field" state behind those
 * markers; `frame_writer.ts` is the plain MessagePack writer it writes
 * with; `decoder.ts` is the worker's side, resolving the markers and
 * turning tuples into records.
 *
 * @module
 */
export * from "./format.ts";
export * from "./encoder.ts";
export * from "./frame_writer.ts";
export * from "./decoder.ts";
