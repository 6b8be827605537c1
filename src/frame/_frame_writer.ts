/**
 * {@linkcode FrameWriter}: a small, specialised MessagePack writer that
 * appends records to one growable scratch buffer. It writes standard
 * MessagePack (decoded by msgpackr in the worker) but skips the generic
 * encoder's per-value type dispatch for the fixed record fields, and it
 * encodes each record the moment it is recorded, so a record is a snapshot
 * (later mutation of an attributes object does not leak into it).
 *
 * @module
 */

import {
  CIRCULAR_MARKER,
  cleanString,
  MAX_DEPTH,
  MAX_DEPTH_MARKER,
  needsCleaning,
  NO_CONVERSION,
  nonFiniteText,
  plainValueOf,
  textOf,
  unreadable,
} from "../model/sanitize.ts";

const encoder = new TextEncoder();

/**
 * What a map key `"__proto__"` is written as: msgpackr decodes that key as
 * `"__proto_"` (so that decoding never sets a prototype), so the writer
 * escapes it with a NUL, which no other key holds (NULs are replaced), and
 * flags the record for `decodeFrame` to restore it as an own key.
 */
export const PROTO_KEY_ESCAPED = "\0__proto__";

/**
 * What a record carries in place of its trace id when the id equals the
 * last one written in full earlier in the same frame: the MessagePack
 * integer 0, which a trace id (a string or `null`) never is. Spans of one
 * trace usually follow each other, so this saves encoding (and decoding) a
 * 32-character string per record.
 */
export const SAME_TRACE_ID = 0;

/**
 * Writes `s` at `at` as a MessagePack string, if it is ASCII and shorter
 * than 256 characters; the caller made room for `s.length + 2` bytes.
 *
 * @returns The position after the string, or -1 (and garbage written) when
 * `s` does not qualify.
 */
export function putAscii(buf: Uint8Array, at: number, s: string): number {
  const len = s.length;
  if (len < 32) {
    buf[at++] = 0xa0 | len;
  } else if (len < 256) {
    buf[at++] = 0xd9;
    buf[at++] = len;
  } else {
    return -1;
  }
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    // Not 1..0x7f (a NUL, or not ASCII): one unsigned comparison.
    if ((c - 1) >>> 0 >= 0x7f) return -1;
    buf[at++] = c;
  }
  return at;
}

/**
 * Writes the id of `length` (16 or 32) ASCII characters whose codes are
 * bytes `from .. from + length` of `codes` at `at` of `w` as a MessagePack
 * string: the same bytes {@linkcode putAscii} writes for the id's string,
 * without reading the string (see `_id_pool.ts`). The caller made room for
 * `length + 2` bytes.
 *
 * The bytes are copied 8 at a time as float64s (~4 ns for 16 bytes, a
 * byte loop ~15 ns): exact, because 8 ASCII bytes are never a NaN pattern
 * (its exponent bits are all ones; the top byte of a little-endian read is
 * an ASCII code, below 0x80), and only NaNs may change on the way.
 *
 * @returns The position after the string.
 */
export function putIdCodes(
  w: FrameWriter,
  at: number,
  codes: DataView,
  from: number,
  length: 16 | 32,
): number {
  const buf = w.buf;
  const view = w.view;
  if (length === 16) {
    buf[at] = 0xa0 | 16;
    at += 1;
  } else {
    buf[at] = 0xd9;
    buf[at + 1] = 32;
    at += 2;
  }
  for (let i = 0; i < length; i += 8) {
    view.setFloat64(at + i, codes.getFloat64(from + i, true), true);
  }
  return at + length;
}

