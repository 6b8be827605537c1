/**
 * The typed query plan: the one thing every query path produces (the DSL, the
 * four `query*` methods of the manager, the CLI) and every backend executes
 * (SQL for SQLite and PostgreSQL, predicates for memory).
 *
 * ## Semantics (identical on every backend)
 *
 * A *value* is a column value or an attribute value. An attribute whose key is
 * absent, or whose JSON value is `null`, is **missing**, and so is a `null`
 * column (`end_time` of an active span, `parent_span_id` of a root span).
 *
 * - `f = v` is true when `f` is present, has the type of `v` (number, string or
 *   boolean: an attribute `"5"` is not the number `5`) and equals it. Strings
 *   compare exactly (case-sensitive).
 * - `f != v` is true when `f` is present and `f = v` is false (so a value of
 *   another type is `!=`). A missing field is neither `= v` nor `!= v`.
 * - `< <= > >=` are true when `f` is present, has the type of `v` (number or
 *   string) and the order holds; strings order by Unicode code point.
 * - `f in (a, b)` is `f = a or f = b`; `f not in (...)` is true when `f` is
 *   present and `f in (...)` is false.
 * - `f =~ re` is true when `f` is a present string that the regular
 *   expression matches anywhere (unanchored); `f !~ re` is true when `f` is
 *   present and `f =~ re` is false. Patterns use the portable subset checked
 *   by {@linkcode checkRegex}.
 * - `f contains s` is true when `f` is a present string containing `s`.
 * - `f exists` is true when `f` is present; `f not exists` is its negation.
 * - `not C` is plain boolean negation: `not (attr.x = 1)` includes records
 *   without `attr.x`, whereas `attr.x != 1` does not.
 * - `has(spans where C)` on traces is true when the trace has at least one
 *   span (event, metric) with its `trace_id` for which `C` holds.
 * - Ordering: missing values sort last in both directions; ties are always
 *   broken by the entity's id, ascending for `asc` keys and descending for
 *   `desc` keys (the direction of the last key when there are several). With
 *   no `order by`: newest first (`start_time` or `timestamp` descending, then
 *   id descending). Values of different types order numbers < strings <
 *   `false` < `true` < arrays and objects (which tie with each other); `desc`
 *   reverses that order, missing values stay last.
 * - Aggregates: `count()` counts records; `count(f)` counts records where `f`
 *   is present; `sum avg min max` and percentiles consider only present
 *   numeric values and are `null` for a group with none. Percentiles
 *   interpolate linearly between closest ranks (PostgreSQL's
 *   `percentile_cont`). A group key that is missing forms its own group with
 *   key `null`; group keys of different types (`"5"` and `5`) are different
 *   groups. Groups order by their keys ascending unless `order by` says
 *   otherwise (then the keys ascending break ties); a `null` aggregate sorts
 *   last. A `having` comparison with a `null` (or non-numeric) value is
 *   false, and `not` negates it as usual.
 * - Buckets: a group key with a `bucket` width groups numeric values by
 *   `Math.floor(value / bucket) * bucket` (see {@linkcode GroupKey.bucket});
 *   its key is that number, ordered and compared in `having` like any
 *   numeric key.
 *
 * @module
 */
import { compileRegex } from "./re2_regex.ts";

/** The four queryable entities. */
export const ENTITIES = ["traces", "spans", "events", "metrics"] as const;
/** One of {@linkcode ENTITIES}. */
export type Entity = typeof ENTITIES[number];

/** The type of a column, which decides the literals it compares with. */
export type ColumnType = "string" | "number" | "enum";

/** Description of one column of an entity. */
export interface ColumnInfo {
  /** How the column compares. */
  type: ColumnType;
  /** For enum columns, the values a bare word may name. */
  values?: readonly string[];
  /** Key of the column in a stored record (`start_time` → `startTime`). */
  recordKey: string;
  /** Whether the column may be missing (`null`). */
  nullable: boolean;
}

