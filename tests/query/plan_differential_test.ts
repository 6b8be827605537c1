/**
 * Random data and random plans must give identical results from the memory
 * compiler and the SQL compiler on SQLite and, when configured, PostgreSQL
 * (the plan-level half of the differential test; `differential_test.ts`
 * adds the text-level half through the DSL).
 */
import assert from "node:assert/strict";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";
import type {
  Aggregate,
  AggregatePlan,
  ComparisonOperator,
  Condition,
  Entity,
  FieldRef,
  GroupKey,
  HavingCondition,
  Literal,
  QueryPlan,
  SelectPlan,
} from "../../query/plan.ts";
import { AGGREGATE_FUNCTIONS, COLUMNS } from "../../query/plan.ts";
import type { AttributeValue, Batch } from "../../src/model/types.ts";
import { event, metric, span, trace } from "../_records.ts";

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(20261125);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number) => random() < p;

const ABSENT = Symbol("absent");
const ATTRIBUTE_VALUES: readonly (AttributeValue | typeof ABSENT)[] = [
  0,
  1,
  2.5,
  -3,
  0.25,
  "0",
  "1",
  "a",
  "ab",
  "B",
  "é",
  "😀",
  "\uffff",
  true,
  false,
  null,
  ABSENT,
  ABSENT,
  [1, "x"],
  { a: 1 },
];
const LITERALS: readonly Literal[] = [
  0,
  1,
  2.5,
  -3,
  "0",
  "1",
  "a",
  "ab",
  "B",
  "é",
  "😀",
  true,
  false,
  1.5,
  "ok",
  // The JSON text of the array and object values above: still not equal to them.
  '[1,"x"]',
  '{"a":1}',
];
const KEYS = ["x", "y", "node.id"];
const NAMES = ["fetch", "parse", "Fetch", "a.b", "ünï", "😀"];
const PATTERNS = ["^a", "b", "1$", "[0-9]", ".", "^(?:a|B)", "e+", "^$"];

function attributes(): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key of KEYS) {
    const v = pick(ATTRIBUTE_VALUES);
    if (v !== ABSENT) out[key] = v;
  }
  return out;
}

function dataset(): Batch {
  const traces = Array.from({ length: 30 }, (_, i) =>
    trace({
      traceId: `t-${String(i).padStart(3, "0")}`,
      name: pick(NAMES),
      startTime: Math.floor(random() * 20),
      endTime: chance(0.2) ? null : 20 + Math.floor(random() * 8) / 4,
      status: pick(["ok", "error", "unset"] as const),
      attributes: attributes(),
      resource: chance(0.5) ? { "service.name": pick(["api", "worker"]) } : {},
    }));
  const spans = Array.from({ length: 200 }, (_, i) =>
    span({
      spanId: `s-${String(i).padStart(4, "0")}`,
      traceId: pick(traces).traceId,
      parentSpanId: chance(0.3) ? null : `s-${String(Math.floor(random() * 200)).padStart(4, "0")}`,
      name: pick(NAMES),
      kind: pick(["node_execution", "tool_call", "llm_call"] as const),
      startTime: Math.floor(random() * 40) / 2,
      endTime: chance(0.2) ? null : 20 + Math.floor(random() * 16) / 4,
      status: pick(["ok", "error", "unset"] as const),
      attributes: attributes(),
      error: chance(0.2)
        ? { type: pick(["TypeError", "Error"]), message: pick(NAMES), stack: null }
        : null,
      droppedEvents: Math.floor(random() * 3),
    }));
  const events = Array.from({ length: 150 }, (_, i) =>
    event({
      eventId: `e-${String(i).padStart(4, "0")}`,
      eventType: pick(["node.started", "node.failed", "custom"]),
      name: pick(NAMES),
      timestamp: Math.floor(random() * 40) / 2,
      traceId: chance(0.2) ? null : pick(traces).traceId,
      spanId: chance(0.2) ? null : pick(spans).spanId,
      attributes: attributes(),
    }));
  const metrics = Array.from({ length: 150 }, (_, i) =>
    metric({
      metricId: `m-${String(i).padStart(4, "0")}`,
      name: pick(["lat", "tokens", "cost"]),
      value: Math.floor(random() * 64) / 4 - 4,
      unit: pick(["", "s"]),
      kind: pick(["gauge", "counter", "histogram"] as const),
      timestamp: Math.floor(random() * 40) / 2,
      traceId: chance(0.2) ? null : pick(traces).traceId,
      attributes: attributes(),
    }));
  return { traces, spans, events, metrics };
}

function field(entity: Entity): FieldRef {
  const r = random();
  if (r < 0.45) return { kind: "attribute", key: pick(KEYS) };
  if (entity === "traces" && r < 0.55) return { kind: "resource", key: "service.name" };
  return { kind: "column", name: pick(Object.keys(COLUMNS[entity])) };
}

