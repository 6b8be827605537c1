import assert from "node:assert/strict";
import { TelemetryConfig, type TelemetryConfigOptions } from "../src/config.ts";
import { getCurrentContext } from "../src/context/context.ts";
import { Event } from "../src/model/event.ts";
import { TelemetryManager } from "../src/manager.ts";
import { PipelineError } from "../src/pipeline/pipeline.ts";
import { SpanKind } from "../src/model/types.ts";

function memory(options: TelemetryConfigOptions = {}): TelemetryManager {
  return new TelemetryManager(TelemetryConfig.createMemory(options));
}

function tick(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

Deno.test("a disabled manager records nothing and starts no worker", async () => {
  await using manager = new TelemetryManager();
  assert.equal(manager.config.enabled, false);
  const trace = manager.startTrace("run");
  await manager.withSpan("s", { traceId: trace.traceId }, (span) => {
    span.setAttribute("x", 1);
    manager.recordEvent("custom", "e");
  });
  manager.recordMetric("m", 1);
  assert.equal(manager.endTrace(trace.traceId), null);
  await manager.flush();
  assert.deepEqual(await manager.queryTraces(), []);
  assert.equal(manager.stats().recorded, 0);
  assert.deepEqual(manager.activeCount, { traces: 0, spans: 0 });
});

Deno.test("a trace is stored at start (running) and again at end", async () => {
  await using manager = memory({
    resourceAttributes: { "service.name": "svc" },
    customAttributes: { env: "test" },
  });
  const trace = manager.startTrace("graph_run", { attributes: { graph: "g1" } });
  assert.equal(manager.getTrace(trace.traceId), trace);
  const [running] = await manager.queryTraces();
  assert.equal(running?.endTime, null);
  assert.equal(running?.isActive, true);
  assert.deepEqual(running?.attributes, { env: "test", graph: "g1" });
  assert.deepEqual(running?.resource, { "service.name": "svc" });
  const ended = manager.endTrace(trace.traceId, "error");
  assert.equal(ended, trace);
  // Ended, but still found among the recently ended traces; not ended twice.
  assert.equal(manager.getTrace(trace.traceId), trace);
  assert.equal(manager.endTrace(trace.traceId), null);
  const [stored] = await manager.queryTraces({ status: "error" });
  assert.equal(stored?.traceId, trace.traceId);
  assert.ok(stored!.duration! >= 0);
});

Deno.test("customAttributes are merged into every record; a record's own attributes win", async () => {
  await using manager = memory({ customAttributes: { env: "test", team: "a" } });
  await manager.withTrace("run", {}, async () => {
    await manager.withSpan("s", { attributes: { team: "b" } }, (span) => {
      span.addEvent(new Event({ name: "added" }));
      manager.recordEvent("custom", "recorded", { attributes: { n: 1 } });
    });
    manager.recordMetric("m", 2, { attributes: { team: "c" } });
  });
  const [span] = await manager.querySpans();
  assert.deepEqual(span?.attributes, { env: "test", team: "b" });
  const events = await manager.queryEvents();
  assert.equal(events.length, 2);
  for (const e of events) assert.equal(e.attributes.env, "test");
  const [metric] = await manager.queryMetrics();
  assert.deepEqual(metric?.attributes, { env: "test", team: "c" });
});

Deno.test("withSpan nests spans through async context and records an error with status error", async () => {
  await using manager = memory();
  const trace = manager.startTrace("run");
  let outerId = "";
  await assert.rejects(
    manager.withSpan(
      "outer",
      { traceId: trace.traceId, kind: SpanKind.GRAPH_RUN },
      async (outer) => {
        outerId = outer.spanId;
        await tick();
        await manager.withSpan("inner", {}, async () => {
          await tick();
          throw new TypeError("boom");
        });
      },
    ),
    TypeError,
  );
  manager.endTrace(trace.traceId);
  const spans = await manager.querySpans({ traceId: trace.traceId });
  const inner = spans.find((s) => s.name === "inner")!;
  const outer = spans.find((s) => s.name === "outer")!;
  assert.equal(inner.parentSpanId, outerId);
  assert.equal(inner.traceId, trace.traceId);
  assert.equal(outer.parentSpanId, null);
  assert.equal(inner.status, "error");
  assert.equal(inner.error?.type, "TypeError");
  assert.equal(inner.error?.message, "boom");
  assert.equal(outer.status, "error");
  assert.equal(outer.kind, "graph_run");
});

Deno.test("concurrent withSpan runs never mix their parents", async () => {
  await using manager = memory();
  const runs = 40;
  const expected = new Map<string, string>();
  await Promise.all(
    Array.from({ length: runs }, (_, i) =>
      manager.withTrace(`run${i}`, {}, async (trace) => {
        await manager.withSpan(`parent${i}`, {}, async (parent) => {
          await tick(Math.random() * 5);
          await manager.withSpan(`child${i}`, {}, async (child) => {
            await tick(Math.random() * 5);
            assert.equal(getCurrentContext()?.spanId, child.spanId);
            assert.equal(child.traceId, trace.traceId);
            expected.set(child.spanId, parent.spanId);
          });
        });
      })),
  );
  const spans = await manager.querySpans({ limit: 1000 });
  assert.equal(spans.length, runs * 2);
  for (const s of spans.filter((s) => s.name.startsWith("child"))) {
    assert.equal(s.parentSpanId, expected.get(s.spanId));
  }
});

Deno.test("a span with no trace starts a trace named after it, ended with it", async () => {
  await using manager = memory();
  const span = manager.startSpan("standalone");
  assert.notEqual(manager.getTrace(span.traceId), null);
  span.end("error", new Error("x"));
  assert.equal(manager.getTrace(span.traceId)?.isActive, false);
  const [trace] = await manager.queryTraces();
  assert.equal(trace?.traceId, span.traceId);
  assert.equal(trace?.name, "standalone");
  assert.equal(trace?.status, "error");
});

Deno.test("a span ends and is recorded on await using", async () => {
  await using manager = memory();
  const trace = manager.startTrace("run");
  {
    await using span = manager.startSpan("scoped", { traceId: trace.traceId });
    span.setAttributes({ a: 1, b: [1, "two"], c: { d: true } });
  }
  const [span] = await manager.querySpans({ spanName: "scoped" });
  assert.equal(span?.status, "ok");
  assert.deepEqual(span?.attributes, { a: 1, b: [1, "two"], c: { d: true } });
});

Deno.test("maxEventsPerSpan bounds addEvent and recordEvent together; extras are counted", async () => {
  await using manager = memory({ maxEventsPerSpan: 3 });
  const trace = manager.startTrace("run");
  const span = manager.startSpan("busy", { traceId: trace.traceId });
  span.addEvent(new Event({ name: "a1" }));
  manager.recordEvent("custom", "r1", { spanId: span.spanId });
  span.addEvent(new Event({ name: "a2" }));
  span.addEvent(new Event({ name: "a3" })); // over
  manager.recordEvent("custom", "r2", { spanId: span.spanId }); // over
  span.end();
  const [stored] = await manager.querySpans({ spanName: "busy" });
  assert.equal(stored?.droppedEvents, 2);
  assert.deepEqual(stored?.events.map((e) => e.name).sort(), ["a1", "a2", "r1"]);
  const events = await manager.queryEvents({ traceId: trace.traceId });
  assert.equal(events.length, 3);
  for (const e of events) assert.equal(e.spanId, span.spanId);
});

Deno.test("events default to the current span and trace; metrics to the current trace", async () => {
  await using manager = memory();
  let spanId = "";
  let traceId = "";
  await manager.withTrace("run", {}, async (trace) => {
    traceId = trace.traceId;
    await manager.withSpan("s", {}, (span) => {
      spanId = span.spanId;
      manager.recordEvent("node.started", "in span");
      manager.recordMetric("in.trace", 1);
    });
    manager.recordEvent("custom", "in trace");
  });
  manager.recordMetric("outside", 1);
  const events = await manager.queryEvents({ traceId });
  assert.equal(events.find((e) => e.name === "in span")?.spanId, spanId);
  assert.equal(events.find((e) => e.name === "in trace")?.spanId, null);
  assert.equal((await manager.queryMetrics({ metricName: "in.trace" }))[0]?.traceId, traceId);
  assert.equal((await manager.queryMetrics({ metricName: "outside" }))[0]?.traceId, null);
});

Deno.test("enableTraces, enableEvents and enableMetrics are honoured", async () => {
  await using manager = memory({ enableTraces: false, enableEvents: false });
  await manager.withTrace("run", {}, async () => {
    await manager.withSpan("s", {}, () => {
      manager.recordEvent("custom", "e");
    });
    manager.recordMetric("m", 1);
  });
  assert.equal((await manager.queryTraces()).length, 0);
  assert.equal((await manager.querySpans()).length, 0);
  assert.equal((await manager.queryEvents()).length, 0);
  assert.equal((await manager.queryMetrics()).length, 1);
  await using noMetrics = memory({ enableMetrics: false });
  noMetrics.recordMetric("m", 1);
  assert.equal((await noMetrics.queryMetrics()).length, 0);
});

Deno.test("an unsampled trace records nothing: not its spans, events or metrics", async () => {
  await using manager = memory({ samplingRate: 0.5 });
  // The last 14 hex digits decide: 0x80... / 2^56 = 0.5 is not below 0.5.
  const unsampled = "00000000000000000080000000000000";
  const sampled = "ffffffffffffffffff00000000000000";
  for (const traceId of [unsampled, sampled]) {
    await manager.withTrace("run", { traceId }, async () => {
      await manager.withSpan("s", {}, (span) => {
        span.addEvent(new Event({ name: "added" }));
        manager.recordEvent("custom", "e");
      });
      manager.recordMetric("m", 1);
      manager.recordEvent("custom", "explicit", { traceId });
    });
  }
  manager.recordMetric("no trace", 1);
  const traces = await manager.queryTraces();
  assert.deepEqual(traces.map((t) => t.traceId), [sampled]);
  for (const s of await manager.querySpans()) assert.equal(s.traceId, sampled);
  assert.equal((await manager.queryEvents({ traceId: unsampled })).length, 0);
  assert.equal((await manager.queryEvents({ traceId: sampled })).length, 3);
  assert.equal((await manager.queryMetrics({ traceId: unsampled })).length, 0);
  assert.equal((await manager.queryMetrics()).length, 2);
});

Deno.test("traces and spans held in memory are released when they end", async () => {
  await using manager = memory();
  for (let i = 0; i < 200; i++) {
    await manager.withTrace("run", {}, async () => {
      await manager.withSpan("a", {}, () => {
        const s = manager.startSpan("b");
        s.end();
      });
    });
    manager.startSpan("implicit").end();
  }
  assert.deepEqual(manager.activeCount, { traces: 0, spans: 0 });
  // Unsampled ones too.
  await using none = memory({ samplingRate: 0 });
  await none.withTrace("run", {}, () => none.withSpan("a", {}, () => {}));
  assert.deepEqual(none.activeCount, { traces: 0, spans: 0 });
});

Deno.test("several managers in one process are independent", async () => {
  await using a = memory();
  await using b = memory();
  a.recordMetric("only.a", 1);
  b.recordMetric("only.b", 1);
  b.recordMetric("only.b", 2);
  assert.deepEqual((await a.queryMetrics()).map((m) => m.name), ["only.a"]);
  assert.equal((await b.queryMetrics()).length, 2);
  await a.shutdown();
  b.recordMetric("only.b", 3);
  assert.equal((await b.queryMetrics()).length, 3);
});

Deno.test("query methods filter, page and order newest first (ties by id)", async () => {
  await using manager = memory();
  for (let i = 0; i < 5; i++) {
    const t = manager.startTrace(i % 2 === 0 ? "even" : "odd");
    const span = manager.startSpan(`s${i}`, {
      traceId: t.traceId,
      kind: i === 0 ? SpanKind.LLM_CALL : SpanKind.INTERNAL,
    });
    span.end(i === 4 ? "error" : "ok");
    manager.endTrace(t.traceId, i === 4 ? "error" : "ok");
    manager.recordMetric(i < 2 ? "first" : "later", i);
    manager.recordEvent(i === 3 ? "node.failed" : "custom", `e${i}`);
    await tick(2); // distinct start times
  }
  const all = await manager.queryTraces();
  assert.deepEqual(all.map((t) => t.name), ["even", "odd", "even", "odd", "even"]);
  assert.ok(all[0]!.startTime > all[4]!.startTime);
  assert.equal((await manager.queryTraces({ traceName: "even" })).length, 3);
  assert.equal((await manager.queryTraces({ status: "error" })).length, 1);
  const since = all[1]!.startTime;
  assert.equal((await manager.queryTraces({ startTime: since })).length, 2);
  assert.equal((await manager.queryTraces({ endTime: since })).length, 4);
  const page = await manager.queryTraces({ limit: 2, offset: 1 });
  assert.deepEqual(page.map((t) => t.traceId), [all[1]!.traceId, all[2]!.traceId]);
  assert.equal((await manager.querySpans({ kind: SpanKind.LLM_CALL }))[0]?.name, "s0");
  assert.equal((await manager.querySpans({ status: "error" }))[0]?.name, "s4");
  assert.equal((await manager.querySpans({ spanName: "s2" })).length, 1);
  assert.equal((await manager.queryMetrics({ metricName: "later" })).length, 3);
  assert.equal((await manager.queryEvents({ eventType: "node.failed" }))[0]?.name, "e3");
  assert.deepEqual((await manager.queryEvents({ limit: 2 })).map((e) => e.name), ["e4", "e3"]);
  await assert.rejects(() => manager.queryTraces({ limit: -1 }), RangeError);
});

Deno.test("getInstance() returns one shared manager until resetInstance()", async () => {
  const first = TelemetryManager.getInstance(TelemetryConfig.createMemory());
  assert.equal(TelemetryManager.getInstance(TelemetryConfig.createNoop()), first);
  assert.equal(first.config.backend, "memory");
  first.recordMetric("m", 1);
  await TelemetryManager.resetInstance();
  assert.equal(first.stats().exported, 1);
  const second = TelemetryManager.getInstance();
  assert.notEqual(second, first);
  assert.equal(second.config.enabled, false);
  await TelemetryManager.resetInstance();
});

Deno.test("startBackgroundExport() surfaces a backend that cannot open, with its code", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createSqlite("/nonexistent-dir/for/sure/t.db"),
  );
  const error = await manager.startBackgroundExport().then(() => null, (e) => e);
  assert.ok(error instanceof PipelineError);
  assert.equal(typeof error.code, "string");
  assert.match(error.message, /Cannot open/);
  manager.recordMetric("m", 1);
  await assert.rejects(() => manager.flush(), PipelineError);
  assert.equal(manager.stats().dropped, 1);
});

