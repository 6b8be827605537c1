/**
 * Validation shared by the SQL and memory compilers, so that a plan one
 * backend rejects is rejected by all of them with the same message.
 *
 * @module
 */
import { BackendError } from "../src/backend_error.ts";
import { suggest } from "../src/suggest.ts";
import {
  AGGREGATE_FUNCTIONS,
  checkRegex,
  type ColumnInfo,
  COLUMNS,
  type Condition,
  ENTITIES,
  type Entity,
  type FieldRef,
  type HavingCondition,
  type Literal,
  MAX_LIMIT,
  type QueryPlan,
} from "./plan.ts";

import { MIN_BUCKET_WIDTH } from "./_bucket.ts";
import { MAX_QUERY_COLUMNS, MAX_QUERY_DEPTH, MAX_QUERY_TERMS } from "./limits.ts";

const OPERATORS = new Set(["=", "!=", "<", "<=", ">", ">="]);

/**
 * How deep `and`/`or`/`not`/`has` may nest in a plan: a parsed query within
 * {@linkcode MAX_QUERY_DEPTH} gets at most two levels per parenthesis (an
 * `or` holding an `and`) plus the top `or` and `and`.
 */
export const MAX_PLAN_DEPTH: number = 2 * MAX_QUERY_DEPTH + 2;

function bad(why: string): BackendError {
  return new BackendError("BAD_QUERY", `Cannot run query: ${why}`);
}

/** Returns the column's description or throws a did-you-mean error. */
export function columnInfo(entity: Entity, name: string): ColumnInfo {
  const columns = COLUMNS[entity];
  if (Object.hasOwn(columns, name)) return columns[name]!;
  const hint = suggest(name, Object.keys(columns));
  throw bad(
    `unknown column '${name}' of ${entity}` + (hint ? ` — did you mean '${hint}'?` : ""),
  );
}

/** Throws unless `field` can be read from a record of `entity`. */
export function checkField(entity: Entity, field: FieldRef): void {
  if (field === null || typeof field !== "object") throw bad("a field reference is missing");
  switch (field.kind) {
    case "column":
      columnInfo(entity, field.name);
      return;
    case "attribute":
      if (typeof field.key !== "string") throw bad("an attribute key must be a string");
      return;
    case "resource":
      if (entity !== "traces") throw bad(`resource attributes exist only on traces, not ${entity}`);
      if (typeof field.key !== "string") throw bad("a resource key must be a string");
      return;
    default:
      throw bad(`unknown field kind '${(field as { kind: unknown }).kind}'`);
  }
}

function checkLiteral(value: Literal): void {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw bad(`${value} is not a finite number`);
  } else if (typeof value !== "string" && typeof value !== "boolean") {
    throw bad(`${JSON.stringify(value)} is not a string, number or boolean`);
  }
}

function checkCondition(entity: Entity, c: Condition): void {
  switch (c.type) {
    case "and":
    case "or":
      if (!Array.isArray(c.conditions)) throw bad(`'${c.type}' needs a list of conditions`);
      for (const inner of c.conditions) checkCondition(entity, inner);
      return;
    case "not":
      checkCondition(entity, c.condition);
      return;
    case "compare":
      checkField(entity, c.field);
      if (!OPERATORS.has(c.operator)) throw bad(`unknown operator '${c.operator}'`);
      checkLiteral(c.value);
      if (typeof c.value === "boolean" && c.operator !== "=" && c.operator !== "!=") {
        throw bad(`booleans compare only with = and !=, not ${c.operator}`);
      }
      return;
    case "in":
      checkField(entity, c.field);
      if (!Array.isArray(c.values)) throw bad("'in' needs a list of values");
      for (const v of c.values) checkLiteral(v);
      return;
    case "regex": {
      checkField(entity, c.field);
      if (typeof c.pattern !== "string") throw bad("a regular expression must be a string");
      const problem = checkRegex(c.pattern);
      if (problem) throw bad(problem);
      return;
    }
    case "contains":
      checkField(entity, c.field);
      if (typeof c.value !== "string") throw bad("'contains' needs a string");
      return;
    case "exists":
      checkField(entity, c.field);
      return;
    case "has":
      if (entity !== "traces") throw bad(`has(...) applies to traces, not ${entity}`);
      if (c.entity !== "spans" && c.entity !== "events" && c.entity !== "metrics") {
        throw bad(`has(...) takes spans, events or metrics, not '${c.entity}'`);
      }
      if (c.where !== null) checkCondition(c.entity, c.where);
      return;
    default:
      throw bad(`unknown condition type '${(c as { type: unknown }).type}'`);
  }
}

function checkHaving(aliases: Set<string>, h: HavingCondition): void {
  switch (h.type) {
    case "and":
    case "or":
      for (const inner of h.conditions) checkHaving(aliases, inner);
      return;
    case "not":
      checkHaving(aliases, h.condition);
      return;
    case "compare":
      if (!aliases.has(h.alias)) {
        throw bad(`having names '${h.alias}', which the query does not compute`);
      }
      if (!OPERATORS.has(h.operator)) throw bad(`unknown operator '${h.operator}'`);
      if (typeof h.value !== "number" || !Number.isFinite(h.value)) {
        throw bad(`having compares with finite numbers, not ${JSON.stringify(h.value)}`);
      }
      return;
    default:
      throw bad(`unknown having condition '${(h as { type: unknown }).type}'`);
  }
}

/** A bucket: a finite width of at least 1 ns over a numeric column or an attribute. */
function checkBucket(entity: Entity, field: FieldRef, width: unknown): void {
  if (typeof width !== "number" || !Number.isFinite(width) || width < MIN_BUCKET_WIDTH) {
    throw bad(
      `a bucket width is a finite number of seconds >= ${MIN_BUCKET_WIDTH} (1 ns), not ${
        JSON.stringify(width) ?? String(width)
      }`,
    );
  }
  if (field.kind === "column" && columnInfo(entity, field.name).type !== "number") {
    throw bad(`bucket(${field.name}, ...): '${field.name}' is not numeric`);
  }
}