const KINDS = [
  "graph_run",
  "node_execution",
  "edge_transition",
  "state_change",
  "tool_call",
  "llm_call",
  "internal",
] as const;
const STATUSES = ["unset", "ok", "error"] as const;
const EVENT_TYPES = [
  "node.started",
  "node.finished",
  "node.failed",
  "graph.started",
  "graph.finished",
  "graph.failed",
  "edge.evaluated",
  "edge.taken",
  "state.updated",
  "message.sent",
  "message.received",
  "tool.executed",
  "llm.request",
  "llm.response",
  "error.occurred",
  "retry.attempted",
  "custom",
] as const;
const METRIC_KINDS = ["gauge", "counter", "histogram"] as const;

function col(
  type: ColumnType,
  recordKey: string,
  nullable = false,
  values?: readonly string[],
): ColumnInfo {
  return values ? { type, recordKey, nullable, values } : { type, recordKey, nullable };
}

/**
 * The columns of each entity: the allowlist from which every column name in
 * compiled SQL comes. `duration` is computed (`end_time - start_time`).
 * `event_type` is also reachable as `type` in the DSL.
 */
export const COLUMNS: Readonly<Record<Entity, Readonly<Record<string, ColumnInfo>>>> = {
  traces: {
    trace_id: col("string", "traceId"),
    name: col("string", "name"),
    start_time: col("number", "startTime"),
    end_time: col("number", "endTime", true),
    duration: col("number", "duration", true),
    status: col("enum", "status", false, STATUSES),
  },
  spans: {
    span_id: col("string", "spanId"),
    trace_id: col("string", "traceId"),
    parent_span_id: col("string", "parentSpanId", true),
    name: col("string", "name"),
    kind: col("enum", "kind", false, KINDS),
    start_time: col("number", "startTime"),
    end_time: col("number", "endTime", true),
    duration: col("number", "duration", true),
    status: col("enum", "status", false, STATUSES),
    dropped_events: col("number", "droppedEvents"),
    error_type: col("string", "error.type", true),
    error_message: col("string", "error.message", true),
  },
  events: {
    event_id: col("string", "eventId"),
    event_type: col("enum", "eventType", false, EVENT_TYPES),
    name: col("string", "name"),
    timestamp: col("number", "timestamp"),
    trace_id: col("string", "traceId", true),
    span_id: col("string", "spanId", true),
  },
  metrics: {
    metric_id: col("string", "metricId"),
    name: col("string", "name"),
    value: col("number", "value"),
    unit: col("string", "unit"),
    kind: col("enum", "kind", false, METRIC_KINDS),
    timestamp: col("number", "timestamp"),
    trace_id: col("string", "traceId", true),
  },
};

/** The id column of each entity (the final tie-breaker of every ordering). */
export const ID_COLUMN: Readonly<Record<Entity, string>> = {
  traces: "trace_id",
  spans: "span_id",
  events: "event_id",
  metrics: "metric_id",
};

/** The time column of each entity (default ordering, `since`, retention). */
export const TIME_COLUMN: Readonly<Record<Entity, string>> = {
  traces: "start_time",
  spans: "start_time",
  events: "timestamp",
  metrics: "timestamp",
};

/** Default row limit of a query that names none. */
export const DEFAULT_LIMIT = 100;
/** Largest limit a query may ask for; larger ones are clamped. */
export const MAX_LIMIT = 100_000;
/** Longest regular expression a query may use, in characters. */
export const MAX_REGEX_LENGTH = 512;

/** A column of the entity being queried, by its name in {@linkcode COLUMNS}. */
export interface ColumnRef {
  /** Discriminant. */
  kind: "column";
  /** Column name, e.g. `"start_time"`. */
  name: string;
}

/** A key of the record's `attributes` (any string; never placed in SQL text). */
export interface AttributeRef {
  /** Discriminant. */
  kind: "attribute";
  /** The attribute key, e.g. `"node.id"` (a top-level key, dots included). */
  key: string;
}

/** A key of a trace's `resource` attributes. */
export interface ResourceRef {
  /** Discriminant. */
  kind: "resource";
  /** The resource attribute key, e.g. `"service.name"`. */
  key: string;
}

/** Something a record has: a column, an attribute or a resource attribute. */
export type FieldRef = ColumnRef | AttributeRef | ResourceRef;

/** A literal a field is compared with. */
export type Literal = string | number | boolean;

