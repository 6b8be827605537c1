/**
 * Hostile values: every kind of value `docs/values.md` lists, recorded
 * through a real `TelemetryManager` on every backend (memory, a SQLite file,
 * PostgreSQL). Recording must not throw, every record must be stored with
 * the documented conversion, the record after it too, and `stats()` must
 * count the values it replaced.
 */
import assert from "node:assert/strict";
import {
  instrumentGraphRun,
  instrumentNode,
  TelemetryConfig,
  TelemetryManager,
  withLlmCall,
  withToolCall,
} from "../../mod.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** An object nested `levels` deep: `{ d: { d: … { d: "bottom" } } }`. */
function nested(levels: number): Any {
  let o: Any = "bottom";
  for (let i = 0; i < levels; i++) o = { d: o };
  return o;
}

/** What `nested(10_000)` is stored as, as attribute `v`: 64 objects, then the marker. */
function nestedStored(): Any {
  let o: Any = "[MaxDepth]";
  for (let i = 0; i < 64; i++) o = { d: o };
  return o;
}

function cyclic(): Any {
  const a: Any = { x: 1, list: [] };
  a.self = a;
  a.list.push(a, 2);
  return a;
}

function throwingGetter(): Any {
  return {
    get x() {
      throw new Error("getter says no");
    },
  };
}

const buffer = new Uint8Array([1, 2, 255]).buffer;

/** One hostile value, what it must be stored as, and how many values it counts as replaced. */
interface Case {
  name: string;
  value: () => Any;
  /** The stored value of attribute `v`; `undefined`: the key is absent. */
  stored: unknown;
  sanitized: number;
}

const CASES: Case[] = [
  {
    name: "cycle",
    value: cyclic,
    stored: { x: 1, list: ["[Circular]", 2], self: "[Circular]" },
    sanitized: 2,
  },
  { name: "deep10000", value: () => nested(10_000), stored: nestedStored(), sanitized: 1 },
  { name: "deep65", value: () => nested(65), stored: nestedStored(), sanitized: 1 },
  {
    name: "deepArray",
    value: () => {
      let a: Any = [];
      for (let i = 0; i < 10_000; i++) a = [a];
      return a;
    },
    stored: (() => {
      let a: Any = "[MaxDepth]";
      for (let i = 0; i < 64; i++) a = [a];
      return a;
    })(),
    sanitized: 1,
  },
  { name: "nan", value: () => NaN, stored: "NaN", sanitized: 1 },
  { name: "inf", value: () => Infinity, stored: "Infinity", sanitized: 1 },
  { name: "-inf", value: () => -Infinity, stored: "-Infinity", sanitized: 1 },
  {
    name: "nestedNaN",
    value: () => ({ a: [1, NaN, { b: -Infinity }] }),
    stored: { a: [1, "NaN", { b: "-Infinity" }] },
    sanitized: 2,
  },
  { name: "invalidDate", value: () => new Date(NaN), stored: null, sanitized: 1 },
  { name: "date", value: () => new Date(0), stored: "1970-01-01T00:00:00.000Z", sanitized: 0 },
  {
    name: "map",
    value: () => new Map<unknown, unknown>([["a", 1], [2, "b"], [true, [NaN]]]),
    stored: { a: 1, "2": "b", true: ["NaN"] },
    sanitized: 1,
  },
  { name: "set", value: () => new Set([1, "x", 1]), stored: [1, "x"], sanitized: 0 },
  { name: "uint8", value: () => new Uint8Array([1, 2, 3]), stored: [1, 2, 3], sanitized: 0 },
  {
    name: "float64",
    value: () => new Float64Array([1.5, NaN]),
    stored: [1.5, "NaN"],
    sanitized: 1,
  },
  {
    name: "bigint64",
    value: () => new BigInt64Array([5n, -(2n ** 63n)]),
    stored: [5, "-9223372036854775808"],
    sanitized: 0,
  },
  { name: "arrayBuffer", value: () => buffer, stored: [1, 2, 255], sanitized: 0 },
  { name: "dataView", value: () => new DataView(buffer, 1), stored: [2, 255], sanitized: 0 },
  { name: "regexp", value: () => /a+(b)?/gi, stored: "/a+(b)?/gi", sanitized: 0 },
  { name: "bigint", value: () => 5n, stored: 5, sanitized: 0 },
  { name: "hugeBigint", value: () => 2n ** 64n, stored: "18446744073709551616", sanitized: 0 },
  { name: "getter", value: throwingGetter, stored: "[Unreadable: getter says no]", sanitized: 1 },
  {
    name: "proxy",
    value: () =>
      new Proxy({}, {
        ownKeys() {
          throw new TypeError("trap says no");
        },
      }),
    stored: "[Unreadable: trap says no]",
    sanitized: 1,
  },
  { name: "function", value: () => function named() {}, stored: undefined, sanitized: 0 },
  { name: "symbol", value: () => Symbol("s"), stored: undefined, sanitized: 0 },
  { name: "nul", value: () => "a\0b", stored: "a\uFFFDb", sanitized: 1 },
  { name: "loneSurrogate", value: () => "x\uD800y\uDC00", stored: "x\uFFFDy\uFFFD", sanitized: 1 },
  { name: "surrogatePair", value: () => "smile 😀", stored: "smile 😀", sanitized: 0 },
  {
    name: "protoKey",
    value: () => JSON.parse('{"__proto__": {"a": 1}, "b": 2}'),
    stored: JSON.parse('{"__proto__": {"a": 1}, "b": 2}'),
    sanitized: 0,
  },
];

