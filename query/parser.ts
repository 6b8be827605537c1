/**
 * The grammar of the query language (a Chevrotain parser with embedded
 * actions) and the syntax tree it builds. The tree keeps the tokens of every
 * node so that the analyser (`_analyze.ts`), which turns it into a
 * `QueryPlan`, can point its errors at the offending text.
 *
 * ```
 * query      = "trace" id | entity [ "where" or ] [ "|" aggregates [ "by" fields ]
 *              [ "having" hOr ] ] [ "order" "by" orderKey { "," orderKey } ]
 *              [ "limit" number ] [ "offset" number ]
 * or         = and { "or" and }            and = not { "and" not }
 * not        = "not" not | "(" or ")" | "has" "(" entity [ "where" or ] ")"
 *            | "since" value | field predicate
 * predicate  = op value | ("=~" | "!~") value | [ "not" ] "in" "(" value { "," value } ")"
 *            | [ "not" ] "exists" | "contains" value
 * field      = name [ "." string ]          (attr.key, attr."any key", resource.key)
 * value      = string | number | duration | "-" (number | duration) | true | false
 *            | name | id | "now" [ ("+" | "-") duration ]
 * aggregates = call { "," call }       call = name "(" [ field [ "," value ] ] ")"
 * fields     = ref { "," ref }             (a field, or bucket(field, width))
 * hOr        = like or, over  ref op value   with ref = name [ "(" [ field [ "," value ] ] ")"
 *                                                            | "." string ]
 * orderKey   = ref [ "asc" | "desc" ]
 * ```
 *
 * @module
 */
import {
  createTokenInstance,
  EmbeddedActionsParser,
  EOF,
  type IOrAlt,
  type IToken,
  type TokenType,
} from "chevrotain";
import { QuerySyntaxError } from "./errors.ts";
import { suggest } from "../src/suggest.ts";
import * as T from "./lexer.ts";

/** A field as written: `name`, `attr.key` or `attr."quoted key"`. */
export interface FieldNode {
  /** The name token (`status`, `attr.node.id`, `attr`). */
  name: IToken;
  /** The quoted key token after `name.`, if any. */
  quoted: IToken | null;
}

/** A literal as written. */
export type ValueNode =
  | { type: "string"; token: IToken }
  | { type: "number"; token: IToken; negative: IToken | null }
  | { type: "bool"; token: IToken }
  | { type: "word"; token: IToken }
  | { type: "now"; token: IToken; sign: IToken | null; duration: IToken | null };

/** A condition as written. */
export type ConditionNode =
  | { type: "and" | "or"; items: ConditionNode[] }
  | { type: "not"; token: IToken; item: ConditionNode }
  | { type: "compare"; field: FieldNode; op: IToken; value: ValueNode }
  | { type: "regex"; field: FieldNode; op: IToken; value: ValueNode }
  | { type: "in"; field: FieldNode; not: IToken | null; values: ValueNode[] }
  | { type: "exists"; field: FieldNode; not: IToken | null }
  | { type: "contains"; field: FieldNode; op: IToken; value: ValueNode }
  | { type: "has"; token: IToken; entity: IToken; where: ConditionNode | null }
  | { type: "since"; token: IToken; value: ValueNode };

/**
 * A reference in `by`, `having` or `order by`, or an aggregate call:
 * `count()`, `p95(duration)`, `bucket(start_time, 1m)`, a field.
 */
export interface RefNode {
  /** The function or field name token. */
  name: IToken;
  /** For a call, the argument (or `null` for `()`); `undefined` for a field. */
  arg: FieldNode | null | undefined;
  /** For a call, the value after a comma (the width of `bucket(f, 1m)`), else `null`. */
  width: ValueNode | null;
  /** For `attr."key"`, the quoted key. */
  quoted: IToken | null;
  /** The closing parenthesis of a call. */
  end: IToken | null;
}

/** A having condition as written. */
export type HavingNode =
  | { type: "and" | "or"; items: HavingNode[] }
  | { type: "not"; token: IToken; item: HavingNode }
  | { type: "compare"; ref: RefNode; op: IToken; value: ValueNode };

