/**
 * {@linkcode FrameBatcher}: assembles the current frame on the application
 * thread. One append path serves all four kinds of record: encode into the
 * frame; when the frame outgrows what the ring accepts, take the record back
 * out, have the frame published, and encode it again into the fresh one; when
 * encoding throws (a getter, a Proxy), roll it back and retry once with a
 * readable copy of its attributes. A record that cannot be stored either way
 * is dropped and reported, never thrown into the application.
 *
 * The path is a method taking the record's kind, with the per-kind encoding
 * behind one `switch` in the encoder, rather than a closure per record, so
 * appending allocates nothing.
 *
 * @module
 */
import { type FieldsOf, RecordEncoder } from "../frame/encoder.ts";
import type { RecordKind } from "../frame/format.ts";
import { FrameWriter } from "../frame/frame_writer.ts";
import { readableCopy } from "../model/sanitize.ts";
import type { Attributes } from "../model/types.ts";

/** Records per frame: large enough to amortise per-frame costs, small enough to keep latency low. */
const FRAME_RECORDS = 512;
/** Frame size that triggers publishing regardless of the record count. */
export const FRAME_BYTES = 64 * 1024;
/** Names of the record kinds, by tag, for error messages. */
const KIND_NAMES = ["trace", "span", "event", "metric"] as const;

/** What a {@linkcode FrameBatcher} needs from its pipeline. */
export interface FrameBatcherOptions {
  /** The largest frame the ring accepts, in bytes. */
  maxPayloadBytes: number;
  /** Publishes the current frame (through {@linkcode FrameBatcher.take}) to make room. */
  publish: () => void;
  /** Counts one record dropped, with why (`"CODE: message"`). */
  drop: (reason: string) => void;
}

/** The current frame of one pipeline: a MessagePack array of record tuples. */
export class FrameBatcher {
  #encoder: RecordEncoder = new RecordEncoder(new FrameWriter());
  #writer: FrameWriter = this.#encoder.writer;
  #header: number;
  #records = 0;
  #maxPayload: number;
  #frameLimit: number;
  #publish: () => void;
  #drop: (reason: string) => void;
  // Where the record being encoded starts, and the sanitized count then.
  #start = 0;
  #startSanitized = 0;

  /**
   * Starts an empty frame.
   *
   * @param options The ring's limit and the pipeline's callbacks.
   */
  constructor(options: FrameBatcherOptions) {
    this.#maxPayload = options.maxPayloadBytes;
    this.#frameLimit = Math.min(FRAME_BYTES, options.maxPayloadBytes >> 2);
    this.#publish = options.publish;
    this.#drop = options.drop;
    this.#header = this.#writer.reserveArray32();
  }

  /** Records in the current frame. */
  get records(): number {
    return this.#records;
  }

  /** Whether the frame should be published now (enough records or bytes). */
  get full(): boolean {
    return this.#records >= FRAME_RECORDS || this.#writer.pos >= this.#frameLimit;
  }

  /**
   * Values replaced or converted so far because they could not be stored as
   * given (`stats().sanitizedValues`).
   */
  get sanitized(): number {
    return this.#writer.sanitized;
  }

  /** Counts values replaced before they reached the encoder. */
  countSanitized(n: number): void {
    this.#writer.sanitized += n;
  }

  /**
   * Appends a record to the frame.
   *
   * @param kind Its tag.
   * @param record Its fields.
   * @param idCodes Where its id's character codes are, if known (see `RecordEncoder.write`).
   * @param idAt See `idCodes`.
   * @returns Whether it was added; when not, it was dropped and reported.
   */
  append<K extends RecordKind>(
    kind: K,
    record: FieldsOf[K],
    idCodes: DataView | null,
    idAt: number,
  ): boolean {
    try {
      if (!this.#encode(kind, record, idCodes, idAt)) return false;
    } catch {
      this.#rollBack();
      // Again with a copy of the attributes in which every value that
      // cannot be read is a marker (see `readableCopy`).
      const copy = readableCopy(record.attributes);
      this.#writer.sanitized += copy.replaced;
      try {
        const again = { ...record, attributes: copy.value as Attributes };
        if (!this.#encode(kind, again, idCodes, idAt)) return false;
      } catch (error) {
        this.#rollBack();
        this.#drop(`ENCODE_FAILED: Cannot record ${KIND_NAMES[kind]}: ${messageOf(error)}`);
        return false;
      }
    }
    this.#records++;
    return true;
  }

  /**
   * Encodes a record into the frame, into a fresh one if it does not fit.
   * Returns `false` when it was dropped (too large); throws what encoding
   * threw, the record's start in `#start` for `#rollBack`.
   */
  #encode<K extends RecordKind>(
    kind: K,
    record: FieldsOf[K],
    idCodes: DataView | null,
    idAt: number,
  ): boolean {
    const w = this.#writer;
    const sanitized = w.sanitized;
    this.#start = w.pos;
    this.#startSanitized = sanitized;
    this.#encoder.write(kind, record, idCodes, idAt);
    if (w.pos <= this.#maxPayload) return true;
    if (!this.#makeRoom(this.#start)) return false;
    this.#start = w.pos;
    w.sanitized = sanitized;
    this.#encoder.write(kind, record, idCodes, idAt);
    return w.pos <= this.#maxPayload || this.#makeRoom(this.#start);
  }

  /**
   * A record written at `start` pushed the frame past what the ring
   * accepts: takes it back out and publishes the frame, so the caller can
   * write it again into a fresh one. It is written again rather than
   * copied, because a record may refer back to earlier ones in its frame.
   * Returns `false`, dropping the record, when the frame held nothing else:
   * the record alone is too large.
   */
  #makeRoom(start: number): boolean {
    const w = this.#writer;
    const size = w.pos - start;
    w.pos = start;
    if (this.#records === 0) {
      // The dropped record may have set up references to itself.
      this.#encoder.forgetReferences();
      this.#drop(`TOO_LARGE: a record of ${size} bytes exceeds the ring's frame limit`);
      return false;
    }
    this.#publish();
    return true;
  }

  /** Takes a record that failed to encode back out of the frame, which stays decodable. */
  #rollBack(): void {
    this.#writer.pos = this.#start;
    this.#writer.sanitized = this.#startSanitized;
    this.#encoder.forgetReferences();
  }

  /**
   * The current frame's bytes, its record count patched in: a view of the
   * scratch buffer, valid until {@linkcode FrameBatcher.reset}.
   */
  take(): Uint8Array {
    const w = this.#writer;
    w.patchArray32(this.#header, this.#records);
    return w.buf.subarray(0, w.pos);
  }

  /** Starts a new, empty frame. */
  reset(): void {
    // A huge record grew the scratch buffer: give the memory back.
    this.#writer.reset(4 * FRAME_BYTES);
    this.#encoder.forgetReferences();
    this.#header = this.#writer.reserveArray32();
    this.#records = 0;
  }
}

/** The message of a thrown value, however odd. */
function messageOf(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return "unknown error";
  }
}
