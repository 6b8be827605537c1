/**
 * The PostgreSQL dialect of {@linkcode compileSql}: `$n` placeholders,
 * `jsonb` attributes read with `->` / `->>` and a bound key, type tests with
 * `jsonb_typeof`, `~` with patterns translated to PostgreSQL's flavour,
 * `percentile_cont`, and `COLLATE "C"` for code point order.
 *
 * @module
 */
import type { Literal } from "./plan.ts";
import type { JsonTest, SqlBinder, SqlDialect } from "./sql.ts";
import { toPostgresRegex } from "./_postgres_regex.ts";
import { SIGNIFICANT_DIGITS } from "./values.ts";

/**
 * Free-text columns whose btree index holds only values of at most
 * {@linkcode INDEXED_TEXT_MAX_BYTES} bytes (a btree entry holds ~2.7 kB;
 * schema version 2 of `_pg_schema.ts` made these indexes partial so that
 * longer text is still stored). A comparison with short values repeats the
 * index's condition so that the planner may use it.
 */
const INDEXED_TEXT_COLUMNS = new Set(["name", "error_type", "event_type"]);
/** Must equal the bound in the partial indexes of `_pg_schema.ts` (schema version 2). */
const INDEXED_TEXT_MAX_BYTES = 2000;

/** UTF-8 length of `text`, stopping early once past `limit`. */
function utf8LengthUpTo(text: string, limit: number): number {
  // At most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units).
  if (text.length * 3 <= limit) return 0;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= limit; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

const JSON_TYPES: Readonly<Record<Exclude<JsonTest, "present">, string>> = {
  number: "= 'number'",
  string: "= 'string'",
  true: "= 'boolean' and {v} = 'true'::jsonb",
  false: "= 'boolean' and {v} = 'false'::jsonb",
};

/**
 * `x` (float8) rounded to `SIGNIFICANT_DIGITS` significant digits, half
 * away from zero on its shortest decimal text, as `roundSignificant` in
 * `_values.ts`. The float8 `log` of a value next to a power of ten may land
 * one digit high, and the result is that power of ten either way; zero,
 * ±Infinity and NaN pass through (the clamped `log` keeps them from raising).
 */
function roundSignificant(x: string): string {
  return `round((${x})::text::numeric, ${
    SIGNIFICANT_DIGITS - 1
  } - floor(log(least(greatest(abs(${x}), 5e-324::float8), 1.7976931348623157e308::float8)))::int)::float8`;
}

/**
 * An exact numeric sum as float8, rounded once. A sum beyond the float8
 * range is ±Infinity, as on SQLite and in memory, not the error "out of
 * range for type double precision". Sums from 2^1024 - 2^970 up round to
 * infinity; the bound here is that number's first 31 digits, a hair below
 * it, so the cast never sees a value it refuses.
 */
function toFloat8(n: string): string {
  return `(case when abs(${n}) < 1.797693134862315807937289714053e308 then ${n}::float8 else sign(${n})::float8 * 'Infinity'::float8 end)`;
}

/**
 * The PostgreSQL dialect for {@linkcode compileSql}.
 *
 * @example
 * ```ts
 * import { compileSql, postgresqlDialect } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const { text, params } = compileSql({
 *   type: "select",
 *   entity: "spans",
 *   where: { type: "compare", field: { kind: "attribute", key: "node.id" }, operator: "=", value: "a" },
 *   orderBy: [],
 *   limit: 20,
 *   offset: 0,
 * }, postgresqlDialect);
 * assert.ok(!text.includes("node.id")); // keys are bound, never spliced
 * assert.match(text, /t\.attributes @> \$1::text::jsonb/); // answered by the GIN index
 * assert.deepEqual(params, ['{"node.id":"a"}', 20]);
 * ```
 */
export const postgresqlDialect: SqlDialect = {
  name: "postgresql",
  placeholder: (index: number): string => `$${index}`,
  trueLiteral: "true",
  falseLiteral: "false",
  codePointCollation: ' collate "C"',
  jsonValueIsText: false,
  jsonIs(source: string, key: string | null, test: JsonTest, binder: SqlBinder): string {
    if (key === null) {
      // `source` is itself a jsonb value (a group key), NULL when missing.
      const type = `coalesce(jsonb_typeof(${source}), 'null')`;
      if (test === "present") return `(${type} <> 'null')`;
      return `(${type} ${JSON_TYPES[test].replace("{v}", `coalesce(${source}, 'null'::jsonb)`)})`;
    }
    const k = `${binder.bind(key)}::text`;
    const value = `(${source} -> ${k})`;
    // `source ? key` is false, never NULL, for an absent key, and a GIN
    // index on the column can answer it; jsonb_typeof then rules out JSON
    // null and checks the type.
    if (test === "present") return `(${source} ? ${k} and jsonb_typeof(${value}) <> 'null')`;
    return `(${source} ? ${k} and jsonb_typeof(${value}) ${
      JSON_TYPES[test].replace("{v}", value)
    })`;
  },
  jsonNumber(source: string, key: string | null, binder: SqlBinder): string {
    const value = key === null ? source : `(${source} -> ${binder.bind(key)}::text)`;
    // CASE keeps the cast from ever seeing a non-number, whatever order the
    // planner evaluates the surrounding conditions in. jsonb numbers print
    // exactly and float8 reads the shortest form back to the same double.
    return `(case when jsonb_typeof(${value}) = 'number' then (${value} #>> '{}')::float8 end)`;
  },
  jsonString(source: string, key: string | null, binder: SqlBinder): string {
    if (key === null) return `(${source} #>> '{}')`;
    return `(${source} ->> ${binder.bind(key)}::text)`;
  },
  jsonValue(source: string, key: string, binder: SqlBinder): string {
    // JSON null is missing, like an absent key: both group as SQL NULL.
    return `nullif(${source} -> ${binder.bind(key)}::text, 'null'::jsonb)`;
  },
  regexMatch(text: string, pattern: string, binder: SqlBinder): string {
    return `(${text} ~ ${binder.bind(toPostgresRegex(pattern))}::text)`;
  },
  indexedTextGuard(column: string, expr: string, values: readonly string[]): string | null {
    if (!INDEXED_TEXT_COLUMNS.has(column)) return null;
    for (const v of values) {
      if (utf8LengthUpTo(v, INDEXED_TEXT_MAX_BYTES) > INDEXED_TEXT_MAX_BYTES) return null;
    }
    // Implied by the comparison (an equal value has the same length); it
    // lets the planner prove the partial index's condition.
    return `octet_length(${expr}) <= ${INDEXED_TEXT_MAX_BYTES}`;
  },
  // float8 compares with integer, bigint (count) and float8 alike.
  numberParam: (placeholder: string): string => `${placeholder}::float8`,
  contains: (text: string, needle: string): string => `(strpos(${text}, ${needle}::text) > 0)`,
  jsonEquals(source: string, key: string, value: Literal, binder: SqlBinder): string | null {
    // Containment of {key: value} is exactly "present, same JSON type, equal"
    // for a scalar value (a nested array does not contain a bare scalar), and
    // the GIN index on the column answers it.
    const json = JSON.stringify({ [key]: value });
    // jsonb refuses \u0000 and lone surrogates: such values take the generic path.
    if (/\\u(?:0000|d[89a-f])/i.test(json)) return null;
    // `::text` first, so the client sends the JSON text as it is.
    return `(${source} @> ${binder.bind(json)}::text::jsonb)`;
  },
  // Summed exactly (float8 prints its shortest exact form; numeric adds
  // without rounding) and rounded once: the correctly rounded sum, which the
  // compensated sums of SQLite and memory agree with to 12 digits.
  sum: (value: string): string => `sum((${value})::text::numeric)`,
  finishSum: (column: string): string => {
    const sum = toFloat8(column);
    return `(case when ${sum} = trunc(${sum}) and abs(${sum}) <= 9007199254740992 then ${sum} else ${
      roundSignificant(sum)
    } end)`;
  },
  // The numeric sum and the count, divided in float8 when finished (a
  // numeric mean would stay finite where the float sum overflows).
  avg: (value: string): string =>
    `(case when count(${value}) > 0 then array[sum((${value})::text::numeric), count(${value})] end)`,
  finishAvg: (column: string): string =>
    roundSignificant(`(${toFloat8(`${column}[1]`)} / ${column}[2]::float8)`),
  // jsonb's text: keys in jsonb order, numbers in numeric's plain notation.
  canonicalJson: (value: string): string => `(${value})::text collate "C"`,
  percentile: (value: string, fraction: string): string =>
    `(percentile_cont(${fraction}::float8) within group (order by ${value}))`,
  // float8 division and floor: IEEE 754, as in JavaScript.
  floorDiv: (value: string, width: string): string => `floor(${value} / ${width})`,
};
