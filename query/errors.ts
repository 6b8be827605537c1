/**
 * The one error a query's text can raise: {@linkcode QuerySyntaxError}, for
 * syntax (a character or token out of place) and for meaning (an unknown
 * field, a non-numeric `avg`, a bad regular expression) alike, always
 * pointing at the offending text with a caret excerpt.
 *
 * @module
 */

/**
 * Stable codes of {@linkcode QuerySyntaxError}, for programs that react to a
 * kind of mistake (they survive structured clone, unlike the subclass).
 */
export type QueryErrorCode =
  | "UNEXPECTED_CHARACTER"
  | "UNTERMINATED_STRING"
  | "BAD_NUMBER"
  | "UNEXPECTED_TOKEN"
  | "UNEXPECTED_END"
  | "UNKNOWN_ENTITY"
  | "UNKNOWN_FIELD"
  | "UNKNOWN_FUNCTION"
  | "UNKNOWN_VALUE"
  | "TYPE_MISMATCH"
  | "NOT_NUMERIC"
  | "BAD_REGEX"
  | "BAD_LIMIT"
  | "BAD_BUCKET"
  | "NOT_SELECTED"
  | "DUPLICATE"
  | "MISPLACED"
  | "QUERY_TOO_LONG"
  | "TOO_DEEP"
  | "TOO_MANY_TERMS"
  | "TOO_MANY_COLUMNS";

/** Where a {@linkcode QuerySyntaxError} points and what was expected there. */
export interface QuerySyntaxErrorOptions {
  /** The whole query text. */
  query: string;
  /** 0-based offset of the offending text in `query`. */
  offset: number;
  /**
   * Length of the offending text (the number of carets).
   *
   * @default {1}
   */
  length?: number;
  /**
   * What the parser would have accepted there, e.g. `["'where'", "end of query"]`.
   *
   * @default {[]}
   */
  expected?: readonly string[];
}

/**
 * A query that cannot be run as written: its message names the mistake
 * ("Cannot parse query: unknown field 'stauts' — did you mean 'status'?"),
 * the line and column, and shows the line of the query with carets under the
 * offending text.
 *
 * @example
 * ```ts
 * import { parseQuery, QuerySyntaxError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseQuery("spans where stauts = error");
 *   assert.fail("should not parse");
 * } catch (e) {
 *   assert.ok(e instanceof QuerySyntaxError);
 *   assert.equal(e.code, "UNKNOWN_FIELD");
 *   assert.equal(e.column, 13);
 *   assert.match(e.message, /did you mean 'status'\?/);
 *   assert.match(e.message, /\n {14}\^{6}$/);
 * }
 * ```
 */
export class QuerySyntaxError extends SyntaxError {
  /** Stable code of the kind of mistake. */
  readonly code: QueryErrorCode;
  /** The mistake alone, without position or excerpt. */
  readonly reason: string;
  /** The query text. */
  readonly query: string;
  /** 1-based line of the offending text. */
  readonly line: number;
  /** 1-based column of the offending text. */
  readonly column: number;
  /** 0-based offset of the offending text. */
  readonly offset: number;
  /** Length of the offending text. */
  readonly length: number;
  /** What the parser would have accepted at this point (empty for errors of meaning). */
  readonly expected: readonly string[];

  /**
   * Creates the error and its message.
   *
   * @param code Stable code.
   * @param reason The mistake, e.g. `"unknown field 'stauts' — did you mean 'status'?"`.
   * @param options Where it is.
   */
  constructor(code: QueryErrorCode, reason: string, options: QuerySyntaxErrorOptions) {
    const { query, offset } = options;
    const length = Math.max(1, options.length ?? 1);
    const lineStart = query.lastIndexOf("\n", offset - 1) + 1;
    const lineEndAt = query.indexOf("\n", offset);
    const lineEnd = lineEndAt === -1 ? query.length : lineEndAt;
    const line = countLines(query, lineStart);
    const column = offset - lineStart + 1;
    // A long line (a generated query, a 10 MB literal) is shown as a window
    // around the offending text, so the message stays readable.
    const from = lineEnd - lineStart > MAX_EXCERPT
      ? Math.max(lineStart, offset - CONTEXT)
      : lineStart;
    const to = lineEnd - lineStart > MAX_EXCERPT
      ? Math.min(lineEnd, offset + Math.min(length, CONTEXT) + CONTEXT)
      : lineEnd;
    const head = from > lineStart ? "…" : "";
    const text = head + query.slice(from, to) + (to < lineEnd ? "…" : "");
    const carets = "^".repeat(Math.max(1, Math.min(length, to - offset)));
    super(
      `Cannot parse query: ${reason} (line ${line}, column ${column})\n` +
        `  ${text}\n  ${" ".repeat(offset - from + head.length)}${carets}`,
    );
    this.name = "QuerySyntaxError";
    this.code = code;
    this.reason = reason;
    this.query = query;
    this.line = line;
    this.column = column;
    this.offset = offset;
    this.length = length;
    this.expected = options.expected ?? [];
  }
}

/** Lines longer than this are shown as a window of {@linkcode CONTEXT} characters each side. */
const MAX_EXCERPT = 200;
const CONTEXT = 80;

function countLines(text: string, end: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
