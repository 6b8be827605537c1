/**
 * The one conformance suite every storage backend passes (Hono's
 * `common.case.test.ts` pattern): a backend's own test file is a few lines
 * that call {@linkcode backendConformance}. A behaviour that differs between
 * backends is a bug in one of them. Fixtures are tiny and plans are built
 * directly, so the suite is dialect-neutral and needs no DSL.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { Backend } from "../../src/backends/backend.ts";
import type {
  AggregatePlan,
  Condition,
  Entity,
  FieldRef,
  Literal,
  OrderKey,
  QueryRow,
  SelectPlan,
} from "../../query/plan.ts";
import { MAX_LIMIT } from "../../query/plan.ts";
import type { Attributes, EventRecord, MetricRecord, SpanRecord } from "../../src/model/types.ts";
import { batch, event, metric, noise, span, trace } from "../_records.ts";

/** Options of {@linkcode backendConformance}. */
export interface ConformanceOptions {
  /** Skip every test (e.g. PostgreSQL without a test URL), with this reason printed once. */
  ignore?: string;
}

// ---------------------------------------------------------------- fixtures

// ---------------------------------------------------------------- plan helpers

const col = (name: string): FieldRef => ({ kind: "column", name });
const attr = (key: string): FieldRef => ({ kind: "attribute", key });
const cmp = (
  field: FieldRef,
  operator: "=" | "!=" | "<" | "<=" | ">" | ">=",
  value: Literal,
): Condition => ({
  type: "compare",
  field,
  operator,
  value,
});

function select(
  entity: Entity,
  where: Condition | null,
  o: { orderBy?: OrderKey[]; limit?: number; offset?: number } = {},
): SelectPlan {
  return {
    type: "select",
    entity,
    where,
    orderBy: o.orderBy ?? [],
    limit: o.limit ?? 100,
    offset: o.offset ?? 0,
  };
}

function aggregate(entity: Entity, o: Partial<AggregatePlan>): AggregatePlan {
  return {
    type: "aggregate",
    entity,
    where: null,
    aggregates: [],
    groupBy: [],
    having: null,
    orderBy: [],
    limit: 100,
    offset: 0,
    ...o,
  };
}

const ID_KEY: Record<Entity, string> = {
  traces: "traceId",
  spans: "spanId",
  events: "eventId",
  metrics: "metricId",
};

async function ids(backend: Backend, plan: SelectPlan): Promise<string[]> {
  const rows = await backend.query(plan);
  return rows.map((r) => r[ID_KEY[plan.entity]] as string);
}

