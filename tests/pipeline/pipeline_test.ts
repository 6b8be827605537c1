import assert from "node:assert/strict";
import { TelemetryConfig, type TelemetryConfigOptions } from "../../src/config.ts";
import { TelemetryManager } from "../../src/manager.ts";
import { SqliteBackend } from "../../src/backends/sqlite/mod.ts";
import { RingBuffer } from "../../src/pipeline/ring_buffer.ts";
import type { QueryPlan } from "../../query/plan.ts";

function fixture(name: string): string {
  return new URL(`../fixtures/${name}.ts`, import.meta.url).href;
}

function withModule(
  name: string,
  backendConfig: Record<string, unknown>,
  options: TelemetryConfigOptions = {},
): TelemetryConfig {
  return TelemetryConfig.createMemory({
    ...options,
    backendConfig: { module: fixture(name), ...backendConfig },
  });
}

const COUNT_ALL: QueryPlan = {
  type: "aggregate",
  entity: "metrics",
  where: null,
  aggregates: [{ fn: "count", field: null, alias: "n" }],
  groupBy: [],
  having: null,
  orderBy: [],
  limit: 1,
  offset: 0,
};

function selectAll(entity: "traces" | "spans" | "events" | "metrics"): QueryPlan {
  return { type: "select", entity, where: null, orderBy: [], limit: 100_000, offset: 0 };
}

Deno.test("a burst of 1,000,000 records into a slow backend is stored exactly once in bounded memory", async () => {
  const N = 1_000_000;
  // 1 ms per batch of 1000: slower than recording, so the producer must wait for the worker.
  const config = withModule("counting_backend", { expected: N, delayMs: 1 });
  await using manager = new TelemetryManager(config);
  await manager.startBackgroundExport();
  const rssBefore = Deno.memoryUsage().rss;
  let rssPeak = rssBefore;
  for (let i = 0; i < N; i++) {
    manager.recordMetric("burst", i);
    if ((i & 0xffff) === 0) rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  }
  await manager.flush();
  rssPeak = Math.max(rssPeak, Deno.memoryUsage().rss);
  const [row] = await manager.runPlan(COUNT_ALL);
  assert.deepEqual(row, { seen: N, duplicates: 0, outOfRange: 0 });
  const stats = manager.stats();
  assert.equal(stats.dropped, 0);
  assert.equal(stats.exported, N);
  assert.equal(stats.recorded, N);
  // Ring + spill queue (encoded frames, well under 128 B per metric) + a constant.
  const bound = config.ringBufferBytes + config.maxSpillRecords * 128 + 64 * 2 ** 20;
  const growth = rssPeak - rssBefore;
  assert.ok(growth < bound, `RSS grew by ${growth} bytes, bound ${bound}`);
});

Deno.test("a backend that throws for a while loses and duplicates nothing", async () => {
  const logPath = await Deno.makeTempFile();
  await using manager = new TelemetryManager(
    withModule("flaky_backend", { failures: 3, logPath }, { bufferSize: 100 }),
  );
  for (let i = 0; i < 1000; i++) manager.recordMetric("m", i);
  await manager.flush();
  const rows = await manager.runPlan(selectAll("metrics"));
  assert.equal(rows.length, 1000);
  assert.deepEqual(
    new Set(rows.map((r) => r.value)).size,
    1000,
  );
  const written = (await Deno.readTextFile(logPath)).trim().split("\n").map(Number);
  assert.equal(written.reduce((a, b) => a + b, 0), 1000, "each record written once");
  const stats = manager.stats();
  assert.equal(stats.exportErrors, 3);
  assert.match(stats.lastExportError!, /^CONNECTION: /);
  assert.equal(stats.dropped, 0);
  await Deno.remove(logPath);
});

/**
 * Records 500 metrics through a backend whose worker crashes at write
 * `crashOnWrite` (with `depth` writes in flight), and checks that the worker
 * was restarted once and every metric is stored exactly once.
 */
async function assertCrashReplayed(crashOnWrite: number, depth?: number): Promise<void> {
  const dir = await Deno.makeTempDir();
  await using manager = new TelemetryManager(
    withModule("crash_backend", {
      dbPath: `${dir}/crash.db`,
      markerPath: `${dir}/marker`,
      crashOnWrite,
      ...(depth === undefined ? {} : { depth }),
    }, { bufferSize: 50 }),
  );
  for (let i = 0; i < 500; i++) manager.recordMetric("m", i);
  await manager.flush();
  const rows = await manager.runPlan(selectAll("metrics"));
  assert.deepEqual(
    rows.map((r) => r.value as number).sort((a, b) => a - b),
    Array.from({ length: 500 }, (_, i) => i),
  );
  const stats = manager.stats();
  assert.equal(stats.workerRestarts, 1);
  assert.equal(stats.exported, 500);
  assert.equal(stats.dropped, 0);
  await manager.shutdown();
  await Deno.remove(dir, { recursive: true });
}

