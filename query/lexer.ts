/**
 * The tokens of the query language and the lexer that produces them.
 *
 * Keywords are case-insensitive and only match whole words (`order_id` is a
 * name, not `order`). A name may contain dots (`attr.node.id`, `node.failed`)
 * so dotted attribute keys and event types need no quotes. A 16+ character
 * hex run containing a letter is an id (`trace 4bf92f35...`), so ids that
 * start with a digit need no quotes either.
 *
 * @module
 */
import { createToken, type IToken, Lexer, type TokenType } from "chevrotain";
import { QuerySyntaxError } from "./errors.ts";

/** A name: entity, field, function, bare enum value. */
export const Identifier: TokenType = createToken({
  name: "Identifier",
  label: "a name",
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*/,
});

function keyword(word: string): TokenType {
  return createToken({
    name: word[0]!.toUpperCase() + word.slice(1),
    label: `'${word}'`,
    // The lookahead makes `order` a name-prefix of nothing: `or` does not
    // match inside `order`, nor `order` inside `order_id` or `order.total`.
    pattern: new RegExp(`${word}(?![A-Za-z0-9_.])`, "i"),
  });
}

/** `where` */
export const Where: TokenType = keyword("where");
/** `and` */
export const And: TokenType = keyword("and");
/** `or` */
export const Or: TokenType = keyword("or");
/** `not` */
export const Not: TokenType = keyword("not");
/** `in` */
export const In: TokenType = keyword("in");
/** `exists` */
export const Exists: TokenType = keyword("exists");
/** `contains` */
export const Contains: TokenType = keyword("contains");
/** `has` */
export const Has: TokenType = keyword("has");
/** `since` */
export const Since: TokenType = keyword("since");
/** `now` */
export const Now: TokenType = keyword("now");
/** `order` */
export const Order: TokenType = keyword("order");
/** `by` */
export const By: TokenType = keyword("by");
/** `asc` */
export const Asc: TokenType = keyword("asc");
/** `desc` */
export const Desc: TokenType = keyword("desc");
/** `limit` */
export const Limit: TokenType = keyword("limit");
/** `offset` */
export const Offset: TokenType = keyword("offset");
/** `having` */
export const Having: TokenType = keyword("having");
/** `true` */
export const True: TokenType = keyword("true");
/** `false` */
export const False: TokenType = keyword("false");
/** `trace` */
export const Trace: TokenType = keyword("trace");

/** The keywords, for did-you-mean suggestions. */
export const KEYWORDS: readonly TokenType[] = [
  Where,
  And,
  Or,
  Not,
  In,
  Exists,
  Contains,
  Has,
  Since,
  Now,
  Order,
  By,
  Asc,
  Desc,
  Limit,
  Offset,
  Having,
  True,
  False,
  Trace,
];

/** A single- or double-quoted string with backslash escapes. */
export const StringLiteral: TokenType = createToken({
  name: "StringLiteral",
  label: "a quoted string",
  pattern: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/,
});
/** An id-like hex run (16+ characters, at least one letter). */
export const HexId: TokenType = createToken({
  name: "HexId",
  label: "an id",
  pattern: /(?=[0-9]*[a-fA-F])[0-9a-fA-F]{16,}(?![A-Za-z0-9_.])/,
});
/** A number with a time unit, e.g. `500ms`. */
export const Duration: TokenType = createToken({
  name: "Duration",
  label: "a duration",
  pattern: /\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)(?![A-Za-z0-9_.])/,
});
/** An unsigned decimal number. */
export const NumberLiteral: TokenType = createToken({
  name: "NumberLiteral",
  label: "a number",
  pattern: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![A-Za-z0-9_.])/,
});
/** Digits followed by letters that make no number or duration; always an error. */
export const BadNumber: TokenType = createToken({
  name: "BadNumber",
  label: "a malformed number",
  pattern: /\d[A-Za-z0-9_.µ]*/,
});