/** JSON text with keys sorted (PostgreSQL's jsonb orders keys its own way), own `__proto__` keys included. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      Object.defineProperty(out, k, { value: v[k], enumerable: true });
    }
    return out;
  });
}

/** Asserts `actual` is `expected`, own `__proto__` keys included (deepEqual skips them). */
function assertStored(actual: unknown, expected: unknown, what: string): void {
  assert.deepEqual(actual, expected, what);
  assert.equal(canonical(actual), canonical(expected), what);
}

/** Records every case on `manager` and checks what was stored. */
async function recordAndCheck(manager: TelemetryManager, nanMetricStored: boolean): Promise<void> {
  const trace = manager.startTrace("hostile", { attributes: { v: cyclic() } });
  const traceId = trace.traceId;
  let expectedSanitized = 2; // the trace's cycle, written at start and at end
  expectedSanitized += 2;
  for (const c of CASES) {
    // A span carrying the value, an event and a metric carrying it, and a
    // plain span after them: all stored.
    const span = manager.startSpan(`case:${c.name}`, { traceId, attributes: { v: c.value() } });
    span.setAttribute("w", c.value() as string);
    span.end();
    manager.recordEvent("custom", `case:${c.name}`, { traceId, attributes: { v: c.value() } });
    manager.recordMetric(`case:${c.name}`, 1, { traceId, attributes: { v: c.value() } });
    manager.startSpan(`after:${c.name}`, { traceId, attributes: { n: 1 } }).end();
    expectedSanitized += 4 * c.sanitized;
  }
  // Names and keys with a NUL and a lone surrogate.
  manager.startSpan("name\0with nul \uD800", { traceId, attributes: { "k\0ey": 1 } }).end();
  manager.recordEvent("custom", "event\0name", { traceId });
  manager.recordMetric("metric\uDC00name", 1, { traceId, unit: "u\0nit" });
  expectedSanitized += 5;
  // Throwing getters and Proxies at the top level of attributes.
  const span = manager.startSpan("getters", { traceId, attributes: throwingGetter() });
  span.setAttributes({
    ok: 1,
    get bad(): Any {
      throw new Error("setAttributes getter");
    },
  });
  span.end();
  expectedSanitized += 2;
  manager.recordEvent("custom", "proxy", {
    traceId,
    attributes: new Proxy({ a: 1 }, {
      get() {
        throw new Error("get trap");
      },
    }),
  });
  expectedSanitized += 1;
  // Metric values that are not finite.
  manager.recordMetric("nan", NaN, { traceId });
  manager.recordMetric("inf", Infinity, { traceId });
  manager.recordMetric("-inf", -Infinity, { traceId });
  manager.endTrace(traceId);
  await manager.flush();

  const stats = manager.stats();
  assert.equal(stats.sanitizedValues, expectedSanitized, "sanitizedValues");
  assert.equal(stats.dropped, nanMetricStored ? 0 : 1, `dropped (${stats.lastExportError})`);

  const [storedTrace] = await manager.queryTraces({ limit: 10 });
  assert.equal(storedTrace?.traceId, traceId);
  assert.notEqual(storedTrace?.endTime, null);
  assertStored(storedTrace?.attributes, {
    v: { x: 1, list: ["[Circular]", 2], self: "[Circular]" },
  }, "trace");

  const spans = new Map(
    (await manager.querySpans({ traceId, limit: 1000 })).map((s) => [s.name, s]),
  );
  const events = new Map(
    (await manager.queryEvents({ traceId, limit: 1000 })).map((e) => [e.name, e]),
  );
  const metrics = new Map(
    (await manager.queryMetrics({ traceId, limit: 1000 })).map((m) => [m.name, m]),
  );
  for (const c of CASES) {
    const expected = c.stored === undefined ? {} : { v: c.stored };
    const s = spans.get(`case:${c.name}`);
    assert.ok(s, `span of ${c.name} stored`);
    // Set again with setAttribute(): the same conversion under "w".
    const both = c.stored === undefined ? {} : { v: c.stored, w: c.stored };
    assertStored(s.attributes, both, `span of ${c.name}`);
    assertStored(events.get(`case:${c.name}`)?.attributes, expected, `event of ${c.name}`);
    assertStored(metrics.get(`case:${c.name}`)?.attributes, expected, `metric of ${c.name}`);
    assert.ok(spans.get(`after:${c.name}`), `span after ${c.name} stored`);
  }
  assertStored(
    spans.get("name\uFFFDwith nul \uFFFD")?.attributes,
    { "k\uFFFDey": 1 },
    "the name's and the key's NUL and lone surrogate replaced",
  );
  assert.ok(events.get("event\uFFFDname"), "event name");
  assert.equal(metrics.get("metric\uFFFDname")?.unit, "u\uFFFDnit", "metric name and unit");
  assertStored(
    spans.get("getters")?.attributes,
    { x: "[Unreadable: getter says no]", ok: 1, bad: "[Unreadable: setAttributes getter]" },
    "top-level getters",
  );
  assertStored(events.get("proxy")?.attributes, { a: "[Unreadable: get trap]" }, "top-level Proxy");
  assert.equal(metrics.get("inf")?.value, Infinity);
  assert.equal(metrics.get("-inf")?.value, -Infinity);
  if (nanMetricStored) assert.ok(Number.isNaN(metrics.get("nan")?.value));
  else assert.equal(metrics.get("nan"), undefined);
}