/** A `trace <id>` query. */
export interface TraceQueryNode {
  /** Discriminant. */
  type: "trace";
  /** The id token. */
  id: IToken;
}

/** An entity query as written. */
export interface EntityQueryNode {
  /** Discriminant. */
  type: "entity";
  /** The entity name token. */
  entity: IToken;
  /** The `where` condition. */
  where: ConditionNode | null;
  /** The aggregation after `|`, if any. */
  aggregate: {
    pipe: IToken;
    calls: RefNode[];
    by: RefNode[];
    having: HavingNode | null;
  } | null;
  /** `order by` keys. */
  orderBy: { ref: RefNode; direction: IToken | null }[];
  /** The `limit` number token. */
  limit: IToken | null;
  /** The `offset` number token. */
  offset: IToken | null;
}

/** The syntax tree of a query. */
export type QueryNode = TraceQueryNode | EntityQueryNode;

const COMPARISON_OPS = [T.Equals, T.NotEquals, T.Less, T.LessEquals, T.Greater, T.GreaterEquals];

class QueryParser extends EmbeddedActionsParser {
  constructor() {
    super([...T.ALL_TOKENS], { maxLookahead: 3 });
    this.performSelfAnalysis();
  }

  query = this.RULE("query", (): QueryNode => {
    return this.OR([
      { ALT: () => this.SUBRULE(this.traceQuery) },
      { ALT: () => this.SUBRULE(this.entityQuery) },
    ]);
  });

  traceQuery = this.RULE("traceQuery", (): TraceQueryNode => {
    this.CONSUME(T.Trace);
    const id = this.OR([
      { ALT: () => this.CONSUME(T.HexId) },
      { ALT: () => this.CONSUME(T.StringLiteral) },
      { ALT: () => this.CONSUME(T.Identifier) },
      { ALT: () => this.CONSUME(T.NumberLiteral) },
    ]);
    return { type: "trace", id };
  });