Deno.test("stats() accounts for every record", async () => {
  await using manager = memory();
  await manager.withTrace("run", {}, () => manager.withSpan("s", {}, () => {}));
  manager.recordMetric("m", 1);
  await manager.flush();
  const stats = manager.stats();
  assert.equal(stats.recorded, 4); // trace start, span, trace end, metric
  assert.equal(stats.exported, 4);
  assert.equal(stats.dropped, 0);
  assert.equal(stats.pending, 0);
  assert.ok(stats.batches >= 1);
  assert.equal(typeof stats.lastExportLatencyMs, "number");
  assert.equal(stats.workerRestarts, 0);
  assert.ok(stats.ringUsage >= 0 && stats.ringUsage < 1);
});

Deno.test("records after shutdown() are dropped and counted", async () => {
  const manager = memory();
  manager.recordMetric("before", 1);
  await manager.shutdown();
  manager.recordMetric("after", 1);
  manager.startSpan("after").end();
  const stats = manager.stats();
  assert.equal(stats.exported, 1);
  await manager.shutdown(); // idempotent
});

Deno.test("a span's attributes are a plain object, however many are set", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const span = manager.startSpan("s");
  for (let i = 0; i < 12; i++) span.setAttribute(`k${i}`, i);
  assert.equal(Object.getPrototypeOf(span.attributes), Object.prototype);
  assert.equal(span.attributes.constructor, Object);
  assert.deepEqual(
    span.attributes,
    Object.fromEntries([...Array(12).keys()].map((i) => [`k${i}`, i])),
  );
  assert.equal(JSON.stringify(manager.startSpan("t").attributes), "{}");
  const again = manager.startSpan("u", { attributes: { first: 0 } });
  again.setAttribute("a", 1);
  again.attributes.direct = true;
  again.setAttribute("b", 2);
  again.setAttribute("a", 3);
  assert.deepEqual(Object.entries(again.attributes), [
    ["first", 0],
    ["a", 3],
    ["direct", true],
    ["b", 2],
  ]);
});

