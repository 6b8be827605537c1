/**
 * {@linkcode FrameWriter}: a MessagePack writer over one growable scratch
 * buffer, for the encoder of the application thread. It knows bytes and
 * JavaScript values, not records: strings (an ASCII fast path), numbers,
 * maps and arrays, and any attribute value made storable (`docs/values.md`),
 * never throwing because of a value. The record layout and the references to
 * earlier records live in `encoder.ts`.
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
import { PROTO_KEY_ESCAPED } from "./format.ts";

const encoder = new TextEncoder();

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
 * without reading the string (see `../model/_id_pool.ts`). The caller made room for
 * `length + 2` bytes.
 *
 * The bytes are copied 8 at a time as float64s (a few times faster than a
 * byte loop): exact, because 8 ASCII bytes are never a NaN pattern
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
   * Values replaced or converted so far because they could not be stored
   * as given (see `docs/values.md`): `stats().sanitizedValues`.
   */
  sanitized = 0;
  /** Whether a `"__proto__"` key was written since it was last cleared (see `PROTO_KEY_ESCAPED`). */
  protoKeys = false;
  // The objects being written, outermost first (`#height` of them): a
  // value among them is a cycle.
  #stack: unknown[] = [];
  #height = 0;

  #initialBytes: number;

  /**
   * Creates the writer.
   *
   * @param initialBytes Initial size of the scratch buffer.
   */
  constructor(initialBytes = 64 * 1024) {
    this.#initialBytes = initialBytes;
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

  /**
   * Forgets everything written. A buffer grown past `maxKeptBytes` (by a
   * huge record) is given back for one of the initial size.
   */
  reset(maxKeptBytes = Infinity): void {
    this.pos = 0;
    if (this.buf.length > maxKeptBytes) {
      this.buf = new Uint8Array(this.#initialBytes);
      this.view = new DataView(this.buf.buffer);
    }
  }

  /** Writes a float64, whatever the value (times: no integer check needed). */
  f64(n: number): void {
    this.ensure(9);
    this.buf[this.pos] = 0xcb;
    this.view.setFloat64(this.pos + 1, n);
    this.pos += 9;
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
      if (key === "__proto__") this.protoKey();
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

  /** Writes the key `"__proto__"` as `PROTO_KEY_ESCAPED` and sets {@linkcode FrameWriter.protoKeys}. */
  protoKey(): void {
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
