/**
 * {@linkcode SpillQueue}: frames that did not fit in the ring, held on the
 * application thread, oldest first, up to a bound in records. Frames leave
 * it for the ring in order (ring order must be recording order); a frame
 * beyond the bound is refused, and the caller counts it as dropped.
 *
 * @module
 */

/** A frame that did not fit in the ring. */
export interface SpilledFrame {
  /** Its bytes (a copy, owned by the queue). */
  bytes: Uint8Array;
  /** Records in it. */
  records: number;
}

/** A bounded FIFO of frames. */
export class SpillQueue {
  #frames: SpilledFrame[] = [];
  #head = 0;
  #records = 0;
  #maxRecords: number;

  /**
   * Creates an empty queue.
   *
   * @param maxRecords The most records it holds.
   */
  constructor(maxRecords: number) {
    this.#maxRecords = maxRecords;
  }

  /** Records held. */
  get records(): number {
    return this.#records;
  }

  /** Whether no frame waits. */
  get empty(): boolean {
    return this.#head >= this.#frames.length;
  }

  /**
   * Queues a copy of a frame, unless that would pass the bound.
   *
   * @param bytes The frame (copied).
   * @param records Records in it.
   * @returns Whether it was queued.
   */
  push(bytes: Uint8Array, records: number): boolean {
    if (this.#records + records > this.#maxRecords) return false;
    this.#frames.push({ bytes: bytes.slice(), records });
    this.#records += records;
    return true;
  }

  /** The oldest frame, or `undefined` when none waits. */
  peek(): SpilledFrame | undefined {
    return this.#frames[this.#head];
  }

  /** Removes the oldest frame (after it was written to the ring). */
  shift(): void {
    const frame = this.#frames[this.#head];
    if (frame === undefined) return;
    this.#records -= frame.records;
    this.#frames[this.#head++] = undefined as unknown as SpilledFrame;
    if (this.#head >= this.#frames.length) {
      this.#frames = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#frames.length) {
      // Give back the slots of frames already gone.
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every frame. */
  clear(): void {
    this.#frames = [];
    this.#head = 0;
    this.#records = 0;
  }
}