Deno.test("ids are stored as recorded, also a span id replaced before the span ends", async () => {
  await using manager = memory();
  const trace = manager.startTrace("t");
  const kept = Array.from(
    { length: 600 },
    () => manager.startSpan("s", { traceId: trace.traceId }),
  );
  const replaced = manager.startSpan("replaced", { traceId: trace.traceId });
  replaced.spanId = "1234567890abcdef";
  const event = manager.recordEvent("custom", "e", { traceId: trace.traceId });
  const metric = manager.recordMetric("m", 1, { traceId: trace.traceId });
  for (const s of kept) s.end();
  replaced.end();
  manager.endTrace(trace.traceId);
  const ids = new Set(
    (await manager.querySpans({ traceId: trace.traceId, limit: 1000 })).map((s) => s.spanId),
  );
  assert.equal(ids.size, 601); // more than one block of the id pool
  for (const s of kept) assert.ok(ids.has(s.spanId), s.spanId);
  assert.ok(ids.has("1234567890abcdef"));
  assert.deepEqual((await manager.queryEvents({ traceId: trace.traceId })).map((e) => e.eventId), [
    event.eventId,
  ]);
  assert.deepEqual(
    (await manager.queryMetrics({ traceId: trace.traceId })).map((m) => m.metricId),
    [metric.metricId],
  );
  assert.match(event.eventId, /^[0-9a-f]{32}$/);
});

Deno.test("a span started from an attribute getter of another span's options does not mix them", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const trace = manager.startTrace("t");
  let inner: ReturnType<typeof manager.startSpan> | undefined;
  const attributes = {
    get sneaky(): string {
      inner = manager.startSpan("inner", { traceId: trace.traceId, kind: "tool_call" });
      manager.recordEvent("custom", "from getter", { traceId: trace.traceId });
      return "yes";
    },
  };
  const outer = manager.startSpan("outer", { traceId: trace.traceId, attributes });
  assert.equal(outer.name, "outer");
  assert.equal(outer.kind, "internal");
  assert.equal(inner?.name, "inner");
  assert.equal(inner?.kind, "tool_call");
  assert.notEqual(inner?.spanId, outer.spanId);
  assert.deepEqual(manager.activeCount, { traces: 1, spans: 2 });
  inner!.end();
  outer.end();
  assert.deepEqual(manager.activeCount, { traces: 1, spans: 0 });
  manager.endTrace(trace.traceId);
  const names = (await manager.querySpans({ traceId: trace.traceId })).map((s) => s.name).sort();
  assert.deepEqual(names, ["inner", "outer"]);
});