function condition(entity: Entity, depth: number): Condition {
  const r = random();
  if (depth < 2 && r < 0.25) {
    return {
      type: pick(["and", "or"] as const),
      conditions: Array.from(
        { length: Math.floor(random() * 3) + 1 },
        () => condition(entity, depth + 1),
      ),
    };
  }
  if (depth < 2 && r < 0.33) return { type: "not", condition: condition(entity, depth + 1) };
  if (entity === "traces" && depth < 2 && r < 0.4) {
    const inner = pick(["spans", "events", "metrics"] as const);
    return {
      type: "has",
      negated: chance(0.4),
      entity: inner,
      where: chance(0.2) ? null : condition(inner, 2),
    };
  }
  const f = field(entity);
  const kind = pick(
    ["compare", "compare", "compare", "in", "regex", "contains", "exists"] as const,
  );
  switch (kind) {
    case "compare": {
      let value = pick(LITERALS);
      const operator = pick(["=", "!=", "<", "<=", ">", ">="] as ComparisonOperator[]);
      if (typeof value === "boolean" && operator !== "=" && operator !== "!=") value = 1;
      if (f.kind === "column" && COLUMNS[entity][f.name]!.type === "number" && chance(0.7)) {
        value = Math.floor(random() * 48) / 2;
      }
      return { type: "compare", field: f, operator, value };
    }
    case "in":
      return {
        type: "in",
        field: f,
        negated: chance(0.5),
        values: Array.from({ length: Math.floor(random() * 4) }, () => pick(LITERALS)),
      };
    case "regex":
      return { type: "regex", field: f, negated: chance(0.5), pattern: pick(PATTERNS) };
    case "contains":
      return { type: "contains", field: f, value: pick(["a", "e", "1", "", "😀"]) };
    case "exists":
      return { type: "exists", field: f, negated: chance(0.5) };
  }
}

function selectPlan(): SelectPlan {
  const entity = pick(["traces", "spans", "events", "metrics"] as const);
  return {
    type: "select",
    entity,
    where: chance(0.15) ? null : condition(entity, 0),
    orderBy: Array.from({ length: Math.floor(random() * 3) }, () => ({
      field: field(entity),
      direction: pick(["asc", "desc"] as const),
    })),
    limit: pick([5, 20, 1000]),
    offset: pick([0, 0, 3]),
  };
}

function having(aliases: string[], depth: number): HavingCondition {
  if (depth < 1 && chance(0.3)) {
    return {
      type: pick(["and", "or"] as const),
      conditions: [having(aliases, 1), having(aliases, 1)],
    };
  }
  if (depth < 1 && chance(0.1)) return { type: "not", condition: having(aliases, 1) };
  return {
    type: "compare",
    alias: pick(aliases),
    operator: pick(["=", "!=", "<", "<=", ">", ">="] as ComparisonOperator[]),
    value: pick([0, 1, 2, 3.5, 10]),
  };
}

/** Widths in seconds, some not exact in binary (0.1, 1/3) or far from the data's scale. */
const BUCKET_WIDTHS = [0.5, 1, 2.5, 0.1, 1 / 3, 7, 1e-9, 1e6, 0.3];

/** A bucket over a numeric column or an attribute (which may hold any type). */
function bucketKey(entity: Entity, alias: string): GroupKey {
  const numbers = Object.entries(COLUMNS[entity]).filter(([, c]) => c.type === "number")
    .map(([n]): FieldRef => ({ kind: "column", name: n }));
  const f: FieldRef = chance(0.6) ? pick(numbers) : { kind: "attribute", key: pick(KEYS) };
  return { field: f, alias, bucket: pick(BUCKET_WIDTHS) };
}

function aggregatePlan(): AggregatePlan {
  const entity = pick(["traces", "spans", "events", "metrics"] as const);
  const groupBy: GroupKey[] = Array.from(
    { length: Math.floor(random() * 3) },
    (_, i) => ({ field: field(entity), alias: `g${i}` }),
  );
  if (chance(0.35)) groupBy.push(bucketKey(entity, `g${groupBy.length}`));
  const aggregates: Aggregate[] = Array.from({ length: Math.floor(random() * 3) + 1 }, (_, i) => {
    const fn = pick(AGGREGATE_FUNCTIONS);
    const numeric: FieldRef = entity === "metrics"
      ? { kind: "column", name: "value" }
      : entity === "events"
      ? { kind: "column", name: "timestamp" }
      : { kind: "column", name: "duration" };
    const f = fn === "count" && chance(0.4) ? null : chance(0.6) ? numeric : field(entity);
    return { fn, field: f, alias: `a${i}` };
  });
  const aliases = [...groupBy.map((g) => g.alias), ...aggregates.map((a) => a.alias)];
  return {
    type: "aggregate",
    entity,
    where: chance(0.4) ? null : condition(entity, 1),
    aggregates,
    groupBy,
    having: chance(0.3) ? having(aliases, 0) : null,
    orderBy: chance(0.5)
      ? [{ alias: pick(aliases), direction: pick(["asc", "desc"] as const) }]
      : [],
    limit: pick([3, 100]),
    offset: pick([0, 1]),
  };
}

/** Equal, with floating-point aggregates compared to a relative 1e-12. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a === "number" && typeof b === "number") {
    return a === b || Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a));
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k, i) =>
        k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])
      );
  }
  return a === b;
}

Deno.test(`${QUERY_BACKENDS.map((b) => b.name).join(", ")} return identical results for 600 random plans`, async () => {
  const data = dataset();
  const [reference, ...others] = await Promise.all(QUERY_BACKENDS.map(openEmpty));
  let nonEmpty = 0;
  try {
    for (const b of [reference!, ...others]) await b.write(data);
    for (let i = 0; i < 600; i++) {
      const plan: QueryPlan = i % 2 === 0 ? selectPlan() : aggregatePlan();
      const expected = await reference!.query(plan);
      if (expected.length > 0) nonEmpty++;
      for (const other of others) {
        const actual = await other.query(plan);
        if (!same(actual, expected)) {
          assert.deepEqual(actual, expected, `${other.name}, plan #${i}: ${JSON.stringify(plan)}`);
        }
      }
    }
  } finally {
    for (const b of [reference!, ...others]) await b.close();
  }
  // The generator must exercise more than empty results.
  assert.ok(nonEmpty > 300, `only ${nonEmpty} plans returned rows`);
});