/** Comparison operators. */
export type ComparisonOperator = "=" | "!=" | "<" | "<=" | ">" | ">=";

/** A boolean condition over one record (see the module docs for semantics). */
export type Condition =
  | { type: "and"; conditions: Condition[] }
  | { type: "or"; conditions: Condition[] }
  | { type: "not"; condition: Condition }
  | { type: "compare"; field: FieldRef; operator: ComparisonOperator; value: Literal }
  | { type: "in"; field: FieldRef; negated: boolean; values: Literal[] }
  | { type: "regex"; field: FieldRef; negated: boolean; pattern: string }
  | { type: "contains"; field: FieldRef; value: string }
  | { type: "exists"; field: FieldRef; negated: boolean }
  | {
    type: "has";
    negated: boolean;
    entity: "spans" | "events" | "metrics";
    where: Condition | null;
  };

/** Aggregate functions. */
export const AGGREGATE_FUNCTIONS = [
  "count",
  "sum",
  "avg",
  "min",
  "max",
  "p50",
  "p90",
  "p95",
  "p99",
] as const;
/** One of {@linkcode AGGREGATE_FUNCTIONS}. */
export type AggregateFunction = typeof AGGREGATE_FUNCTIONS[number];

/** One aggregate of an aggregate plan, e.g. `p95(duration)`. */
export interface Aggregate {
  /** The function. */
  fn: AggregateFunction;
  /** Its argument; `null` only for `count()`. */
  field: FieldRef | null;
  /** Key of the result in each output row, e.g. `"p95(duration)"`. */
  alias: string;
}

/** One grouping key of an aggregate plan. */
export interface GroupKey {
  /** The field grouped by. */
  field: FieldRef;
  /**
   * Key of the group value in each output row, e.g. `"attr.node.id"`; for a
   * bucket, the canonical text `bucket(<field>, <width>)` the DSL gives it,
   * e.g. `"bucket(start_time, 1m)"` (the width in the largest unit that
   * writes it as a whole number: 60 s is `1m`, 90 s `90s`, 0.5 s `500ms`).
   */
  alias: string;
  /**
   * Width of a time bucket in seconds (DSL: `by bucket(start_time, 1m)`):
   * when set, the group value is the start of the value's bucket,
   * `Math.floor(value / bucket) * bucket` (seconds since the epoch for a
   * time column), computed with the same float operations on every backend.
   * The field must be a numeric column or an attribute; a missing or
   * non-numeric value, or one so large that its bucket number exceeds 1e300,
   * forms the `null` group. A value within one width of zero is placed
   * without dividing: `0` for `0 <= value < bucket`, `-bucket` below zero.
   * Finite and at least 1e-9 (1 ns). Unset: the value itself is the key.
   */
  bucket?: number;
}

/** Ordering key of a select plan. */
export interface OrderKey {
  /** The field ordered by. */
  field: FieldRef;
  /** Direction. */
  direction: "asc" | "desc";
}

/** Ordering key of an aggregate plan: a group key or an aggregate, by alias. */
export interface AggregateOrderKey {
  /** Alias of a {@linkcode GroupKey} or {@linkcode Aggregate} of the plan. */
  alias: string;
  /** Direction. */
  direction: "asc" | "desc";
}

/** A condition on aggregate results (`having`): compares an output column with a number. */
export type HavingCondition =
  | { type: "and"; conditions: HavingCondition[] }
  | { type: "or"; conditions: HavingCondition[] }
  | { type: "not"; condition: HavingCondition }
  | { type: "compare"; alias: string; operator: ComparisonOperator; value: number };

/** A query returning records. */
export interface SelectPlan {
  /** Discriminant. */
  type: "select";
  /** What is queried. */
  entity: Entity;
  /** The filter; `null` matches every record. */
  where: Condition | null;
  /** Ordering keys; empty means newest first. The id tie-breaker is implied. */
  orderBy: OrderKey[];
  /** Row limit, 0..{@linkcode MAX_LIMIT}. */
  limit: number;
  /** Rows skipped. */
  offset: number;
}

