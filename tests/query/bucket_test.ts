/**
 * Time buckets (`by bucket(start_time, 1m)`): exact rows on every backend
 * of `QUERY_BACKENDS` — boundaries, negative and tiny values, values too
 * large for a bucket, non-numeric attributes, the null group, `having` and
 * `order by` on a bucket key, and plans built by hand that must be refused.
 */
import assert from "node:assert/strict";
import {
  BackendError,
  compileSql,
  parseQuery,
  type QueryPlan,
  type QueryRow,
  sqliteDialect,
} from "../../mod.ts";
import type { Backend } from "../../mod.ts";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";
import { batch, event, metric, span } from "../_records.ts";

/** A whole minute (1764000000 = 29400000 × 60), so minute buckets start on it. */
const T = 1_764_000_000;

const DATA = batch({
  spans: [
    // Exactly on a boundary: the bucket that starts there.
    span({
      spanId: "s1",
      kind: "llm_call",
      startTime: T,
      endTime: T + 0.5,
      attributes: { tokens: 100 },
    }),
    span({
      spanId: "s2",
      kind: "llm_call",
      startTime: T + 59.999,
      endTime: T + 61,
      attributes: { tokens: 250 },
    }),
    span({
      spanId: "s3",
      kind: "llm_call",
      startTime: T + 60,
      endTime: T + 60.25,
      attributes: { tokens: "300" },
    }),
    // Active: no end time, no duration.
    span({
      spanId: "s4",
      kind: "tool_call",
      startTime: T + 125.5,
      endTime: null,
      attributes: { tokens: -0.5 },
    }),
    span({
      spanId: "s5",
      kind: "llm_call",
      status: "error",
      startTime: T + 3600,
      endTime: T + 3602,
      attributes: { tokens: 1e301 },
    }),
    // Divided by 100 this underflows to 0, which PostgreSQL refuses.
    span({
      spanId: "s6",
      kind: "tool_call",
      startTime: T + 3659,
      endTime: T + 3659.125,
      attributes: { tokens: 5e-324 },
    }),
    span({
      spanId: "s7",
      kind: "tool_call",
      startTime: T + 3660,
      endTime: T + 3660.0625,
      attributes: { tokens: -100 },
    }),
    span({ spanId: "s8", kind: "internal", startTime: T + 7200, endTime: T + 7201 }),
  ],
  events: [
    event({ eventId: "e1", timestamp: T + 1 }),
    event({ eventId: "e2", timestamp: T + 299.75 }),
    event({ eventId: "e3", timestamp: T + 300 }),
  ],
  metrics: [
    metric({ metricId: "m1", timestamp: T - 0.25, value: 2 }),
    metric({ metricId: "m2", timestamp: T + 0.25, value: 3 }),
  ],
});

/** Runs `query` on every backend and checks each returns `expected`. */
async function expectRows(query: string, expected: QueryRow[]): Promise<void> {
  const plan = parseQuery(query);
  for (const b of QUERY_BACKENDS) {
    const backend = await openEmpty(b);
    try {
      await backend.write(DATA);
      assert.deepStrictEqual(await backend.query(plan), expected, `${b.name}: ${query}`);
    } finally {
      await backend.close();
    }
  }
}

/** Runs `plan` on every backend and checks each refuses it with BAD_QUERY and `message`. */
async function expectRefused(plan: QueryPlan, message: RegExp): Promise<void> {
  for (const b of QUERY_BACKENDS) {
    const backend: Backend = await openEmpty(b);
    try {
      await assert.rejects(
        () => backend.query(plan),
        (e: unknown) =>
          e instanceof BackendError && e.code === "BAD_QUERY" && message.test(e.message),
        b.name,
      );
    } finally {
      await backend.close();
    }
  }
}

Deno.test("bucket(start_time, 1m) groups spans by minute; a start on a boundary opens its bucket", async () => {
  await expectRows("spans where kind = llm_call | count() by bucket(start_time, 1m)", [
    { "bucket(start_time, 1m)": T, "count()": 2 },
    { "bucket(start_time, 1m)": T + 60, "count()": 1 },
    { "bucket(start_time, 1m)": T + 3600, "count()": 1 },
  ]);
});

Deno.test("bucket by 5m with a second key: one row per bucket and status", async () => {
  await expectRows("spans | count() by bucket(start_time, 5m), status", [
    { "bucket(start_time, 5m)": T, status: "ok", "count()": 4 },
    { "bucket(start_time, 5m)": T + 3600, status: "error", "count()": 1 },
    { "bucket(start_time, 5m)": T + 3600, status: "ok", "count()": 2 },
    { "bucket(start_time, 5m)": T + 7200, status: "ok", "count()": 1 },
  ]);
});

