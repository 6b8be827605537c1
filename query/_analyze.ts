/**
 * Turns a syntax tree into a {@linkcode QueryPlan}, checking what the grammar
 * cannot: that entities, fields, functions and enum values exist, that values
 * have the field's type, that aggregates get numeric fields, that regular
 * expressions are portable, and that `having` and `order by` name what was
 * selected. Every error points at the offending tokens.
 *
 * @module
 */
import type { IToken } from "chevrotain";
import {
  type Aggregate,
  AGGREGATE_FUNCTIONS,
  type AggregateFunction,
  type AggregateOrderKey,
  type AggregatePlan,
  checkRegex,
  clampLimit,
  type ColumnInfo,
  COLUMNS,
  type ComparisonOperator,
  type Condition,
  DEFAULT_LIMIT,
  ENTITIES,
  type Entity,
  type FieldRef,
  type GroupKey,
  type HavingCondition,
  type Literal,
  MAX_LIMIT,
  type OrderKey,
  type QueryPlan,
  TIME_COLUMN,
} from "./plan.ts";
import { type QueryErrorCode, QuerySyntaxError } from "./errors.ts";
import type {
  ConditionNode,
  EntityQueryNode,
  FieldNode,
  HavingNode,
  QueryNode,
  RefNode,
  ValueNode,
} from "./parser.ts";
import { HexId, Identifier, NumberLiteral, StringLiteral, unquote } from "./lexer.ts";
import { suggest } from "../src/suggest.ts";
import { bucketAlias, MIN_BUCKET_WIDTH } from "./_bucket.ts";

/** A field resolved against an entity. */
interface Field {
  ref: FieldRef;
  alias: string;
  /** The column's description; `null` for attributes, which hold any JSON value. */
  column: ColumnInfo | null;
  first: IToken;
  last: IToken;
}

const ATTRIBUTE_PREFIXES = ["attr", "attributes"];
const ALL_PREFIXES = [...ATTRIBUTE_PREFIXES, "resource"];
const UNITS: Record<string, number> = {
  ns: 1e9,
  us: 1e6,
  "µs": 1e6,
  ms: 1e3,
  s: 1,
  m: 1 / 60,
  h: 1 / 3600,
  d: 1 / 86400,
};

/**
 * Builds the plan of a parsed query.
 *
 * @param node The syntax tree.
 * @param text The query, for error excerpts.
 * @param now The current time in seconds, for `now` and `since`.
 * @returns The plan.
 * @throws {QuerySyntaxError} On any error of meaning.
 */
export function buildPlan(node: QueryNode, text: string, now: number): QueryPlan {
  return new Analyzer(text, () => now).query(node);
}

/**
 * Builds the plan of a parsed query and tells whether it depends on the
 * current time (`now`, `since`), which is read only when the query needs it.
 *
 * @param node The syntax tree.
 * @param text The query, for error excerpts.
 * @param now Returns the current time in seconds; called at most once.
 * @returns The plan, and `usesNow`: whether another `now` would change it.
 * @throws {QuerySyntaxError} On any error of meaning.
 */
export function analyzePlan(
  node: QueryNode,
  text: string,
  now: () => number,
): { plan: QueryPlan; usesNow: boolean } {
  const analyzer = new Analyzer(text, now);
  const plan = analyzer.query(node);
  return { plan, usesNow: analyzer.usesNow };
}

/**
 * Checks that a token names an entity.
 *
 * @param token The first token of a query.
 * @param text The query, for error excerpts.
 * @throws {QuerySyntaxError} When it names none.
 */
export function checkEntity(token: IToken, text: string): void {
  new Analyzer(text, () => 0).entity(token);
}

class Analyzer {
  #text: string;
  #clock: () => number;
  #now: number | null = null;

  constructor(text: string, now: () => number) {
    this.#text = text;
    this.#clock = now;
  }

  /** Whether the plan read the current time. */
  get usesNow(): boolean {
    return this.#now !== null;
  }