/** Appends MessagePack values to a growable buffer. */
export class FrameWriter {
  /** The scratch buffer; valid up to `pos`. */
  buf: Uint8Array;
  /** Bytes written. */
  pos = 0;
  /** A view of `buf`, for multi-byte numbers. */
  view: DataView;
  /**
   * The trace id last written in full in this frame, which later records
   * refer back to with {@linkcode SAME_TRACE_ID} (see `codec.ts`).
   */
  lastTraceId: string | null = null;
  /**
   * Fields of the last span written in this frame, which the next span
   * refers back to when equal (see `writeSpan` in `codec.ts`).
   */
  spanParent: string | null = null;
  /** See {@linkcode FrameWriter.spanParent}. */
  spanName: string | null = null;
  /** See {@linkcode FrameWriter.spanParent}. */
  spanKind: string | null = null;
  /** See {@linkcode FrameWriter.spanParent}. */
  spanStatus: string | null = null;
  /** Fields of the last event written in this frame (see `writeEvent` in `codec.ts`). */
  eventType: string | null = null;
  /** See {@linkcode FrameWriter.eventType}. */
  eventName: string | null = null;
  /** See {@linkcode FrameWriter.eventType}. */
  eventSpanId: string | null = null;
  /** Fields of the last metric point written in this frame (see `writeMetric` in `codec.ts`). */
  metricName: string | null = null;
  /** See {@linkcode FrameWriter.metricName}. */
  metricUnit: string | null = null;
  /** See {@linkcode FrameWriter.metricName}. */
  metricKind: string | null = null;
  // Keys of the last attributes map written in full in this frame, in
  // order (`#keyCount` of them; -1: none to refer back to).
  #keys: string[] = [];
  #keyCount = -1;
  /**
   * Values replaced or converted so far because they could not be stored
   * as given (see `docs/values.md`): `stats().sanitizedValues`.
   */
  sanitized = 0;
  /** Whether the record being written holds a `"__proto__"` key (see {@linkcode PROTO_KEY_ESCAPED}). */
  protoKeys = false;
  // The objects being written, outermost first (`#height` of them): a
  // value among them is a cycle.
  #stack: unknown[] = [];
  #height = 0;

  constructor(initialBytes = 64 * 1024) {
    this.buf = new Uint8Array(initialBytes);
    this.view = new DataView(this.buf.buffer);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Forgets everything written (a new frame starts). */
  reset(): void {
    this.pos = 0;
    this.forgetReferences();
  }

  /**
   * Forgets what later records could refer back to: needed whenever bytes
   * are taken back out of the frame (a record rolled back), since they may
   * be what a reference would point at. Later records are then written in
   * full until they set up new references.
   */
  forgetReferences(): void {
    this.lastTraceId = null;
    this.spanParent = null;
    this.spanName = null;
    this.spanKind = null;
    this.spanStatus = null;
    this.eventType = null;
    this.eventName = null;
    this.eventSpanId = null;
    this.metricName = null;
    this.metricUnit = null;
    this.metricKind = null;
    this.#keyCount = -1;
  }

  /**
   * Writes a record's trace id: {@linkcode SAME_TRACE_ID} when it equals the
   * last one written in full in this frame, else the string.
   */
  traceId(s: string | null): void {
    if (s === null) {
      this.nil();
    } else if (s === this.lastTraceId) {
      this.ensure(1);
      this.buf[this.pos++] = SAME_TRACE_ID;
    } else {
      this.str(s);
      this.lastTraceId = s;
    }
  }

  /** Writes a float64, whatever the value (times: no integer check needed). */
  f64(n: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, n);
    this.pos += 9;
  }

