/**
 * Compiles a {@linkcode QueryPlan} to plain JavaScript predicates and
 * comparators for the memory backend, with exactly the semantics of the SQL
 * compiler (module doc of `query/plan.ts`): the same type rules, the same
 * ordering of missing values and of mixed types, the same tie-breaking by
 * id, the same regular expressions (JavaScript's syntax and meaning, run in
 * linear time by RE2 as in SQLite's registered `regexp`), the same
 * compensated sums and interpolated percentiles.
 *
 * @module
 */
import { checkPlan, columnInfo, effectiveLimit, PERCENTILES } from "./_plan_check.ts";
import { bucketBound, bucketStart } from "./_bucket.ts";
import { compileRegex } from "./re2_regex.ts";
import { QueryDeadline } from "./deadline.ts";
import {
  canonicalJson,
  comparePresent,
  compareScalars,
  compareStrings,
  compensatedSum,
  kindOf,
  percentileCont,
  roundSignificant,
  roundSum,
  setField,
} from "./values.ts";
import {
  type AggregatePlan,
  type Condition,
  type Entity,
  type FieldRef,
  type HavingCondition,
  ID_COLUMN,
  type Literal,
  type QueryPlan,
  type QueryRow,
  type SelectPlan,
  TIME_COLUMN,
} from "./plan.ts";

/** A stored record as the memory backend keeps it (a `TraceRecord`, `SpanRecord`, ...). */
export type MemoryRecord = Record<string, unknown>;

/** Where a compiled memory query reads records from. */
export interface MemoryStore {
  /** Every stored record of an entity, in any order. */
  records(entity: Entity): Iterable<MemoryRecord>;
}

/**
 * A compiled memory query: runs against a store and returns result rows.
 * With `timeoutMs`, it stops and throws a `BackendError` coded
 * `"QUERY_TIMEOUT"` once it has run that long (checked every 1024 records),
 * so a query can hold the thread it runs on only that long.
 */
export type MemoryQuery = (store: MemoryStore, timeoutMs?: number) => QueryRow[];

type Getter = (record: MemoryRecord) => unknown;
type Predicate = (record: MemoryRecord) => boolean;

function getter(entity: Entity, ref: FieldRef): Getter {
  if (ref.kind === "attribute" || ref.kind === "resource") {
    const bag = ref.kind === "attribute" ? "attributes" : "resource";
    const key = ref.key;
    return (r) => {
      const attributes = r[bag] as Record<string, unknown>;
      return Object.hasOwn(attributes, key) ? attributes[key] : undefined;
    };
  }
  const info = columnInfo(entity, ref.name);
  if (ref.name === "duration") {
    return (r) => (r.endTime === null ? null : (r.endTime as number) - (r.startTime as number));
  }
  const path = info.recordKey.split(".");
  if (path.length === 2) {
    const [outer, inner] = path as [string, string];
    return (r) => {
      const nested = r[outer] as Record<string, unknown> | null;
      return nested === null || nested === undefined ? null : nested[inner];
    };
  }
  const key = info.recordKey;
  return (r) => r[key];
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}

function equals(v: unknown, literal: Literal): boolean {
  return v === literal;
}

function orders(v: unknown, op: string, literal: Literal): boolean {
  if (typeof v !== typeof literal || typeof v === "boolean") return false;
  const c = compareScalars(v as number | string, literal as number | string);
  switch (op) {
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    default:
      return c >= 0;
  }
}