Deno.test("a worker that crashes is restarted and its unacknowledged batch replayed", async () => {
  await assertCrashReplayed(2);
});

Deno.test("shutdown() stores everything recorded before it, without a flush", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/t.db`;
  const manager = new TelemetryManager(TelemetryConfig.createSqlite(dbPath, { bufferSize: 64 }));
  for (let i = 0; i < 3000; i++) {
    const span = manager.startSpan(`s${i}`);
    span.end();
  }
  await manager.shutdown();
  assert.equal(manager.stats().exported, manager.stats().recorded);
  await using backend = new SqliteBackend({ path: dbPath });
  const rows = await backend.query(selectAll("spans"));
  assert.equal(rows.length, 3000);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("resetInstance() flushes and closes the old instance, losing nothing", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/t.db`;
  const manager = TelemetryManager.getInstance(TelemetryConfig.createSqlite(dbPath));
  for (let i = 0; i < 2500; i++) manager.recordEvent("custom", `e${i}`);
  await TelemetryManager.resetInstance();
  await using backend = new SqliteBackend({ path: dbPath });
  assert.equal((await backend.query(selectAll("events"))).length, 2500);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("flush() resolves only when every record before it is stored, in order", async () => {
  await using manager = new TelemetryManager(
    withModule("slow_backend", { delayMs: 20 }, { bufferSize: 10, exportInterval: 0 }),
  );
  const order: number[] = [];
  for (let i = 0; i < 25; i++) manager.recordMetric("a", i);
  const first = manager.flush().then(() => order.push(1));
  for (let i = 25; i < 60; i++) manager.recordMetric("a", i);
  const second = manager.flush().then(() => order.push(2));
  await first;
  assert.ok(manager.stats().exported >= 25);
  await second;
  assert.deepEqual(order, [1, 2]);
  assert.equal(manager.stats().exported, 60);
  assert.equal((await manager.runPlan(selectAll("metrics"))).length, 60);
});

Deno.test("a query sees every record recorded before it, without a flush", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createMemory({ exportInterval: 0, bufferSize: 1000 }),
  );
  for (let i = 0; i < 10; i++) manager.recordMetric("q", i);
  assert.equal((await manager.queryMetrics({ metricName: "q" })).length, 10);
});

Deno.test("a stuck worker costs one bounded wait, then records spill, then drops are counted", async () => {
  await using manager = new TelemetryManager(
    withModule("stuck_backend", { stallMs: 1500 }, {
      ringBufferBytes: 65536,
      maxSpillRecords: 1000,
      maxBlockMs: 100,
      bufferSize: 100,
    }),
  );
  await manager.startBackgroundExport();
  manager.recordMetric("warm", -1);
  // The first write hangs 1.5 s: let the worker get stuck in it.
  const stuck = manager.flush();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const N = 20_000;
  const started = performance.now();
  for (let i = 0; i < N; i++) manager.recordMetric("m", i);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1000, `burst took ${elapsed} ms`);
  const during = manager.stats();
  // Spill granularity is a frame, so the queue holds at most maxSpillRecords.
  assert.ok(during.spilled > 500 && during.spillQueue <= 1000, JSON.stringify(during));
  assert.ok(during.dropped > 10_000, JSON.stringify(during));
  await stuck;
  await manager.flush();
  const after = manager.stats();
  assert.equal(after.exported + after.dropped, after.recorded);
  assert.equal(after.spillQueue, 0);
  const stored = await manager.runPlan(selectAll("metrics"));
  assert.equal(stored.length, after.exported);
});

