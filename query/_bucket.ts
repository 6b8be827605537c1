/**
 * Time buckets (`bucket(start_time, 1m)`): the canonical text of a width,
 * and the one definition of a bucket's start that the memory compiler runs
 * and the SQL dialects write out, so every backend puts a value in the same
 * bucket.
 *
 * @module
 */

/** Seconds per unit, largest first: the units a canonical width is written in. */
const UNITS: readonly [string, number][] = [
  ["d", 86400],
  ["h", 3600],
  ["m", 60],
  ["s", 1],
  ["ms", 1e-3],
  ["us", 1e-6],
  ["ns", 1e-9],
];

/** How many units make a second, as the DSL's lexer reads them (`500ms` is 500 / 1000). */
const PER_SECOND: Readonly<Record<string, number>> = {
  ns: 1e9,
  us: 1e6,
  ms: 1e3,
  s: 1,
  m: 1 / 60,
  h: 1 / 3600,
  d: 1 / 86400,
};

/** The seconds a duration literal such as `500ms` stands for, computed as the DSL computes it. */
function readBack(count: string, unit: string): number {
  return Number(count) / PER_SECOND[unit]!;
}

/** The smallest width a bucket may have: 1 ns, the resolution of recorded times. */
export const MIN_BUCKET_WIDTH = 1e-9;

/** Decimal text of `n` without an exponent, or `null` when it has none that short. */
function plain(n: number): string | null {
  // Doubles from 2^53 up are whole numbers: BigInt writes all their digits.
  if (Number.isInteger(n) && Math.abs(n) >= 1e21) return BigInt(n).toString();
  const text = String(n);
  return /e/i.test(text) ? null : text;
}

/**
 * The canonical duration literal of a width in seconds: the largest unit
 * that writes it as a whole number which the DSL reads back as the same
 * width (60 → `1m`, 90 → `90s`, 0.5 → `500ms`, 3600 → `1h`), else the
 * smallest unit that reads back exactly (`0.1ns`), else nanoseconds.
 *
 * @param seconds A width of at least {@linkcode MIN_BUCKET_WIDTH}.
 * @returns The literal, e.g. `"1m"`.
 */
export function widthText(seconds: number): string {
  let fallback: string | null = null;
  for (const [unit, size] of UNITS) {
    const count = size >= 1 ? seconds / size : seconds * PER_SECOND[unit]!;
    const text = plain(count);
    if (text === null || readBack(text, unit) !== seconds) continue;
    if (Number.isInteger(count)) return `${text}${unit}`;
    fallback = `${text}${unit}`;
  }
  return fallback ?? `${plain(seconds * 1e9) ?? seconds * 1e9}ns`;
}

/**
 * The alias of a bucket group key: `bucket(<field alias>, <width text>)`.
 *
 * @param fieldAlias The alias of the field, e.g. `"start_time"`.
 * @param seconds The width.
 * @returns E.g. `"bucket(start_time, 1m)"`.
 */
export function bucketAlias(fieldAlias: string, seconds: number): string {
  return `bucket(${fieldAlias}, ${widthText(seconds)})`;
}

/**
 * The largest magnitude that {@linkcode bucketStart} puts in a bucket for
 * `width`: its bucket number `value / width` stays within ±1e300, so neither
 * the division nor the multiplication back can overflow (PostgreSQL raises
 * on a float8 overflow where JavaScript and SQLite give Infinity).
 *
 * @param width The width, > 0.
 * @returns The bound.
 */
export function bucketBound(width: number): number {
  return 1e300 * Math.min(width, 1);
}

/**
 * The start of the bucket of `value`: `Math.floor(value / width) * width`.
 * A value that is not a number (missing, or an attribute holding text), or
 * beyond {@linkcode bucketBound}, has no bucket (`null`, the null group). A
 * value within one width of zero is placed without dividing (0 for
 * `0 <= value < width`, `-width` below zero): PostgreSQL raises on a
 * division that underflows to zero, and `-0` would otherwise appear.
 * Every SQL dialect writes this same sequence of float8 operations, which
 * IEEE 754 defines exactly, so the backends agree to the bit.
 *
 * @param value The value grouped.
 * @param width The width, > 0.
 * @param bound {@linkcode bucketBound} of `width`.
 * @returns The bucket's start, or `null`.
 */
export function bucketStart(value: unknown, width: number, bound: number): number | null {
  if (typeof value !== "number") return null;
  const magnitude = Math.abs(value);
  if (magnitude > bound) return null;
  if (magnitude < width) return value < 0 ? -width : 0;
  return Math.floor(value / width) * width;
}