/** An Error value: its stack is whatever the engine made, so checked apart. */
async function checkError(manager: TelemetryManager): Promise<void> {
  const error = new TypeError("bad thing");
  const span = manager.startSpan("error-value", { attributes: { v: error as Any } });
  span.end();
  await manager.flush();
  const [stored] = await manager.querySpans({ spanName: "error-value" });
  const v = stored?.attributes.v as Any;
  assert.equal(v.type, "TypeError");
  assert.equal(v.message, "bad thing");
  assert.equal(v.stack, error.stack);
}

/** withSpan and withTrace: telemetry never replaces fn's result, and the implicit trace ends. */
async function checkWithSpan(manager: TelemetryManager): Promise<void> {
  const result = await manager.withSpan("with-span", { attributes: { v: cyclic() } }, (span) => {
    span.setAttribute("deep", nested(10_000));
    return 42;
  });
  assert.equal(result, 42);
  const thrown = new Error("the user's own");
  await assert.rejects(
    manager.withSpan("with-span-throws", { attributes: { v: cyclic() } }, () => {
      throw thrown;
    }),
    (e) => e === thrown,
  );
  const traced = await manager.withTrace("with-trace", { attributes: { v: cyclic() } }, () => "ok");
  assert.equal(traced, "ok");
  await manager.flush();
  const traces = await manager.queryTraces({ limit: 100 });
  for (const name of ["with-span", "with-span-throws", "with-trace"]) {
    const t = traces.find((t) => t.name === name);
    assert.ok(t, `trace ${name} stored`);
    assert.notEqual(t.endTime, null, `trace ${name} ended`);
    assert.equal(t.status, name === "with-span-throws" ? "error" : "ok");
  }
  const [span] = await manager.querySpans({ spanName: "with-span" });
  assert.equal(span?.attributes.deep !== undefined, true);
}

