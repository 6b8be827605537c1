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
  // SQLite adds the error term only when it is finite (sqlite3IsOverflow):
  // after an overflow the sum is ±Infinity, not Infinity - Infinity.
  return Number.isFinite(error) ? sum + error : sum;
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

/**
 * Significant digits of `avg` (always) and `sum` (when not a whole number):
 * SQLite and memory sum with compensation in row order, PostgreSQL exactly
 * in decimal, so the last bits of a sum or mean differ between engines (and
 * with the order rows are read); rounded to 12 digits they agree.
 */
export const SIGNIFICANT_DIGITS = 12;

/**
 * Rounds to {@linkcode SIGNIFICANT_DIGITS} significant digits, half away
 * from zero, on the shortest decimal form of `x` (`String(x)`'s digits):
 * exactly what PostgreSQL's `round(x::text::numeric, n)` does, so every
 * backend rounds the same way.
 *
 * @param x A number (non-finite values and zero are returned as they are).
 * @returns The rounded number.
 */
export function roundSignificant(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const [mantissa, exponentText] = Math.abs(x).toExponential().split("e") as [string, string];
  let digits = mantissa.replace(".", "");
  if (digits.length <= SIGNIFICANT_DIGITS) return x;
  let exponent = Number(exponentText);
  const up = digits.charCodeAt(SIGNIFICANT_DIGITS) >= 53; // '5'
  digits = digits.slice(0, SIGNIFICANT_DIGITS);
  if (up) {
    // Add one unit in the last place, carrying through nines.
    let i = digits.length - 1;
    while (i >= 0 && digits[i] === "9") i--;
    if (i < 0) {
      digits = "1" + "0".repeat(digits.length - 1);
      exponent++;
    } else {
      digits = digits.slice(0, i) + String.fromCharCode(digits.charCodeAt(i) + 1) +
        "0".repeat(digits.length - 1 - i);
    }
  }
  const rounded = Number(`${digits[0]}.${digits.slice(1)}e${exponent}`);
  return x < 0 ? -rounded : rounded;
}

/**
 * A sum as every backend reports it: whole numbers up to 2^53 exactly (every
 * engine adds them without error), anything else rounded by
 * {@linkcode roundSignificant}.
 *
 * @param x The sum.
 * @returns The reported sum.
 */
export function roundSum(x: number): number {
  return Number.isInteger(x) && Math.abs(x) <= 2 ** 53 ? x : roundSignificant(x);
}

/**
 * The JSON text arrays and objects are ordered by (as group keys), the same
 * on every backend: PostgreSQL's `jsonb` output, which all can compute —
 * object keys sorted by UTF-8 length, then bytes; `", "` and `": "` between
 * items; numbers in plain decimal notation (`1e+21` is
 * `1000000000000000000000`); strings escaped as `JSON.stringify` does.
 *
 * @param value A JSON value (as parsed, or as recorded).
 * @returns Its canonical text.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || value === undefined) return "null";
  switch (typeof value) {
    case "number":
      return plainNumber(value);
    case "string":
      return JSON.stringify(value);
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(", ")}]`;
      const keys = Object.keys(value).sort(compareKeys);
      const record = value as Record<string, unknown>;
      return `{${keys.map((k) => `${JSON.stringify(k)}: ${canonicalJson(record[k])}`).join(", ")}}`;
    }
    default:
      return "null";
  }
}

const encoder = new TextEncoder();

/** jsonb's key order: shorter UTF-8 first, then by bytes (code points). */
function compareKeys(a: string, b: string): number {
  const la = a.length === 0 ? 0 : encoder.encode(a).length;
  const lb = b.length === 0 ? 0 : encoder.encode(b).length;
  return la !== lb ? la - lb : compareStrings(a, b);
}

/** A number in PostgreSQL `numeric` output form: plain decimal, no exponent. */
function plainNumber(x: number): string {
  if (!Number.isFinite(x)) return "null";
  const text = String(x);
  const e = text.indexOf("e");
  if (e === -1) return text === "-0" ? "0" : text;
  const sign = text[0] === "-" ? "-" : "";
  const mantissa = text.slice(sign.length, e);
  const exponent = Number(text.slice(e + 1));
  const point = mantissa.indexOf(".");
  const digits = mantissa.replace(".", "");
  // Position of the decimal point after the first digit, moved by the exponent.
  const at = (point === -1 ? mantissa.length : point) + exponent;
  if (at <= 0) return `${sign}0.${"0".repeat(-at)}${digits}`;
  if (at >= digits.length) return `${sign}${digits}${"0".repeat(at - digits.length)}`;
  return `${sign}${digits.slice(0, at)}.${digits.slice(at)}`;
}
