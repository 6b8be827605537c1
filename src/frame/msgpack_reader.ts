/**
 * {@linkcode decodeMessagePack}: a small MessagePack reader for the worker's
 * frames, giving what msgpackr's `new Unpackr({ useRecords: false,
 * mapsAsObjects: true }).unpack()` gives for plain MessagePack, without its
 * package and native add-on. Maps become plain objects (a `"__proto__"` key
 * becomes `"__proto_"`, so decoding never sets a prototype; nil, boolean and
 * number keys become their text), 64-bit integers become bigints, binaries
 * become views into the input. Extension types and the reserved byte 0xc1
 * are refused: frames never hold them.
 *
 * Map keys repeat in every record of a frame, so short keys are cached by
 * their bytes; short ASCII strings are built without a TextDecoder call.
 *
 * @module
 */

const utf8 = new TextDecoder();
const fromCharCode = String.fromCharCode;

// The input being decoded: module state, as a decode never re-enters.
let src: Uint8Array = new Uint8Array(0);
let view: DataView = new DataView(src.buffer);
let pos = 0;
let end = 0;

/**
 * Decodes one MessagePack value that fills `bytes` exactly.
 *
 * @param bytes The encoded value.
 * @returns The value: `null`, booleans, numbers, bigints (64-bit integers),
 * strings, `Uint8Array` views into `bytes` (binaries), arrays and plain
 * objects.
 * @throws Error when `bytes` is truncated, holds bytes after the value,
 * holds an extension type or the reserved byte 0xc1, or a map key that is
 * an array, map or binary.
 *
 * @example Decoding a map
 * ```ts
 * import assert from "node:assert/strict";
 * import { decodeMessagePack } from "./msgpack_reader.ts";
 *
 * const bytes = new Uint8Array([0x81, 0xa1, 0x61, 0x92, 0x01, 0xc3]);
 * assert.deepEqual(decodeMessagePack(bytes), { a: [1, true] });
 * ```
 */
export function decodeMessagePack(bytes: Uint8Array): unknown {
  src = bytes;
  view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  pos = 0;
  end = bytes.length;
  try {
    const value = read();
    if (pos !== end) {
      throw new Error(
        `Cannot decode MessagePack: ${end - pos} byte(s) left after the value at offset ${pos}`,
      );
    }
    return value;
  } finally {
    // Do not keep the input alive.
    src = EMPTY;
    view = EMPTY_VIEW;
  }
}

const EMPTY = new Uint8Array(0);
const EMPTY_VIEW = new DataView(EMPTY.buffer);

function truncated(what: string, at: number, needed: number): Error {
  return new Error(
    `Cannot decode MessagePack: truncated input: ${what} at offset ${at} needs ${needed} ` +
      `byte(s), ${Math.max(0, end - at)} remain`,
  );
}

function read(): unknown {
  if (pos >= end) throw truncated("a value", pos, 1);
  const token = src[pos++]!;
  if (token < 0x80) return token;
  if (token < 0x90) return readMap(token & 0x0f, pos - 1);
  if (token < 0xa0) return readArray(token & 0x0f, pos - 1);
  if (token < 0xc0) return readString(token & 0x1f, pos - 1);
  if (token >= 0xe0) return token - 0x100;
  const at = pos - 1;
  switch (token) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      need(1, at);
      return readBin(src[pos++]!, at);
    case 0xc5:
      need(2, at);
      pos += 2;
      return readBin(view.getUint16(pos - 2), at);
    case 0xc6:
      need(4, at);
      pos += 4;
      return readBin(view.getUint32(pos - 4), at);
    case 0xca:
      need(4, at);
      pos += 4;
      return view.getFloat32(pos - 4);
    case 0xcb:
      need(8, at);
      pos += 8;
      return view.getFloat64(pos - 8);
    case 0xcc:
      need(1, at);
      return src[pos++]!;
    case 0xcd:
      need(2, at);
      pos += 2;
      return view.getUint16(pos - 2);
    case 0xce:
      need(4, at);
      pos += 4;
      return view.getUint32(pos - 4);
    case 0xcf:
      need(8, at);
      pos += 8;
      return view.getBigUint64(pos - 8);
    case 0xd0:
      need(1, at);
      return view.getInt8(pos++);
    case 0xd1:
      need(2, at);
      pos += 2;
      return view.getInt16(pos - 2);
    case 0xd2:
      need(4, at);
      pos += 4;
      return view.getInt32(pos - 4);
    case 0xd3:
      need(8, at);
      pos += 8;
      return view.getBigInt64(pos - 8);
    case 0xd9:
      need(1, at);
      return readString(src[pos++]!, at);
    case 0xda:
      need(2, at);
      pos += 2;
      return readString(view.getUint16(pos - 2), at);
    case 0xdb:
      need(4, at);
      pos += 4;
      return readString(view.getUint32(pos - 4), at);
    case 0xdc:
      need(2, at);
      pos += 2;
      return readArray(view.getUint16(pos - 2), at);
    case 0xdd:
      need(4, at);
      pos += 4;
      return readArray(view.getUint32(pos - 4), at);
    case 0xde:
      need(2, at);
      pos += 2;
      return readMap(view.getUint16(pos - 2), at);
    case 0xdf:
      need(4, at);
      pos += 4;
      return readMap(view.getUint32(pos - 4), at);
    default:
      // 0xc1 (never used), 0xc7–0xc9 and 0xd4–0xd8 (extension types).
      throw new Error(
        `Cannot decode MessagePack: unsupported type byte 0x${token.toString(16)} at offset ${at}` +
          (token === 0xc1 ? " (reserved, never used)" : " (extension types are not supported)"),
      );
  }
}