  /**
   * Writes a record's attributes: as an array of the values alone when the
   * keys are those of the last attributes map written in full in this
   * frame, in the same order (see {@linkcode decodeFrame}); else as a map.
   * Records from one code path carry the same keys, so the keys are
   * written once per frame rather than once per record.
   */
  attributes(obj: Record<string, unknown>): void {
    const count = this.#keyCount;
    if (count >= 0) {
      const start = this.pos;
      const sanitized = this.sanitized;
      const protoKeys = this.protoKeys;
      if (this.#values(obj, count)) return;
      this.pos = start;
      this.sanitized = sanitized;
      this.protoKeys = protoKeys;
    }
    this.#attributesMap(obj);
  }

  /**
   * The array-of-values form of {@linkcode FrameWriter.attributes}: `false`
   * (with garbage written after `pos`) when the keys differ. Short ASCII
   * strings, booleans, int32s and other non-integers are written inline, into
   * room made once for the whole array (9 bytes a value), with the position
   * in a local: half the cost of a `value()` call per value (measured: 5
   * values ~106 → ~84 ns). Anything else goes through `value()`.
   */
  #values(obj: Record<string, unknown>, count: number): boolean {
    const keys = this.#keys;
    this.ensure(1 + count * 9);
    let buf = this.buf;
    let view = this.view;
    let at = this.pos;
    buf[at++] = 0x90 | count;
    let n = 0;
    for (const key in obj) {
      const v = obj[key];
      // `typeof v === "…"` in place: TurboFan turns each into a type check
      // (a `typeof` result kept in a variable is a string to compare).
      if (typeof v === "number") {
        if (n === count || key !== keys[n++]) return false;
        if ((v | 0) === v) {
          // int32: the encodings of num().
          if (v >= 0) {
            if (v < 128) {
              buf[at++] = v;
            } else if (v < 65536) {
              buf[at] = 0xcd;
              buf[at + 1] = v >> 8;
              buf[at + 2] = v & 0xff;
              at += 3;
            } else {
              buf[at] = 0xce;
              view.setUint32(at + 1, v);
              at += 5;
            }
          } else if (v >= -32) {
            buf[at++] = v & 0xff;
          } else {
            buf[at] = 0xd2;
            view.setInt32(at + 1, v);
            at += 5;
          }
          continue;
        }
        // Finite non-integers (NaN and ±Infinity take the general path).
        if (v - v === 0 && !Number.isInteger(v)) {
          buf[at] = 0xcb;
          view.setFloat64(at + 1, v);
          at += 9;
          continue;
        }
      } else if (typeof v === "string") {
        if (n === count || key !== keys[n++]) return false;
        const len = v.length;
        if (len < 9) {
          // Fits the room reserved for this value (fixstr header + 8).
          const header = at++;
          let i = 0;
          for (; i < len; i++) {
            const c = v.charCodeAt(i);
            if ((c - 1) >>> 0 >= 0x7f) break;
            buf[at++] = c;
          }
          if (i === len) {
            buf[header] = 0xa0 | len;
            continue;
          }
          at = header;
        }
      } else if (typeof v === "boolean") {
        if (n === count || key !== keys[n++]) return false;
        buf[at++] = v ? 0xc3 : 0xc2;
        continue;
      } else if (v === undefined || typeof v === "function" || typeof v === "symbol") {
        continue;
      } else if (n === count || key !== keys[n++]) {
        return false;
      }
      // The general path, then room again for the values still to come.
      this.pos = at;
      this.value(v);
      this.ensure((count - n) * 9);
      buf = this.buf;
      view = this.view;
      at = this.pos;
    }
    if (n !== count) return false;
    this.pos = at;
    return true;
  }