function checkWindow(limit: number, offset: number): void {
  if (!Number.isInteger(limit) || limit < 0) {
    throw bad(`limit must be a whole number >= 0, got ${limit}`);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw bad(`offset must be a whole number >= 0, got ${offset}`);
  }
}

/** The limit a backend applies: the plan's, clamped to {@linkcode MAX_LIMIT}. */
export function effectiveLimit(limit: number): number {
  return Math.min(limit, MAX_LIMIT);
}

/**
 * Throws a {@linkcode BackendError} with code `"BAD_QUERY"` unless every
 * entity, column, operator, literal, pattern and alias of the plan is valid.
 */
export function checkPlan(plan: QueryPlan): void {
  if (plan === null || typeof plan !== "object") throw bad("the plan is not an object");
  checkPlanSize(plan);
  if (!ENTITIES.includes(plan.entity)) {
    const hint = suggest(String(plan.entity), ENTITIES);
    throw bad(`unknown entity '${plan.entity}'` + (hint ? ` — did you mean '${hint}'?` : ""));
  }
  if (plan.where !== null) checkCondition(plan.entity, plan.where);
  checkWindow(plan.limit, plan.offset);
  if (plan.type === "select") {
    for (const key of plan.orderBy) {
      checkField(plan.entity, key.field);
      if (key.direction !== "asc" && key.direction !== "desc") {
        throw bad(`order direction must be asc or desc, not '${key.direction}'`);
      }
    }
    return;
  }
  if (plan.type !== "aggregate") {
    throw bad(`unknown plan type '${(plan as { type: unknown }).type}'`);
  }
  if (plan.aggregates.length === 0) throw bad("an aggregate query needs at least one aggregate");
  const aliases = new Set<string>();
  for (const g of plan.groupBy) {
    checkField(plan.entity, g.field);
    if (g.bucket !== undefined) checkBucket(plan.entity, g.field, g.bucket);
    if (aliases.has(g.alias)) throw bad(`the name '${g.alias}' is used twice`);
    aliases.add(g.alias);
  }
  for (const a of plan.aggregates) {
    if (!AGGREGATE_FUNCTIONS.includes(a.fn)) {
      const hint = suggest(String(a.fn), AGGREGATE_FUNCTIONS);
      throw bad(`unknown aggregate '${a.fn}'` + (hint ? ` — did you mean '${hint}'?` : ""));
    }
    if (a.field === null) {
      if (a.fn !== "count") throw bad(`${a.fn}() needs a field`);
    } else {
      checkField(plan.entity, a.field);
    }
    if (aliases.has(a.alias)) throw bad(`the name '${a.alias}' is used twice`);
    aliases.add(a.alias);
  }
  if (plan.having !== null) checkHaving(aliases, plan.having);
  for (const key of plan.orderBy) {
    if (!aliases.has(key.alias)) {
      throw bad(`order by names '${key.alias}', which the query does not compute`);
    }
    if (key.direction !== "asc" && key.direction !== "desc") {
      throw bad(`order direction must be asc or desc, not '${key.direction}'`);
    }
  }
}

/**
 * Holds a plan built by hand to the bounds of a parsed query (limits.ts),
 * without recursion, before the recursive checks and compilers see it: a
 * plan 10,000 levels deep overflowed the stack, and one with 10,000 terms
 * reached SQLite's expression limit.
 */
function checkPlanSize(plan: QueryPlan): void {
  const stack: [unknown, number][] = [];
  if (plan.where !== null && plan.where !== undefined) stack.push([plan.where, 1]);
  if (plan.type === "aggregate" && plan.having !== null && plan.having !== undefined) {
    stack.push([plan.having, 1]);
  }
  let terms = 0;
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    const c = node as {
      type?: unknown;
      conditions?: unknown;
      condition?: unknown;
      where?: unknown;
      values?: unknown;
    };
    if (depth > MAX_PLAN_DEPTH) {
      throw bad(
        `conditions nest more than ${MAX_PLAN_DEPTH} levels deep (2 × MAX_QUERY_DEPTH + 2)`,
      );
    }
    switch (c.type) {
      case "and":
      case "or":
        if (Array.isArray(c.conditions)) {
          for (const inner of c.conditions) stack.push([inner, depth + 1]);
        }
        break;
      case "not":
        stack.push([c.condition, depth + 1]);
        break;
      case "has":
        terms++;
        stack.push([c.where, depth + 1]);
        break;
      default:
        terms += c.type === "in" && Array.isArray(c.values) ? Math.max(1, c.values.length) : 1;
    }
    if (terms > MAX_QUERY_TERMS) {
      throw bad(
        `the plan has more than ${MAX_QUERY_TERMS} terms (conditions and list values; MAX_QUERY_TERMS)`,
      );
    }
  }
  const columns = (plan.orderBy?.length ?? 0) +
    (plan.type === "aggregate" ? (plan.groupBy?.length ?? 0) + (plan.aggregates?.length ?? 0) : 0);
  if (columns > MAX_QUERY_COLUMNS) {
    throw bad(
      `the plan has ${columns} aggregates, group keys and order keys; the limit is ${MAX_QUERY_COLUMNS} (MAX_QUERY_COLUMNS)`,
    );
  }
}

/** The percentile fraction of a percentile function, e.g. `p95` → 0.95. */
export const PERCENTILES: Readonly<Record<string, number>> = {
  p50: 0.5,
  p90: 0.9,
  p95: 0.95,
  p99: 0.99,
};
