/**
 * Making any value storable at record time: the slow path of the encoder
 * (`../frame/frame_writer.ts`), taken only for values that are not plain JSON
 * (objects of classes, cycles, throwing getters, odd strings). The table of
 * every conversion is in `docs/values.md`.
 *
 * @module
 */

/** Objects nested deeper than this (the attributes object is depth 0) are written as {@linkcode MAX_DEPTH_MARKER}. */
export const MAX_DEPTH = 64;
/** What a value nested deeper than {@linkcode MAX_DEPTH} is stored as. */
export const MAX_DEPTH_MARKER = "[MaxDepth]";
/** What a reference to an object that contains it is stored as. */
export const CIRCULAR_MARKER = "[Circular]";

/** `"NaN"`, `"Infinity"` or `"-Infinity"`: a non-finite number as an attribute stores it (the OTLP JSON mapping). */
export function nonFiniteText(n: number): string {
  return n !== n ? "NaN" : n > 0 ? "Infinity" : "-Infinity";
}

/** Whether `s` holds a NUL or a lone surrogate, which {@linkcode cleanString} replaces. */
export function needsCleaning(s: string): boolean {
  return s.indexOf("\0") !== -1 || !s.isWellFormed();
}

/**
 * `s` with every NUL and every lone surrogate replaced by U+FFFD (well-formed
 * surrogate pairs are kept): text every backend stores and reads back the
 * same (SQLite cuts text at a NUL, PostgreSQL refuses it; UTF-8 has no lone
 * surrogates).
 */
export function cleanString(s: string): string {
  return s.toWellFormed().replaceAll("\0", "\uFFFD");
}

/** The message of anything thrown, without running code that may throw again. */
function messageOf(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    return String(error);
  } catch {
    return "unknown error";
  }
}

/** What a value whose reading threw is stored as: `"[Unreadable: <message>]"`. */
export function unreadable(error: unknown): string {
  return `[Unreadable: ${messageOf(error)}]`;
}

/**
 * Any value as text, never throwing: for a Map's keys and for names given as
 * something else than a string.
 */
export function textOf(v: unknown): string {
  try {
    if (typeof v === "string") return v;
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? "null" : v.toISOString();
    return String(v);
  } catch (error) {
    return unreadable(error);
  }
}

/** Returned by {@linkcode plainValueOf} for an object it has no conversion for. */
export const NO_CONVERSION: unique symbol = Symbol("no conversion");

/**
 * A plain (JSON-like) value standing for an object of a built-in class that
 * has no enumerable data of its own: Map → object of entries (keys as
 * text), Set → array, typed array → array of numbers, ArrayBuffer and
 * DataView → array of bytes, Error → `{ type, message, stack }`, RegExp →
 * its source text (`/a+/g`), boxed primitives → the primitive. Anything else:
 * {@linkcode NO_CONVERSION} (its enumerable properties are written). May
 * throw (a throwing getter of an Error, say): the caller catches.
 */
export function plainValueOf(v: object): unknown {
  if (v instanceof Map) {
    // A null-prototype object: assigning "__proto__" makes an own key.
    const o: Record<string, unknown> = Object.create(null);
    for (const [key, value] of v) o[textOf(key)] = value;
    return o;
  }
  if (v instanceof Set) return Array.from(v);
  if (ArrayBuffer.isView(v)) {
    if (v instanceof DataView) {
      return Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
    }
    return Array.from(v as unknown as ArrayLike<unknown>);
  }
  if (v instanceof ArrayBuffer || v instanceof SharedArrayBuffer) {
    return Array.from(new Uint8Array(v));
  }
  if (v instanceof Error) {
    const stack = v.stack;
    return {
      type: textOf(v.name || v.constructor?.name || "Error"),
      message: textOf(v.message),
      stack: typeof stack === "string" ? stack : null,
    };
  }
  if (v instanceof RegExp) return String(v);
  if (v instanceof String || v instanceof Number || v instanceof Boolean || v instanceof BigInt) {
    return v.valueOf();
  }
  return NO_CONVERSION;
}

/** What {@linkcode readableCopy} returns. */
export interface ReadableCopy {
  /** The copy, with a marker in place of each value that could not be read. */
  value: Record<string, unknown>;
  /** How many values were replaced. */
  replaced: number;
}

/**
 * A shallow copy of an attributes object that never throws: a property
 * whose getter throws becomes `"[Unreadable: <message>]"`; an object whose
 * keys cannot be listed (a Proxy whose trap throws) gives the properties
 * listed before the failure, and counts one replaced value.
 */
export function readableCopy(attributes: unknown): ReadableCopy {
  const value: Record<string, unknown> = Object.create(null);
  let replaced = 0;
  if (attributes === null || typeof attributes !== "object") {
    return { value, replaced: attributes === undefined ? 0 : 1 };
  }
  try {
    for (const key in attributes) {
      try {
        value[key] = (attributes as Record<string, unknown>)[key];
      } catch (error) {
        value[key] = unreadable(error);
        replaced++;
      }
    }
  } catch {
    replaced++;
  }
  return { value, replaced };
}

/**
 * Merges attribute objects like `{ ...a, ...b }`, never throwing: the
 * spread when it works, else {@linkcode readableCopy}s of each.
 *
 * @param count Called with the number of values replaced, when any.
 */
export function mergeReadable(
  count: (replaced: number) => void,
  ...parts: (unknown | undefined)[]
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let replaced = 0;
  for (const part of parts) {
    if (part === undefined || part === null) continue;
    const copy = readableCopy(part);
    replaced += copy.replaced;
    for (const key in copy.value) {
      Object.defineProperty(out, key, {
        value: copy.value[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  if (replaced > 0) count(replaced);
  return out;
}

/**
 * A copy of user-given attributes that never throws, for the
 * instrumentation helpers to spread: `{ ...attributes }`, or, when a getter
 * or Proxy trap throws, {@linkcode readableCopy}'s value.
 */
export function readableAttributes(attributes: unknown): Record<string, unknown> {
  if (attributes === undefined || attributes === null) return {};
  try {
    return { ...attributes };
  } catch {
    return readableCopy(attributes).value;
  }
}
