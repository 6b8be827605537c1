/**
 * The protobuf wire format, as much of it as OTLP needs: a writer for
 * varints, fixed-width numbers, strings and nested messages, and a reader
 * for the two small messages collectors answer with.
 *
 * Nested messages are written in one pass: one byte is reserved for the
 * length, and the body is moved right in the rare case its length needs
 * more (messages of 128 bytes or more). The buffer is kept between
 * requests (up to 1 MiB); {@linkcode ProtobufWriter.finish} copies the bytes
 * out, since a request body may be sent again on retry while the next one is
 * written.
 *
 * @module
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const TWO_32 = 4294967296;
/** The largest buffer kept between requests (a 1000-span request is ~230 KB). */
const MAX_KEPT_BYTES = 1024 * 1024;

/** Wire types. */
export const WIRE = { VARINT: 0, FIXED64: 1, LEN: 2, FIXED32: 5 } as const;

/** Bytes a varint of a non-negative length takes. */
function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x200000) return 3;
  if (value < 0x10000000) return 4;
  return 5;
}

/** A growable protobuf writer. */
export class ProtobufWriter {
  #buffer: Uint8Array;
  #view: DataView;
  readonly #initialSize: number;
  /** Bytes written so far. */
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.#initialSize = initialSize;
    this.#buffer = new Uint8Array(initialSize);
    this.#view = new DataView(this.#buffer.buffer);
  }

  /** Starts a request: forgets what the previous one wrote. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of the bytes written since {@linkcode reset}. */
  finish(): Uint8Array {
    const bytes = this.#buffer.slice(0, this.pos);
    // One huge request does not pin its buffer for the life of the process.
    if (this.#buffer.length > MAX_KEPT_BYTES) {
      this.#buffer = new Uint8Array(this.#initialSize);
      this.#view = new DataView(this.#buffer.buffer);
    }
    return bytes;
  }

  #ensure(extra: number): void {
    const needed = this.pos + extra;
    if (needed <= this.#buffer.length) return;
    let size = this.#buffer.length * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.#buffer.subarray(0, this.pos));
    this.#buffer = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** A field's key: field number and wire type. */
  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /**
   * A varint: non-negative integers up to 2^64, and negative ones as their
   * 64-bit two's complement (10 bytes), as int64 fields want.
   */
  varint(value: number): void {
    this.#ensure(10);
    const buffer = this.#buffer;
    if (value >= 0 && value <= 0xffffffff) {
      let v = value >>> 0;
      while (v > 127) {
        buffer[this.pos++] = (v & 127) | 128;
        v >>>= 7;
      }
      buffer[this.pos++] = v;
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / TWO_32) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / TWO_32) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    while (high > 0 || low > 127) {
      buffer[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buffer[this.pos++] = low;
  }

  /** A fixed32 (little-endian). */
  fixed32(value: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.pos, value >>> 0, true);
    this.pos += 4;
  }

  /** A fixed64 from its two 32-bit halves. */
  fixed64(low: number, high: number): void {
    this.#ensure(8);
    this.#view.setUint32(this.pos, low >>> 0, true);
    this.#view.setUint32(this.pos + 4, high >>> 0, true);
    this.pos += 8;
  }

  /** A fixed64 from a non-negative integer (a count). */
  fixed64Number(value: number): void {
    this.fixed64(value >>> 0, (value / TWO_32) >>> 0);
  }

  /**
   * A fixed64 of nanoseconds from `[seconds, nanoseconds]`, exact beyond
   * 2^53: `seconds * 1e9` is split into 32-bit halves without rounding.
   */
  hrTime(seconds: number, nanos: number): void {
    const lowSeconds = seconds & 0xffff;
    const highSeconds = (seconds / 65536) >>> 0;
    const fromLow = lowSeconds * 1e9;
    const fromHigh = highSeconds * 1e9;
    const low = (fromLow >>> 0) + (((fromHigh & 0xffff) * 65536) >>> 0) + nanos;
    const high = Math.floor(fromLow / TWO_32) + ((fromHigh / 65536) >>> 0) +
      Math.floor(low / TWO_32);
    this.fixed64(low >>> 0, high >>> 0);
  }

  /** A double (little-endian IEEE 754). */
  double(value: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Length-prefixed bytes. */
  bytes(value: Uint8Array): void {
    this.varint(value.length);
    this.#ensure(value.length);
    this.#buffer.set(value, this.pos);
    this.pos += value.length;
  }

  /** A length-prefixed UTF-8 string (lone surrogates become U+FFFD). */
  string(value: string): void {
    const length = value.length;
    // ASCII, the common case, is copied without an intermediate array.
    this.#ensure(length + 5);
    const start = this.pos;
    const buffer = this.#buffer;
    let at = start + varintSize(length);
    for (let i = 0; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 127) {
        this.bytes(encoder.encode(value));
        return;
      }
      buffer[at++] = code;
    }
    this.varint(length);
    this.pos = at;
  }

  /** An id given as lowercase hex, as bytes. */
  hexBytes(hex: string): void {
    const length = hex.length >>> 1;
    this.#ensure(length + 1);
    const buffer = this.#buffer;
    buffer[this.pos++] = length;
    for (let i = 0; i < hex.length; i += 2) {
      buffer[this.pos++] = (hexDigit(hex.charCodeAt(i)) << 4) | hexDigit(hex.charCodeAt(i + 1));
    }
  }

  /** Opens a nested message; pass the result to {@linkcode end}. */
  begin(): number {
    this.#ensure(1);
    return this.pos++;
  }

  /** Closes a nested message: writes its length where {@linkcode begin} left room. */
  end(start: number): void {
    const length = this.pos - start - 1;
    const size = varintSize(length);
    if (size > 1) {
      this.#ensure(size - 1);
      this.#buffer.copyWithin(start + size, start + 1, this.pos);
      this.pos += size - 1;
    }
    const buffer = this.#buffer;
    let v = length;
    let at = start;
    while (v > 127) {
      buffer[at++] = (v & 127) | 128;
      v >>>= 7;
    }
    buffer[at] = v;
  }
}