  /** {@linkcode FrameWriter.map}, remembering the keys for {@linkcode FrameWriter.attributes}. */
  #attributesMap(obj: Record<string, unknown>): void {
    this.ensure(3);
    const header = this.pos;
    this.pos += 3;
    const keys = this.#keys;
    let n = 0;
    let referable = true;
    for (const key in obj) {
      const v = obj[key];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (key === "__proto__") {
        // Assigning "__proto__" while rebuilding an object would set its prototype.
        referable = false;
        this.#protoKey();
      } else {
        this.str(key);
      }
      this.value(v, 1);
      keys[n++] = key;
    }
    if (n >= 65536) {
      throw new RangeError(`Cannot encode attributes: ${n} keys exceed the limit of 65535`);
    }
    this.buf[header] = 0xde;
    this.buf[header + 1] = n >> 8;
    this.buf[header + 2] = n & 0xff;
    // Fixarray headers hold up to 15 values.
    this.#keyCount = referable && n < 16 ? n : -1;
  }

  /** Writes an array header for `n` items. */
  arrayHeader(n: number): void {
    this.ensure(5);
    if (n < 16) {
      this.buf[this.pos++] = 0x90 | n;
    } else if (n < 65536) {
      this.buf[this.pos++] = 0xdc;
      this.buf[this.pos++] = n >> 8;
      this.buf[this.pos++] = n & 0xff;
    } else {
      this.buf[this.pos++] = 0xdd;
      this.view.setUint32(this.pos, n);
      this.pos += 4;
    }
  }

  /** Writes an array32 header whose count is patched later with {@linkcode FrameWriter.patchArray32}. */
  reserveArray32(): number {
    this.ensure(5);
    const at = this.pos;
    this.buf[at] = 0xdd;
    this.pos += 5;
    return at;
  }

  /** Sets the count of an array32 header written by {@linkcode FrameWriter.reserveArray32}. */
  patchArray32(at: number, n: number): void {
    this.view.setUint32(at + 1, n);
  }

  /** Writes `null`. */
  nil(): void {
    this.ensure(1);
    this.buf[this.pos++] = 0xc0;
  }

  /** Writes a string, or `null` for `null`. */
  strOrNil(s: string | null): void {
    if (s === null) this.nil();
    else this.str(s);
  }

  /** Writes a UTF-8 string. */
  str(s: string): void {
    const len = s.length;
    if (len < 256) {
      // Fast path: ASCII, header sized exactly by the length.
      this.ensure(len + 2);
      const buf = this.buf;
      const header = this.pos;
      let at = len < 32 ? header + 1 : header + 2;
      let i = 0;
      for (; i < len; i++) {
        const c = s.charCodeAt(i);
        if ((c - 1) >>> 0 >= 0x7f) break;
        buf[at++] = c;
      }
      if (i === len) {
        if (len < 32) {
          buf[header] = 0xa0 | len;
        } else {
          buf[header] = 0xd9;
          buf[header + 1] = len;
        }
        this.pos = at;
        return;
      }
    }
    this.#strUtf8(s);
  }

  #strUtf8(s: string): void {
    if (typeof s !== "string") {
      // A name given as something else (from JavaScript): its text.
      s = textOf(s);
      this.sanitized++;
    }
    if (needsCleaning(s)) {
      s = cleanString(s);
      this.sanitized++;
    }
    const len = s.length;
    // Header sized for the worst case (3 bytes per UTF-16 unit), patched
    // with the real length; MessagePack accepts non-minimal headers.
    const max = len * 3;
    this.ensure(max + 5);
    const buf = this.buf;
    const header = this.pos;
    let at: number;
    if (max < 32) at = header + 1;
    else if (max < 256) at = header + 2;
    else if (max < 65536) at = header + 3;
    else at = header + 5;
    const start = at;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      buf[at++] = c;
    }
    if (i < len) {
      at += encoder.encodeInto(s.substring(i), buf.subarray(at)).written;
    }
    const n = at - start;
    if (max < 32) {
      buf[header] = 0xa0 | n;
    } else if (max < 256) {
      buf[header] = 0xd9;
      buf[header + 1] = n;
    } else if (max < 65536) {
      buf[header] = 0xda;
      buf[header + 1] = n >> 8;
      buf[header + 2] = n & 0xff;
    } else {
      buf[header] = 0xdb;
      this.view.setUint32(header + 1, n);
    }
    this.pos = at;
  }

  /** Writes a number: small integers compactly, anything else as float64. */
  num(n: number): void {
    this.ensure(9);
    const buf = this.buf;
    if (Number.isInteger(n) && n >= -2147483648 && n <= 4294967295) {
      if (n >= 0) {
        if (n < 128) {
          buf[this.pos++] = n;
        } else if (n < 65536) {
          buf[this.pos++] = 0xcd;
          buf[this.pos++] = n >> 8;
          buf[this.pos++] = n & 0xff;
        } else {
          buf[this.pos++] = 0xce;
          this.view.setUint32(this.pos, n);
          this.pos += 4;
        }
      } else if (n >= -32) {
        buf[this.pos++] = n & 0xff;
      } else {
        buf[this.pos++] = 0xd2;
        this.view.setInt32(this.pos, n);
        this.pos += 4;
      }
      return;
    }
    buf[this.pos++] = 0xcb;
    this.view.setFloat64(this.pos, n);
    this.pos += 8;
  }

  /** Writes a number, or `null` for `null`. */
  numOrNil(n: number | null): void {
    if (n === null) this.nil();
    else this.num(n);
  }

  /** Writes a boolean. */
  bool(b: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = b ? 0xc3 : 0xc2;
  }

  /**
   * Writes a plain object as a map, skipping `undefined`, function and
   * symbol values (as JSON does).
   *
   * @param depth How deep `obj` is nested in a record's attributes (0: the
   * attributes object itself).
   */
  map(obj: Record<string, unknown>, depth = 0): void {
    // Reserve a map16 header and patch the count: one pass over the keys.
    this.ensure(3);
    const header = this.pos;
    this.pos += 3;
    let n = 0;
    for (const key in obj) {
      const v = obj[key];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (key === "__proto__") this.#protoKey();
      else this.str(key);
      this.value(v, depth + 1);
      n++;
    }
    // Always a map16 header: two spare bytes cost less than moving the
    // entries back over them for a fixmap.
    if (n < 65536) {
      this.buf[header] = 0xde;
      this.buf[header + 1] = n >> 8;
      this.buf[header + 2] = n & 0xff;
    } else {
      throw new RangeError(`Cannot encode attributes: ${n} keys exceed the limit of 65535`);
    }
  }

  /** Writes the key `"__proto__"` as {@linkcode PROTO_KEY_ESCAPED} and flags the record. */
  #protoKey(): void {
    this.ensure(11);
    const buf = this.buf;
    buf[this.pos++] = 0xa0 | PROTO_KEY_ESCAPED.length;
    for (let i = 0; i < PROTO_KEY_ESCAPED.length; i++) {
      buf[this.pos++] = PROTO_KEY_ESCAPED.charCodeAt(i);
    }
    this.protoKeys = true;
  }

  /**
   * Writes any attribute value, made storable: JSON-like values as they
   * are, anything else converted as `docs/values.md` lists (dates as ISO
   * strings, non-finite numbers as `"NaN"`/`"Infinity"`/`"-Infinity"`,
   * cycles and values nested too deep as markers, …). Never throws because
   * of the value.
   *
   * @param depth How deep `v` is nested (1: a value of the attributes object).
   */
  value(v: unknown, depth = 1): void {
    switch (typeof v) {
      case "string":
        this.str(v);
        return;
      case "number":
        if (v - v === 0) {
          this.num(v);
        } else {
          this.str(nonFiniteText(v));
          this.sanitized++;
        }
        return;
      case "boolean":
        this.bool(v);
        return;
      case "bigint":
        // A number when exact, else its decimal text.
        if (v >= -9007199254740991n && v <= 9007199254740991n) this.num(Number(v));
        else this.str(v.toString());
        return;
      case "object":
        if (v === null) this.nil();
        else this.#object(v, depth);
        return;
      default:
        this.nil();
    }
  }

  /**
   * Writes an object: an array as an array, a plain object as a map, an
   * object of a built-in class converted (`plainValueOf`), any other as a
   * map of its enumerable properties. Replaces by a marker a cycle, an
   * object nested deeper than `MAX_DEPTH`, and an object whose reading
   * threw (a getter, a Proxy trap).
   */
  #object(v: object, depth: number): void {
    if (depth > MAX_DEPTH) {
      this.str(MAX_DEPTH_MARKER);
      this.sanitized++;
      return;
    }
    const stack = this.#stack;
    const height = this.#height;
    for (let i = 0; i < height; i++) {
      if (stack[i] === v) {
        this.str(CIRCULAR_MARKER);
        this.sanitized++;
        return;
      }
    }
    const start = this.pos;
    const sanitized = this.sanitized;
    const protoKeys = this.protoKeys;
    stack[height] = v;
    this.#height = height + 1;
    try {
      if (Array.isArray(v)) {
        const length = v.length;
        this.arrayHeader(length);
        for (let i = 0; i < length; i++) {
          const item = v[i];
          if (item === undefined || typeof item === "function") this.nil();
          else this.value(item, depth + 1);
        }
        return;
      }
      const proto = Object.getPrototypeOf(v);
      if (proto === Object.prototype || proto === null) {
        this.map(v as Record<string, unknown>, depth);
      } else if (v instanceof Date) {
        const time = v.getTime();
        if (time - time === 0) {
          this.str(v.toISOString());
        } else {
          // An invalid date.
          this.nil();
          this.sanitized++;
        }
      } else {
        const plain = plainValueOf(v);
        if (plain === NO_CONVERSION) this.map(v as Record<string, unknown>, depth);
        else this.value(plain, depth);
      }
    } catch (error) {
      // Reading the object threw: the marker in its place, nothing of it.
      this.pos = start;
      this.protoKeys = protoKeys;
      this.sanitized = sanitized + 1;
      this.str(unreadable(error));
    } finally {
      stack[height] = undefined;
      this.#height = height;
    }
  }
}
