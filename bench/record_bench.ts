/**
 * Main-thread cost of recording, against the OpenTelemetry JS SDK.
 *
 * Each iteration records CHUNK items; divide the reported time by CHUNK for
 * the cost of one. Between iterations the event loop runs (Deno.bench awaits
 * each async iteration), so the OpenTelemetry BatchSpanProcessor can export
 * and does not drop at its 2048-span queue limit; a final check asserts that
 * nothing was dropped by either side. Each timed region ends after one
 * `await null`, so work either side defers to a microtask (our frame
 * publishing) is counted too; work deferred to timers or other threads (the
 * SDK's export to a discarding exporter, our worker) is not.
 */
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { SqliteBackend } from "../src/backends/sqlite/mod.ts";
import { TelemetryConfig } from "../src/config.ts";
import { newSpanId } from "../src/model/ids.ts";
import { nowSeconds } from "../src/model/clock.ts";
import type { SpanRecord } from "../src/model/types.ts";
import { TelemetryManager } from "../src/manager.ts";

const CHUNK = 500;

let otelExported = 0;
let otelStarted = 0;
const discard: SpanExporter = {
  export(spans: ReadableSpan[], done) {
    otelExported += spans.length;
    done({ code: 0 });
  },
  shutdown: () => Promise.resolve(),
};
const processor = new BatchSpanProcessor({ exporter: discard });
const provider = new TracerProvider({ spanProcessors: [processor] });
const tracer = provider.getTracer("bench");

const noopConfig = new TelemetryConfig({ enabled: true, backend: "noop" });
const ours = new TelemetryManager(noopConfig);
await ours.startBackgroundExport();
const trace = ours.startTrace("bench");
const traceId = trace.traceId;

// End to end into SQLite: spans recorded on this thread, stored by the worker.
const E2E = 10_000;
const dir = await Deno.makeTempDir();
const sqliteManager = new TelemetryManager(TelemetryConfig.createSqlite(`${dir}/e2e.db`));
await sqliteManager.startBackgroundExport();
const sqliteTrace = sqliteManager.startTrace("bench").traceId;
const direct = new SqliteBackend({ path: `${dir}/direct.db` });

let cleaned = false;

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

Deno.bench({
  name: "OpenTelemetry BatchSpanProcessor: span (start, 5 attributes, end) ×500",
  group: "span",
  baseline: true,
  async fn(b) {
    b.start();
    for (let i = 0; i < CHUNK; i++) {
      const span = tracer.startSpan("op");
      span.setAttribute("a", i);
      span.setAttribute("b", "x");
      span.setAttribute("c", true);
      span.setAttribute("d", 1.5);
      span.setAttribute("e", "node");
      span.end();
    }
    await null;
    b.end();
    otelStarted += CHUNK;
    await yieldToLoop();
  },
});

Deno.bench({
  name: "TelemetryManager: span (start, 5 attributes, end) ×500",
  group: "span",
  async fn(b) {
    b.start();
    for (let i = 0; i < CHUNK; i++) {
      const span = ours.startSpan("op", { traceId });
      span.setAttribute("a", i);
      span.setAttribute("b", "x");
      span.setAttribute("c", true);
      span.setAttribute("d", 1.5);
      span.setAttribute("e", "node");
      span.end();
    }
    await null;
    b.end();
    await yieldToLoop();
  },
});

// What no span recorder can avoid: a start and an end timestamp with
// sub-millisecond resolution. Shown so the span figures above can be read
// against it (two performance.now() calls were ~40% of our span cost).
let clockSink = 0;
Deno.bench({
  name: "floor: two performance.now() calls (a span's start and end) ×500",
  group: "clock floor",
  async fn(b) {
    b.start();
    for (let i = 0; i < CHUNK; i++) clockSink += performance.now() - performance.now();
    await null;
    b.end();
    await yieldToLoop();
  },
});

Deno.bench({
  name: "TelemetryManager: recordEvent with 2 attributes ×500",
  group: "event",
  async fn(b) {
    b.start();
    for (let i = 0; i < CHUNK; i++) {
      ours.recordEvent("node.finished", "done", { traceId, attributes: { i, ok: true } });
    }
    await null;
    b.end();
    await yieldToLoop();
  },
});

Deno.bench({
  name: "TelemetryManager: recordMetric ×500",
  group: "metric",
  async fn(b) {
    b.start();
    for (let i = 0; i < CHUNK; i++) ours.recordMetric("latency", i, { unit: "s", traceId });
    await null;
    b.end();
    await yieldToLoop();
  },
});

Deno.bench({
  name: "SqliteBackend.write() on this thread, batches of 1000 (no pipeline) ×10k spans",
  group: "sqlite end to end",
  baseline: true,
  n: 10,
  warmup: 2,
  async fn() {
    for (let b = 0; b < E2E; b += 1000) {
      const spans: SpanRecord[] = [];
      for (let i = 0; i < 1000; i++) {
        const start = nowSeconds();
        spans.push({
          spanId: newSpanId(),
          traceId: sqliteTrace,
          parentSpanId: null,
          name: "op",
          kind: "internal",
          startTime: start,
          endTime: nowSeconds(),
          status: "ok",
          attributes: { a: i, b: "x", c: true, d: 1.5, e: "node" },
          error: null,
          droppedEvents: 0,
        });
      }
      await direct.write({ traces: [], spans, events: [], metrics: [] });
    }
  },
});

Deno.bench({
  name: "TelemetryManager (SQLite): record ×10k spans, then flush()",
  group: "sqlite end to end",
  n: 10,
  warmup: 2,
  async fn() {
    for (let i = 0; i < E2E; i++) {
      const span = sqliteManager.startSpan("op", { traceId: sqliteTrace });
      span.setAttribute("a", i);
      span.setAttribute("b", "x");
      span.setAttribute("c", true);
      span.setAttribute("d", 1.5);
      span.setAttribute("e", "node");
      span.end();
    }
    await sqliteManager.flush();
  },
});

Deno.bench({
  name: "check: nothing dropped by either side",
  group: "check",
  async fn() {
    await processor.forceFlush();
    if (otelExported !== otelStarted) {
      throw new Error(
        `OpenTelemetry dropped ${otelStarted - otelExported} of ${otelStarted} spans`,
      );
    }
    await ours.flush();
    const stats = ours.stats();
    if (stats.dropped !== 0) throw new Error(`TelemetryManager dropped ${stats.dropped}`);
    if (sqliteManager.stats().dropped !== 0) throw new Error("TelemetryManager (SQLite) dropped");
    if (Number.isNaN(clockSink)) throw new Error("unreachable: keeps the clock loop alive");
  },
  n: 1,
  warmup: 0,
});

Deno.bench({
  name: "cleanup",
  group: "check",
  async fn() {
    if (cleaned) return;
    cleaned = true;
    await sqliteManager.shutdown();
    await ours.shutdown();
    await direct.close();
    await Deno.remove(dir, { recursive: true });
  },
  n: 1,
  warmup: 0,
});