/** `=~` */
export const RegexMatch: TokenType = createToken({
  name: "RegexMatch",
  label: "'=~'",
  pattern: /=~/,
});
/** `!~` */
export const RegexNotMatch: TokenType = createToken({
  name: "RegexNotMatch",
  label: "'!~'",
  pattern: /!~/,
});
/** `!=` */
export const NotEquals: TokenType = createToken({
  name: "NotEquals",
  label: "'!='",
  pattern: /!=/,
});
/** `<=` */
export const LessEquals: TokenType = createToken({
  name: "LessEquals",
  label: "'<='",
  pattern: /<=/,
});
/** `>=` */
export const GreaterEquals: TokenType = createToken({
  name: "GreaterEquals",
  label: "'>='",
  pattern: />=/,
});
/** `<` */
export const Less: TokenType = createToken({ name: "Less", label: "'<'", pattern: /</ });
/** `>` */
export const Greater: TokenType = createToken({ name: "Greater", label: "'>'", pattern: />/ });
/** `=` (also `==`) */
export const Equals: TokenType = createToken({ name: "Equals", label: "'='", pattern: /==?/ });
/** `(` */
export const LParen: TokenType = createToken({ name: "LParen", label: "'('", pattern: /\(/ });
/** `)` */
export const RParen: TokenType = createToken({ name: "RParen", label: "')'", pattern: /\)/ });
/** `,` */
export const Comma: TokenType = createToken({ name: "Comma", label: "','", pattern: /,/ });
/** `|` */
export const Pipe: TokenType = createToken({ name: "Pipe", label: "'|'", pattern: /\|/ });
/** `.` (between `attr` and a quoted key) */
export const Dot: TokenType = createToken({ name: "Dot", label: "'.'", pattern: /\./ });
/** `-` */
export const Minus: TokenType = createToken({ name: "Minus", label: "'-'", pattern: /-/ });
/** `+` */
export const Plus: TokenType = createToken({ name: "Plus", label: "'+'", pattern: /\+/ });

const WhiteSpace = createToken({
  name: "WhiteSpace",
  pattern: /\s+/,
  group: Lexer.SKIPPED,
  line_breaks: true,
});

/** Every token type, in the order the lexer tries them. */
export const ALL_TOKENS: readonly TokenType[] = [
  WhiteSpace,
  StringLiteral,
  HexId,
  Duration,
  NumberLiteral,
  BadNumber,
  RegexMatch,
  RegexNotMatch,
  NotEquals,
  LessEquals,
  GreaterEquals,
  Less,
  Greater,
  Equals,
  LParen,
  RParen,
  Comma,
  Pipe,
  Dot,
  Minus,
  Plus,
  ...KEYWORDS,
  Identifier,
];

const lexer = new Lexer([...ALL_TOKENS], { ensureOptimizations: false, positionTracking: "full" });

/**
 * Splits a query into tokens.
 *
 * @param text The query.
 * @returns The tokens, whitespace dropped.
 * @throws {QuerySyntaxError} On a character no token starts with, an
 * unterminated string, a string containing NUL, or a malformed number.
 */
export function tokenize(text: string): IToken[] {
  const result = lexer.tokenize(text);
  const error = result.errors[0];
  if (error) {
    const c = text[error.offset]!;
    if (c === '"' || c === "'") {
      throw new QuerySyntaxError("UNTERMINATED_STRING", `unterminated string: no closing ${c}`, {
        query: text,
        offset: error.offset,
        length: error.length,
      });
    }
    throw new QuerySyntaxError(
      "UNEXPECTED_CHARACTER",
      `unexpected character ${JSON.stringify(c)}`,
      { query: text, offset: error.offset },
    );
  }
  for (const token of result.tokens) {
    // SQLite reads JSON paths as C strings and PostgreSQL text cannot hold
    // NUL: no backend could answer faithfully, so the query is refused.
    if (token.tokenType === StringLiteral && unquote(token.image).includes("\u0000")) {
      throw new QuerySyntaxError("UNEXPECTED_CHARACTER", "strings cannot contain NUL (\\u0000)", {
        query: text,
        offset: token.startOffset,
        length: token.image.length,
      });
    }
    if (token.tokenType === BadNumber) {
      throw new QuerySyntaxError(
        "BAD_NUMBER",
        `'${token.image}' is not a number or a duration (units: ns us ms s m h d)`,
        { query: text, offset: token.startOffset, length: token.image.length },
      );
    }
  }
  return result.tokens;
}

/**
 * The value of a string token: quotes removed; `\\`, `\"`, `\'`, `\n`, `\t`,
 * `\r` and `\uXXXX` decoded; any other backslash kept as written, so regular
 * expressions such as `"\d+\.\d+"` need no doubled backslashes. A lone
 * surrogate (`"\ud800"`, written escaped or not) becomes U+FFFD, as it does
 * in a recorded string, so the literal means what the stores hold and every
 * backend reads the same value.
 *
 * @param image The token text, quotes included.
 * @returns The string value.
 */
export function unquote(image: string): string {
  const body = image.slice(1, -1);
  if (!body.includes("\\")) return body.toWellFormed();
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (all, c: string) => {
    switch (c[0]) {
      case "\\":
      case '"':
      case "'":
        return c;
      case "n":
        return "\n";
      case "t":
        return "\t";
      case "r":
        return "\r";
      case "u":
        return c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : all;
      default:
        return all;
    }
  }).toWellFormed();
}