function near(actual: unknown, expected: number, what: string): void {
  assert.equal(typeof actual, "number", `${what}: expected a number, got ${actual}`);
  assert.ok(
    Math.abs((actual as number) - expected) <= 1e-9 * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual}`,
  );
}

// ---------------------------------------------------------------- shared data sets

/** Spans whose attribute `x` covers every type case, one per letter. */
const TYPED_SPANS: SpanRecord[] = [
  span({ spanId: "sp-a", startTime: 1, attributes: { x: 5 } }),
  span({ spanId: "sp-b", startTime: 2, attributes: { x: "5" } }),
  span({ spanId: "sp-c", startTime: 3, attributes: { x: true } }),
  span({ spanId: "sp-d", startTime: 4, attributes: {} }),
  span({ spanId: "sp-e", startTime: 5, attributes: { x: null } }),
  span({ spanId: "sp-f", startTime: 6, attributes: { x: 7.5 } }),
  span({ spanId: "sp-g", startTime: 7, attributes: { x: "abc" } }),
  span({ spanId: "sp-h", startTime: 8, attributes: { x: [1, 2] } }),
  span({ spanId: "sp-i", startTime: 9, attributes: { x: false } }),
];

/** Metrics with known aggregate answers. */
const LATENCIES: MetricRecord[] = [
  ...Array.from({ length: 10 }, (_, i) =>
    metric({
      metricId: `m-${String(i + 1).padStart(2, "0")}`,
      name: "lat",
      value: i + 1,
      timestamp: i + 1,
      attributes: { node: i < 4 ? "a" : "b" },
    })),
  metric({ metricId: "m-11", name: "lat", value: 100, timestamp: 11, attributes: { node: 5 } }),
  metric({ metricId: "m-12", name: "lat", value: 200, timestamp: 12, attributes: { node: "5" } }),
  metric({ metricId: "m-13", name: "lat", value: 300, timestamp: 13, attributes: {} }),
  metric({ metricId: "m-14", name: "other", value: 1, timestamp: 14, attributes: { node: "a" } }),
];

// ---------------------------------------------------------------- the suite

/**
 * Registers the conformance tests for one backend.
 *
 * @param name Backend name used in test names, e.g. `"sqlite"`.
 * @param open Opens a fresh, empty backend (each test opens its own and closes it).
 * @param options Skipping.
 */
export function backendConformance(
  name: string,
  open: () => Promise<Backend>,
  options: ConformanceOptions = {},
): void {
  let warned = false;
  function test(title: string, fn: (backend: Backend) => Promise<void>): void {
    Deno.test({
      name: `${name}: ${title}`,
      ignore: options.ignore !== undefined,
      async fn() {
        const backend = await open();
        try {
          await fn(backend);
        } finally {
          await backend.close();
        }
      },
    });
    if (options.ignore !== undefined && !warned) {
      warned = true;
      console.warn(`${name} conformance skipped: ${options.ignore}`);
    }
  }

  test("write() then query() round-trips every field and attribute type", async (b) => {
    const attributes: Attributes = {
      string: "héllo wörld 🎉 \u4e2d\u6587",
      empty: "",
      quote: `it's "quoted" \\ back`,
      newline: "a\nb\tc",
      int: 42,
      negative: -17,
      float: 3.141592653589793,
      big: 1.7976931348623157e308,
      small: 5e-324,
      safe: Number.MAX_SAFE_INTEGER,
      exp: 1e21,
      zero: 0,
      yes: true,
      no: false,
      nothing: null,
      array: [1, "two", false, null, [3], { four: 4 }],
      nested: { deep: { deeper: { deepest: ["x"] } }, "key.with.dots": 1 },
      emptyObject: {},
      emptyArray: [],
      "node.id": "dotted key",
      "k'\"$[0].*": "metacharacters in key",
      "ключ": "unicode key",
    };
    const t = trace({
      traceId: "a".repeat(32),
      name: "graph_run",
      startTime: 1700000000.123456,
      endTime: 1700000001.654321,
      status: "error",
      attributes,
      resource: { "service.name": "svc", "host.cpus": 2 },
    });
    const s1 = span({
      spanId: "b".repeat(16),
      traceId: t.traceId,
      name: "ProcessNode.do",
      kind: "llm_call",
      startTime: 1700000000.5,
      endTime: null,
      status: "unset",
      attributes,
    });
    const s2 = span({
      spanId: "c".repeat(16),
      traceId: t.traceId,
      parentSpanId: s1.spanId,
      status: "error",
      error: { type: "TypeError", message: "bad 'thing'", stack: "TypeError: bad\n    at x" },
      droppedEvents: 3,
    });
    const s3 = span({
      spanId: "d".repeat(16),
      error: { type: "Error", message: "", stack: null },
    });
    const e = event({
      eventId: "e".repeat(32),
      eventType: "node.failed",
      name: "failed",
      timestamp: 1700000000.75,
      traceId: t.traceId,
      spanId: s2.spanId,
      attributes,
    });
    const eFree = event({ eventId: "f".repeat(32), eventType: "my.own.type" });
    const m = metric({
      metricId: "1".repeat(32),
      name: "tokens",
      value: -0.5,
      unit: "tokens",
      kind: "counter",
      timestamp: 1700000000.25,
      traceId: t.traceId,
      attributes,
    });
    await b.write(batch({ traces: [t], spans: [s1, s2, s3], events: [e, eFree], metrics: [m] }));

    assert.deepEqual(await b.query(select("traces", null)), [t]);
    const spans = await b.query(
      select("spans", null, { orderBy: [{ field: col("span_id"), direction: "asc" }] }),
    );
    assert.deepEqual(spans, [
      { ...s1, events: [] },
      { ...s2, events: [e] },
      { ...s3, events: [] },
    ]);
    assert.deepEqual(
      await b.query(
        select("events", null, { orderBy: [{ field: col("event_id"), direction: "asc" }] }),
      ),
      [e, eFree],
    );
    assert.deepEqual(await b.query(select("metrics", null)), [m]);
  });

  test("write() drops undefined attribute values as JSON does", async (b) => {
    const s = span({
      spanId: "u",
      attributes: { kept: 1, gone: undefined, list: [undefined] } as unknown as Attributes,
    });
    await b.write(batch({ spans: [s] }));
    const [row] = await b.query(select("spans", null));
    assert.deepEqual(row?.attributes, { kept: 1, list: [null] });
  });

  test("write() upserts by id: a replayed batch stores no duplicates and the later write wins", async (b) => {
    const first = batch({
      traces: [trace({ traceId: "t-1", endTime: null, status: "unset" })],
      spans: [span({ spanId: "s-1" })],
      events: [event({ eventId: "e-1" })],
      metrics: [metric({ metricId: "m-1" })],
    });
    await b.write(first);
    await b.write(first);
    for (const entity of ["traces", "spans", "events", "metrics"] as const) {
      assert.equal((await b.query(select(entity, null))).length, 1, entity);
    }
    await b.write(batch({
      traces: [trace({ traceId: "t-1", endTime: 9, status: "error", attributes: { v: 2 } })],
      spans: [span({ spanId: "s-1", name: "renamed" }), span({ spanId: "s-1", name: "last" })],
      metrics: [metric({ metricId: "m-1", value: 7 })],
    }));
    const [t] = await b.query(select("traces", null));
    assert.equal(t?.endTime, 9);
    assert.equal(t?.status, "error");
    assert.deepEqual(t?.attributes, { v: 2 });
    const spans = await b.query(select("spans", null));
    assert.deepEqual(spans.map((s) => s.name), ["last"]);
    assert.equal((await b.query(select("metrics", null)))[0]?.value, 7);
  });

  test("query() filters traces like queryTraces(): name, status and a start time window", async (b) => {
    await b.write(batch({
      traces: [
        trace({ traceId: "t-1", name: "alpha", status: "ok", startTime: 10 }),
        trace({ traceId: "t-2", name: "beta", status: "error", startTime: 20 }),
        trace({ traceId: "t-3", name: "alpha", status: "error", startTime: 30 }),
        trace({ traceId: "t-4", name: "alpha", status: "unset", startTime: 40 }),
      ],
    }));
    assert.deepEqual(await ids(b, select("traces", cmp(col("name"), "=", "alpha"))), [
      "t-4",
      "t-3",
      "t-1",
    ]);
    assert.deepEqual(await ids(b, select("traces", cmp(col("status"), "=", "error"))), [
      "t-3",
      "t-2",
    ]);
    assert.deepEqual(
      await ids(
        b,
        select("traces", {
          type: "and",
          conditions: [
            cmp(col("name"), "=", "alpha"),
            cmp(col("start_time"), ">=", 20),
            cmp(col("start_time"), "<=", 40),
          ],
        }),
      ),
      ["t-4", "t-3"],
    );
  });

  test("query() filters spans like querySpans(): trace id, name, kind and status", async (b) => {
    await b.write(batch({
      spans: [
        span({
          spanId: "s-1",
          traceId: "t-1",
          name: "fetch",
          kind: "node_execution",
          status: "error",
          startTime: 1,
        }),
        span({
          spanId: "s-2",
          traceId: "t-1",
          name: "fetch",
          kind: "tool_call",
          status: "ok",
          startTime: 2,
        }),
        span({
          spanId: "s-3",
          traceId: "t-2",
          name: "parse",
          kind: "node_execution",
          status: "error",
          startTime: 3,
        }),
        span({
          spanId: "s-4",
          traceId: "t-2",
          name: "fetch",
          kind: "node_execution",
          status: "ok",
          startTime: 4,
        }),
      ],
    }));
    assert.deepEqual(await ids(b, select("spans", cmp(col("trace_id"), "=", "t-1"))), [
      "s-2",
      "s-1",
    ]);
    assert.deepEqual(await ids(b, select("spans", cmp(col("name"), "=", "fetch"))), [
      "s-4",
      "s-2",
      "s-1",
    ]);
    assert.deepEqual(
      await ids(
        b,
        select("spans", {
          type: "and",
          conditions: [cmp(col("kind"), "=", "node_execution"), cmp(col("status"), "=", "error")],
        }),
      ),
      ["s-3", "s-1"],
    );
  });

  test("query() filters events like queryEvents() and metrics like queryMetrics()", async (b) => {
    await b.write(batch({
      events: [
        event({ eventId: "e-1", traceId: "t-1", eventType: "node.started", timestamp: 1 }),
        event({ eventId: "e-2", traceId: "t-1", eventType: "node.failed", timestamp: 2 }),
        event({ eventId: "e-3", traceId: "t-2", eventType: "node.failed", timestamp: 3 }),
      ],
      metrics: [
        metric({ metricId: "m-1", name: "latency", traceId: "t-1", timestamp: 1 }),
        metric({ metricId: "m-2", name: "tokens", traceId: "t-1", timestamp: 2 }),
        metric({ metricId: "m-3", name: "latency", traceId: null, timestamp: 3 }),
      ],
    }));
    assert.deepEqual(await ids(b, select("events", cmp(col("trace_id"), "=", "t-1"))), [
      "e-2",
      "e-1",
    ]);
    assert.deepEqual(await ids(b, select("events", cmp(col("event_type"), "=", "node.failed"))), [
      "e-3",
      "e-2",
    ]);
    assert.deepEqual(await ids(b, select("metrics", cmp(col("name"), "=", "latency"))), [
      "m-3",
      "m-1",
    ]);
    assert.deepEqual(await ids(b, select("metrics", cmp(col("trace_id"), "=", "t-1"))), [
      "m-2",
      "m-1",
    ]);
    assert.deepEqual(
      await ids(b, select("metrics", { type: "exists", field: col("trace_id"), negated: true })),
      [
        "m-3",
      ],
    );
  });

  test("query() pages with limit and offset over the default newest-first order", async (b) => {
    await b.write(batch({
      traces: [1, 2, 3, 4, 5].map((i) => trace({ traceId: `t-${i}`, startTime: i })),
    }));
    assert.deepEqual(await ids(b, select("traces", null, { limit: 2 })), ["t-5", "t-4"]);
    assert.deepEqual(await ids(b, select("traces", null, { limit: 2, offset: 2 })), ["t-3", "t-2"]);
    assert.deepEqual(await ids(b, select("traces", null, { limit: 2, offset: 4 })), ["t-1"]);
    assert.deepEqual(await ids(b, select("traces", null, { limit: 2, offset: 10 })), []);
    assert.deepEqual(await ids(b, select("traces", null, { limit: 0 })), []);
    assert.equal((await ids(b, select("traces", null, { limit: MAX_LIMIT * 10 }))).length, 5);
  });

  test("query() breaks ties by id: descending for desc keys, ascending for asc keys", async (b) => {
    await b.write(batch({
      spans: ["s-b", "s-a", "s-c"].map((id) => span({ spanId: id, startTime: 5 })).concat(
        span({ spanId: "s-0", startTime: 1 }),
      ),
    }));
    assert.deepEqual(await ids(b, select("spans", null)), ["s-c", "s-b", "s-a", "s-0"]);
    assert.deepEqual(
      await ids(
        b,
        select("spans", null, { orderBy: [{ field: col("start_time"), direction: "asc" }] }),
      ),
      ["s-0", "s-a", "s-b", "s-c"],
    );
    assert.deepEqual(
      await ids(
        b,
        select("spans", null, { orderBy: [{ field: col("start_time"), direction: "desc" }] }),
      ),
      ["s-c", "s-b", "s-a", "s-0"],
    );
  });

  test("order by puts missing values last in both directions and orders mixed types", async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    // numbers < strings < false < true < arrays/objects (which tie, then id); missing last.
    assert.deepEqual(
      await ids(b, select("spans", null, { orderBy: [{ field: attr("x"), direction: "asc" }] })),
      ["sp-a", "sp-f", "sp-b", "sp-g", "sp-i", "sp-c", "sp-h", "sp-d", "sp-e"],
    );
    assert.deepEqual(
      await ids(b, select("spans", null, { orderBy: [{ field: attr("x"), direction: "desc" }] })),
      ["sp-h", "sp-c", "sp-i", "sp-g", "sp-b", "sp-f", "sp-a", "sp-e", "sp-d"],
    );
  });

  test("order by a nullable column puts nulls last; several keys apply in turn", async (b) => {
    await b.write(batch({
      spans: [
        span({ spanId: "s-1", name: "b", startTime: 1, endTime: null }),
        span({ spanId: "s-2", name: "a", startTime: 1, endTime: 3 }),
        span({ spanId: "s-3", name: "a", startTime: 2, endTime: 2.5 }),
        span({ spanId: "s-4", name: "b", startTime: 0, endTime: 4 }),
      ],
    }));
    assert.deepEqual(
      await ids(
        b,
        select("spans", null, { orderBy: [{ field: col("end_time"), direction: "asc" }] }),
      ),
      ["s-3", "s-2", "s-4", "s-1"],
    );
    assert.deepEqual(
      await ids(
        b,
        select("spans", null, { orderBy: [{ field: col("duration"), direction: "desc" }] }),
      ),
      ["s-4", "s-2", "s-3", "s-1"],
    );
    assert.deepEqual(
      await ids(
        b,
        select("spans", null, {
          orderBy: [{ field: col("name"), direction: "asc" }, {
            field: col("start_time"),
            direction: "desc",
          }],
        }),
      ),
      ["s-3", "s-2", "s-1", "s-4"],
    );
  });

  test('= and != keep "5", 5 and true apart and never match a missing attribute', async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(await q(cmp(attr("x"), "=", 5)), ["sp-a"]);
    assert.deepEqual(await q(cmp(attr("x"), "=", "5")), ["sp-b"]);
    assert.deepEqual(await q(cmp(attr("x"), "=", true)), ["sp-c"]);
    assert.deepEqual(await q(cmp(attr("x"), "=", false)), ["sp-i"]);
    assert.deepEqual(await q(cmp(attr("x"), "=", 1)), []);
    assert.deepEqual(await q(cmp(attr("x"), "!=", 5)), [
      "sp-b",
      "sp-c",
      "sp-f",
      "sp-g",
      "sp-h",
      "sp-i",
    ]);
    assert.deepEqual(await q(cmp(attr("x"), "!=", true)), [
      "sp-a",
      "sp-b",
      "sp-f",
      "sp-g",
      "sp-h",
      "sp-i",
    ]);
    assert.deepEqual(await q({ type: "not", condition: cmp(attr("x"), "=", 5) }), [
      "sp-b",
      "sp-c",
      "sp-d",
      "sp-e",
      "sp-f",
      "sp-g",
      "sp-h",
      "sp-i",
    ]);
    assert.deepEqual(await q(cmp(attr("absent"), "!=", 5)), []);
  });

  test("< <= > >= compare only values of the literal's type", async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(await q(cmp(attr("x"), ">", 5)), ["sp-f"]);
    assert.deepEqual(await q(cmp(attr("x"), ">=", 5)), ["sp-a", "sp-f"]);
    assert.deepEqual(await q(cmp(attr("x"), "<", 100)), ["sp-a", "sp-f"]);
    assert.deepEqual(await q(cmp(attr("x"), "<", "b")), ["sp-b", "sp-g"]);
    assert.deepEqual(await q(cmp(attr("x"), "<=", "5")), ["sp-b"]);
    assert.deepEqual(await q(cmp(col("start_time"), ">", "1")), []);
    assert.deepEqual(await q({ type: "not", condition: cmp(col("start_time"), ">", 2) }), [
      "sp-a",
      "sp-b",
    ]);
  });

  test("strings compare and sort by Unicode code point", async (b) => {
    await b.write(batch({
      spans: [
        span({ spanId: "s-1", name: "\uffff" }),
        span({ spanId: "s-2", name: "😀" }),
        span({ spanId: "s-3", name: "Zeta" }),
        span({ spanId: "s-4", name: "alpha" }),
      ],
    }));
    assert.deepEqual(await ids(b, select("spans", cmp(col("name"), ">", "\uffff"))), ["s-2"]);
    assert.deepEqual(
      await ids(b, select("spans", null, { orderBy: [{ field: col("name"), direction: "asc" }] })),
      ["s-3", "s-4", "s-1", "s-2"],
    );
  });

  test("in and not in: typed membership; not in never matches a missing attribute", async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(
      await q({ type: "in", field: attr("x"), negated: false, values: [5, "abc", true] }),
      [
        "sp-a",
        "sp-c",
        "sp-g",
      ],
    );
    assert.deepEqual(await q({ type: "in", field: attr("x"), negated: true, values: [5, "abc"] }), [
      "sp-b",
      "sp-c",
      "sp-f",
      "sp-h",
      "sp-i",
    ]);
    assert.deepEqual(await q({ type: "in", field: attr("x"), negated: false, values: [] }), []);
    assert.deepEqual(
      await q({ type: "in", field: col("start_time"), negated: false, values: [1, 3, "2"] }),
      [
        "sp-a",
        "sp-c",
      ],
    );
  });

  test("regex matches present strings anywhere; !~ matches every other present value", async (b) => {
    await b.write(batch({
      spans: [
        ...TYPED_SPANS,
        span({ spanId: "sp-j", name: "FetchNode", attributes: { x: "xabcx" } }),
        span({ spanId: "sp-k", name: "fetch_node", attributes: { x: "line1\nabc" } }),
      ],
    }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(await q({ type: "regex", field: attr("x"), negated: false, pattern: "abc" }), [
      "sp-g",
      "sp-j",
      "sp-k",
    ]);
    assert.deepEqual(
      await q({ type: "regex", field: attr("x"), negated: false, pattern: "^abc$" }),
      ["sp-g"],
    );
    assert.deepEqual(await q({ type: "regex", field: attr("x"), negated: true, pattern: "^a" }), [
      "sp-a",
      "sp-b",
      "sp-c",
      "sp-f",
      "sp-h",
      "sp-i",
      "sp-j",
      "sp-k",
    ]);
    assert.deepEqual(
      await q({
        type: "regex",
        field: col("name"),
        negated: false,
        pattern: "^[Ff]etch.?[Nn]ode$",
      }),
      [
        "sp-j",
        "sp-k",
      ],
    );
    assert.deepEqual(
      await q({ type: "regex", field: col("start_time"), negated: false, pattern: "1" }),
      [],
    );
  });

  test("contains is a case-sensitive substring test on present strings", async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(await q({ type: "contains", field: attr("x"), value: "b" }), ["sp-g"]);
    assert.deepEqual(await q({ type: "contains", field: attr("x"), value: "B" }), []);
    assert.deepEqual(await q({ type: "contains", field: attr("x"), value: "5" }), ["sp-b"]);
    assert.deepEqual(await q({ type: "contains", field: attr("x"), value: "%" }), []);
  });

  test("exists and not exists treat absent keys, JSON null and null columns as missing", async (b) => {
    await b.write(batch({
      spans: [...TYPED_SPANS, span({ spanId: "sp-z", parentSpanId: "sp-a", endTime: null })],
    }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(await q({ type: "exists", field: attr("x"), negated: true }), [
      "sp-d",
      "sp-e",
      "sp-z",
    ]);
    assert.equal((await q({ type: "exists", field: attr("x"), negated: false })).length, 7);
    assert.deepEqual(await q({ type: "exists", field: col("parent_span_id"), negated: false }), [
      "sp-z",
    ]);
    assert.deepEqual(await q({ type: "exists", field: col("end_time"), negated: true }), ["sp-z"]);
    assert.deepEqual(await q({ type: "exists", field: col("duration"), negated: true }), ["sp-z"]);
    assert.deepEqual(await q(cmp(col("parent_span_id"), "!=", "zzz")), ["sp-z"]);
    assert.deepEqual(await q({ type: "exists", field: col("error_type"), negated: false }), []);
  });

  test("and, or and not combine with the usual logic, including empty lists", async (b) => {
    await b.write(batch({ spans: TYPED_SPANS }));
    const q = (c: Condition) =>
      ids(b, select("spans", c, { orderBy: [{ field: col("span_id"), direction: "asc" }] }));
    assert.deepEqual(
      await q({ type: "or", conditions: [cmp(attr("x"), "=", 5), cmp(attr("x"), "=", "abc")] }),
      ["sp-a", "sp-g"],
    );
    assert.deepEqual(
      await q({
        type: "and",
        conditions: [cmp(col("start_time"), ">", 2), {
          type: "not",
          condition: { type: "exists", field: attr("x"), negated: false },
        }],
      }),
      ["sp-d", "sp-e"],
    );
    assert.equal((await q({ type: "and", conditions: [] })).length, 9);
    assert.deepEqual(await q({ type: "or", conditions: [] }), []);
  });

  test("duration, error columns and resource attributes are queryable", async (b) => {
    await b.write(batch({
      traces: [
        trace({ traceId: "t-1", resource: { "service.name": "api" }, startTime: 1 }),
        trace({ traceId: "t-2", resource: { "service.name": "worker" }, startTime: 2 }),
      ],
      spans: [
        span({ spanId: "s-1", startTime: 1, endTime: 1.25 }),
        span({
          spanId: "s-2",
          startTime: 1,
          endTime: 3,
          error: { type: "TimeoutError", message: "slow", stack: null },
        }),
        span({ spanId: "s-3", startTime: 1, endTime: null }),
      ],
    }));
    assert.deepEqual(await ids(b, select("spans", cmp(col("duration"), ">", 1))), ["s-2"]);
    assert.deepEqual(await ids(b, select("spans", cmp(col("duration"), "=", 0.25))), ["s-1"]);
    assert.deepEqual(await ids(b, select("spans", cmp(col("error_type"), "=", "TimeoutError"))), [
      "s-2",
    ]);
    assert.deepEqual(
      await ids(b, select("spans", { type: "contains", field: col("error_message"), value: "lo" })),
      [
        "s-2",
      ],
    );
    assert.deepEqual(
      await ids(b, select("traces", cmp({ kind: "resource", key: "service.name" }, "=", "worker"))),
      ["t-2"],
    );
  });

  test("has() and not has() select traces by their spans, events and metrics", async (b) => {
    await b.write(batch({
      traces: [
        trace({ traceId: "t-1", startTime: 1 }),
        trace({ traceId: "t-2", startTime: 2 }),
        trace({ traceId: "t-3", startTime: 3 }),
      ],
      spans: [
        span({ spanId: "s-1", traceId: "t-1", status: "error" }),
        span({ spanId: "s-2", traceId: "t-1", status: "ok" }),
        span({ spanId: "s-3", traceId: "t-2", status: "ok" }),
      ],
      events: [event({ eventId: "e-1", traceId: "t-2", eventType: "retry.attempted" })],
      metrics: [metric({ metricId: "m-1", traceId: "t-3", name: "tokens", value: 10 })],
    }));
    const error = cmp(col("status"), "=", "error");
    const has = (
      entity: "spans" | "events" | "metrics",
      where: Condition | null,
      negated = false,
    ): Condition => ({
      type: "has",
      negated,
      entity,
      where,
    });
    assert.deepEqual(await ids(b, select("traces", has("spans", error))), ["t-1"]);
    assert.deepEqual(await ids(b, select("traces", has("spans", error, true))), ["t-3", "t-2"]);
    assert.deepEqual(await ids(b, select("traces", has("spans", null))), ["t-2", "t-1"]);
    assert.deepEqual(
      await ids(b, select("traces", has("events", cmp(col("event_type"), "=", "retry.attempted")))),
      [
        "t-2",
      ],
    );
    assert.deepEqual(await ids(b, select("traces", has("metrics", cmp(col("value"), ">=", 10)))), [
      "t-3",
    ]);
    assert.deepEqual(
      await ids(
        b,
        select("traces", {
          type: "and",
          conditions: [has("spans", null), has("spans", error, true)],
        }),
      ),
      ["t-2"],
    );
  });

  test("spans come back with their events, oldest first, ties by event id", async (b) => {
    await b.write(batch({
      spans: [span({ spanId: "s-1", startTime: 2 }), span({ spanId: "s-2", startTime: 1 })],
      events: [
        event({ eventId: "ev-b", spanId: "s-1", timestamp: 1 }),
        event({ eventId: "ev-a", spanId: "s-1", timestamp: 1 }),
        event({ eventId: "ev-c", spanId: "s-1", timestamp: 0.5 }),
        event({ eventId: "ev-d", spanId: "s-2", timestamp: 3 }),
        event({ eventId: "ev-e", spanId: "s-9", timestamp: 3 }),
      ],
    }));
    const spans = await b.query(select("spans", null));
    assert.deepEqual(
      spans.map((s) => [s.spanId, (s.events as EventRecord[]).map((e) => e.eventId)]),
      [["s-1", ["ev-c", "ev-a", "ev-b"]], ["s-2", ["ev-d"]]],
    );
  });

  test("aggregates without grouping: count, sum, avg, min, max and percentiles", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    const f = col("value");
    const [row, ...rest] = await b.query(aggregate("metrics", {
      where: cmp(col("name"), "=", "lat"),
      aggregates: [
        { fn: "count", field: null, alias: "count()" },
        { fn: "sum", field: f, alias: "sum" },
        { fn: "avg", field: f, alias: "avg" },
        { fn: "min", field: f, alias: "min" },
        { fn: "max", field: f, alias: "max" },
        { fn: "p50", field: f, alias: "p50" },
        { fn: "p90", field: f, alias: "p90" },
        { fn: "p95", field: f, alias: "p95" },
        { fn: "p99", field: f, alias: "p99" },
        { fn: "count", field: attr("node"), alias: "count(attr.node)" },
        { fn: "avg", field: attr("node"), alias: "avg(attr.node)" },
        { fn: "sum", field: col("name"), alias: "sum(name)" },
      ],
    }));
    assert.equal(rest.length, 0);
    assert.ok(row);
    assert.deepEqual(Object.keys(row), [
      "count()",
      "sum",
      "avg",
      "min",
      "max",
      "p50",
      "p90",
      "p95",
      "p99",
      "count(attr.node)",
      "avg(attr.node)",
      "sum(name)",
    ]);
    assert.equal(row["count()"], 13);
    assert.equal(row.sum, 655);
    near(row.avg, 655 / 13, "avg");
    assert.equal(row.min, 1);
    assert.equal(row.max, 300);
    near(row.p50, 7, "p50");
    near(row.p90, 180, "p90");
    near(row.p95, 240, "p95");
    near(row.p99, 288, "p99");
    assert.equal(row["count(attr.node)"], 12);
    assert.equal(row["avg(attr.node)"], 5);
    assert.equal(row["sum(name)"], null);
  });

  test("aggregates over no records give one row: count 0, others null", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    const rows = await b.query(aggregate("metrics", {
      where: cmp(col("name"), "=", "nothing"),
      aggregates: [
        { fn: "count", field: null, alias: "n" },
        { fn: "sum", field: col("value"), alias: "s" },
        { fn: "p50", field: col("value"), alias: "p" },
      ],
    }));
    assert.deepEqual(rows, [{ n: 0, s: null, p: null }]);
    const grouped = await b.query(aggregate("metrics", {
      where: cmp(col("name"), "=", "nothing"),
      aggregates: [{ fn: "count", field: null, alias: "n" }],
      groupBy: [{ field: col("name"), alias: "name" }],
    }));
    assert.deepEqual(grouped, []);
  });

  test("group by an attribute keeps key types apart and puts the missing group last", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    const rows = await b.query(aggregate("metrics", {
      where: cmp(col("name"), "=", "lat"),
      aggregates: [
        { fn: "count", field: null, alias: "n" },
        { fn: "sum", field: col("value"), alias: "s" },
        { fn: "p50", field: col("value"), alias: "p50" },
      ],
      groupBy: [{ field: attr("node"), alias: "attr.node" }],
    }));
    assert.deepEqual(rows, [
      { "attr.node": 5, n: 1, s: 100, p50: 100 },
      { "attr.node": "5", n: 1, s: 200, p50: 200 },
      { "attr.node": "a", n: 4, s: 10, p50: 2.5 },
      { "attr.node": "b", n: 6, s: 45, p50: 7.5 },
      { "attr.node": null, n: 1, s: 300, p50: 300 },
    ]);
  });

  test("group by a column and by several keys", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    assert.deepEqual(
      await b.query(aggregate("metrics", {
        aggregates: [{ fn: "count", field: null, alias: "n" }],
        groupBy: [{ field: col("name"), alias: "name" }],
      })),
      [{ name: "lat", n: 13 }, { name: "other", n: 1 }],
    );
    assert.deepEqual(
      await b.query(aggregate("metrics", {
        where: cmp(col("value"), "<=", 5),
        aggregates: [{ fn: "max", field: col("value"), alias: "max" }],
        groupBy: [{ field: col("name"), alias: "name" }, { field: attr("node"), alias: "node" }],
        orderBy: [{ alias: "name", direction: "desc" }],
      })),
      [{ name: "other", node: "a", max: 1 }, { name: "lat", node: "a", max: 4 }, {
        name: "lat",
        node: "b",
        max: 5,
      }],
    );
  });

  test("having filters groups; order by an aggregate; limit and offset page groups", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    const base = {
      where: cmp(col("name"), "=", "lat"),
      aggregates: [
        { fn: "count" as const, field: null, alias: "count()" },
        { fn: "sum" as const, field: col("value"), alias: "sum(value)" },
      ],
      groupBy: [{ field: attr("node"), alias: "node" }],
    };
    const keys = (rows: QueryRow[]) => rows.map((r) => r.node);
    assert.deepEqual(
      keys(
        await b.query(aggregate("metrics", {
          ...base,
          having: { type: "compare", alias: "count()", operator: ">", value: 1 },
        })),
      ),
      ["a", "b"],
    );
    assert.deepEqual(
      keys(
        await b.query(aggregate("metrics", {
          ...base,
          having: {
            type: "not",
            condition: { type: "compare", alias: "count()", operator: ">", value: 1 },
          },
        })),
      ),
      [5, "5", null],
    );
    assert.deepEqual(
      keys(
        await b.query(aggregate("metrics", {
          ...base,
          having: {
            type: "or",
            conditions: [
              { type: "compare", alias: "sum(value)", operator: ">=", value: 200 },
              { type: "compare", alias: "count()", operator: "=", value: 4 },
            ],
          },
        })),
      ),
      ["5", "a", null],
    );
    assert.deepEqual(
      keys(
        await b.query(
          aggregate("metrics", { ...base, orderBy: [{ alias: "sum(value)", direction: "desc" }] }),
        ),
      ),
      [null, "5", 5, "b", "a"],
    );
    assert.deepEqual(
      keys(
        await b.query(
          aggregate("metrics", { ...base, orderBy: [{ alias: "count()", direction: "asc" }] }),
        ),
      ),
      [5, "5", null, "a", "b"],
    );
    assert.deepEqual(
      keys(
        await b.query(aggregate("metrics", {
          ...base,
          orderBy: [{ alias: "sum(value)", direction: "desc" }],
          limit: 2,
          offset: 1,
        })),
      ),
      ["5", 5],
    );
    assert.deepEqual(
      keys(
        await b.query(
          aggregate("metrics", { ...base, orderBy: [{ alias: "node", direction: "desc" }] }),
        ),
      ),
      ["b", "a", "5", 5, null],
    );
  });

  test("aggregates over a nullable column skip nulls; null aggregates sort last", async (b) => {
    await b.write(batch({
      spans: [
        span({ spanId: "s-1", name: "a", startTime: 0, endTime: 1 }),
        span({ spanId: "s-2", name: "a", startTime: 0, endTime: 3 }),
        span({ spanId: "s-3", name: "b", startTime: 0, endTime: null }),
        span({ spanId: "s-4", name: "c", startTime: 0, endTime: 0.5 }),
      ],
    }));
    assert.deepEqual(
      await b.query(aggregate("spans", {
        aggregates: [
          { fn: "count", field: col("duration"), alias: "n" },
          { fn: "avg", field: col("duration"), alias: "avg" },
        ],
        groupBy: [{ field: col("name"), alias: "name" }],
        orderBy: [{ alias: "avg", direction: "desc" }],
      })),
      [{ name: "a", n: 2, avg: 2 }, { name: "c", n: 1, avg: 0.5 }, { name: "b", n: 0, avg: null }],
    );
  });

  test("aggregate aliases are plain keys, whatever their text", async (b) => {
    await b.write(batch({ metrics: LATENCIES }));
    const rows = await b.query(aggregate("metrics", {
      where: cmp(col("name"), "=", "other"),
      aggregates: [
        { fn: "count", field: null, alias: "__proto__" },
        { fn: "max", field: col("value"), alias: `"); drop table metrics; --` },
      ],
      groupBy: [{ field: col("name"), alias: "constructor" }],
      having: { type: "compare", alias: "__proto__", operator: "=", value: 1 },
    }));
    assert.equal(rows.length, 1);
    const row = rows[0]!;
    assert.equal(Object.getPrototypeOf(row), Object.prototype);
    assert.deepEqual(Object.keys(row), ["constructor", "__proto__", `"); drop table metrics; --`]);
    assert.equal(Object.getOwnPropertyDescriptor(row, "__proto__")?.value, 1);
    assert.equal(row.constructor, "other");
  });

  test("applyRetention() deletes old records of every kind, keeps new ones and returns the count", async (b) => {
    await b.write(batch({
      traces: [
        trace({ traceId: "t-old", startTime: 10 }),
        trace({ traceId: "t-new", startTime: 100 }),
      ],
      spans: [span({ spanId: "s-old", startTime: 10 }), span({ spanId: "s-new", startTime: 100 })],
      events: [
        event({ eventId: "e-old", timestamp: 10 }),
        event({ eventId: "e-new", timestamp: 100 }),
      ],
      metrics: [
        metric({ metricId: "m-old", timestamp: 10 }),
        metric({ metricId: "m-new", timestamp: 100 }),
      ],
    }));
    assert.equal(await b.applyRetention(50), 4);
    assert.deepEqual(await ids(b, select("traces", null)), ["t-new"]);
    assert.deepEqual(await ids(b, select("spans", null)), ["s-new"]);
    assert.deepEqual(await ids(b, select("events", null)), ["e-new"]);
    assert.deepEqual(await ids(b, select("metrics", null)), ["m-new"]);
    assert.equal(await b.applyRetention(50), 0);
  });

  test("applyRetention() deletes more records than one deletion batch", async (b) => {
    const events = Array.from(
      { length: 5000 },
      (_, i) => event({ eventId: `e-${i}`, timestamp: i }),
    );
    await b.write(batch({ events }));
    assert.equal(await b.applyRetention(4500), 4500);
    assert.equal((await b.query(select("events", null, { limit: MAX_LIMIT }))).length, 500);
  });

  test("write() of a record with a non-finite value fails clearly and stores nothing of the batch", async (b) => {
    await b.write(batch({ spans: [span({ spanId: "kept" })] }));
    await assert.rejects(
      b.write(batch({
        spans: [span({ spanId: "good" }), span({ spanId: "bad", startTime: NaN })],
      })),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, "BAD_RECORD");
        assert.match(
          e.message,
          /^Cannot write span 'bad': startTime must be a finite number, got NaN/,
        );
        return true;
      },
    );
    await assert.rejects(
      b.write(batch({ metrics: [metric({ metricId: "inf", attributes: { score: Infinity } })] })),
      /Cannot write metric 'inf': attributes.score is Infinity/,
    );
    await assert.rejects(
      b.write(
        batch({
          events: [event({ eventId: "big", attributes: { n: 1n } as unknown as Attributes })],
        }),
      ),
      /Cannot write event 'big'/,
    );
    assert.deepEqual(await ids(b, select("spans", null)), ["kept"]);
    assert.deepEqual(await ids(b, select("metrics", null)), []);
  });

  test("query() rejects an unknown column, entity, alias or bad regex with BAD_QUERY", async (b) => {
    const bad = async (plan: unknown, message: RegExp) => {
      await assert.rejects(b.query(plan as SelectPlan), (e: Error & { code?: string }) => {
        assert.equal(e.code, "BAD_QUERY");
        assert.match(e.message, message);
        return true;
      });
    };
    await bad(
      select("spans", cmp(col("stauts"), "=", "error")),
      /unknown column 'stauts' of spans — did you mean 'status'\?/,
    );
    await bad(
      { ...select("spans", null), entity: "spanz" },
      /unknown entity 'spanz' — did you mean 'spans'\?/,
    );
    await bad(
      select("spans", { type: "regex", field: col("name"), negated: false, pattern: "(?=x)" }),
      /lookaround/,
    );
    await bad(
      select("spans", cmp({ kind: "resource", key: "x" }, "=", 1)),
      /resource attributes exist only on traces/,
    );
    await bad(select("spans", cmp(col("name"), "=", NaN)), /not a finite number/);
    await bad(select("spans", null, { limit: -1 }), /limit must be a whole number/);
    await bad(
      aggregate("spans", {
        aggregates: [{ fn: "count", field: null, alias: "n" }],
        orderBy: [{ alias: "m", direction: "asc" }],
      }),
      /order by names 'm'/,
    );
    await bad(
      aggregate("spans", { aggregates: [{ fn: "p50", field: null, alias: "p" }] }),
      /p50\(\) needs a field/,
    );
  });

  test("attribute keys and values full of SQL and JSON-path metacharacters are plain data", async (b) => {
    const keys = [
      `'); drop table spans; --`,
      `$.x`,
      `a"b`,
      `a\\b`,
      `[0]`,
      `*`,
      `$1`,
      `?`,
      ``,
      `a b`,
    ];
    await b.write(batch({
      spans: keys.map((k, i) =>
        span({ spanId: `s-${i}`, startTime: i, attributes: { [k]: `v'${i}"; --`, other: 1 } })
      ),
    }));
    for (const [i, k] of keys.entries()) {
      assert.deepEqual(
        await ids(b, select("spans", cmp(attr(k), "=", `v'${i}"; --`))),
        [`s-${i}`],
        k,
      );
      assert.deepEqual(
        await ids(b, select("spans", { type: "exists", field: attr(k), negated: false })),
        [`s-${i}`],
        k,
      );
    }
    assert.equal((await b.query(select("spans", null))).length, keys.length);
  });

  test("write() stores text of any length: 1 MB names, error type and message read back exactly", async (b) => {
    // Longer than any index entry (PostgreSQL's btree holds ~2.7 kB), with
    // multi-byte characters so a limit in bytes is crossed before one in characters.
    const long = (tag: string, length: number) => tag + noise(length - tag.length, tag.length);
    const MB = 1024 * 1024;
    const t = trace({ traceId: "long-trace", name: long("trace", MB) });
    const s = span({
      spanId: "long-span",
      traceId: t.traceId,
      name: long("span", MB),
      status: "error",
      error: { type: long("type", MB), message: long("message", MB), stack: long("stack", 5000) },
    });
    const justOver = span({
      spanId: "span-2800",
      name: long("n", 2800),
      error: { type: long("t", 2800), message: "m", stack: null },
    });
    const e = event({
      eventId: "long-event",
      eventType: long("custom.type", 3000),
      name: long("event", MB),
      spanId: s.spanId,
    });
    const m = metric({ metricId: "long-metric", name: long("metric", MB), unit: long("u", 3000) });
    await b.write(batch({ traces: [t], spans: [s, justOver], events: [e], metrics: [m] }));
    // The next write is unaffected.
    await b.write(batch({ spans: [span({ spanId: "after", startTime: 5 })] }));

    assert.deepEqual(await b.query(select("traces", null)), [t]);
    const spans = await b.query(
      select("spans", null, { orderBy: [{ field: col("span_id"), direction: "asc" }] }),
    );
    assert.deepEqual(spans, [
      { ...span({ spanId: "after", startTime: 5 }), events: [] },
      { ...s, events: [e] },
      { ...justOver, events: [] },
    ]);
    assert.deepEqual(await b.query(select("events", null)), [e]);
    assert.deepEqual(await b.query(select("metrics", null)), [m]);
    // Equality on the long text still finds exactly its record.
    assert.deepEqual(await ids(b, select("spans", cmp(col("name"), "=", s.name))), [s.spanId]);
    assert.deepEqual(
      await ids(b, select("spans", cmp(col("error_type"), "=", justOver.error!.type))),
      [justOver.spanId],
    );
    assert.deepEqual(await ids(b, select("traces", cmp(col("name"), "=", t.name))), [t.traceId]);
    assert.deepEqual(await ids(b, select("events", cmp(col("name"), "=", e.name))), [e.eventId]);
    assert.deepEqual(await ids(b, select("metrics", cmp(col("name"), "=", m.name))), [m.metricId]);
    // A prefix of it is another name.
    assert.deepEqual(
      await ids(b, select("spans", cmp(col("name"), "=", s.name.slice(0, 2800)))),
      [],
    );
  });

  test("calls after close() fail with CLOSED", async (b) => {
    await b.close();
    await assert.rejects(b.write(batch({})), (e: Error & { code?: string }) => e.code === "CLOSED");
    await assert.rejects(
      b.query(select("spans", null)),
      (e: Error & { code?: string }) => e.code === "CLOSED",
    );
    await assert.rejects(
      b.applyRetention(0),
      (e: Error & { code?: string }) => e.code === "CLOSED",
    );
  });
}