function compileCondition(entity: Entity, c: Condition, has: HasIndex): Predicate {
  switch (c.type) {
    case "and": {
      const parts = c.conditions.map((x) => compileCondition(entity, x, has));
      return (r) => parts.every((p) => p(r));
    }
    case "or": {
      const parts = c.conditions.map((x) => compileCondition(entity, x, has));
      return (r) => parts.some((p) => p(r));
    }
    case "not": {
      const inner = compileCondition(entity, c.condition, has);
      return (r) => !inner(r);
    }
    case "compare": {
      const get = getter(entity, c.field);
      const value = c.value;
      switch (c.operator) {
        case "=":
          return (r) => equals(get(r), value);
        case "!=":
          return (r) => {
            const v = get(r);
            return present(v) && !equals(v, value);
          };
        default: {
          const op = c.operator;
          return (r) => orders(get(r), op, value);
        }
      }
    }
    case "in": {
      const get = getter(entity, c.field);
      const values = new Set<Literal>(c.values);
      if (c.negated) {
        return (r) => {
          const v = get(r);
          return present(v) && !values.has(v as Literal);
        };
      }
      return (r) => values.has(get(r) as Literal);
    }
    case "regex": {
      const get = getter(entity, c.field);
      const re = compileRegex(c.pattern);
      const match = (v: unknown) => {
        if (typeof v !== "string") return false;
        // Linear, but a long text under a large pattern still costs: count
        // it, so the time limit is checked between such records.
        has.deadline.tick(v.length >> 4);
        return re.test(v);
      };
      if (c.negated) {
        return (r) => {
          const v = get(r);
          return present(v) && !match(v);
        };
      }
      return (r) => match(get(r));
    }
    case "contains": {
      const get = getter(entity, c.field);
      const needle = c.value;
      return (r) => {
        const v = get(r);
        return typeof v === "string" && v.includes(needle);
      };
    }
    case "exists": {
      const get = getter(entity, c.field);
      return c.negated ? (r) => !present(get(r)) : (r) => present(get(r));
    }
    case "has": {
      const ids = has.register(c);
      return c.negated
        ? (r) => !ids().has(r.traceId as string)
        : (r) => ids().has(r.traceId as string);
    }
  }
}

/**
 * The trace ids that satisfy each `has(...)` of a plan, computed once per
 * run (one pass over the child entity) instead of once per trace; it also
 * carries the time limit of the run to the compiled predicates.
 */
class HasIndex {
  #store: MemoryStore | null = null;
  /** The time limit of the current run. */
  deadline: QueryDeadline = new QueryDeadline(Infinity);
  readonly #entries: {
    condition: Condition & { type: "has" };
    predicate: Predicate;
    ids: Set<string> | null;
  }[] = [];

  register(condition: Condition & { type: "has" }): () => Set<string> {
    const predicate = condition.where === null
      ? () => true
      : compileCondition(condition.entity, condition.where, this);
    const entry = { condition, predicate, ids: null as Set<string> | null };
    this.#entries.push(entry);
    return () => {
      if (entry.ids === null) {
        entry.ids = new Set();
        const deadline = this.deadline;
        for (const child of this.#store!.records(condition.entity)) {
          deadline.tick();
          if (typeof child.traceId === "string" && predicate(child)) entry.ids.add(child.traceId);
        }
      }
      return entry.ids;
    };
  }

  reset(store: MemoryStore, deadline: QueryDeadline): void {
    this.#store = store;
    this.deadline = deadline;
    for (const e of this.#entries) e.ids = null;
  }
}

type Comparator = (a: MemoryRecord, b: MemoryRecord) => number;

/** Missing last in both directions, then by kind rank and value in `direction`. */
function orderValues(a: unknown, b: unknown, sign: number): number {
  const pa = present(a);
  const pb = present(b);
  if (!pa || !pb) return pa === pb ? 0 : pa ? -1 : 1;
  return sign * comparePresent(a, b);
}