  entityQuery = this.RULE("entityQuery", (): EntityQueryNode => {
    const entity = this.CONSUME(T.Identifier);
    let where: ConditionNode | null = null;
    let aggregate: EntityQueryNode["aggregate"] = null;
    const orderBy: EntityQueryNode["orderBy"] = [];
    let limit: IToken | null = null;
    let offset: IToken | null = null;
    this.OPTION(() => {
      this.CONSUME(T.Where);
      where = this.SUBRULE(this.orExpr);
    });
    this.OPTION2(() => {
      const pipe = this.CONSUME(T.Pipe);
      const calls: RefNode[] = [];
      const by: RefNode[] = [];
      let having: HavingNode | null = null;
      this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => calls.push(this.SUBRULE(this.call)) });
      this.OPTION3(() => {
        this.CONSUME(T.By);
        this.AT_LEAST_ONE_SEP2({ SEP: T.Comma, DEF: () => by.push(this.SUBRULE2(this.ref)) });
      });
      this.OPTION4(() => {
        this.CONSUME(T.Having);
        having = this.SUBRULE(this.havingOr);
      });
      aggregate = { pipe, calls, by, having };
    });
    this.OPTION5(() => {
      this.CONSUME(T.Order);
      this.CONSUME2(T.By);
      this.AT_LEAST_ONE_SEP3({
        SEP: T.Comma,
        DEF: () => {
          const ref = this.SUBRULE(this.ref);
          let direction: IToken | null = null;
          this.OPTION6(() => {
            direction = this.OR([
              { ALT: () => this.CONSUME(T.Asc) },
              { ALT: () => this.CONSUME(T.Desc) },
            ]);
          });
          orderBy.push({ ref, direction });
        },
      });
    });
    this.OPTION7(() => {
      this.CONSUME(T.Limit);
      limit = this.CONSUME(T.NumberLiteral);
    });
    this.OPTION8(() => {
      this.CONSUME(T.Offset);
      offset = this.CONSUME2(T.NumberLiteral);
    });
    return { type: "entity", entity, where, aggregate, orderBy, limit, offset };
  });

  orExpr = this.RULE("orExpr", (): ConditionNode => {
    const items = [this.SUBRULE(this.andExpr)];
    this.MANY(() => {
      this.CONSUME(T.Or);
      items.push(this.SUBRULE2(this.andExpr));
    });
    return items.length === 1 ? items[0]! : { type: "or", items };
  });

  andExpr = this.RULE("andExpr", (): ConditionNode => {
    const items = [this.SUBRULE(this.notExpr)];
    this.MANY(() => {
      this.CONSUME(T.And);
      items.push(this.SUBRULE2(this.notExpr));
    });
    return items.length === 1 ? items[0]! : { type: "and", items };
  });

  notExpr = this.RULE("notExpr", (): ConditionNode => {
    return this.OR<IOrAlt<ConditionNode>[]>([
      {
        ALT: () => {
          const token = this.CONSUME(T.Not);
          return { type: "not", token, item: this.SUBRULE(this.notExpr) };
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          const inner = this.SUBRULE(this.orExpr);
          this.CONSUME(T.RParen);
          return inner;
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(T.Has);
          this.CONSUME2(T.LParen);
          const entity = this.CONSUME(T.Identifier);
          let where: ConditionNode | null = null;
          this.OPTION(() => {
            this.CONSUME(T.Where);
            where = this.SUBRULE2(this.orExpr);
          });
          this.CONSUME2(T.RParen);
          return { type: "has", token, entity, where };
        },
      },
      {
        ALT: () => {
          const token = this.CONSUME(T.Since);
          return { type: "since", token, value: this.SUBRULE(this.value) };
        },
      },
      { ALT: () => this.SUBRULE(this.predicate) },
    ]);
  });

  predicate = this.RULE("predicate", (): ConditionNode => {
    const field = this.SUBRULE(this.field);
    return this.OR<IOrAlt<ConditionNode>[]>([
      {
        ALT: () => {
          const op = this.OR2(COMPARISON_OPS.map((t) => ({ ALT: () => this.CONSUME(t) })));
          return { type: "compare", field, op, value: this.SUBRULE(this.value) };
        },
      },
      {
        ALT: () => {
          const op = this.OR3([
            { ALT: () => this.CONSUME(T.RegexMatch) },
            { ALT: () => this.CONSUME(T.RegexNotMatch) },
          ]);
          return { type: "regex", field, op, value: this.SUBRULE2(this.value) };
        },
      },
      {
        ALT: () => {
          const op = this.CONSUME(T.Contains);
          return { type: "contains", field, op, value: this.SUBRULE3(this.value) };
        },
      },
      {
        ALT: () => {
          let not: IToken | null = null;
          this.OPTION(() => {
            not = this.CONSUME(T.Not);
          });
          return this.OR4<IOrAlt<ConditionNode>[]>([
            {
              ALT: () => {
                this.CONSUME(T.In);
                this.CONSUME(T.LParen);
                const values: ValueNode[] = [];
                this.AT_LEAST_ONE_SEP({
                  SEP: T.Comma,
                  DEF: () => values.push(this.SUBRULE4(this.value)),
                });
                this.CONSUME(T.RParen);
                return { type: "in", field, not, values };
              },
            },
            {
              ALT: () => {
                this.CONSUME(T.Exists);
                return { type: "exists", field, not };
              },
            },
          ]);
        },
      },
    ]);
  });

  field = this.RULE("field", (): FieldNode => {
    const name = this.CONSUME(T.Identifier);
    let quoted: IToken | null = null;
    this.OPTION(() => {
      this.CONSUME(T.Dot);
      quoted = this.CONSUME(T.StringLiteral);
    });
    return { name, quoted };
  });

  value = this.RULE("value", (): ValueNode => {
    return this.OR<IOrAlt<ValueNode>[]>([
      { ALT: () => ({ type: "string", token: this.CONSUME(T.StringLiteral) }) },
      { ALT: () => ({ type: "number", token: this.CONSUME(T.NumberLiteral), negative: null }) },
      { ALT: () => ({ type: "number", token: this.CONSUME(T.Duration), negative: null }) },
      {
        ALT: () => {
          const negative = this.CONSUME(T.Minus);
          const token = this.OR2([
            { ALT: () => this.CONSUME2(T.NumberLiteral) },
            { ALT: () => this.CONSUME2(T.Duration) },
          ]);
          return { type: "number", token, negative };
        },
      },
      { ALT: () => ({ type: "bool", token: this.CONSUME(T.True) }) },
      { ALT: () => ({ type: "bool", token: this.CONSUME(T.False) }) },
      { ALT: () => ({ type: "word", token: this.CONSUME(T.Identifier) }) },
      { ALT: () => ({ type: "word", token: this.CONSUME(T.HexId) }) },
      {
        ALT: () => {
          const token = this.CONSUME(T.Now);
          let sign: IToken | null = null;
          let duration: IToken | null = null;
          this.OPTION(() => {
            sign = this.OR3([
              { ALT: () => this.CONSUME2(T.Minus) },
              { ALT: () => this.CONSUME(T.Plus) },
            ]);
            duration = this.CONSUME3(T.Duration);
          });
          return { type: "now", token, sign, duration };
        },
      },
    ]);
  });

  call = this.RULE("call", (): RefNode => {
    const name = this.CONSUME(T.Identifier);
    this.CONSUME(T.LParen);
    let arg: FieldNode | null = null;
    let width: ValueNode | null = null;
    this.OPTION(() => {
      arg = this.SUBRULE(this.field);
      this.OPTION2(() => {
        this.CONSUME(T.Comma);
        width = this.SUBRULE(this.value);
      });
    });
    const end = this.CONSUME(T.RParen);
    return { name, arg, width, quoted: null, end };
  });

  ref = this.RULE("ref", (): RefNode => {
    const name = this.CONSUME(T.Identifier);
    let arg: FieldNode | null | undefined = undefined;
    let width: ValueNode | null = null;
    let quoted: IToken | null = null;
    let end: IToken | null = null;
    this.OPTION(() => {
      this.OR([
        {
          ALT: () => {
            this.CONSUME(T.LParen);
            arg = null;
            this.OPTION2(() => {
              arg = this.SUBRULE(this.field);
              this.OPTION3(() => {
                this.CONSUME(T.Comma);
                width = this.SUBRULE(this.value);
              });
            });
            end = this.CONSUME(T.RParen);
          },
        },
        {
          ALT: () => {
            this.CONSUME(T.Dot);
            quoted = this.CONSUME(T.StringLiteral);
          },
        },
      ]);
    });
    return { name, arg, width, quoted, end };
  });

  havingOr = this.RULE("havingOr", (): HavingNode => {
    const items = [this.SUBRULE(this.havingAnd)];
    this.MANY(() => {
      this.CONSUME(T.Or);
      items.push(this.SUBRULE2(this.havingAnd));
    });
    return items.length === 1 ? items[0]! : { type: "or", items };
  });

  havingAnd = this.RULE("havingAnd", (): HavingNode => {
    const items = [this.SUBRULE(this.havingNot)];
    this.MANY(() => {
      this.CONSUME(T.And);
      items.push(this.SUBRULE2(this.havingNot));
    });
    return items.length === 1 ? items[0]! : { type: "and", items };
  });

  havingNot = this.RULE("havingNot", (): HavingNode => {
    return this.OR<IOrAlt<HavingNode>[]>([
      {
        ALT: () => {
          const token = this.CONSUME(T.Not);
          return { type: "not", token, item: this.SUBRULE(this.havingNot) };
        },
      },
      {
        ALT: () => {
          this.CONSUME(T.LParen);
          const inner = this.SUBRULE(this.havingOr);
          this.CONSUME(T.RParen);
          return inner;
        },
      },
      {
        ALT: () => {
          const ref = this.SUBRULE(this.ref);
          const op = this.OR2(COMPARISON_OPS.map((t) => ({ ALT: () => this.CONSUME(t) })));
          return { type: "compare", ref, op, value: this.SUBRULE(this.value) };
        },
      },
    ]);
  });
}

