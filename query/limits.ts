/**
 * The limits of a query's size, checked before the parser runs so that no
 * input, however long or deeply nested, can overflow the parser's stack or
 * reach an SQL engine's own limits (SQLite's expression depth of 1000 and
 * its 32,766 bound parameters, PostgreSQL's stack depth): a query beyond
 * one fails with a positioned {@linkcode QuerySyntaxError} whose message
 * names the limit.
 *
 * @module
 */
import type { IToken } from "chevrotain";
import { QuerySyntaxError } from "./errors.ts";
import * as T from "./lexer.ts";

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
 * The most terms in a query: 1,000, counting each comparison (`=`, `!=`,
 * `<`, `<=`, `>`, `>=`, `=~`, `!~`, `contains`), each `exists`, `has`,
 * `since` and `in`, and each comma (so a list of n values counts n). Every
 * term binds at most two SQL parameters, so a query within the limits stays
 * far below SQLite's 32,766 and PostgreSQL's 65,535, and PostgreSQL plans
 * one at the limit in well under a second (its planning time grows faster
 * than the number of terms). A query with more fails
 * with code `"TOO_MANY_TERMS"`, pointing at the first term beyond the limit.
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
export const MAX_QUERY_TERMS = 1_000;

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

/**
 * Refuses a text longer than {@linkcode MAX_QUERY_LENGTH}, before it is
 * tokenized.
 *
 * @param text The query.
 * @throws {QuerySyntaxError} With code `"QUERY_TOO_LONG"`.
 */
export function checkQueryLength(text: string): void {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QuerySyntaxError(
      "QUERY_TOO_LONG",
      `the query is ${text.length} characters long; the limit is ${MAX_QUERY_LENGTH} (MAX_QUERY_LENGTH)`,
      { query: text, offset: MAX_QUERY_LENGTH, length: text.length - MAX_QUERY_LENGTH },
    );
  }
}

const TERM_TOKENS: ReadonlySet<unknown> = new Set([
  T.Equals,
  T.NotEquals,
  T.Less,
  T.LessEquals,
  T.Greater,
  T.GreaterEquals,
  T.RegexMatch,
  T.RegexNotMatch,
  T.Contains,
  T.Exists,
  T.Has,
  T.Since,
  T.In,
  T.Comma,
]);

/** Tokens that end the operand of a `not` at the parenthesis level where it stands. */
const OPERAND_ENDS: ReadonlySet<unknown> = new Set([
  T.And,
  T.Or,
  T.Pipe,
  T.Order,
  T.Limit,
  T.Offset,
  T.Having,
  T.By,
]);

/**
 * Refuses a token stream nested deeper than {@linkcode MAX_QUERY_DEPTH},
 * with more than {@linkcode MAX_QUERY_TERMS} terms or more than
 * {@linkcode MAX_QUERY_COLUMNS} columns. One pass, no recursion: it runs
 * before the parser, whose recursion is what it protects.
 *
 * @param tokens The tokens of `text`.
 * @param text The query, for the error excerpt.
 * @throws {QuerySyntaxError} With code `"TOO_DEEP"`, `"TOO_MANY_TERMS"` or
 * `"TOO_MANY_COLUMNS"`.
 */
export function checkQueryShape(tokens: readonly IToken[], text: string): void {
  // pending[i]: the `not`s waiting for their operand to end at parenthesis level i.
  const pending: number[] = [0];
  let depth = 0;
  let terms = 0;
  let columns = 0;
  /** Whether the tokens are in a list of columns: after `|`, `by` or `order by`. */
  let inColumns = false;
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const type = token.tokenType;
    if (type === T.Pipe || type === T.By) inColumns = true;
    else if (type === T.Having || type === T.Order || type === T.Limit || type === T.Offset) {
      inColumns = false;
    } else if (
      inColumns && type === T.Identifier && pending.length === 1 &&
      ++columns > MAX_QUERY_COLUMNS
    ) {
      throw new QuerySyntaxError(
        "TOO_MANY_COLUMNS",
        `the query has more than ${MAX_QUERY_COLUMNS} aggregates, group keys and order keys (MAX_QUERY_COLUMNS)`,
        { query: text, offset: token.startOffset, length: token.image.length },
      );
    }
    if (TERM_TOKENS.has(type) && ++terms > MAX_QUERY_TERMS) {
      throw new QuerySyntaxError(
        "TOO_MANY_TERMS",
        `the query has more than ${MAX_QUERY_TERMS} terms (comparisons and list values; MAX_QUERY_TERMS)`,
        { query: text, offset: token.startOffset, length: token.image.length },
      );
    }
    if (type === T.LParen) {
      pending.push(0);
      depth++;
    } else if (type === T.RParen) {
      if (pending.length > 1) depth -= pending.pop()! + 1;
      // A `not` before the group ends with it, unless an and/or follows.
    } else if (type === T.Not) {
      // `x not in (...)` and `x not exists` negate a predicate, nesting nothing.
      const next = tokens[i + 1]?.tokenType;
      if (next === T.In || next === T.Exists) continue;
      pending[pending.length - 1]!++;
      depth++;
    } else if (OPERAND_ENDS.has(type)) {
      depth -= pending[pending.length - 1]!;
      pending[pending.length - 1] = 0;
    }
    if (depth > MAX_QUERY_DEPTH) {
      throw new QuerySyntaxError(
        "TOO_DEEP",
        `the query nests more than ${MAX_QUERY_DEPTH} levels of parentheses and 'not' (MAX_QUERY_DEPTH)`,
        { query: text, offset: token.startOffset, length: token.image.length },
      );
    }
  }
}