Deno.test("60s and 1m name the same bucket key in order by and having", async () => {
  await expectRows(
    "spans | count() by bucket(start_time, 1m) having count() >= 1 and bucket(start_time, 60s) >= " +
      `${T + 60} order by bucket(start_time, 60s) desc limit 3`,
    [
      { "bucket(start_time, 1m)": T + 7200, "count()": 1 },
      { "bucket(start_time, 1m)": T + 3660, "count()": 1 },
      { "bucket(start_time, 1m)": T + 3600, "count()": 2 },
    ],
  );
});

Deno.test("bucket(end_time, 1h): an active span has no end and forms the null group, last", async () => {
  await expectRows("spans | count() by bucket(end_time, 1h)", [
    { "bucket(end_time, 1h)": T, "count()": 3 },
    { "bucket(end_time, 1h)": T + 3600, "count()": 3 },
    { "bucket(end_time, 1h)": T + 7200, "count()": 1 },
    { "bucket(end_time, 1h)": null, "count()": 1 },
  ]);
});

Deno.test("bucket(duration, 500ms) is a duration histogram", async () => {
  await expectRows("spans | count() by bucket(duration, 500ms)", [
    { "bucket(duration, 500ms)": 0, "count()": 3 },
    { "bucket(duration, 500ms)": 0.5, "count()": 1 },
    { "bucket(duration, 500ms)": 1, "count()": 2 },
    { "bucket(duration, 500ms)": 2, "count()": 1 },
    { "bucket(duration, 500ms)": null, "count()": 1 },
  ]);
});

Deno.test("bucket of an attribute: text, missing and too large values are null; tiny and negative values land without dividing", async () => {
  // 250 → 200; 100 → 100; 5e-324 → 0 (divided it underflows); -0.5 → -100;
  // -100 → -100; "300" (text), 1e301 (bucket number past 1e300) and a
  // missing attribute → null.
  await expectRows("spans | count(), min(attr.tokens) by bucket(attr.tokens, 100)", [
    { "bucket(attr.tokens, 100s)": -100, "count()": 2, "min(attr.tokens)": -100 },
    { "bucket(attr.tokens, 100s)": 0, "count()": 1, "min(attr.tokens)": 5e-324 },
    { "bucket(attr.tokens, 100s)": 100, "count()": 1, "min(attr.tokens)": 100 },
    { "bucket(attr.tokens, 100s)": 200, "count()": 1, "min(attr.tokens)": 250 },
    { "bucket(attr.tokens, 100s)": null, "count()": 3, "min(attr.tokens)": 1e301 },
  ]);
});

Deno.test("bucket of events and metrics by timestamp, below and above a boundary", async () => {
  await expectRows("events | count() by bucket(timestamp, 5m)", [
    { "bucket(timestamp, 5m)": T, "count()": 2 },
    { "bucket(timestamp, 5m)": T + 300, "count()": 1 },
  ]);
  await expectRows("metrics | sum(value) by bucket(timestamp, 1s) order by sum(value) desc", [
    { "bucket(timestamp, 1s)": T, "sum(value)": 3 },
    { "bucket(timestamp, 1s)": T - 1, "sum(value)": 2 },
  ]);
});

Deno.test("a bucket plan built by hand: a width that is not a positive finite number or below 1ns, or a text column, is refused by every backend", async () => {
  const plan = (field: string, bucket: unknown): QueryPlan => ({
    type: "aggregate",
    entity: "spans",
    where: null,
    aggregates: [{ fn: "count", field: null, alias: "n" }],
    groupBy: [{ field: { kind: "column", name: field }, alias: "b", bucket: bucket as number }],
    having: null,
    orderBy: [],
    limit: 10,
    offset: 0,
  });
  for (const width of [0, -60, NaN, Infinity, 1e-10, "60"]) {
    await expectRefused(plan("start_time", width), /bucket width/);
  }
  await expectRefused(plan("name", 60), /bucket\(name, \.\.\.\): 'name' is not numeric/);
});

Deno.test("a parsed bucket plan is frozen and a clone of it compiles to the same SQL", () => {
  const plan = parseQuery("spans | count() by bucket(start_time, 1m)");
  assert.ok(plan.type === "aggregate");
  assert.deepEqual(plan.groupBy, [
    { field: { kind: "column", name: "start_time" }, alias: "bucket(start_time, 1m)", bucket: 60 },
  ]);
  assert.ok(Object.isFrozen(plan.groupBy[0]));
  assert.deepEqual(
    compileSql(structuredClone(plan), sqliteDialect),
    compileSql(plan, sqliteDialect),
  );
  // Another spelling of the same width is the same query.
  assert.deepEqual(parseQuery("spans | count() by bucket(start_time, 60s)"), plan);
});
