/**
 * The SQLite dialect of {@linkcode compileSql}: JSON attributes as text read
 * with `json_type`/`json_extract` and a fully quoted, bound JSON path; a
 * `regexp` function, a `spark_percentile` aggregate, and the rounding
 * (`spark_round`, `spark_round_sum`) and group-key order
 * (`spark_canonical_json`) functions that the SQLite backend registers on
 * its connection.
 *
 * @module
 */
import type { Literal } from "./plan.ts";
import type { JsonTest, SqlBinder, SqlDialect } from "./sql.ts";

/**
 * The JSON path that names one top-level key exactly, whatever its
 * characters: `node.id` → `$."node.id"` (quotes and backslashes escaped).
 *
 * @param key An attribute key.
 * @returns The SQLite JSON path.
 *
 * @example
 * ```ts
 * import { sqliteJsonPath } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(sqliteJsonPath('say "hi"'), '$."say \\"hi\\""');
 * ```
 */
export function sqliteJsonPath(key: string): string {
  return '$."' + key.replace(/[\\"]/g, (c) => "\\" + c) + '"';
}

/**
 * Whether `json_extract` alone tells a present attribute equal to `value`,
 * with its type, from every other: it returns SQL NULL for a missing
 * attribute, numbers as numbers, strings as text, but `true`/`false` as 1/0
 * and arrays and objects as their JSON text. Compared without affinity, text
 * never equals a number, so only 0, 1 (booleans) and text that could be an
 * array or object (`[`, `{`) need the `json_type` guard.
 */
function extractDecides(value: Literal): boolean {
  // An integer beyond 2^53 is compared as a double (see jsonNumber), not
  // with json_extract's exact 64-bit integer.
  if (typeof value === "number") {
    return value !== 0 && value !== 1 && (Number.isSafeInteger(value) || !Number.isInteger(value));
  }
  if (typeof value === "string") return value[0] !== "[" && value[0] !== "{";
  return false;
}

const JSON_TYPES: Readonly<Record<JsonTest, string>> = {
  present: "<> 'null'",
  number: "in ('integer', 'real')",
  string: "= 'text'",
  true: "= 'true'",
  false: "= 'false'",
};

/**
 * The SQLite dialect for {@linkcode compileSql}.
 *
 * @example
 * ```ts
 * import { compileSql, sqliteDialect } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const { text } = compileSql(
 *   { type: "select", entity: "traces", where: null, orderBy: [], limit: 5, offset: 0 },
 *   sqliteDialect,
 * );
 * assert.match(text, /^select t\.\* from traces t order by t\.start_time desc/);
 * ```
 */
export const sqliteDialect: SqlDialect = {
  name: "sqlite",
  placeholder: (index: number): string => `?${index}`,
  trueLiteral: "1",
  falseLiteral: "0",
  // BINARY collation compares UTF-8 bytes, which is code point order.
  codePointCollation: "",
  jsonValueIsText: true,
  jsonIs(source: string, key: string | null, test: JsonTest, binder: SqlBinder): string {
    // json_type is NULL for an absent key; coalesce keeps the predicate two-valued.
    const type = key === null
      ? `json_type(${source})`
      : `json_type(${source}, ${binder.bind(sqliteJsonPath(key))})`;
    return `(coalesce(${type}, 'null') ${JSON_TYPES[test]})`;
  },
  jsonNumber(source: string, key: string | null, binder: SqlBinder): string {
    // As a double, like every backend's numbers (README, "Numbers"): SQLite
    // reads a JSON integer such as 1700000000123456800 as a 64-bit integer,
    // which node:sqlite cannot return (it throws), nor pass to a JavaScript
    // function (spark_percentile never returned), and which sums, compares
    // and orders differently from the double the other backends hold.
    return `cast(json_extract(${source}, ${
      key === null ? "'$'" : binder.bind(sqliteJsonPath(key))
    }) as real)`;
  },
  jsonString(source: string, key: string | null, binder: SqlBinder): string {
    return `json_extract(${source}, ${key === null ? "'$'" : binder.bind(sqliteJsonPath(key))})`;
  },
  jsonValue(source: string, key: string, binder: SqlBinder): string {
    // `->` returns JSON text, which keeps "5", 5 and true apart. An absent key
    // becomes JSON null, like a null value: one group for both, which reads
    // back as null. coalesce rather than nullif(..., 'null'): a function call
    // per row cost ~5% of a 250k-row grouping.
    return `coalesce(${source} -> ${binder.bind(sqliteJsonPath(key))}, 'null')`;
  },
  jsonIn(
    source: string,
    key: string,
    values: readonly Literal[],
    negated: boolean,
    binder: SqlBinder,
  ): string | null {
    // One json_extract per row instead of json_type plus json_extract (each
    // a lookup in the parsed JSON).
    if (values.length === 0 || !values.every(extractDecides)) return null;
    const value = `json_extract(${source}, ${binder.bind(sqliteJsonPath(key))})`;
    const list = [...new Set(values)].map((v) => binder.bind(v as string | number));
    if (list.length === 1) {
      // `is` is never NULL; a missing value becomes the literal itself, so it is not `!=`.
      const v = list[0];
      return negated ? `(coalesce(${value}, ${v}) is not ${v})` : `(${value} is ${v})`;
    }
    // `x in (...)` is NULL for a missing x, which is neither in nor not in.
    return `coalesce(${value} ${negated ? "not in" : "in"} (${list.join(", ")}), 0)`;
  },
  // SQLite's planner reads a bound LIMIT when a filter cannot use an index,
  // and then prepares the statement again whenever the limit is bound: a
  // constant cost per run, whatever the rows read. A number in the text is
  // read once, when the statement is prepared (and cached per text).
  inlineLimit: true,
  regexMatch: (text: string, pattern: string, binder: SqlBinder): string =>
    `(${text} regexp ${binder.bind(pattern)})`,
  contains: (text: string, needle: string): string => `(instr(${text}, ${needle}) > 0)`,
  // total() never overflows on large integers (sum() raises); count() keeps "no values" NULL.
  sum: (value: string): string => `(case when count(${value}) > 0 then total(${value}) end)`,
  finishSum: (column: string): string => `spark_round_sum(${column})`,
  avg: (value: string): string => `avg(${value})`,
  finishAvg: (column: string): string => `spark_round(${column})`,
  // Scalars never reach the function (their order is decided before it).
  canonicalJson: (value: string): string =>
    `(case when json_type(${value}) in ('array', 'object') then spark_canonical_json(${value}) end)`,
  percentile: (value: string, fraction: string): string =>
    `spark_percentile(${value}, ${fraction})`,
  floorDiv(value: string, width: string): string {
    // node:sqlite's SQLite has no floor(). A REAL division (an integer
    // attribute divided by a bound whole width would truncate), then the
    // whole part by CAST, one lower when that rounded up (negative values);
    // from 2^52 up every double is whole already, and CAST would clamp.
    const q = `(cast(${value} as real) / ${width})`;
    return `(case when abs(${q}) >= 4503599627370496.0 then ${q} else cast(cast(${q} as integer) - (${q} < cast(${q} as integer)) as real) end)`;
  },
};
