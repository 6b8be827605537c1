/**
 * {@linkcode RingBuffer}: a single-producer / single-consumer queue of frames
 * in a `SharedArrayBuffer`, the path from the application thread to the
 * flusher worker.
 *
 * ```
 * SharedArrayBuffer
 * ┌──────────────────────┬──────────────────────┬──────────────────────────────────────────┐
 * │ Int32 control words  │ BigInt64 counters    │ data region (capacity bytes)             │
 * │ WRITE_POS READ_POS   │ COMMITTED_RECORDS    │ ┌────┬─────┬──────────┬────┬─────┬────┐   │
 * │ WAKE CONSUMER_STATE  │                      │ │len │count│ payload  │len │count│... │   │
 * │ SPACE DRAIN          │                      │ └────┴─────┴──────────┴────┴─────┴────┘   │
 * └──────────────────────┴──────────────────────┴──────────────────────────────────────────┘
 *   see _indexes.ts        HEADER_BYTES ───────────▶ frames are 8-byte aligned;
 *                                                    len = -1 (WRAP_MARKER) means "continue at 0"
 * ```
 *
 * The producer appends frames at `WRITE_POS`. The consumer reads frames from
 * its own cursor but advances the shared `READ_POS` only after the records
 * are durably stored (`commit`): until then the frames stay in the ring, so a
 * consumer that dies is replaced by one that replays from `READ_POS`. The ring
 * is never filled completely (`WRITE_POS === READ_POS` always means empty).
 * A frame carries many records: per-frame costs (atomics, wake-ups) are paid
 * once per batch, not per record.
 *
 * @module
 */
import {
  COMMITTED_RECORDS,
  CONSUMER_BUSY,
  CONSUMER_IDLE,
  CONSUMER_STATE,
  CONTROL_WORDS,
  COUNTER_WORDS,
  DRAIN,
  FRAME_HEADER_BYTES,
  HEADER_BYTES,
  READ_POS,
  SPACE,
  WAKE,
  WRAP_MARKER,
  WRITE_POS,
} from "./indexes.ts";

/** One frame as read by the consumer. */
export interface RingFrame {
  /** The payload, copied out of the shared memory (decoding in place is slow). */
  payload: Uint8Array;
  /** Records in the frame. */
  records: number;
  /** Cursor position just after this frame. */
  next: number;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * A single-producer / single-consumer frame queue over a `SharedArrayBuffer`.
 * One thread writes, one other thread reads; both construct a `RingBuffer`
 * over the same buffer.
 *
 * Internal: not exported from `mod.ts`; `tests/pipeline/ring_buffer_test.ts` shows its use.
 */
export class RingBuffer {
  #buffer: SharedArrayBuffer;
  #control: Int32Array;
  #counters: BigInt64Array;
  #bytes: Uint8Array;
  #words: Int32Array;
  #capacity: number;

  /**
   * Wraps an existing ring's memory (the consumer side does this with the
   * buffer the producer created).
   *
   * @param buffer Memory created by {@linkcode RingBuffer.create}.
   */
  constructor(buffer: SharedArrayBuffer) {
    this.#buffer = buffer;
    this.#capacity = buffer.byteLength - HEADER_BYTES;
    this.#control = new Int32Array(buffer, 0, CONTROL_WORDS);
    this.#counters = new BigInt64Array(buffer, CONTROL_WORDS * 4, COUNTER_WORDS);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES, this.#capacity);
    this.#words = new Int32Array(buffer, HEADER_BYTES, this.#capacity / 4);
  }

  /**
   * Allocates a ring with `capacity` bytes of frame space.
   *
   * @param capacity Bytes for frames; a multiple of 8, at least 4096.
   * @returns The ring.
   * @throws {RangeError} When the capacity is too small or not a multiple of 8.
   */
  static create(capacity: number): RingBuffer {
    if (!Number.isInteger(capacity) || capacity < 4096 || capacity % 8 !== 0) {
      throw new RangeError(
        `Cannot create ring buffer: capacity must be a multiple of 8 and >= 4096, got ${capacity}`,
      );
    }
    return new RingBuffer(new SharedArrayBuffer(HEADER_BYTES + capacity));
  }

  /** The shared memory, to hand to the other thread. */
  get buffer(): SharedArrayBuffer {
    return this.#buffer;
  }

  /** Bytes of frame space. */
  get capacity(): number {
    return this.#capacity;
  }

  /**
   * Largest payload a frame may carry. Half the capacity (minus headers), so
   * that an empty ring always accepts a frame wherever its cursors stand.
   */
  get maxPayloadBytes(): number {
    return this.#capacity / 2 - 2 * FRAME_HEADER_BYTES;
  }