// One instance, reused: building a Chevrotain parser analyses the whole grammar.
const parser = new QueryParser();

/** Token types offered when computing what a failed parse expected, with a sample image each. */
const PROBES: readonly [TokenType, string][] = T.ALL_TOKENS.filter((t) => t.name !== "WhiteSpace")
  .filter((t) => t !== T.BadNumber)
  .map((t) => [t, sampleImage(t)]);

function sampleImage(t: TokenType): string {
  switch (t) {
    case T.StringLiteral:
      return '"x"';
    case T.HexId:
      return "0123456789abcdef";
    case T.Duration:
      return "1s";
    case T.NumberLiteral:
      return "1";
    case T.Identifier:
      return "x";
    default:
      return String(t.LABEL ?? t.name).replace(/^'|'$/g, "");
  }
}

function run(tokens: IToken[]): { node: QueryNode | undefined; error: IToken | undefined } {
  parser.input = tokens;
  const node = parser.query();
  const error = parser.errors[0];
  return { node: error ? undefined : node, error: error?.token };
}

/**
 * Parses tokens into a syntax tree.
 *
 * @param tokens The tokens of `text` (from {@linkcode T.tokenize}).
 * @param text The query, for error excerpts.
 * @returns The syntax tree.
 * @throws {QuerySyntaxError} At the first token out of place, listing what
 * would have been accepted there.
 */
