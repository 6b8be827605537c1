/**
 * Names of the shared control words of the {@linkcode RingBuffer}, in one
 * place (as thread-stream's `lib/indexes.js`). Both threads import these.
 *
 * @module
 */

/** Byte offset (into the data region) where the producer writes the next frame. */
export const WRITE_POS = 0;
/**
 * Byte offset up to which the consumer has durably written every frame.
 * Frames before it may be overwritten; frames after it are replayed by a
 * restarted worker.
 */
export const READ_POS = 1;
/** Futex word the consumer sleeps on; the producer bumps it to wake it. */
export const WAKE = 2;
/** `CONSUMER_IDLE` while the consumer sleeps on `WAKE`, else `CONSUMER_BUSY`. */
export const CONSUMER_STATE = 3;
/** Futex word the producer sleeps on when the ring is full; bumped on every commit. */
export const SPACE = 4;
/** Set to 1 by the producer to ask the consumer to write everything now (exit path). */
export const DRAIN = 5;
/** Number of `Int32` control words. */
export const CONTROL_WORDS = 16;

/** Index (in the `BigInt64` counter view) of the records the consumer has committed. */
export const COMMITTED_RECORDS = 0;
/** Number of `BigInt64` counters. */
export const COUNTER_WORDS = 4;

/** Value of `CONSUMER_STATE` while the consumer is sleeping. */
export const CONSUMER_IDLE = 1;
/** Value of `CONSUMER_STATE` while the consumer is working. */
export const CONSUMER_BUSY = 0;

/** Bytes before the data region: control words, then counters. */
export const HEADER_BYTES = CONTROL_WORDS * 4 + COUNTER_WORDS * 8;
/** Bytes of a frame header: payload length (int32) and record count (int32). */
export const FRAME_HEADER_BYTES = 8;
/** Payload length that marks "no frame here, continue at offset 0". */
export const WRAP_MARKER = -1;