  /** Where the consumer resumes: just after the last committed frame. */
  get readPosition(): number {
    return Atomics.load(this.#control, READ_POS);
  }

  /** Records committed by consumers so far (survives a consumer restart). */
  get committedRecords(): number {
    return Number(Atomics.load(this.#counters, COMMITTED_RECORDS));
  }

  /** Bytes between the committed read position and the write position. */
  usedBytes(): number {
    const w = Atomics.load(this.#control, WRITE_POS);
    const r = Atomics.load(this.#control, READ_POS);
    return w >= r ? w - r : this.#capacity - r + w;
  }

  /** Whether every written frame has been committed. */
  isEmpty(): boolean {
    return Atomics.load(this.#control, WRITE_POS) === Atomics.load(this.#control, READ_POS);
  }

  /**
   * Producer: appends one frame if it fits.
   *
   * @param payload The frame's bytes (copied into the ring).
   * @param records How many records the frame carries.
   * @returns `false` when there is not enough free space (nothing written).
   * @throws {RangeError} When the payload exceeds {@linkcode RingBuffer.maxPayloadBytes}.
   */
  tryWrite(payload: Uint8Array, records: number): boolean {
    if (payload.length > this.maxPayloadBytes) {
      throw new RangeError(
        `Cannot write frame: ${payload.length} bytes exceed the limit of ${this.maxPayloadBytes}`,
      );
    }
    const size = FRAME_HEADER_BYTES + align8(payload.length);
    const cap = this.#capacity;
    let w = Atomics.load(this.#control, WRITE_POS);
    const r = Atomics.load(this.#control, READ_POS);
    if (w >= r) {
      const toEnd = cap - w;
      // Landing exactly on the end wraps the cursor to 0, which must not
      // equal READ_POS (that would read as empty).
      if (size < toEnd || (size === toEnd && r > 0)) {
        this.#put(w, payload, records);
        Atomics.store(this.#control, WRITE_POS, (w + size) % cap);
        return true;
      }
      if (size >= r) return false;
      this.#words[w >> 2] = WRAP_MARKER;
      w = 0;
    } else if (w + size >= r) {
      return false;
    }
    this.#put(w, payload, records);
    // Publishing with a seq-cst store orders the frame bytes before it.
    Atomics.store(this.#control, WRITE_POS, w + size);
    return true;
  }

  #put(at: number, payload: Uint8Array, records: number): void {
    this.#words[at >> 2] = payload.length;
    this.#words[(at >> 2) + 1] = records;
    this.#bytes.set(payload, at + FRAME_HEADER_BYTES);
  }

  /**
   * Producer: sleeps until the consumer commits something or `timeoutMs`
   * passes. Only for bounded paths (a full ring, shutdown): it blocks the
   * calling thread.
   *
   * @param timeoutMs Upper bound of the wait.
   * @returns `false` when the wait timed out with no commit.
   */
  waitForSpace(timeoutMs: number): boolean {
    const seen = Atomics.load(this.#control, SPACE);
    if (timeoutMs <= 0) return false;
    return Atomics.wait(this.#control, SPACE, seen, timeoutMs) !== "timed-out";
  }

  /** Producer: wakes the consumer if it is sleeping. */
  wakeConsumer(): void {
    // Bump first, notify only a sleeper: a consumer about to sleep sees the
    // new token and does not sleep at all.
    Atomics.add(this.#control, WAKE, 1);
    if (Atomics.load(this.#control, CONSUMER_STATE) === CONSUMER_IDLE) {
      Atomics.notify(this.#control, WAKE);
    }
  }

  /** Producer: asks the consumer to write out everything now (exit path). */
  requestDrain(): void {
    Atomics.store(this.#control, DRAIN, 1);
    Atomics.add(this.#control, WAKE, 1);
    Atomics.notify(this.#control, WAKE);
  }

  /** Producer: withdraws a {@linkcode RingBuffer.requestDrain} (the process did not exit after all). */
  cancelDrain(): void {
    Atomics.store(this.#control, DRAIN, 0);
  }

  /** Whether the producer asked for an immediate drain. */
  get drainRequested(): boolean {
    return Atomics.load(this.#control, DRAIN) === 1;
  }

  /**
   * Consumer: reads the frame at `cursor`, if the producer has written one.
   *
   * @param cursor The consumer's position (start at {@linkcode RingBuffer.readPosition}).
   * @returns The frame, or `null` when there is none yet.
   */
  read(cursor: number): RingFrame | null {
    let at = cursor;
    if (at === Atomics.load(this.#control, WRITE_POS)) return null;
    let len = this.#words[at >> 2]!;
    if (len === WRAP_MARKER) {
      at = 0;
      if (at === Atomics.load(this.#control, WRITE_POS)) return null;
      len = this.#words[0]!;
    }
    const records = this.#words[(at >> 2) + 1]!;
    const start = at + FRAME_HEADER_BYTES;
    const payload = this.#bytes.slice(start, start + len);
    return { payload, records, next: (start + align8(len)) % this.#capacity };
  }

  /**
   * Consumer: marks everything before `position` as durably stored, freeing
   * its space, and wakes a producer waiting for space.
   *
   * @param position Cursor just after the last stored frame.
   * @param records Records in the frames being committed.
   */
  commit(position: number, records: number): void {
    Atomics.store(this.#control, READ_POS, position);
    Atomics.add(this.#counters, COMMITTED_RECORDS, BigInt(records));
    Atomics.add(this.#control, SPACE, 1);
    Atomics.notify(this.#control, SPACE);
  }

  /**
   * Consumer: the wake token to pass to {@linkcode RingBuffer.waitForData}.
   * Take it before looking for work, so that a wake-up sent while looking is
   * not lost (the futex pattern).
   */
  wakeToken(): number {
    return Atomics.load(this.#control, WAKE);
  }

  /**
   * Consumer: sleeps (without blocking the thread's event loop) until the
   * producer wakes it or `timeoutMs` passes.
   *
   * @param token From {@linkcode RingBuffer.wakeToken}, taken before looking for work.
   * @param timeoutMs Upper bound of the wait.
   * @returns Resolves when woken or timed out.
   */
  async waitForData(token: number, timeoutMs: number): Promise<void> {
    Atomics.store(this.#control, CONSUMER_STATE, CONSUMER_IDLE);
    try {
      const result = Atomics.waitAsync(this.#control, WAKE, token, timeoutMs);
      if (result.async) await result.value;
    } finally {
      Atomics.store(this.#control, CONSUMER_STATE, CONSUMER_BUSY);
    }
  }

  /**
   * Consumer: interrupts a pending {@linkcode RingBuffer.waitForData} from
   * the consumer's own thread (a control message arrived).
   */
  interruptWait(): void {
    Atomics.add(this.#control, WAKE, 1);
    Atomics.notify(this.#control, WAKE);
  }
}