Deno.test("records made before process exit are drained on unload", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/exit.db`;
  const script = `${dir}/exit_script.ts`;
  const managerUrl = new URL("../../src/manager.ts", import.meta.url).href;
  const configUrl = new URL("../../src/config.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { TelemetryManager } from "${managerUrl}";
import { TelemetryConfig } from "${configUrl}";
const manager = new TelemetryManager(TelemetryConfig.createSqlite(${JSON.stringify(dbPath)}));
await manager.startBackgroundExport();
for (let i = 0; i < 5000; i++) manager.recordMetric("exit", i);
// No flush, no shutdown: the process just ends.
`,
  );
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", new URL("../../deno.json", import.meta.url).pathname, script],
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  await using backend = new SqliteBackend({ path: dbPath });
  assert.equal((await backend.query(selectAll("metrics"))).length, 5000);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("shutdown() against a backend that never answers is bounded and counts what it lost", async () => {
  const manager = new TelemetryManager(
    withModule("stuck_backend", { stallMs: 100_000 }, { shutdownTimeoutMs: 300 }),
  );
  await manager.startBackgroundExport();
  for (let i = 0; i < 100; i++) manager.recordMetric("m", i);
  const started = performance.now();
  await manager.shutdown();
  assert.ok(performance.now() - started < 2000);
  const stats = manager.stats();
  assert.equal(stats.exported, 0);
  assert.equal(stats.dropped, 100);
  assert.equal(stats.recorded, 100);
});

Deno.test("the waitAsync wake-up mode stores everything too", async () => {
  const { Pipeline } = await import("../../src/pipeline/pipeline.ts");
  const { METRIC } = await import("../../src/frame/format.ts");
  const pipeline = new Pipeline(TelemetryConfig.createMemory({ exportInterval: 0 }), {
    wake: "wait",
  });
  for (let i = 0; i < 5000; i++) {
    pipeline.append(METRIC, {
      metricId: i.toString(16).padStart(32, "0"),
      name: "m",
      value: i,
      unit: "",
      kind: "gauge",
      timestamp: 1,
      traceId: null,
      attributes: {},
    });
  }
  await pipeline.flush();
  const rows = await pipeline.query(COUNT_ALL);
  assert.equal(rows[0]?.n, 5000);
  await pipeline.shutdown();
});

Deno.test("a partial batch is written after exportInterval; with exportInterval 0 only on flush", async () => {
  await using timed = new TelemetryManager(
    TelemetryConfig.createMemory({ exportInterval: 0.2, bufferSize: 1000 }),
  );
  await using manual = new TelemetryManager(
    TelemetryConfig.createMemory({ exportInterval: 0, bufferSize: 1000 }),
  );
  await Promise.all([timed.startBackgroundExport(), manual.startBackgroundExport()]);
  for (let i = 0; i < 5; i++) {
    timed.recordMetric("m", i);
    manual.recordMetric("m", i);
  }
  await new Promise((resolve) => setTimeout(resolve, 700));
  assert.equal(timed.stats().exported, 5);
  assert.equal(manual.stats().exported, 0);
  await manual.flush();
  assert.equal(manual.stats().exported, 5);
});

