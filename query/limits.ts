/**
 * The limits of a query's size, checked before the parser runs so that no
 * input, however long or deeply nested, can overflow the parser's stack or
 * reach an SQL engine's own limits (SQLite's expression depth of 1000 and
 * its 32,766 bound parameters, PostgreSQL's stack depth): a query beyond
 * one fails with a positioned `QuerySyntaxError` whose message names the
 * limit. Plans built by hand are held to the same bounds by the compilers
 * (`BackendError` `"BAD_QUERY"`).
 *
 * @module
 */

/**
 * The longest query text, in UTF-16 code units (characters): 100,000.
 * A longer query fails with code `"QUERY_TOO_LONG"`, pointing at the first
 * character beyond the limit.
 *
 * @example
 * ```ts
 * import { MAX_QUERY_LENGTH, parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const long = `spans where name = "${"x".repeat(MAX_QUERY_LENGTH)}"`;
 * assert.throws(() => parseQuery(long), { name: "QuerySyntaxError", code: "QUERY_TOO_LONG" });
 * ```
 */
export const MAX_QUERY_LENGTH = 100_000;

/**
 * The deepest nesting of a condition: 64 levels, counting each open
 * parenthesis (grouping, `in (...)`, `has(...)`, a call such as `p95(...)`)
 * and each `not` whose operand has not ended yet (`not not not a` is three
 * levels; `not a and not b` is one). A deeper query fails with code
 * `"TOO_DEEP"`, pointing at the token that goes one level too deep.
 *
 * @example
 * ```ts
 * import { MAX_QUERY_DEPTH, parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * parseQuery(`spans where ${"not ".repeat(MAX_QUERY_DEPTH)}status = error`);
 * assert.throws(
 *   () => parseQuery(`spans where ${"(".repeat(MAX_QUERY_DEPTH + 1)}status = error`),
 *   { name: "QuerySyntaxError", code: "TOO_DEEP" },
 * );
 * ```
 */
export const MAX_QUERY_DEPTH = 64;

/**
 * The most terms in a query: 500, counting each comparison (`=`, `!=`,
 * `<`, `<=`, `>`, `>=`, `=~`, `!~`, `contains`), each `exists`, `has`,
 * `since` and `in`, and each comma (so a list of n values counts n). Every
 * term binds at most two SQL parameters, so a query within the limits stays
 * far below SQLite's 32,766 and PostgreSQL's 65,535. The bound is also
 * one of time: PostgreSQL's planning, and its GIN index scan of one
 * attribute tested by every term, grow with the number of terms (1,000
 * `attr.n != i` over a few hundred spans: 1.3–3 s on a busy machine). A
 * query with more fails with code `"TOO_MANY_TERMS"`, pointing at the first
 * term beyond the limit.
 *
 * @example
 * ```ts
 * import { MAX_QUERY_TERMS, parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const ids = Array.from({ length: MAX_QUERY_TERMS + 1 }, (_, i) => `"s${i}"`);
 * assert.throws(
 *   () => parseQuery(`spans where span_id in (${ids.join(", ")})`),
 *   { name: "QuerySyntaxError", code: "TOO_MANY_TERMS" },
 * );
 * ```
 */
export const MAX_QUERY_TERMS = 500;

/**
 * The most output and ordering columns of a query: 32 aggregates, group
 * keys (`by`) and `order by` keys in all. Each becomes up to five SQL
 * columns or sort terms: the engines cap those (SQLite "too many terms in
 * ORDER BY clause", PostgreSQL "target lists can have at most 1664
 * entries"), and PostgreSQL's sorting time grew faster than the number of
 * keys (100 attribute keys over 369 rows: 2.7 s; 25 keys: 0.14 s). A query
 * with more fails with code `"TOO_MANY_COLUMNS"`,
 * pointing at the first one beyond the limit.
 *
 * @example
 * ```ts
 * import { MAX_QUERY_COLUMNS, parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const keys = Array.from({ length: MAX_QUERY_COLUMNS + 1 }, (_, i) => `attr.k${i}`);
 * assert.throws(
 *   () => parseQuery(`spans order by ${keys.join(", ")}`),
 *   { name: "QuerySyntaxError", code: "TOO_MANY_COLUMNS" },
 * );
 * ```
 */
export const MAX_QUERY_COLUMNS = 32;