function hexDigit(code: number): number {
  // '0'-'9' → 0-9, 'a'-'f' → 10-15 (ids are lowercased before they get here).
  return code <= 57 ? code - 48 : code - 87;
}

/** A field read from a message: its number, wire type and value. */
export interface ProtobufField {
  field: number;
  wireType: number;
  /** The number of a varint, fixed32 or fixed64 (the latter exact up to 2^53). */
  number: number;
  /** The bytes of a length-delimited field. */
  bytes: Uint8Array | null;
}

/**
 * The fields of a message, in order; `null` when the bytes are not a
 * well-formed message (truncated, a group, or an unknown wire type).
 */
export function readFields(bytes: Uint8Array): ProtobufField[] | null {
  const fields: ProtobufField[] = [];
  let pos = 0;
  const varint = (): number | null => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= bytes.length) return null;
      const byte = bytes[pos++]!;
      result += (byte & 127) * scale;
      if ((byte & 128) === 0) return result;
      scale *= 128;
    }
    return null;
  };
  while (pos < bytes.length) {
    const key = varint();
    if (key === null) return null;
    const field = Math.floor(key / 8);
    const wireType = key % 8;
    if (field === 0) return null;
    let number = 0;
    let value: Uint8Array | null = null;
    if (wireType === WIRE.VARINT) {
      const v = varint();
      if (v === null) return null;
      number = v;
    } else if (wireType === WIRE.FIXED64 || wireType === WIRE.FIXED32) {
      const size = wireType === WIRE.FIXED64 ? 8 : 4;
      if (pos + size > bytes.length) return null;
      const view = new DataView(bytes.buffer, bytes.byteOffset + pos, size);
      number = size === 8
        ? view.getUint32(0, true) + view.getUint32(4, true) * TWO_32
        : view.getUint32(0, true);
      pos += size;
    } else if (wireType === WIRE.LEN) {
      const length = varint();
      if (length === null || pos + length > bytes.length) return null;
      value = bytes.subarray(pos, pos + length);
      pos += length;
    } else {
      return null;
    }
    fields.push({ field, wireType, number, bytes: value });
  }
  return fields;
}

/** A length-delimited field as UTF-8 text, or `null` when it is not valid UTF-8. */
export function readString(bytes: Uint8Array): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}
