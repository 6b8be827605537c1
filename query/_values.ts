/**
 * Value semantics shared by the memory compiler and the SQLite backend's
 * registered functions, so that both compute exactly what SQL computes:
 * code point string order, JSON type ranks, SQLite's compensated sum and
 * PostgreSQL's `percentile_cont` interpolation.
 *
 * @module
 */

/** A present value's JSON kind. */
export type ValueKind = "number" | "string" | "true" | "false" | "object";

/** The kind of a value, or `null` when it is missing (`undefined` or `null`). */
export function kindOf(value: unknown): ValueKind | null {
  switch (typeof value) {
    case "number":
      return "number";
    case "string":
      return "string";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      return value === null ? null : "object";
    default:
      return null;
  }
}

/** Sort rank of a kind: numbers, strings, false, true, then arrays and objects. */
export const KIND_RANK: Readonly<Record<ValueKind, number>> = {
  number: 0,
  string: 1,
  false: 2,
  true: 3,
  object: 4,
};

/**
 * Compares strings by Unicode code point (UTF-8 byte order, as SQLite's
 * BINARY collation does); JavaScript's `<` compares UTF-16 code units, which
 * puts U+10000.. before U+E000..U+FFFF.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Lift surrogates above the rest of the BMP so the order becomes code point order.
    if (x >= 0xd800 && x <= 0xdfff) x += 0x2000;
    else if (x >= 0xe000) x -= 0x800;
    if (y >= 0xd800 && y <= 0xdfff) y += 0x2000;
    else if (y >= 0xe000) y -= 0x800;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Compares two numbers or two strings (the caller guarantees matching types). */
export function compareScalars(a: number | string, b: number | string): number {
  if (typeof a === "number") return a < (b as number) ? -1 : a > (b as number) ? 1 : 0;
  return compareStrings(a, b as string);
}

/**
 * Orders two present values: by kind rank, then numbers numerically and
 * strings by code point; booleans are ranked by value; arrays and objects tie.
 */
export function comparePresent(a: unknown, b: unknown): number {
  const ka = kindOf(a)!;
  const kb = kindOf(b)!;
  if (ka !== kb) return KIND_RANK[ka] - KIND_RANK[kb];
  if (ka === "number" || ka === "string") return compareScalars(a as number, b as number);
  return 0;
}

/**
 * Sum with Kahan–Babuška–Neumaier compensation, step for step as SQLite's
 * `sum()`/`total()` (3.43+), so memory and SQLite agree to the last bit.
 */
export function compensatedSum(values: readonly number[]): number {
  let sum = 0;
  let error = 0;
  for (const r of values) {
    const t = sum + r;
    if (Math.abs(sum) > Math.abs(r)) error += (sum - t) + r;
    else error += (r - t) + sum;
    sum = t;
  }
  return Number.isNaN(error) ? sum : sum + error;
}

/**
 * Percentile with linear interpolation between closest ranks, as
 * PostgreSQL's `percentile_cont(fraction)`.
 *
 * @param values Numbers (any order; the array is sorted in place).
 * @param fraction 0..1.
 * @returns The percentile, or `null` when there are no values.
 */
export function percentileCont(values: number[], fraction: number): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const position = fraction * (values.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = values[lower]!;
  if (upper === lower) return low;
  return low + (values[upper]! - low) * (position - lower);
}

/**
 * Sets an output field by alias. Aliases come from queries, so `__proto__`
 * must become an ordinary key, not a prototype change.
 */
export function setField(row: Record<string, unknown>, alias: string, value: unknown): void {
  Object.defineProperty(row, alias, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