Deno.test("retention deletes records older than retentionDays when the worker starts", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/retention.db`;
  const now = Date.now() / 1000;
  const old = new SqliteBackend({ path: dbPath });
  const metric = (id: string, timestamp: number) => ({
    metricId: id.repeat(32),
    name: "m",
    value: 1,
    unit: "",
    kind: "gauge" as const,
    timestamp,
    traceId: null,
    attributes: {},
  });
  await old.write({
    traces: [],
    spans: [],
    events: [],
    metrics: [metric("a", now - 40 * 86400), metric("b", now - 86400)],
  });
  await old.close();
  await using manager = new TelemetryManager(
    TelemetryConfig.createSqlite(dbPath, { retentionDays: 30 }),
  );
  const rows = await manager.queryMetrics();
  assert.deepEqual(rows.map((m) => m.metricId), ["b".repeat(32)]);
  await manager.shutdown();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a record larger than the frame limit is dropped and counted; its neighbours are stored", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createMemory({ ringBufferBytes: 65536 }),
  );
  manager.recordMetric("before", 1);
  manager.recordMetric("big", 2, { attributes: { blob: "x".repeat(20_000) } });
  manager.recordMetric("huge", 3, { attributes: { blob: "x".repeat(40_000) } });
  manager.recordMetric("after", 4);
  await manager.flush();
  const names = (await manager.queryMetrics()).map((m) => m.name).sort();
  assert.deepEqual(names, ["after", "before", "big"]);
  const stats = manager.stats();
  assert.equal(stats.dropped, 1);
  assert.match(stats.lastExportError!, /^TOO_LARGE/);
});

Deno.test("a record that overflows its frame moves to the next one with its full trace id", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createMemory({ ringBufferBytes: 65536 }),
  );
  const maxPayload = RingBuffer.create(65536).maxPayloadBytes;
  const trace = manager.startTrace("t");
  const small = manager.startSpan("small", { traceId: trace.traceId });
  small.setAttribute("blob", "x".repeat(500));
  small.end();
  // Fits in a frame alone, not after "small": it moves to a new frame,
  // where the trace id it shares with "small" must be written in full.
  const big = manager.startSpan("big", { traceId: trace.traceId });
  big.setAttribute("blob", "y".repeat(maxPayload - 300));
  big.end();
  manager.endTrace(trace.traceId);
  await manager.flush();
  const spans = await manager.querySpans({ traceId: trace.traceId });
  assert.deepEqual(spans.map((s) => s.name).sort(), ["big", "small"]);
  assert.equal(manager.stats().dropped, 0);
});

Deno.test("a record whose attributes throw while encoding is stored with a marker; its neighbours too", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const traceId = manager.startTrace("t").traceId;
  manager.recordMetric("before", 1, { unit: "s", traceId, attributes: { a: 1 } });
  const nested = {
    get boom(): string {
      throw new Error("getter failed");
    },
  };
  manager.recordMetric("bad", 2, { unit: "s", traceId, attributes: { a: 2, nested } });
  manager.recordMetric("after", 3, { unit: "s", traceId, attributes: { a: 3 } });
  await manager.flush();
  const points = (await manager.queryMetrics()).sort((x, y) => x.value - y.value);
  assert.deepEqual(points.map((m) => [m.name, m.unit, m.traceId, m.attributes]), [
    ["before", "s", traceId, { a: 1 }],
    ["bad", "s", traceId, { a: 2, nested: "[Unreadable: getter failed]" }],
    ["after", "s", traceId, { a: 3 }],
  ]);
  const stats = manager.stats();
  assert.equal(stats.dropped, 0);
  assert.equal(stats.sanitizedValues, 1);
  assert.equal(stats.recorded, stats.exported + stats.dropped + stats.pending);
});

Deno.test("stats().sanitizedValues keeps its count after a huge record grew the frame buffer", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  // A non-finite attribute is stored as text: one sanitized value.
  manager.recordMetric("odd", 1, { attributes: { ratio: Infinity } });
  // Larger than 4 frames of 64 KiB: the scratch buffer grows, then shrinks after publishing.
  manager.recordMetric("huge", 2, { attributes: { blob: "x".repeat(300_000) } });
  await manager.flush();
  assert.equal((await manager.queryMetrics()).length, 2);
  assert.equal(manager.stats().sanitizedValues, 1);
});

Deno.test("a span after one dropped as too large keeps its trace id, name and attributes", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createMemory({ ringBufferBytes: 65536 }),
  );
  const trace = manager.startTrace("t");
  for (const [name, blob] of [["huge", "x".repeat(40_000)], ["after", "y"]] as const) {
    const span = manager.startSpan(name, { traceId: trace.traceId });
    span.setAttribute("blob", blob);
    span.end();
  }
  manager.endTrace(trace.traceId);
  await manager.flush();
  const spans = await manager.querySpans({ traceId: trace.traceId });
  assert.deepEqual(spans.map((s) => [s.name, s.attributes]), [["after", { blob: "y" }]]);
  assert.equal(manager.stats().dropped, 1);
});

/** Lines `<call> <records>` a pipelined_backend fixture applied, and `max <n>` on close. */
async function pipelineLog(logPath: string): Promise<{ applied: number[][]; maxInFlight: number }> {
  const lines = (await Deno.readTextFile(logPath)).trim().split("\n");
  const max = lines.find((l) => l.startsWith("max "));
  return {
    applied: lines.filter((l) => !l.startsWith("max ")).map((l) => l.split(" ").map(Number)),
    maxInFlight: max === undefined ? -1 : Number(max.slice(4)),
  };
}

/**
 * Records batch 1 (a trace's start + metrics 0–8) and batch 2 (metrics
 * 9–17, then the trace's end) with bufferSize 10, so both are in flight at
 * once.
 */
function twoBatchesAroundATrace(manager: TelemetryManager, badInFirst = false): string {
  const trace = manager.startTrace("run");
  for (let i = 0; i < 9; i++) {
    // NaN: a value the fixture refuses (BAD_RECORD), as SQLite does.
    manager.recordMetric("m", badInFirst && i === 4 ? NaN : i);
  }
  for (let i = 9; i < 18; i++) manager.recordMetric("m", i);
  manager.endTrace(trace.traceId);
  return trace.traceId;
}

Deno.test("a backend with writePipelineDepth gets writes in flight together, committed in order", async () => {
  const logPath = await Deno.makeTempFile();
  const manager = new TelemetryManager(
    withModule("pipelined_backend", { depth: 2, delayMs: 20, logPath }, {
      bufferSize: 10,
      exportInterval: 0,
    }),
  );
  const order: number[] = [];
  for (let i = 0; i < 25; i++) manager.recordMetric("a", i);
  const first = manager.flush().then(() => order.push(1));
  for (let i = 25; i < 95; i++) manager.recordMetric("a", i);
  const second = manager.flush().then(() => order.push(2));
  await first;
  assert.ok(manager.stats().exported >= 25);
  await second;
  assert.deepEqual(order, [1, 2]);
  const rows = await manager.runPlan(selectAll("metrics"));
  assert.deepEqual(
    rows.map((r) => r.value as number).sort((a, b) => a - b),
    Array.from({ length: 95 }, (_, i) => i),
  );
  const stats = manager.stats();
  assert.equal(stats.exported, 95);
  assert.equal(stats.exportErrors, 0);
  await manager.shutdown();
  const log = await pipelineLog(logPath);
  assert.equal(log.maxInFlight, 2, "the flusher never had two writes in flight");
  assert.deepEqual(log.applied.map(([call]) => call), log.applied.map((_, i) => i + 1));
  assert.equal(log.applied.reduce((sum, [, n]) => sum + n!, 0), 95, "each record written once");
  await Deno.remove(logPath);
});

Deno.test("a failed write in a pipeline is re-sent with every later one, in order: the last version wins", async () => {
  const logPath = await Deno.makeTempFile();
  const manager = new TelemetryManager(
    withModule("pipelined_backend", { depth: 2, delayMs: 30, failWrites: [1], logPath }, {
      bufferSize: 10,
      exportInterval: 0,
    }),
  );
  const traceId = twoBatchesAroundATrace(manager);
  await manager.flush();
  const [trace] = await manager.runPlan({ ...selectAll("traces"), limit: 10 });
  assert.equal(trace?.traceId, traceId);
  assert.notEqual(trace?.endTime, null, "the trace's start overwrote its end");
  assert.equal((await manager.runPlan(selectAll("metrics"))).length, 18);
  const stats = manager.stats();
  assert.equal(stats.exported, 20);
  assert.equal(stats.dropped, 0);
  assert.equal(stats.exportErrors, 1);
  assert.match(stats.lastExportError ?? "", /^CONNECTION: .*call 1/);
  await manager.shutdown();
  const log = await pipelineLog(logPath);
  // Call 2 (batch 2) succeeded while call 1 failed; then batch 1 and batch 2 again.
  assert.deepEqual(log.applied, [[2, 10], [3, 10], [4, 10]]);
  await Deno.remove(logPath);
});

Deno.test("a BAD_RECORD in a pipelined batch leaves out only that record, later batches re-sent in order", async () => {
  const logPath = await Deno.makeTempFile();
  const manager = new TelemetryManager(
    withModule("pipelined_backend", { depth: 2, delayMs: 30, logPath }, {
      bufferSize: 10,
      exportInterval: 0,
    }),
  );
  twoBatchesAroundATrace(manager, true);
  await manager.flush();
  const [trace] = await manager.runPlan(selectAll("traces"));
  assert.notEqual(trace?.endTime, null, "the trace's start overwrote its end");
  const values = (await manager.runPlan(selectAll("metrics"))).map((r) => r.value as number);
  assert.deepEqual(
    values.sort((a, b) => a - b),
    Array.from({ length: 18 }, (_, i) => i).filter((i) => i !== 4),
  );
  const stats = manager.stats();
  assert.equal(stats.exported, 19);
  assert.equal(stats.dropped, 1);
  assert.equal(stats.exportErrors, 1);
  assert.match(stats.lastExportError ?? "", /^BAD_RECORD: /);
  await manager.shutdown();
  const log = await pipelineLog(logPath);
  assert.deepEqual(log.applied, [[2, 10], [3, 9], [4, 10]]);
  await Deno.remove(logPath);
});

Deno.test("a worker that crashes with pipelined writes in flight is restarted and replays them", async () => {
  await assertCrashReplayed(3, 2);
});