/** A query returning one row per group. */
export interface AggregatePlan {
  /** Discriminant. */
  type: "aggregate";
  /** What is queried. */
  entity: Entity;
  /** The filter applied before grouping; `null` matches every record. */
  where: Condition | null;
  /** The aggregates computed per group (at least one). */
  aggregates: Aggregate[];
  /** Grouping keys; empty means one group over all matching records. */
  groupBy: GroupKey[];
  /** Filter applied to groups; `null` keeps every group. */
  having: HavingCondition | null;
  /** Ordering; empty means by the group keys ascending. */
  orderBy: AggregateOrderKey[];
  /** Row limit, 0..{@linkcode MAX_LIMIT}. */
  limit: number;
  /** Rows skipped. */
  offset: number;
}

/** A query plan. */
export type QueryPlan = SelectPlan | AggregatePlan;

/**
 * Result rows of a plan. For a select plan, stored records (`TraceRecord`,
 * `SpanWithEvents` with their events oldest first, `EventRecord`,
 * `MetricRecord`); for an aggregate plan, one object per group keyed by the
 * group and aggregate aliases.
 */
export type QueryRow = Record<string, unknown>;

/**
 * Checks that a regular expression uses only the portable subset that
 * JavaScript, RE2 (the memory backend and SQLite's registered function,
 * linear time) and PostgreSQL (ARE) interpret alike: literals, `.`, classes `[...]`, `\d \w \s
 * \D \W \S`, escaped punctuation, anchors `^ $`, groups `( )` and `(?: )`,
 * alternation, and quantifiers `* + ? {m,n}` (greedy or lazy, counts up to
 * 255). Rejects
 * backreferences, lookaround, `\b`, named groups (none of which can run in
 * linear time, or mean the same everywhere), and patterns longer than
 * {@linkcode MAX_REGEX_LENGTH}.
 *
 * @param pattern The pattern.
 * @returns An error message, or `null` when the pattern is accepted.
 *
 * @example
 * ```ts
 * import { checkRegex } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkRegex("^Fetch.*Node$"), null);
 * assert.match(checkRegex("(?=x)")!, /lookaround/);
 * ```
 */
export function checkRegex(pattern: string): string | null {
  if (pattern.length > MAX_REGEX_LENGTH) {
    return `regular expression is ${pattern.length} characters long; the limit is ${MAX_REGEX_LENGTH}`;
  }
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "[") inClass = true;
    else if (c === "]") inClass = false;
    else if (c === "{" && !inClass) {
      // PostgreSQL refuses repetition counts above 255 (RE_DUP_MAX).
      const count = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i));
      const largest = count ? Math.max(Number(count[1]), Number(count[2] || 0)) : 0;
      if (largest > 255) return `repetition count ${largest} is above 255, the portable limit`;
    }
    if (c === "\\") {
      const next = pattern[i + 1];
      if (next === undefined) return "regular expression ends with a lone backslash";
      if (/[0-9]/.test(next)) return `backreference '\\${next}' is not supported`;
      if (/[a-zA-Z]/.test(next) && !/[dwsDWSntr]/.test(next)) {
        return `escape '\\${next}' is not supported (portable escapes: \\d \\w \\s \\D \\W \\S \\n \\t \\r)`;
      }
      i++;
    } else if (c === "(" && pattern[i + 1] === "?") {
      if (pattern[i + 2] !== ":") {
        return "lookaround and named groups are not supported; use (?: ) to group";
      }
    }
  }
  try {
    new RegExp(pattern, "u");
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  try {
    // Every backend must run it in linear time: RE2 (memory, SQLite) must accept it.
    compileRegex(pattern);
  } catch (e) {
    return `regular expression cannot run in linear time: ${(e as Error).message}`;
  }
  return null;
}

/**
 * Clamps a requested limit into 0..{@linkcode MAX_LIMIT}.
 *
 * @param limit The requested limit.
 * @returns The limit to use.
 * @throws {RangeError} When the limit is negative or not a whole number.
 */
export function clampLimit(limit: number): number {
  if (!Number.isInteger(limit) || limit < 0) {
    throw new RangeError(`Cannot query: limit must be a whole number >= 0, got ${limit}`);
  }
  return Math.min(limit, MAX_LIMIT);
}
