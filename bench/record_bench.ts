/**
 * Main-thread cost of recording, against the OpenTelemetry JS SDK.
 *
 * Each iteration records CHUNK items; divide the reported time by CHUNK for
 * the cost of one. Between iterations the event loop runs (Deno.bench awaits
 * each async iteration), so the OpenTelemetry BatchSpanProcessor can export
 * and does not drop at its 2048-span queue limit; a final check asserts that
 * nothing was dropped by either side.
 */
import { BasicTracerProvider, BatchSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { TelemetryConfig } from "../src/config.ts";
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
const processor = new BatchSpanProcessor(discard);
const provider = new BasicTracerProvider({ spanProcessors: [processor] });
const tracer = provider.getTracer("bench");

const manager = new TelemetryManager(TelemetryConfig.createMemory({ backend: "noop" }));
const noopConfig = new TelemetryConfig({ enabled: true, backend: "noop" });
const ours = new TelemetryManager(noopConfig);
await ours.startBackgroundExport();
const trace = ours.startTrace("bench");
const traceId = trace.traceId;
await manager.shutdown();

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
    b.end();
    await yieldToLoop();
  },
});

Deno.bench({
  name: "check: nothing dropped by either side",
  group: "check",
  async fn() {
    await processor.forceFlush();
    if (otelExported !== otelStarted) {
      throw new Error(`OpenTelemetry dropped ${otelStarted - otelExported} of ${otelStarted} spans`);
    }
    await ours.flush();
    const stats = ours.stats();
    if (stats.dropped !== 0) throw new Error(`TelemetryManager dropped ${stats.dropped}`);
  },
  n: 1,
  warmup: 0,
});