export function parseTokens(tokens: IToken[], text: string): QueryNode {
  const { node, error } = run(tokens);
  if (node) return node;
  const at = error && error.tokenType !== EOF ? tokens.indexOf(error) : tokens.length;
  const expected = expectedAt(tokens, at);
  const labels = expected.map((t) => (t === EOF ? "end of query" : t.LABEL ?? t.name));
  const list = labels.length > 1
    ? `${labels.slice(0, -1).join(", ")} or ${labels.at(-1)}`
    : (labels[0] ?? "nothing");
  const actual = tokens[at];
  if (!actual) {
    throw new QuerySyntaxError("UNEXPECTED_END", `the query ends too early; expected ${list}`, {
      query: text,
      offset: text.length,
      expected: labels,
    });
  }
  const before = tokens[at - 1];
  if (actual.tokenType === T.LParen && before?.image === "bucket") {
    // The grammar takes bucket(...) only where a group key may stand.
    throw new QuerySyntaxError(
      "MISPLACED",
      "bucket(...) is a group key: write it after 'by' (spans | count() by bucket(start_time, 1m)); " +
        "to filter by time use a comparison (start_time >= now - 1h) or since",
      {
        query: text,
        offset: before.startOffset,
        length: actual.startOffset + 1 - before.startOffset,
        expected: labels,
      },
    );
  }
  let hint = "";
  if (actual.tokenType === T.Identifier || T.KEYWORDS.includes(actual.tokenType)) {
    const words = expected.filter((t) => T.KEYWORDS.includes(t)).map((t) => t.name.toLowerCase());
    const guess = suggest(actual.image, words);
    if (guess) hint = ` — did you mean '${guess}'?`;
  }
  throw new QuerySyntaxError(
    "UNEXPECTED_TOKEN",
    `unexpected '${shorten(actual.image)}'; expected ${list}${hint}`,
    { query: text, offset: actual.startOffset, length: actual.image.length, expected: labels },
  );
}

/** A token's text cut to 40 characters, so a 10 MB string literal makes no 10 MB message. */
function shorten(image: string): string {
  return image.length > 40 ? `${image.slice(0, 39)}…` : image;
}

/**
 * What the grammar accepts at token `at`: each token type for which a parse
 * of the tokens before it plus that token gets past it. Exact, and cheap
 * enough because it only runs on errors.
 */
function expectedAt(tokens: IToken[], at: number): TokenType[] {
  const before = tokens.slice(0, at);
  const offset = tokens[at]?.startOffset ?? Infinity;
  const result: TokenType[] = [];
  for (const [type, image] of PROBES) {
    const probe = createTokenInstance(type, image, offset, offset, 1, 1, 1, 1);
    const { error } = run([...before, probe]);
    if (!error || error !== probe) result.push(type);
  }
  if (!run(before).error) result.push(EOF);
  return result;
}
