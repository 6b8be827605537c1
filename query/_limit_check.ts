/**
 * The checks of `limits.ts`, run by `parseQuery` on the text and on the
 * token stream before the parser, which recurses.
 *
 * @module
 */
import type { IToken } from "chevrotain";
import { QuerySyntaxError } from "./errors.ts";
import * as T from "./lexer.ts";
import { MAX_QUERY_COLUMNS, MAX_QUERY_DEPTH, MAX_QUERY_LENGTH, MAX_QUERY_TERMS } from "./limits.ts";

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