async function runAll(config: TelemetryConfig, nanMetricStored: boolean): Promise<void> {
  const manager = new TelemetryManager(config);
  try {
    await recordAndCheck(manager, nanMetricStored);
    await checkError(manager);
  } finally {
    await manager.shutdown();
  }
}

Deno.test("hostile values are stored, converted as documented, on memory", async () => {
  await runAll(TelemetryConfig.createMemory(), true);
});

Deno.test("hostile values are stored, converted as documented, on a SQLite file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await runAll(TelemetryConfig.createSqlite(`${dir}/t.db`), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "hostile values are stored, converted as documented, on PostgreSQL",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("hostile");
    await withAdmin(schema, async () => {
      await runAll(
        TelemetryConfig.createPostgresql({ url: pgUrl(), backendConfig: { schema } }),
        true,
      );
    });
  },
});

Deno.test("withSpan/withTrace: a hostile value never replaces fn's result or error; the implicit trace ends", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory());
  try {
    await checkWithSpan(manager);
  } finally {
    await manager.shutdown();
  }
});

Deno.test("recordMetric(NaN) and non-number values record a point, never throw", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory());
  try {
    manager.recordMetric("nan", NaN);
    manager.recordMetric("bigint", 7n as unknown as number);
    manager.recordMetric("symbol", Symbol("x") as unknown as number);
    await manager.flush();
    const points = new Map((await manager.queryMetrics()).map((m) => [m.name, m.value]));
    assert.ok(Number.isNaN(points.get("nan")));
    assert.equal(points.get("bigint"), 7);
    assert.ok(Number.isNaN(points.get("symbol")));
    assert.equal(manager.stats().dropped, 0);
    assert.equal(manager.stats().sanitizedValues, 2);
  } finally {
    await manager.shutdown();
  }
});

Deno.test("the instrumentation helpers never throw for hostile attributes; results kept, records stored", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory());
  try {
    // `bad`: a getter that throws, on the attributes object itself.
    const attributes = (): Any => {
      const o: Any = { ok: 1, cycle: cyclic(), n: NaN };
      Object.defineProperty(o, "bad", {
        enumerable: true,
        get() {
          throw new Error("helper getter");
        },
      });
      return o;
    };
    const answer = await instrumentGraphRun(
      manager,
      { type: "G", nodesCount: 1, attributes: attributes() },
      () => instrumentNode(manager, { id: "n", type: "N", attributes: attributes() }, () => 42),
    );
    assert.equal(answer, 42);
    const llm = await withLlmCall(
      manager,
      { model: "m", attributes: attributes() },
      () => Promise.resolve("text"),
    );
    assert.equal(llm, "text");
    const tool = await withToolCall(
      manager,
      { name: "t", attributes: attributes() },
      () => Promise.resolve(7),
    );
    assert.equal(tool, 7);
    await manager.flush();
    const spans = new Map((await manager.querySpans({ limit: 100 })).map((s) => [s.name, s]));
    for (const name of ["G.run", "N.do", "chat m", "tool t"]) {
      const a = spans.get(name)?.attributes;
      assert.ok(a, `span ${name} stored`);
      assert.equal(a.ok, 1);
      assert.equal(a.bad, "[Unreadable: helper getter]");
      assert.equal(a.n, "NaN");
      assert.deepEqual(a.cycle, { x: 1, list: ["[Circular]", 2], self: "[Circular]" });
    }
    assert.equal(manager.stats().dropped, 0);
  } finally {
    await manager.shutdown();
  }
});