  /** The current time, read once per plan and only when the query needs it. */
  #current(): number {
    return this.#now ??= this.#clock();
  }

  fail(code: QueryErrorCode, reason: string, first: IToken, last: IToken = first): never {
    throw new QuerySyntaxError(code, reason, {
      query: this.#text,
      offset: first.startOffset,
      length: (last.endOffset ?? last.startOffset) + 1 - first.startOffset,
    });
  }

  query(node: QueryNode): QueryPlan {
    if (node.type === "trace") {
      const id = node.id.tokenType === StringLiteral ? unquote(node.id.image) : node.id.image;
      return {
        type: "select",
        entity: "spans",
        where: {
          type: "compare",
          field: { kind: "column", name: "trace_id" },
          operator: "=",
          value: id,
        },
        orderBy: [{ field: { kind: "column", name: "start_time" }, direction: "asc" }],
        limit: MAX_LIMIT,
        offset: 0,
      };
    }
    const entity = this.entity(node.entity);
    const where = node.where ? this.condition(entity, node.where, true) : null;
    const limit = node.limit ? this.count(node.limit, "limit") : undefined;
    const offset = node.offset ? this.count(node.offset, "offset") : 0;
    if (node.aggregate) return this.aggregate(entity, where, node, limit, offset);
    const orderBy: OrderKey[] = node.orderBy.map(({ ref, direction }) => {
      if (ref.arg !== undefined && ref.name.image === "bucket") {
        this.fail(
          "MISPLACED",
          `cannot order records by a bucket; aggregate first: '${entity} | count() by ${
            this.#text.slice(ref.name.startOffset, (ref.end?.endOffset ?? 0) + 1)
          }'`,
          ref.name,
          ref.end ?? ref.name,
        );
      }
      if (ref.arg !== undefined) {
        this.fail(
          "MISPLACED",
          `cannot order records by an aggregate; aggregate first: '${entity} | ${
            this.#text.slice(ref.name.startOffset, (ref.end?.endOffset ?? 0) + 1)
          } ...'`,
          ref.name,
          ref.end ?? ref.name,
        );
      }
      const field = this.field(entity, { name: ref.name, quoted: ref.quoted });
      return {
        field: field.ref,
        direction: direction?.image.toLowerCase() === "desc" ? "desc" : "asc",
      };
    });
    return {
      type: "select",
      entity,
      where,
      orderBy,
      limit: clampLimit(limit ?? DEFAULT_LIMIT),
      offset,
    };
  }

  aggregate(
    entity: Entity,
    where: Condition | null,
    node: EntityQueryNode,
    limit: number | undefined,
    offset: number,
  ): AggregatePlan {
    const { calls, by, having } = node.aggregate!;
    const aggregates: Aggregate[] = [];
    for (const call of calls) {
      const aggregate = this.call(entity, call);
      if (aggregates.some((a) => a.alias === aggregate.alias)) {
        this.fail("DUPLICATE", `${aggregate.alias} is computed twice`, call.name, call.end!);
      }
      aggregates.push(aggregate);
    }
    const groupBy: GroupKey[] = [];
    for (const ref of by) {
      const key = this.groupKey(entity, ref);
      if (groupBy.some((g) => g.alias === key.alias)) {
        this.fail(
          "DUPLICATE",
          `'${key.alias}' is grouped by twice`,
          ref.name,
          ref.end ?? ref.quoted ?? ref.name,
        );
      }
      groupBy.push(key);
    }
    const aliases = [...aggregates.map((a) => a.alias), ...groupBy.map((g) => g.alias)];
    const orderBy: AggregateOrderKey[] = node.orderBy.map(({ ref, direction }) => ({
      alias: this.selected(entity, ref, aliases, "order by"),
      direction: direction?.image.toLowerCase() === "desc" ? "desc" : "asc",
    }));
    return {
      type: "aggregate",
      entity,
      where,
      aggregates,
      groupBy,
      having: having ? this.having(entity, having, aliases) : null,
      orderBy,
      limit: clampLimit(limit ?? MAX_LIMIT),
      offset,
    };
  }

  entity(token: IToken): Entity {
    const name = token.image.toLowerCase();
    if ((ENTITIES as readonly string[]).includes(name)) return name as Entity;
    const guess = suggest(token.image, ENTITIES);
    this.fail(
      "UNKNOWN_ENTITY",
      guess
        ? `unknown entity '${token.image}' — did you mean '${guess}'?`
        : `unknown entity '${token.image}'; queries start with ${ENTITIES.join(", ")} or trace`,
      token,
    );
  }

  count(token: IToken, what: string): number {
    const n = Number(token.image);
    if (!Number.isSafeInteger(n)) {
      this.fail("BAD_LIMIT", `${what} must be a whole number, got ${token.image}`, token);
    }
    return n;
  }

  field(entity: Entity, node: FieldNode): Field {
    const name = node.name.image;
    const last = node.quoted ?? node.name;
    if (node.quoted) {
      if (!ALL_PREFIXES.includes(name)) {
        this.fail(
          "UNKNOWN_FIELD",
          `a quoted key follows attr., attributes. or resource., not '${name}.'`,
          node.name,
        );
      }
      return this.keyed(entity, name, unquote(node.quoted.image), node.name, last);
    }
    const dot = name.indexOf(".");
    if (dot !== -1) {
      const prefix = name.slice(0, dot);
      const key = name.slice(dot + 1);
      if (ALL_PREFIXES.includes(prefix)) return this.keyed(entity, prefix, key, node.name, last);
      const guess = suggest(prefix, ALL_PREFIXES);
      this.fail(
        "UNKNOWN_FIELD",
        guess
          ? `unknown field '${name}' — did you mean '${guess}.${key}'?`
          : `unknown field '${name}'; attributes are written attr.${key}`,
        node.name,
      );
    }
    if (ALL_PREFIXES.includes(name)) {
      this.fail(
        "UNKNOWN_FIELD",
        `'${name}' needs a key: ${name}.key or ${name}."any key"`,
        node.name,
      );
    }
    const columns = COLUMNS[entity];
    const columnName = entity === "events" && name === "type" ? "event_type" : name;
    const column = columns[columnName];
    if (!column) {
      const names = Object.keys(columns);
      const guess = suggest(name, entity === "events" ? [...names, "type"] : names);
      this.fail(
        "UNKNOWN_FIELD",
        guess
          ? `unknown field '${name}' — did you mean '${guess}'?`
          : `unknown field '${name}' on ${entity}; fields are ${names.join(", ")} and attr.<key>`,
        node.name,
      );
    }
    return {
      ref: { kind: "column", name: columnName },
      alias: columnName,
      column,
      first: node.name,
      last,
    };
  }

  keyed(entity: Entity, prefix: string, key: string, first: IToken, last: IToken): Field {
    if (prefix === "resource") {
      if (entity !== "traces") {
        this.fail(
          "MISPLACED",
          `resource attributes belong to traces, not ${entity}; use attr.${key}, or query traces`,
          first,
          last,
        );
      }
      return {
        ref: { kind: "resource", key },
        alias: `resource.${key}`,
        column: null,
        first,
        last,
      };
    }
    return { ref: { kind: "attribute", key }, alias: `attr.${key}`, column: null, first, last };
  }

  condition(entity: Entity, node: ConditionNode, topLevel: boolean): Condition {
    switch (node.type) {
      case "and":
      case "or":
        return {
          type: node.type,
          conditions: node.items.map((c) => this.condition(entity, c, topLevel)),
        };
      case "not": {
        const inner = this.condition(entity, node.item, topLevel);
        if (inner.type === "has" && node.item.type === "has") {
          return { ...inner, negated: !inner.negated };
        }
        return { type: "not", condition: inner };
      }
      case "has": {
        if (entity !== "traces" || !topLevel) {
          this.fail(
            "MISPLACED",
            `has(...) asks about the spans, events or metrics of a trace; use it in 'traces where ...'`,
            node.token,
          );
        }
        const inner = this.entity(node.entity);
        if (inner === "traces") {
          this.fail("MISPLACED", "has(...) takes spans, events or metrics", node.entity);
        }
        return {
          type: "has",
          negated: false,
          entity: inner,
          where: node.where ? this.condition(inner, node.where, false) : null,
        };
      }
      case "since": {
        const time = this.literal(node.value);
        if (typeof time !== "number") {
          this.fail(
            "TYPE_MISMATCH",
            "since takes a duration (since 1h) or a time (since now - 2d, since 1764000000)",
            ...this.span(node.value),
          );
        }
        const absolute =
          node.value.type === "number" && node.value.token.tokenType !== NumberLiteral
            ? this.#current() - time
            : time;
        return {
          type: "compare",
          field: { kind: "column", name: TIME_COLUMN[entity] },
          operator: ">=",
          value: absolute,
        };
      }
      case "compare": {
        const field = this.field(entity, node.field);
        const operator = node.op.image === "==" ? "=" : node.op.image as ComparisonOperator;
        const value = this.value(field, node.value);
        if (operator !== "=" && operator !== "!=" && typeof value === "boolean") {
          this.fail(
            "TYPE_MISMATCH",
            `'${operator}' compares numbers or strings, not booleans`,
            node.op,
          );
        }
        return { type: "compare", field: field.ref, operator, value };
      }
      case "in": {
        const field = this.field(entity, node.field);
        return {
          type: "in",
          field: field.ref,
          negated: node.not !== null,
          values: node.values.map((v) => this.value(field, v)),
        };
      }
      case "exists": {
        const field = this.field(entity, node.field);
        return { type: "exists", field: field.ref, negated: node.not !== null };
      }
      case "regex": {
        const field = this.textField(entity, node.field, node.op);
        const pattern = this.quoted(node.value, `${node.op.image} takes a quoted pattern`);
        const problem = checkRegex(pattern);
        if (problem) this.fail("BAD_REGEX", problem, ...this.span(node.value));
        return { type: "regex", field, negated: node.op.image === "!~", pattern };
      }
      case "contains": {
        const field = this.textField(entity, node.field, node.op);
        const value = this.quoted(node.value, "contains takes a quoted string");
        return { type: "contains", field, value };
      }
    }
  }

  /** A field that may hold text (not a numeric column), for `=~ !~ contains`. */
  textField(entity: Entity, node: FieldNode, op: IToken): FieldRef {
    const field = this.field(entity, node);
    if (field.column?.type === "number") {
      this.fail(
        "TYPE_MISMATCH",
        `'${field.alias}' is a number; '${op.image}' applies to text`,
        field.first,
        op,
      );
    }
    return field.ref;
  }

  quoted(node: ValueNode, why: string): string {
    if (node.type !== "string") this.fail("TYPE_MISMATCH", why, ...this.span(node));
    return unquote(node.token.image);
  }

  span(node: ValueNode): [IToken, IToken] {
    switch (node.type) {
      case "number":
        return [node.negative ?? node.token, node.token];
      case "now":
        return [node.token, node.duration ?? node.token];
      default:
        return [node.token, node.token];
    }
  }

  literal(node: ValueNode): Literal {
    switch (node.type) {
      case "string":
        return unquote(node.token.image);
      case "bool":
        return node.token.image.toLowerCase() === "true";
      case "word":
        return node.token.image;
      case "number": {
        const n = node.token.tokenType === NumberLiteral
          ? Number(node.token.image)
          : duration(node.token.image);
        if (!Number.isFinite(n)) {
          this.fail("BAD_NUMBER", `${node.token.image} is too large for a number`, node.token);
        }
        return node.negative ? -n : n;
      }
      case "now": {
        if (!node.duration) return this.#current();
        const d = duration(node.duration.image);
        return node.sign?.image === "-" ? this.#current() - d : this.#current() + d;
      }
    }
  }

  /** A literal checked against the type of the field it is compared with. */
  value(field: Field, node: ValueNode): Literal {
    const value = this.literal(node);
    const [first, last] = this.span(node);
    const column = field.column;
    if (!column) {
      if (node.type === "word" && node.token.tokenType === Identifier) {
        this.fail(
          "TYPE_MISMATCH",
          `bare word '${value}': attribute values that are strings need quotes ("${value}")`,
          first,
        );
      }
      return value;
    }
    if (column.type === "number") {
      if (typeof value !== "number") {
        this.fail(
          "TYPE_MISMATCH",
          `'${field.alias}' is a number (or a duration like 500ms), not ${describe(node)}`,
          first,
          last,
        );
      }
      return value;
    }
    if (column.type === "string") {
      const idLike = node.type === "word" && node.token.tokenType === HexId;
      if (node.type !== "string" && !idLike) {
        this.fail(
          "TYPE_MISMATCH",
          `'${field.alias}' is a string; quote the value ("${value}")`,
          first,
          last,
        );
      }
      return value;
    }
    // An enum: a bare word or a quoted string naming one of its values. Event
    // types are open (any string can be recorded), so a quoted one is accepted.
    const values = column.values ?? [];
    if (node.type !== "word" && node.type !== "string") {
      this.fail(
        "TYPE_MISMATCH",
        `'${field.alias}' takes one of ${values.join(", ")}, not ${describe(node)}`,
        first,
        last,
      );
    }
    const open = field.alias === "event_type" && node.type === "string";
    if (!open && !values.includes(String(value))) {
      const guess = suggest(String(value), values);
      this.fail(
        "UNKNOWN_VALUE",
        guess
          ? `unknown ${field.alias} '${value}' — did you mean '${guess}'?`
          : `unknown ${field.alias} '${value}'; it is one of ${values.join(", ")}`,
        first,
      );
    }
    return value;
  }

  /** A group key: a field, or `bucket(field, width)`. */
  groupKey(entity: Entity, ref: RefNode): GroupKey {
    if (ref.arg === undefined) {
      if (ref.name.image === "bucket" && !ref.quoted) {
        this.fail(
          "BAD_BUCKET",
          "bucket needs a numeric field and a width: bucket(start_time, 1m)",
          ref.name,
        );
      }
      const field = this.field(entity, { name: ref.name, quoted: ref.quoted });
      return { field: field.ref, alias: field.alias };
    }
    const name = ref.name.image;
    if (name !== "bucket") {
      const end = ref.end ?? ref.name;
      if ((AGGREGATE_FUNCTIONS as readonly string[]).includes(name)) {
        this.fail(
          "MISPLACED",
          `${name}(...) is an aggregate: write it after '|', and group keys after 'by'`,
          ref.name,
          end,
        );
      }
      const guess = suggest(name, ["bucket"]);
      this.fail(
        "UNKNOWN_FUNCTION",
        guess
          ? `unknown function '${name}' — did you mean 'bucket'?`
          : `unknown function '${name}'; a group key is a field or bucket(<field>, <width>)`,
        ref.name,
        end,
      );
    }
    return this.bucket(entity, ref);
  }

  /** `bucket(field, width)`: a numeric field and a duration of at least 1 ns. */
  bucket(entity: Entity, ref: RefNode): GroupKey {
    const end = ref.end ?? ref.name;
    if (!ref.arg) {
      this.fail(
        "BAD_BUCKET",
        "bucket() needs a numeric field and a width: bucket(start_time, 1m)",
        ref.name,
        end,
      );
    }
    const field = this.field(entity, ref.arg);
    if (field.column && field.column.type !== "number") {
      const numeric = Object.entries(COLUMNS[entity]).filter(([, c]) => c.type === "number")
        .map(([n]) => n);
      this.fail(
        "NOT_NUMERIC",
        `bucket(${field.alias}, ...): '${field.alias}' is not numeric; bucket takes ${
          numeric.join(", ")
        } or attr.<key>`,
        field.first,
        field.last,
      );
    }
    if (!ref.width) {
      this.fail(
        "BAD_BUCKET",
        `bucket(${field.alias}) needs a width: bucket(${field.alias}, 1m)`,
        ref.name,
        end,
      );
    }
    const [first, last] = this.span(ref.width);
    if (ref.width.type !== "number") {
      this.fail(
        "BAD_BUCKET",
        `the width of a bucket is a duration such as 1m or 500ms, not ${describe(ref.width)}`,
        first,
        last,
      );
    }
    const width = this.literal(ref.width) as number;
    if (!(width >= MIN_BUCKET_WIDTH)) {
      this.fail(
        "BAD_BUCKET",
        width <= 0
          ? `the width of a bucket must be greater than 0, got ${
            this.#text.slice(first.startOffset, (last.endOffset ?? last.startOffset) + 1)
          }`
          : "the width of a bucket must be at least 1ns",
        first,
        last,
      );
    }
    return { field: field.ref, alias: bucketAlias(field.alias, width), bucket: width };
  }

  call(entity: Entity, node: RefNode): Aggregate {
    const name = node.name.image;
    const end = node.end ?? node.name;
    if (name === "bucket") {
      this.fail(
        "MISPLACED",
        "bucket(...) is a group key, not an aggregate: write it after 'by' " +
          "(spans | count() by bucket(start_time, 1m))",
        node.name,
        end,
      );
    }
    if (node.width) {
      this.fail(
        "UNEXPECTED_TOKEN",
        `${name}(...) takes one field; only bucket(<field>, <width>) takes a second value`,
        ...this.span(node.width),
      );
    }
    if (!(AGGREGATE_FUNCTIONS as readonly string[]).includes(name)) {
      const guess = suggest(name, AGGREGATE_FUNCTIONS);
      this.fail(
        "UNKNOWN_FUNCTION",
        guess
          ? `unknown function '${name}' — did you mean '${guess}'?`
          : `unknown function '${name}'; functions are ${AGGREGATE_FUNCTIONS.join(", ")}`,
        node.name,
      );
    }
    const fn = name as AggregateFunction;
    if (!node.arg) {
      if (fn !== "count") {
        this.fail(
          "NOT_NUMERIC",
          `${fn}() needs a numeric field, e.g. ${fn}(duration)`,
          node.name,
          end,
        );
      }
      return { fn, field: null, alias: "count()" };
    }
    const field = this.field(entity, node.arg);
    if (fn !== "count" && field.column && field.column.type !== "number") {
      this.fail(
        "NOT_NUMERIC",
        `${fn}(${field.alias}): '${field.alias}' is not numeric`,
        field.first,
        field.last,
      );
    }
    return { fn, field: field.ref, alias: `${fn}(${field.alias})` };
  }

  /** The alias of an output column named in `having` or `order by`. */
  selected(entity: Entity, ref: RefNode, aliases: string[], clause: string): string {
    const isBucket = ref.arg !== undefined && ref.name.image === "bucket";
    const alias = isBucket
      ? this.bucket(entity, ref).alias
      : ref.arg !== undefined
      ? this.call(entity, ref).alias
      : this.field(entity, { name: ref.name, quoted: ref.quoted }).alias;
    if (!aliases.includes(alias)) {
      const kind = ref.arg !== undefined && !isBucket ? "after '|'" : "after 'by'";
      this.fail(
        "NOT_SELECTED",
        `${clause} ${alias}: add ${alias} ${kind} (output columns: ${aliases.join(", ")})`,
        ref.name,
        ref.end ?? ref.quoted ?? ref.name,
      );
    }
    return alias;
  }

  having(entity: Entity, node: HavingNode, aliases: string[]): HavingCondition {
    switch (node.type) {
      case "and":
      case "or":
        return {
          type: node.type,
          conditions: node.items.map((h) => this.having(entity, h, aliases)),
        };
      case "not":
        return { type: "not", condition: this.having(entity, node.item, aliases) };
      case "compare": {
        if (node.ref.arg === undefined) {
          // Bucket keys may be compared (having bucket(start_time, 1m) >= ...), fields not.
          this.fail(
            "MISPLACED",
            "having filters groups by an aggregate such as count(); filter keys with where",
            node.ref.name,
            node.ref.quoted ?? node.ref.name,
          );
        }
        const alias = this.selected(entity, node.ref, aliases, "having");
        const value = this.literal(node.value);
        if (typeof value !== "number" || node.value.type === "now") {
          this.fail(
            "TYPE_MISMATCH",
            `having compares with a number or a duration, not ${describe(node.value)}`,
            ...this.span(node.value),
          );
        }
        const operator = node.op.image === "==" ? "=" : node.op.image as ComparisonOperator;
        return { type: "compare", alias, operator, value };
      }
    }
  }
}

function describe(node: ValueNode): string {
  switch (node.type) {
    case "string":
      return `the string ${node.token.image}`;
    case "bool":
      return `the boolean ${node.token.image}`;
    case "word":
      return `the word '${node.token.image}'`;
    default:
      return "a number";
  }
}

function duration(image: string): number {
  const match = /^(\d+(?:\.\d+)?)(.+)$/.exec(image)!;
  // Divide rather than multiply by fractions: 500 / 1000 is exactly 0.5.
  return Number(match[1]) / UNITS[match[2]!]!;
}