function compileSelect(plan: SelectPlan): MemoryQuery {
  const has = new HasIndex();
  const filter = plan.where === null ? null : compileCondition(plan.entity, plan.where, has);
  const keys = plan.orderBy.length > 0 ? plan.orderBy : [{
    field: { kind: "column", name: TIME_COLUMN[plan.entity] } as FieldRef,
    direction: "desc" as const,
  }];
  const parts = keys.map((k) => ({
    get: getter(plan.entity, k.field),
    sign: k.direction === "asc" ? 1 : -1,
  }));
  const idKey = columnInfo(plan.entity, ID_COLUMN[plan.entity]).recordKey;
  const idSign = parts[parts.length - 1]!.sign;
  const compare: Comparator = (a, b) => {
    for (const p of parts) {
      const c = orderValues(p.get(a), p.get(b), p.sign);
      if (c !== 0) return c;
    }
    return idSign * compareStrings(a[idKey] as string, b[idKey] as string);
  };
  const limit = effectiveLimit(plan.limit);
  const offset = plan.offset;
  return (store, timeoutMs = Infinity) => {
    const deadline = new QueryDeadline(timeoutMs);
    has.reset(store, deadline);
    const rows: MemoryRecord[] = [];
    for (const r of store.records(plan.entity)) {
      deadline.tick();
      if (filter === null || filter(r)) rows.push(r);
    }
    rows.sort((a, b) => {
      deadline.tick();
      return compare(a, b);
    });
    return rows.slice(offset, offset + limit);
  };
}

interface Group {
  keys: unknown[];
  members: MemoryRecord[];
}

function aggregateOf(plan: AggregatePlan, index: number): (members: MemoryRecord[]) => unknown {
  const a = plan.aggregates[index]!;
  if (a.field === null) return (members) => members.length;
  const get = getter(plan.entity, a.field);
  if (a.fn === "count") {
    return (members) => members.reduce((n, r) => (present(get(r)) ? n + 1 : n), 0);
  }
  const numbers = (members: MemoryRecord[]) => {
    const out: number[] = [];
    for (const r of members) {
      const v = get(r);
      if (typeof v === "number") out.push(v);
    }
    return out;
  };
  const fraction = PERCENTILES[a.fn];
  if (fraction !== undefined) return (members) => percentileCont(numbers(members), fraction);
  switch (a.fn) {
    case "sum":
      return (members) => {
        const v = numbers(members);
        return v.length === 0 ? null : roundSum(compensatedSum(v));
      };
    case "avg":
      return (members) => {
        const v = numbers(members);
        return v.length === 0 ? null : roundSignificant(compensatedSum(v) / v.length);
      };
    case "min":
      return (members) => {
        const v = numbers(members);
        return v.length === 0 ? null : v.reduce((x, y) => (y < x ? y : x));
      };
    default:
      return (members) => {
        const v = numbers(members);
        return v.length === 0 ? null : v.reduce((x, y) => (y > x ? y : x));
      };
  }
}

function havingPredicate(h: HavingCondition): (row: QueryRow) => boolean {
  switch (h.type) {
    case "and": {
      const parts = h.conditions.map(havingPredicate);
      return (row) => parts.every((p) => p(row));
    }
    case "or": {
      const parts = h.conditions.map(havingPredicate);
      return (row) => parts.some((p) => p(row));
    }
    case "not": {
      const inner = havingPredicate(h.condition);
      return (row) => !inner(row);
    }
    case "compare": {
      const { alias, operator, value } = h;
      return (row) => {
        const v = row[alias];
        if (typeof v !== "number") return false;
        return operator === "="
          ? v === value
          : operator === "!="
          ? v !== value
          : orders(v, operator, value);
      };
    }
  }
}

/** Orders group key values: missing last, kind rank, value, then canonical JSON text for arrays/objects. */
function orderGroupValues(a: unknown, b: unknown, sign: number): number {
  const c = orderValues(a, b, sign);
  if (c !== 0 || !present(a) || !present(b) || kindOf(a) !== "object") return c;
  return sign * compareStrings(canonicalJson(a), canonicalJson(b));
}