/** Checks that `n` bytes follow the type byte at `at`. */
function need(n: number, at: number): void {
  if (pos + n > end) throw truncated(`the header of type 0x${src[at]!.toString(16)}`, at, 1 + n);
}

function readBin(length: number, at: number): Uint8Array {
  if (length > end - pos) throw truncated(`a binary of ${length} byte(s)`, at, pos - at + length);
  return src.subarray(pos, pos += length);
}

function readArray(length: number, at: number): unknown[] {
  // Each element takes at least one byte: a hostile length cannot allocate.
  if (length > end - pos) {
    throw truncated(`an array of ${length} element(s)`, at, pos - at + length);
  }
  const array = new Array(length);
  for (let i = 0; i < length; i++) array[i] = read();
  return array;
}

function readMap(length: number, at: number): Record<string, unknown> {
  if (length > (end - pos) / 2) {
    throw truncated(
      `a map of ${length} entr${length === 1 ? "y" : "ies"}`,
      at,
      pos - at + 2 * length,
    );
  }
  const object: Record<string, unknown> = {};
  for (let i = 0; i < length; i++) {
    let key = readKey();
    if (key === "__proto__") key = "__proto_";
    object[key] = read();
  }
  return object;
}

// Cache of fixstr map keys (≤ 31 bytes): slot = hash of (length, first, second, last byte);
// a hit is checked byte by byte against the key's bytes.
const KEY_SLOTS = 4096;
const keyBytes: (Uint8Array | undefined)[] = new Array(KEY_SLOTS);
const keyStrings: string[] = new Array(KEY_SLOTS);

function readKey(): string {
  if (pos >= end) throw truncated("a map key", pos, 1);
  const token = src[pos]!;
  if (token >= 0xa0 && token < 0xc0) {
    const length = token & 0x1f;
    const at = pos++;
    if (length > end - pos) throw truncated(`a string of ${length} byte(s)`, at, 1 + length);
    const start = pos;
    if (length === 0) return "";
    const slot = ((length << 7) ^ (src[start]! << 3) ^ (src[start + (length >> 1)]! << 1) ^
      src[start + length - 1]!) & (KEY_SLOTS - 1);
    const cached = keyBytes[slot];
    if (cached !== undefined && cached.length === length) {
      let i = 0;
      while (i < length && cached[i] === src[start + i]) i++;
      if (i === length) {
        pos += length;
        return keyStrings[slot]!;
      }
    }
    const key = readString(length, at);
    keyBytes[slot] = src.slice(start, start + length);
    keyStrings[slot] = key;
    return key;
  }
  if (token === 0xd9 || token === 0xda || token === 0xdb) return read() as string;
  const at = pos;
  const key = read();
  // As msgpackr: scalars by their text, anything else refused.
  if (typeof key === "number" || typeof key === "boolean" || typeof key === "bigint") {
    return key.toString();
  }
  if (key === null) return "null";
  throw new Error(
    `Cannot decode MessagePack: map key at offset ${at} is ${
      Array.isArray(key) ? "an array" : key instanceof Uint8Array ? "a binary" : "a map"
    }, not a string or number`,
  );
}

function readString(length: number, at: number): string {
  if (length > end - pos) throw truncated(`a string of ${length} byte(s)`, at, pos - at + length);
  const start = pos;
  const stop = start + length;
  if (length <= 64) {
    const s = src;
    let i = start;
    while (i < stop && s[i]! < 0x80) i++;
    if (i === stop) {
      pos = stop;
      return asciiString(s, start, length);
    }
  }
  pos = stop;
  return utf8.decode(src.subarray(start, stop));
}

/** Reused arrays of character codes, one per length (17–64). */
const codeArrays: number[][] = [];
for (let n = 0; n <= 64; n++) codeArrays.push(Array.from({ length: n }, () => 0));

/** The ASCII string of `length` (≤ 64) bytes at `start` in `s`. */
function asciiString(s: Uint8Array, start: number, length: number): string {
  switch (length) {
    case 0:
      return "";
    case 1:
      return fromCharCode(s[start]!);
    case 2:
      return fromCharCode(s[start]!, s[start + 1]!);
    case 3:
      return fromCharCode(s[start]!, s[start + 1]!, s[start + 2]!);
    case 4:
      return fromCharCode(s[start]!, s[start + 1]!, s[start + 2]!, s[start + 3]!);
    case 5:
      return fromCharCode(s[start]!, s[start + 1]!, s[start + 2]!, s[start + 3]!, s[start + 4]!);
    case 6:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
      );
    case 7:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
      );
    case 8:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
      );
    case 9:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
      );
    case 10:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
      );
    case 11:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
      );
    case 12:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
        s[start + 11]!,
      );
    case 13:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
        s[start + 11]!,
        s[start + 12]!,
      );
    case 14:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
        s[start + 11]!,
        s[start + 12]!,
        s[start + 13]!,
      );
    case 15:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
        s[start + 11]!,
        s[start + 12]!,
        s[start + 13]!,
        s[start + 14]!,
      );
    case 16:
      return fromCharCode(
        s[start]!,
        s[start + 1]!,
        s[start + 2]!,
        s[start + 3]!,
        s[start + 4]!,
        s[start + 5]!,
        s[start + 6]!,
        s[start + 7]!,
        s[start + 8]!,
        s[start + 9]!,
        s[start + 10]!,
        s[start + 11]!,
        s[start + 12]!,
        s[start + 13]!,
        s[start + 14]!,
        s[start + 15]!,
      );
    default: {
      // No subarray: making a typed-array view costs more than the copy.
      const codes = codeArrays[length]!;
      for (let i = 0; i < length; i++) codes[i] = s[start + i]!;
      return fromCharCode.apply(null, codes);
    }
  }
}