function compileAggregate(plan: AggregatePlan): MemoryQuery {
  const has = new HasIndex();
  const filter = plan.where === null ? null : compileCondition(plan.entity, plan.where, has);
  const keyGetters = plan.groupBy.map((g): Getter => {
    const get = getter(plan.entity, g.field);
    const width = g.bucket;
    if (width === undefined) return get;
    const bound = bucketBound(width);
    return (r) => bucketStart(get(r), width, bound);
  });
  const aggregates = plan.aggregates.map((_, i) => aggregateOf(plan, i));
  const having = plan.having === null ? null : havingPredicate(plan.having);
  const groupAliases = new Set(plan.groupBy.map((g) => g.alias));
  const order: { alias: string; sign: number; group: boolean }[] = plan.orderBy.map((k) => ({
    alias: k.alias,
    sign: k.direction === "asc" ? 1 : -1,
    group: groupAliases.has(k.alias),
  }));
  for (const g of plan.groupBy) {
    if (!plan.orderBy.some((k) => k.alias === g.alias)) {
      order.push({ alias: g.alias, sign: 1, group: true });
    }
  }
  const limit = effectiveLimit(plan.limit);
  const offset = plan.offset;
  return (store, timeoutMs = Infinity) => {
    const deadline = new QueryDeadline(timeoutMs);
    has.reset(store, deadline);
    const groups = new Map<string, Group>();
    for (const r of store.records(plan.entity)) {
      deadline.tick();
      if (filter !== null && !filter(r)) continue;
      const keys = keyGetters.map((get) => {
        const v = get(r);
        return present(v) ? v : null;
      });
      // JSON text keeps "5", 5 and true apart, as the SQL group key does.
      const id = JSON.stringify(keys);
      let group = groups.get(id);
      if (group === undefined) {
        group = { keys, members: [] };
        groups.set(id, group);
      }
      group.members.push(r);
    }
    if (plan.groupBy.length === 0 && groups.size === 0) groups.set("[]", { keys: [], members: [] });
    let rows: QueryRow[] = [];
    for (const group of groups.values()) {
      deadline.tick();
      const row: QueryRow = {};
      plan.groupBy.forEach((g, i) => setField(row, g.alias, structuredClone(group.keys[i])));
      plan.aggregates.forEach((a, i) => setField(row, a.alias, aggregates[i]!(group.members)));
      if (having === null || having(row)) rows.push(row);
    }
    rows = rows.sort((a, b) => {
      deadline.tick();
      for (const k of order) {
        const c = k.group
          ? orderGroupValues(a[k.alias], b[k.alias], k.sign)
          : orderValues(a[k.alias], b[k.alias], k.sign);
        if (c !== 0) return c;
      }
      return 0;
    });
    return rows.slice(offset, offset + limit);
  };
}

/**
 * Compiles a plan to a function that runs it over a {@linkcode MemoryStore}.
 * Select plans return the stored record objects themselves (the caller
 * copies them); aggregate plans return fresh rows keyed by alias.
 *
 * @param plan The plan (validated first).
 * @returns The compiled query.
 * @throws {BackendError} With code `"BAD_QUERY"` for an invalid plan.
 *
 * @example
 * ```ts
 * import { compileMemory } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const spans = [
 *   { spanId: "a", startTime: 1, attributes: { n: 5 } },
 *   { spanId: "b", startTime: 2, attributes: { n: "5" } },
 *   { spanId: "c", startTime: 3, attributes: {} },
 * ];
 * const run = compileMemory({
 *   type: "select",
 *   entity: "spans",
 *   where: { type: "compare", field: { kind: "attribute", key: "n" }, operator: "!=", value: 5 },
 *   orderBy: [],
 *   limit: 10,
 *   offset: 0,
 * });
 * // "5" is not the number 5; a missing attribute is neither = nor !=.
 * assert.deepEqual(run({ records: () => spans }).map((s) => s.spanId), ["b"]);
 * ```
 */
export function compileMemory(plan: QueryPlan): MemoryQuery {
  checkPlan(plan);
  return plan.type === "select" ? compileSelect(plan) : compileAggregate(plan);
}
