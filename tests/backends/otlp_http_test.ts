import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  ROOT_CONTEXT,
  SeverityNumber,
  SpanKind as ApiSpanKind,
  SpanStatusCode,
  trace as apiTrace,
  ValueType,
} from "@opentelemetry/api";
import { AggregationTemporality, DataPointType } from "@opentelemetry/sdk-metrics";
import { JsonLogsSerializer, JsonTraceSerializer } from "@opentelemetry/otlp-transformer";
import {
  InMemoryLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
} from "@opentelemetry/sdk-logs";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  type Backend,
  BackendError,
  type Batch,
  type EventRecord,
  FanoutBackend,
  type MetricRecord,
  type SpanRecord,
  TelemetryConfig,
  TelemetryManager,
  type TraceRecord,
  VERSION,
  withLlmCall,
  withToolCall,
} from "../../mod.ts";
import { OtlpHttpBackend, type OtlpHttpOptions } from "../../src/backends/otlp/mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import type { SelectPlan } from "../../query/plan.ts";
import { MemoryBackend } from "../../src/backends/memory/mod.ts";
import { resolveOtlpConfig } from "../../src/backends/otlp/_config.ts";
import { parseRetryAfter } from "../../src/backends/otlp/_sender.ts";
import { hrTimeToNanos, toHrTime } from "../../src/backends/otlp/_hr_time.ts";
import {
  DATA_POINT_TYPE,
  SDK_TEMPORALITY,
  VALUE_TYPE_DOUBLE,
} from "../../src/backends/otlp/_metric_aggregator.ts";
import { API_SPAN_KIND } from "../../src/backends/otlp/_sdk_model.ts";
import { canonical, type Receiver, startReceiver } from "../_otlp_receiver.ts";

// ---------------------------------------------------------------- fixtures

const T0 = 1_700_000_000.25;
// 1/8192 s is exact in binary: 122070.3125 ns, so the sub-millisecond part is checkable.
const T_SUBMS = 1_700_000_000 + 1 / 8192;
const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const ROOT = "b7ad6b7169203331";
const LLM = "00f067aa0ba902b7";
const TOOL = "1111111111111111";

function traceRecord(): TraceRecord {
  return {
    traceId: TRACE_ID,
    name: "graph_run",
    startTime: T0,
    endTime: T0 + 2,
    status: "ok",
    attributes: { "graph.type": "Pipeline", str: "from the trace" },
    resource: { "service.name": "agent-svc", "service.version": "1.2.3" },
  };
}

function spanRecord(fields: Partial<SpanRecord> & { spanId: string }): SpanRecord {
  return {
    traceId: TRACE_ID,
    parentSpanId: ROOT,
    name: "span",
    kind: "internal",
    startTime: T0,
    endTime: T0 + 1,
    status: "ok",
    attributes: {},
    error: null,
    droppedEvents: 0,
    ...fields,
  };
}

function eventRecord(fields: Partial<EventRecord> & { eventId: string }): EventRecord {
  return {
    eventType: "custom",
    name: "",
    timestamp: T0 + 0.5,
    traceId: TRACE_ID,
    spanId: null,
    attributes: {},
    ...fields,
  };
}

function metricRecord(fields: Partial<MetricRecord> & { metricId: string }): MetricRecord {
  return {
    name: "m",
    value: 1,
    unit: "",
    kind: "gauge",
    timestamp: T0 + 1,
    traceId: null,
    attributes: {},
    ...fields,
  };
}

function fixtureBatch(): Batch {
  return {
    traces: [traceRecord()],
    spans: [
      spanRecord({
        spanId: ROOT,
        parentSpanId: null,
        name: "graph_run",
        kind: "graph_run",
        endTime: T0 + 2,
        attributes: {
          str: "s",
          int: 42,
          neg: -7,
          dbl: 0.5,
          bool: true,
          arr: [1, "a"],
          obj: { k: "v", n: 1 },
          nil: null,
        },
      }),
      spanRecord({
        spanId: LLM,
        name: "chat gpt-x",
        kind: "llm_call",
        startTime: T_SUBMS,
        status: "error",
        error: {
          type: "RateLimitError",
          message: "slow down",
          stack: "RateLimitError: slow down\n  at x",
        },
        attributes: { "llm.model": "gpt-x", "llm.prompt_tokens": 12, "llm.completion_tokens": 34 },
        droppedEvents: 2,
      }),
      spanRecord({
        spanId: TOOL,
        name: "search",
        kind: "tool_call",
        attributes: { "tool.name": "search" },
      }),
    ],
    events: [
      eventRecord({
        eventId: "e1".padEnd(32, "0"),
        eventType: "llm.request",
        name: "request sent",
        spanId: LLM,
        attributes: { prompt_chars: 100 },
      }),
      eventRecord({
        eventId: "e2".padEnd(32, "0"),
        eventType: "node.failed",
        name: "node x failed",
      }),
      eventRecord({ eventId: "e3".padEnd(32, "0"), traceId: null, name: "free" }),
    ],
    metrics: [
      metricRecord({
        metricId: "m1".padEnd(32, "0"),
        name: "cache_hit_rate",
        value: 0.85,
        unit: "ratio",
      }),
      metricRecord({
        metricId: "m2".padEnd(32, "0"),
        name: "node_execution_count",
        kind: "counter",
        attributes: { node: "a" },
      }),
      metricRecord({
        metricId: "m3".padEnd(32, "0"),
        name: "node_execution_count",
        kind: "counter",
        value: 2,
        timestamp: T0 + 1.5,
        attributes: { node: "a" },
      }),
      metricRecord({
        metricId: "m4".padEnd(32, "0"),
        name: "node_duration",
        kind: "histogram",
        unit: "s",
        value: 0.3,
      }),
      metricRecord({
        metricId: "m5".padEnd(32, "0"),
        name: "node_duration",
        kind: "histogram",
        unit: "s",
        value: 0.02,
      }),
    ],
  };
}

const FAST: OtlpHttpOptions = { initialBackoffMs: 20, maxBackoffMs: 50, maxRetryTimeMs: 2000 };

async function withReceiver(fn: (receiver: Receiver) => Promise<void>): Promise<void> {
  const receiver = startReceiver();
  try {
    await fn(receiver);
  } finally {
    await receiver.close();
  }
}

type Obj = Record<string, unknown>;
type KeyValue = { key: string; value: Obj };

function attrs(list: unknown): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const kv of (list ?? []) as KeyValue[]) out[kv.key] = kv.value;
  return out;
}

function only<T>(list: unknown): T {
  assert.ok(Array.isArray(list), `expected a list, got ${JSON.stringify(list)}`);
  assert.equal(list.length, 1, `expected one entry, got ${JSON.stringify(list)}`);
  return list[0] as T;
}

function bodyOf(receiver: Receiver, path: string): Obj {
  const matching = receiver.requests.filter((r) => r.path === path);
  assert.equal(matching.length, 1, `expected one request to ${path}`);
  return matching[0]!.body;
}

// ---------------------------------------------------------- field checks

function checkTraces(body: Obj): void {
  const resourceSpans = only<Obj>(body.resourceSpans);
  const resource = attrs((resourceSpans.resource as Obj).attributes);
  assert.deepEqual(resource["service.name"], { stringValue: "agent-svc" });
  assert.deepEqual(resource["service.version"], { stringValue: "1.2.3" });
  assert.deepEqual(resource["telemetry.sdk.name"], { stringValue: "@spark/telemetry" });
  const scopeSpans = only<Obj>(resourceSpans.scopeSpans);
  assert.deepEqual(scopeSpans.scope, { name: "@spark/telemetry", version: VERSION });
  const spans = scopeSpans.spans as Obj[];
  assert.equal(spans.length, 3);
  const [root, llm, tool] = spans as [Obj, Obj, Obj];

  assert.equal(root.traceId, TRACE_ID);
  assert.equal(root.spanId, ROOT);
  assert.equal(root.parentSpanId, undefined, "roots have an empty parentSpanId");
  assert.equal(root.kind, 1, "graph_run → SPAN_KIND_INTERNAL");
  assert.equal(root.startTimeUnixNano, "1700000000250000000");
  assert.equal(root.endTimeUnixNano, "1700000002250000000");
  assert.deepEqual(root.status, { code: 1 });
  const a = attrs(root.attributes);
  assert.deepEqual(a.str, { stringValue: "s" });
  assert.deepEqual(a.int, { intValue: "42" });
  assert.deepEqual(a.neg, { intValue: "-7" });
  assert.deepEqual(a.dbl, { doubleValue: 0.5 });
  assert.deepEqual(a.bool, { boolValue: true });
  assert.deepEqual(a.arr, { arrayValue: { values: [{ intValue: "1" }, { stringValue: "a" }] } });
  assert.deepEqual(a.obj, {
    kvlistValue: {
      values: [{ key: "k", value: { stringValue: "v" } }, { key: "n", value: { intValue: "1" } }],
    },
  });
  assert.deepEqual(a.nil, {});
  assert.deepEqual(a["spark.span.kind"], { stringValue: "graph_run" });
  assert.deepEqual(a["spark.trace.name"], { stringValue: "graph_run" });
  assert.deepEqual(a["graph.type"], { stringValue: "Pipeline" }, "trace attributes on the root");
  assert.deepEqual(a.str, { stringValue: "s" }, "the span's own attributes win");

  assert.equal(llm.parentSpanId, ROOT);
  assert.equal(llm.kind, 3, "llm_call → SPAN_KIND_CLIENT");
  assert.equal(llm.startTimeUnixNano, "1700000000000122070", "sub-millisecond part kept");
  assert.deepEqual(llm.status, { code: 2, message: "slow down" });
  assert.equal(llm.droppedEventsCount, 2);
  const l = attrs(llm.attributes);
  assert.deepEqual(l["gen_ai.request.model"], { stringValue: "gpt-x" });
  assert.deepEqual(l["gen_ai.usage.input_tokens"], { intValue: "12" });
  assert.deepEqual(l["gen_ai.usage.output_tokens"], { intValue: "34" });
  assert.deepEqual(l["gen_ai.operation.name"], { stringValue: "chat" });
  assert.deepEqual(l["llm.model"], { stringValue: "gpt-x" }, "originals are kept");
  assert.deepEqual(l["spark.span.kind"], { stringValue: "llm_call" });
  const events = llm.events as Obj[];
  assert.equal(events.length, 2);
  assert.equal(events[0]!.name, "request sent");
  assert.equal(events[0]!.timeUnixNano, "1700000000750000000");
  assert.deepEqual(attrs(events[0]!.attributes).prompt_chars, { intValue: "100" });
  assert.deepEqual(attrs(events[0]!.attributes)["event.type"], { stringValue: "llm.request" });
  assert.equal(events[1]!.name, "exception");
  assert.equal(events[1]!.timeUnixNano, llm.endTimeUnixNano);
  const e = attrs(events[1]!.attributes);
  assert.deepEqual(e["exception.type"], { stringValue: "RateLimitError" });
  assert.deepEqual(e["exception.message"], { stringValue: "slow down" });
  assert.deepEqual(e["exception.stacktrace"], { stringValue: "RateLimitError: slow down\n  at x" });

  assert.equal(tool.kind, 3, "tool_call → SPAN_KIND_CLIENT");
  const t = attrs(tool.attributes);
  assert.deepEqual(t["gen_ai.tool.name"], { stringValue: "search" });
  assert.deepEqual(t["gen_ai.operation.name"], { stringValue: "execute_tool" });
  for (const span of spans) assert.equal(span.flags, 0x101);
}

function checkLogs(body: Obj): void {
  const resourceLogs = body.resourceLogs as Obj[];
  const records = resourceLogs.flatMap((rl) =>
    (rl.scopeLogs as Obj[]).flatMap((sl) => {
      assert.deepEqual(sl.scope, { name: "@spark/telemetry", version: VERSION });
      return sl.logRecords as Obj[];
    })
  );
  assert.equal(records.length, 3);
  const [request, failed, free] = records as [Obj, Obj, Obj];
  assert.equal(request.traceId, TRACE_ID);
  assert.equal(request.spanId, LLM);
  assert.equal(request.eventName, "llm.request");
  assert.equal(request.timeUnixNano, "1700000000750000000");
  assert.equal(request.severityNumber, 9);
  assert.deepEqual(request.body, { stringValue: "request sent" });
  const a = attrs(request.attributes);
  assert.deepEqual(a.prompt_chars, { intValue: "100" });
  assert.deepEqual(a["event.name"], { stringValue: "llm.request" });
  assert.deepEqual(a["spark.event.id"], { stringValue: "e1".padEnd(32, "0") });
  assert.equal(failed.traceId, TRACE_ID);
  assert.equal(failed.spanId, undefined);
  assert.equal(failed.severityNumber, 17, "failures are ERROR");
  assert.equal(failed.severityText, "ERROR");
  assert.equal(free.traceId, undefined);
  // Logs of the known trace carry its resource.
  const resource = attrs(((resourceLogs[0] as Obj).resource as Obj).attributes);
  assert.deepEqual(resource["service.name"], { stringValue: "agent-svc" });
}

function metricsByName(body: Obj): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const rm of body.resourceMetrics as Obj[]) {
    for (const sm of rm.scopeMetrics as Obj[]) {
      assert.deepEqual(sm.scope, { name: "@spark/telemetry", version: VERSION });
      for (const m of sm.metrics as Obj[]) out[m.name as string] = m;
    }
  }
  return out;
}

function checkMetrics(body: Obj): void {
  const m = metricsByName(body);
  const gauge = m.cache_hit_rate!;
  assert.equal(gauge.unit, "ratio");
  const gp = only<Obj>((gauge.gauge as Obj).dataPoints);
  assert.equal(gp.asDouble, 0.85);
  assert.equal(gp.timeUnixNano, "1700000001250000000");

  const counter = m.node_execution_count!;
  const sum = counter.sum as Obj;
  assert.equal(sum.isMonotonic, true);
  assert.equal(sum.aggregationTemporality, 2, "cumulative by default");
  const sp = only<Obj>(sum.dataPoints);
  assert.equal(sp.asDouble, 3);
  assert.equal(sp.startTimeUnixNano, "1700000001250000000");
  assert.equal(sp.timeUnixNano, "1700000001750000000");
  assert.deepEqual(attrs(sp.attributes).node, { stringValue: "a" });

  const histogram = m.node_duration!;
  assert.equal(histogram.unit, "s");
  const hp = only<Obj>((histogram.histogram as Obj).dataPoints);
  assert.equal(hp.count, "2");
  assert.equal(hp.sum, 0.32);
  assert.equal(hp.min, 0.02);
  assert.equal(hp.max, 0.3);
  const bounds = hp.explicitBounds as number[];
  const counts = hp.bucketCounts as string[];
  assert.equal(counts.length, bounds.length + 1);
  assert.equal(counts[bounds.indexOf(0.025)], "1", "0.02 falls in (0.01, 0.025]");
  assert.equal(counts[bounds.indexOf(0.5)], "1", "0.3 falls in (0.25, 0.5]");
}

/** Sorts every attribute list by key (attribute order carries no meaning in OTLP). */
function sortAttributes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortAttributes);
  if (value === null || typeof value !== "object") return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === "attributes"
      ? (sortAttributes(v) as KeyValue[]).toSorted((x, y) => x.key.localeCompare(y.key))
      : sortAttributes(v);
  }
  return out;
}

/** The resource attributes we add, for building an equivalent SDK resource. */
function sdkResource(resource: Record<string, string>) {
  return resourceFromAttributes({
    ...resource,
    "telemetry.sdk.name": "@spark/telemetry",
    "telemetry.sdk.version": VERSION,
    "process.runtime.name": "deno",
    "process.runtime.version": Deno.version.deno,
  });
}

// ------------------------------------------------------------------ tests

for (const protocol of ["http/protobuf", "http/json"] as const) {
  Deno.test(`OtlpHttpBackend (${protocol}) sends spans, events and metrics the official definitions decode`, async () => {
    await withReceiver(async (receiver) => {
      await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url, protocol });
      await backend.write(fixtureBatch());
      const contentType = protocol === "http/json" ? "application/json" : "application/x-protobuf";
      assert.deepEqual(receiver.requests.map((r) => r.path).sort(), [
        "/v1/logs",
        "/v1/metrics",
        "/v1/traces",
      ]);
      for (const request of receiver.requests) {
        assert.equal(request.headers.get("content-type"), contentType);
        // Every field we wrote survived decoding: none was unknown to the definitions.
        if (request.json !== null) assert.deepEqual(request.body, request.json);
      }
      checkTraces(bodyOf(receiver, "/v1/traces"));
      checkLogs(bodyOf(receiver, "/v1/logs"));
      checkMetrics(bodyOf(receiver, "/v1/metrics"));
      assert.deepEqual(
        { ...backend.stats(), lastErrorTime: null },
        {
          exported: 11,
          dropped: 0,
          rejected: 0,
          retries: 0,
          queued: 0,
          lastError: null,
          lastErrorTime: null,
        },
      );
    });
  });
}

Deno.test("OtlpHttpBackend JSON and protobuf requests decode to the same messages", async () => {
  const bodies: Record<string, Obj>[] = [];
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    await withReceiver(async (receiver) => {
      await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url, protocol });
      await backend.write(fixtureBatch());
      bodies.push(Object.fromEntries(receiver.requests.map((r) => [r.path, r.body])));
    });
  }
  assert.deepEqual(bodies[0], bodies[1]);
});

Deno.test("OtlpHttpBackend encodes non-finite, large and negative numbers alike in JSON and protobuf", async () => {
  const odd = {
    nan: NaN,
    inf: Infinity,
    negInf: -Infinity,
    big: 2 ** 60,
    negBig: -(2 ** 60),
    huge: 1e300,
    negZero: -0,
    nested: [[1.5, null], { deep: [true] }],
  };
  const batch: Batch = {
    traces: [],
    spans: [spanRecord({ spanId: TOOL, attributes: odd })],
    events: [eventRecord({ eventId: "e1".padEnd(32, "0"), attributes: odd })],
    metrics: [
      metricRecord({ metricId: "m1".padEnd(32, "0"), value: NaN, attributes: odd }),
      metricRecord({ metricId: "m2".padEnd(32, "0"), name: "inf", value: -Infinity }),
    ],
  };
  const bodies: Record<string, Obj>[] = [];
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    await withReceiver(async (receiver) => {
      await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url, protocol });
      await backend.write(batch);
      for (const r of receiver.requests) if (r.json !== null) assert.deepEqual(r.body, r.json);
      bodies.push(Object.fromEntries(receiver.requests.map((r) => [r.path, r.body])));
    });
  }
  assert.deepEqual(bodies[0], bodies[1]);
  const span = only<Obj>(
    only<Obj>(only<Obj>(bodies[0]!["/v1/traces"]!.resourceSpans).scopeSpans).spans,
  );
  const a = attrs(span.attributes);
  assert.deepEqual(a.nan, { doubleValue: "NaN" });
  assert.deepEqual(a.negInf, { doubleValue: "-Infinity" });
  assert.deepEqual(a.big, { intValue: "1152921504606846976" });
  assert.deepEqual(a.negBig, { intValue: "-1152921504606846976" });
  assert.deepEqual(a.huge, { doubleValue: 1e300 });
});

Deno.test("OtlpHttpBackend JSON equals the official JsonTraceSerializer's for an equivalent SDK span", async () => {
  const resource = { "service.name": "agent-svc", "service.version": "1.2.3" };
  const error = {
    type: "RateLimitError",
    message: "slow down",
    stack: "RateLimitError: slow down",
  };
  const record = spanRecord({
    spanId: LLM,
    name: "chat gpt-x",
    kind: "llm_call",
    startTime: T_SUBMS,
    endTime: T0 + 1,
    status: "error",
    error,
    attributes: {
      "llm.model": "gpt-x",
      "llm.prompt_tokens": 12,
      ratio: 0.5,
      ok: true,
      tags: ["a", "b"],
    },
  });
  const event = eventRecord({
    eventId: "e1".padEnd(32, "0"),
    eventType: "llm.request",
    name: "request sent",
    spanId: LLM,
    attributes: { prompt_chars: 100 },
  });

  // Ours.
  let ours: Obj | null = null;
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    await backend.write({
      traces: [{ ...traceRecord(), resource }],
      spans: [record],
      events: [event],
      metrics: [],
    });
    ours = receiver.requests.find((r) => r.path === "/v1/traces")!.json;
  });

  // The official SDK's, for the same span built with the SDK's API.
  const exporter = new InMemorySpanExporter();
  const ids = [LLM];
  const provider = new TracerProvider({
    resource: sdkResource(resource),
    idGenerator: { generateTraceId: () => TRACE_ID, generateSpanId: () => ids.shift()! },
    spanProcessors: [new SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer("@spark/telemetry", VERSION);
  const parent = apiTrace.setSpanContext(ROOT_CONTEXT, {
    traceId: TRACE_ID,
    spanId: ROOT,
    traceFlags: 1,
  });
  const span = tracer.startSpan("chat gpt-x", {
    kind: ApiSpanKind.CLIENT,
    startTime: toHrTime(T_SUBMS),
    attributes: {
      "llm.model": "gpt-x",
      "llm.prompt_tokens": 12,
      ratio: 0.5,
      ok: true,
      tags: ["a", "b"],
      "gen_ai.request.model": "gpt-x",
      "gen_ai.usage.input_tokens": 12,
      "gen_ai.operation.name": "chat",
      "spark.span.kind": "llm_call",
    },
  }, parent);
  span.addEvent(
    "request sent",
    { prompt_chars: 100, "event.type": "llm.request" },
    toHrTime(T0 + 0.5),
  );
  span.addEvent("exception", {
    "exception.type": error.type,
    "exception.message": error.message,
    "exception.stacktrace": error.stack,
  }, toHrTime(T0 + 1));
  span.setStatus({ code: SpanStatusCode.ERROR, message: "slow down" });
  span.end(toHrTime(T0 + 1));
  const official = JSON.parse(
    new TextDecoder().decode(JsonTraceSerializer.serializeRequest(exporter.getFinishedSpans())!),
  );
  await provider.shutdown();

  // Normalisation: attribute order, and the official JSON's plain-number ints and omitted defaults.
  assert.deepEqual(sortAttributes(ours), sortAttributes(canonical(official)));
});

Deno.test("OtlpHttpBackend JSON equals the official JsonLogsSerializer's for an equivalent SDK log record", async () => {
  const resource = { "service.name": "agent-svc" };
  const event = eventRecord({
    eventId: "e1".padEnd(32, "0"),
    eventType: "node.failed",
    name: "node fetch failed",
    timestamp: T_SUBMS,
    spanId: LLM,
    attributes: { node_id: "fetch", error_type: "TimeoutError", attempt: 2 },
  });
  let ours: Obj | null = null;
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    await backend.write({
      traces: [{ ...traceRecord(), resource }],
      spans: [],
      events: [event],
      metrics: [],
    });
    ours = receiver.requests.find((r) => r.path === "/v1/logs")!.json;
  });

  const exporter = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: sdkResource(resource),
    processors: [new SimpleLogRecordProcessor({ exporter })],
  });
  provider.getLogger("@spark/telemetry", VERSION).emit({
    eventName: "node.failed",
    timestamp: toHrTime(T_SUBMS),
    observedTimestamp: toHrTime(T_SUBMS),
    severityNumber: SeverityNumber.ERROR,
    severityText: "ERROR",
    body: "node fetch failed",
    attributes: {
      node_id: "fetch",
      error_type: "TimeoutError",
      attempt: 2,
      "event.name": "node.failed",
      "spark.event.id": event.eventId,
    },
    context: apiTrace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: LLM,
      traceFlags: 1,
    }),
  });
  const official = JSON.parse(
    new TextDecoder().decode(
      JsonLogsSerializer.serializeRequest(exporter.getFinishedLogRecords())!,
    ),
  );
  await provider.shutdown();
  assert.deepEqual(sortAttributes(ours), sortAttributes(canonical(official)));
});

Deno.test("OtlpHttpBackend counters are cumulative across batches, and delta on request", async () => {
  const counter = (id: string, value: number, timestamp: number): MetricRecord =>
    metricRecord({
      metricId: id.padEnd(32, "0"),
      name: "calls",
      kind: "counter",
      value,
      timestamp,
    });
  const batches: Batch[] = [
    { traces: [], spans: [], events: [], metrics: [counter("a", 2, T0), counter("b", 3, T0 + 1)] },
    { traces: [], spans: [], events: [], metrics: [counter("c", 4, T0 + 2)] },
  ];
  for (const temporality of ["cumulative", "delta"] as const) {
    await withReceiver(async (receiver) => {
      await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url, temporality });
      for (const batch of batches) await backend.write(batch);
      const points = receiver.requests.map((r) =>
        only<Obj>((metricsByName(r.body).calls!.sum as Obj).dataPoints)
      );
      const sums = receiver.requests.map((r) => metricsByName(r.body).calls!.sum as Obj);
      if (temporality === "cumulative") {
        assert.deepEqual(points.map((p) => p.asDouble), [5, 9]);
        assert.deepEqual(points.map((p) => p.startTimeUnixNano), [
          "1700000000250000000",
          "1700000000250000000",
        ]);
        assert.deepEqual(sums.map((s) => s.aggregationTemporality), [2, 2]);
      } else {
        assert.deepEqual(points.map((p) => p.asDouble), [5, 4]);
        // A delta point starts where the series' previous point ended.
        assert.deepEqual(points.map((p) => p.startTimeUnixNano), [
          "1700000000250000000",
          "1700000001250000000",
        ]);
        assert.deepEqual(sums.map((s) => s.aggregationTemporality), [1, 1]);
      }
    });
  }
});

Deno.test("OtlpHttpBackend retries 503 after the collector's Retry-After, then delivers once", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(new Response("busy", { status: 503, headers: { "retry-after": "1" } }));
    await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    const batch = fixtureBatch();
    const started = Date.now();
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.ok(Date.now() - started >= 950, "waited for Retry-After: 1");
    assert.equal(receiver.requests.length, 2);
    const stats = backend.stats();
    assert.equal(stats.retries, 1);
    assert.equal(stats.exported, 3);
    assert.equal(stats.dropped, 0);
  });
});

Deno.test("OtlpHttpBackend gives up at once when Retry-After exceeds its budget, and waits it out before sending again", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(new Response("later", { status: 429, headers: { "retry-after": "30" } }));
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      maxRetryTimeMs: 200,
    });
    const batch = { ...fixtureBatch(), events: [], metrics: [] };
    const started = Date.now();
    await assert.rejects(backend.write(batch), /HTTP 429: later/);
    await assert.rejects(backend.write(batch), /asked to wait 30 s \(Retry-After\)/);
    assert.ok(Date.now() - started < 1000, "no waiting past the budget");
    assert.equal(
      receiver.requests.length,
      1,
      "the collector was not asked again before Retry-After",
    );
    assert.equal(backend.stats().dropped, 0);
  });
});

Deno.test("OtlpHttpBackend drops a batch the collector refuses with 400, counting it and keeping the message", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ code: 3, message: "span 00f067aa0ba902b7 has no name" }, { status: 400 }),
    );
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    const batch = fixtureBatch();
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.equal(receiver.requests.length, 1, "a 400 is not retried");
    const stats = backend.stats();
    assert.equal(stats.dropped, 3);
    assert.equal(stats.exported, 0);
    assert.match(stats.lastError!, /HTTP 400: span 00f067aa0ba902b7 has no name/);
    assert.ok(stats.lastErrorTime! > 0);
  });
});

Deno.test("OtlpHttpBackend reads at most 4 MiB of a response: a larger body is a final failure, counted", async () => {
  await withReceiver(async (receiver) => {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    // A 5 MiB body without content-length (streamed), then one that announces its length.
    const streamed = () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= 5 * 1024 * 1024) return controller.close();
            sent += chunk.length;
            controller.enqueue(chunk);
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    };
    receiver.replies.push(streamed, () => Response.json({ pad: " ".repeat(5 * 1024 * 1024) }));
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    const batch = fixtureBatch();
    await backend.write({ ...batch, events: [], metrics: [] });
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.equal(receiver.requests.length, 2, "an oversized response is not retried");
    const stats = backend.stats();
    assert.equal(stats.exported, 0);
    assert.equal(stats.dropped, 6);
    assert.match(stats.lastError!, /the response body exceeds 4194304 bytes/);
  });
});

Deno.test("OtlpHttpBackend reads the message of a protobuf google.rpc.Status error body", async () => {
  const Status = protobuf.parse(
    'syntax = "proto3"; package google.rpc; message Status { int32 code = 1; string message = 2; }',
  ).root.lookupType("google.rpc.Status");
  await withReceiver(async (receiver) => {
    const bytes = Status.encode(Status.create({ code: 16, message: "missing api key" })).finish();
    receiver.replies.push(
      new Response(bytes as BodyInit, {
        status: 401,
        headers: { "content-type": "application/x-protobuf" },
      }),
    );
    await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    await backend.write({ traces: [], spans: [], events: [], metrics: fixtureBatch().metrics });
    assert.match(backend.stats().lastError!, /HTTP 401: missing api key/);
    assert.equal(backend.stats().dropped, 5);
  });
});

Deno.test("OtlpHttpBackend counts records refused in partial_success", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ partialSuccess: { rejectedSpans: "1", errorMessage: "span too old" } }),
    );
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    await backend.write({ ...fixtureBatch(), events: [], metrics: [] });
    const stats = backend.stats();
    assert.equal(stats.rejected, 1);
    assert.equal(stats.exported, 2);
    assert.match(stats.lastError!, /refused 1 of 3 spans: span too old/);
  });
});

Deno.test("OtlpHttpBackend times out a hanging collector, throws for the worker, and a replay delivers once", async () => {
  await withReceiver(async (receiver) => {
    // Answers long after the client's 100 ms timeout (but soon enough for the server to shut down).
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 600));
    receiver.replies.push(hang, hang, hang, hang, hang, hang, hang, hang);
    await using backend = new OtlpHttpBackend({
      endpoint: receiver.url,
      timeoutMs: 100,
      maxRetryTimeMs: 250,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const batch = { ...fixtureBatch(), events: [], metrics: [] };
    await assert.rejects(backend.write(batch), (error: BackendError) => {
      assert.equal(error.code, "CONNECTION");
      assert.match(error.message, /no response within 100 ms/);
      return true;
    });
    const attempts = receiver.requests.length;
    assert.ok(attempts >= 2, `retried after a timeout (${attempts} attempts)`);
    assert.equal(backend.stats().retries, attempts - 1);
    assert.equal(backend.stats().dropped, 0, "nothing dropped: the worker keeps the batch");
    receiver.replies.length = 0;
    await backend.write(batch);
    assert.equal(receiver.requests.length, attempts + 1);
    assert.equal(backend.stats().exported, 3);
  });
});

Deno.test("OtlpHttpBackend treats connection refused as retriable and throws CONNECTION", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using backend = new OtlpHttpBackend({
    endpoint: `http://127.0.0.1:${port}`,
    maxRetryTimeMs: 100,
    initialBackoffMs: 10,
    maxBackoffMs: 20,
  });
  await assert.rejects(backend.write(fixtureBatch()), (error: BackendError) => {
    assert.equal(error.code, "CONNECTION");
    assert.match(error.message, /network error/);
    return true;
  });
  const stats = backend.stats();
  assert.ok(stats.retries >= 1);
  assert.equal(stats.dropped, 0);
  assert.match(stats.lastError!, /network error/);
});

Deno.test("OtlpHttpBackend resends only the signals that failed when the worker replays a batch", async () => {
  await withReceiver(async (receiver) => {
    const unavailable = () => new Response("down", { status: 503 });
    // Logs fail for every attempt of the first write; traces and metrics succeed.
    const realReplies = receiver.replies;
    let logsDown = true;
    realReplies.push(
      ...Array.from(
        { length: 50 },
        () => (request: Request) =>
          new URL(request.url).pathname === "/v1/logs" && logsDown
            ? unavailable()
            : Response.json({}),
      ),
    );
    await using backend = new OtlpHttpBackend({
      endpoint: receiver.url,
      maxRetryTimeMs: 60,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const batch = fixtureBatch();
    await assert.rejects(backend.write(batch), /Cannot export logs/);
    logsDown = false;
    await backend.write(batch);
    const count = (path: string) => receiver.requests.filter((r) => r.path === path).length;
    assert.equal(count("/v1/traces"), 1, "spans were not sent twice");
    assert.equal(count("/v1/metrics"), 1, "metrics were not sent twice");
    assert.ok(count("/v1/logs") >= 2);
    assert.equal(backend.stats().exported, 11);
  });
});

Deno.test("OtlpHttpBackend gzips request bodies when compression is gzip", async () => {
  await withReceiver(async (receiver) => {
    await using plain = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    await plain.write({ ...fixtureBatch(), events: [], metrics: [] });
    await using zipped = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
      compression: "gzip",
    });
    await zipped.write({ ...fixtureBatch(), events: [], metrics: [] });
    const [a, b] = receiver.requests as [typeof receiver.requests[0], typeof receiver.requests[0]];
    assert.equal(a.headers.get("content-encoding"), null);
    assert.equal(b.headers.get("content-encoding"), "gzip");
    assert.ok(b.rawBytes < a.rawBytes, `gzip body ${b.rawBytes} < plain ${a.rawBytes}`);
    assert.deepEqual(b.body, a.body);
  });
});

Deno.test("OtlpHttpBackend sends custom headers and drops spans with ids OTLP cannot carry", async () => {
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      headers: { authorization: "Bearer t0ken" },
    });
    const bad = spanRecord({ spanId: "not-hex", name: "bad" });
    await backend.write({
      traces: [],
      spans: [bad, spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    });
    assert.equal(receiver.requests[0]!.headers.get("authorization"), "Bearer t0ken");
    assert.match(receiver.requests[0]!.headers.get("user-agent")!, /^spark-telemetry\//);
    const spans = only<Obj>(only<Obj>(receiver.requests[0]!.body.resourceSpans).scopeSpans)
      .spans as Obj[];
    assert.equal(spans.length, 1);
    assert.equal(backend.stats().dropped, 1);
    assert.match(backend.stats().lastError!, /not W3C ids/);
  });
});

Deno.test("OtlpHttpBackend attaches events recorded before their span ended as span events", async () => {
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    const early = eventRecord({
      eventId: "e9".padEnd(32, "0"),
      name: "tool started",
      spanId: TOOL,
    });
    await backend.write({ traces: [], spans: [], events: [early], metrics: [] });
    await backend.write({
      traces: [],
      spans: [spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    });
    const traces = receiver.requests.find((r) => r.path === "/v1/traces")!;
    const span = only<Obj>(only<Obj>(only<Obj>(traces.body.resourceSpans).scopeSpans).spans);
    assert.deepEqual((span.events as Obj[]).map((e) => e.name), ["tool started"]);
  });
});

Deno.test("OtlpHttpBackend.query() fails with EXPORT_ONLY and a clear message", async () => {
  await using backend = new OtlpHttpBackend();
  await assert.rejects(
    backend.query({
      type: "select",
      entity: "spans",
      where: null,
      orderBy: [],
      limit: 1,
      offset: 0,
    }),
    (error: BackendError) => {
      assert.equal(error.code, "EXPORT_ONLY");
      assert.match(error.message, /^Cannot query: the otlp_http backend only exports/);
      return true;
    },
  );
  assert.equal(await backend.applyRetention(T0), 0);
  await backend.close();
  await assert.rejects(backend.write(fixtureBatch()), (e: BackendError) => e.code === "CLOSED");
});

// ------------------------------------------------------------ configuration

Deno.test("resolveOtlpConfig() honours OTEL_EXPORTER_OTLP_* variables, and explicit settings win", () => {
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318/",
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "https://logs.example/custom/path",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=s%20ecret, x-team=agents",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "from-env",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod",
  };
  const fromEnv = resolveOtlpConfig({}, (name) => env[name]);
  assert.equal(fromEnv.targets.traces.url, "https://collector.example:4318/v1/traces");
  assert.equal(fromEnv.targets.logs.url, "https://logs.example/custom/path");
  assert.equal(fromEnv.targets.metrics.url, "https://collector.example:4318/v1/metrics");
  assert.deepEqual(fromEnv.targets.traces.headers, { "api-key": "s ecret", "x-team": "agents" });
  assert.equal(fromEnv.targets.traces.timeoutMs, 2500);
  assert.equal(fromEnv.targets.traces.compression, "gzip");
  assert.equal(fromEnv.targets.traces.protocol, "http/json");
  assert.equal(fromEnv.serviceName, "from-env");
  assert.deepEqual(fromEnv.resource, { "deployment.environment": "prod" });

  const explicit = resolveOtlpConfig({
    endpoint: "http://127.0.0.1:4318",
    metricsEndpoint: "http://metrics.local/ingest",
    headers: { "api-key": "explicit" },
    timeoutMs: 100,
    compression: "none",
    protocol: "http/protobuf",
    serviceName: "explicit-svc",
  }, (name) => env[name]);
  assert.equal(explicit.targets.traces.url, "http://127.0.0.1:4318/v1/traces");
  assert.equal(
    explicit.targets.logs.url,
    "http://127.0.0.1:4318/v1/logs",
    "explicit base beats env per-signal",
  );
  assert.equal(explicit.targets.metrics.url, "http://metrics.local/ingest");
  assert.equal(explicit.targets.traces.headers["api-key"], "explicit");
  assert.equal(explicit.targets.traces.headers["x-team"], "agents");
  assert.equal(explicit.targets.traces.timeoutMs, 100);
  assert.equal(explicit.targets.traces.compression, "none");
  assert.equal(explicit.targets.traces.protocol, "http/protobuf");
  assert.equal(explicit.serviceName, "explicit-svc");

  const defaults = resolveOtlpConfig({}, () => undefined);
  assert.equal(defaults.targets.traces.url, "http://localhost:4318/v1/traces");
  assert.equal(defaults.targets.traces.protocol, "http/protobuf");
  assert.equal(defaults.targets.traces.compression, "none");
  assert.equal(defaults.targets.traces.timeoutMs, 10_000);
});

Deno.test("OtlpHttpBackend exports only the signals asked for (e.g. traces for Jaeger)", async () => {
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      signals: ["traces"],
    });
    await backend.write(fixtureBatch());
    assert.deepEqual(receiver.requests.map((r) => r.path), ["/v1/traces"]);
    assert.equal(backend.stats().exported, 3);
    assert.equal(backend.stats().dropped, 0);
  });
  const env: Record<string, string> = { OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" };
  assert.deepEqual([...resolveOtlpConfig({}, (name) => env[name]).signals], ["traces"]);
});

Deno.test("OtlpHttpBackend reads the real environment for its defaults", () => {
  Deno.env.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://10.0.0.1:4318/v1/traces");
  try {
    const backend = new OtlpHttpBackend();
    assert.equal(backend.endpoints.traces, "http://10.0.0.1:4318/v1/traces");
  } finally {
    Deno.env.delete("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  }
});

Deno.test("OtlpHttpBackend rejects bad settings with BAD_CONFIG naming them", () => {
  const bad = (options: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => new OtlpHttpBackend(options as OtlpHttpOptions), (error: BackendError) => {
      assert.equal(error.code, "BAD_CONFIG");
      assert.match(error.message, pattern);
      return true;
    });
  bad({ protocol: "grpc" }, /does not speak.*http\/protobuf/);
  bad({ endpoint: "localhost:4318" }, /endpoint must be an (absolute )?http\(s\) URL/);
  bad({ compression: "br" }, /compression must be "gzip" or "none"/);
  bad({ timeoutMs: 0 }, /timeoutMs must be a number >= 1/);
  bad({ endpont: "http://x" }, /unknown option "endpont"/);
});

Deno.test("toHrTime() keeps the sub-millisecond part of float seconds", () => {
  assert.deepEqual(toHrTime(T0), [1_700_000_000, 250_000_000]);
  assert.equal(hrTimeToNanos(toHrTime(T_SUBMS)), "1700000000000122070");
  assert.equal(hrTimeToNanos(toHrTime(1_700_000_000.999_999_999_9)), "1700000001000000000");
  assert.equal(hrTimeToNanos(toHrTime(0)), "0");
});

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter(null, now), null);
});

// ------------------------------------------------------------------ fan-out

/** A tiny store fixture that records what it was given. */
class FixtureStore implements Backend {
  readonly name = "fixture";
  readonly spans = new Map<string, SpanRecord>();
  writes = 0;
  failNext = false;
  closed = false;
  write(batch: Batch): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new BackendError("WRITE_FAILED", "Cannot write: disk full"));
    }
    this.writes++;
    for (const span of batch.spans) this.spans.set(span.spanId, span);
    return Promise.resolve();
  }
  query(): Promise<never[]> {
    return Promise.resolve([]);
  }
  applyRetention(): Promise<number> {
    return Promise.resolve(7);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const SELECT_SPANS: SelectPlan = {
  type: "select",
  entity: "spans",
  where: null,
  orderBy: [],
  limit: 100,
  offset: 0,
};

async function waitFor(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

Deno.test("FanoutBackend keeps storing while the exporter fails, then exports everything once", async () => {
  await withReceiver(async (receiver) => {
    let down = true;
    receiver.replies.push(
      ...Array.from(
        { length: 200 },
        () => () => down ? new Response("down", { status: 503 }) : Response.json({}),
      ),
    );
    const store = new MemoryBackend();
    const exporter = new OtlpHttpBackend({
      endpoint: receiver.url,
      maxRetryTimeMs: 30,
      initialBackoffMs: 5,
      maxBackoffMs: 10,
    });
    await using backend = new FanoutBackend(store, exporter, {
      retryDelayMs: 10,
      maxRetryDelayMs: 20,
    });
    const ids = ["a", "b", "c"].map((c) => c.repeat(16));
    for (const spanId of ids) {
      const started = Date.now();
      await backend.write({ traces: [], spans: [spanRecord({ spanId })], events: [], metrics: [] });
      assert.ok(Date.now() - started < 25, "a failing exporter does not slow the store write");
    }
    const stored = await backend.query(SELECT_SPANS);
    assert.deepEqual(stored.map((row) => row.spanId).sort(), ids, "queries see the store");
    await waitFor(() => backend.stats().retries > 0);
    assert.equal(backend.stats().queued, 3);
    assert.match(backend.stats().lastError!, /HTTP 503/);
    down = false;
    await waitFor(() => backend.stats().queued === 0);
    const exported = receiver.requests
      .filter((r) => r.headers && r.path === "/v1/traces")
      .slice(-3)
      .map((r) => (only<Obj>(only<Obj>(only<Obj>(r.body.resourceSpans).scopeSpans).spans)).spanId);
    assert.deepEqual(exported, ids, "exported in order");
    assert.equal(backend.stats().exported, 3);
    assert.equal(backend.stats().dropped, 0);
    assert.equal(await backend.applyRetention(T0 + 10), 3, "retention goes to the store");
  });
});

Deno.test("FanoutBackend drops the oldest queued batches beyond maxQueueRecords and counts them", async () => {
  const store = new FixtureStore();
  const exporter = new OtlpHttpBackend({ endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 });
  const backend = new FanoutBackend(store, exporter, {
    maxQueueRecords: 2,
    retryDelayMs: 1000,
    closeTimeoutMs: 0,
  });
  for (const c of ["a", "b", "c", "d"]) {
    await backend.write({
      traces: [],
      spans: [spanRecord({ spanId: c.repeat(16) })],
      events: [],
      metrics: [],
    });
  }
  assert.equal(store.spans.size, 4, "the store has everything");
  const stats = backend.stats();
  assert.equal(stats.queued, 2);
  assert.equal(stats.dropped, 2);
  assert.match(stats.lastError ?? "", /export queue is full|network error/);
  await backend.close();
  assert.equal(backend.stats().dropped, 4, "records still queued at close are counted as dropped");
  assert.ok(store.closed);
});

Deno.test("FanoutBackend.close() waits closeTimeoutMs for a hanging collector, then counts what is left", async () => {
  await withReceiver(async (receiver) => {
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 1500));
    receiver.replies.push(hang);
    const store = new MemoryBackend();
    const exporter = new OtlpHttpBackend({ endpoint: receiver.url, timeoutMs: 10_000 });
    const backend = new FanoutBackend(store, exporter, { closeTimeoutMs: 100 });
    await backend.write({
      traces: [],
      spans: [spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    });
    await waitFor(() => receiver.requests.length === 1);
    const started = Date.now();
    await backend.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    assert.equal(backend.stats().dropped, 1);
    assert.equal(backend.stats().queued, 0);
    assert.match(backend.stats().lastError!, /closed before the exporter caught up/);
    await assert.rejects(backend.write(fixtureBatch()), (e: BackendError) => e.code === "CLOSED");
  });
});

Deno.test("FanoutBackend queues nothing when the store write fails", async () => {
  await withReceiver(async (receiver) => {
    const store = new FixtureStore();
    const exporter = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    await using backend = new FanoutBackend(store, exporter);
    store.failNext = true;
    const batch: Batch = {
      traces: [],
      spans: [spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    };
    await assert.rejects(backend.write(batch), /disk full/);
    assert.equal(backend.stats().queued, 0);
    await backend.write(batch);
    await waitFor(() => backend.stats().exported === 1);
    assert.equal(receiver.requests.length, 1, "exported once, after the store took it");
  });
});

Deno.test("openBackend() opens otlp_http, and a store with an export section as a fan-out", async () => {
  const otlp = await openBackend({
    backend: "otlp_http",
    backendConfig: { endpoint: "http://127.0.0.1:4318" },
  });
  assert.ok(otlp instanceof OtlpHttpBackend);
  await otlp.close();
  await assert.rejects(
    openBackend({ backend: "otlp_http", backendConfig: { export: { otlp: {} } } }),
    (error: BackendError) => error.code === "BAD_CONFIG" && /already exports/.test(error.message),
  );
  await assert.rejects(
    openBackend({ backend: "noop", backendConfig: { export: { otlp: { protocol: "grpc" } } } }),
    (error: BackendError) => error.code === "BAD_CONFIG" && /grpc/.test(error.message),
  );
  await assert.rejects(
    openBackend({ backend: "noop", backendConfig: { export: { otlp: {}, maxQueue: 3 } } }),
    (error: BackendError) =>
      error.code === "BAD_CONFIG" && /unknown export option "maxQueue"/.test(error.message),
  );
});

Deno.test("openBackend() with an export section stores in SQLite and exports at once", async () => {
  await withReceiver(async (receiver) => {
    const backend = await openBackend({
      backend: "sqlite",
      backendConfig: { dbPath: ":memory:", export: { otlp: { ...FAST, endpoint: receiver.url } } },
    });
    try {
      assert.ok(backend instanceof FanoutBackend);
      assert.equal(backend.name, "sqlite+otlp_http");
      await backend.write(fixtureBatch());
      assert.equal((await backend.query(SELECT_SPANS)).length, 3);
      await waitFor(() => backend.stats!().exported === 11);
      checkTraces(bodyOf(receiver, "/v1/traces"));
    } finally {
      await backend.close();
    }
  });
});

Deno.test("TelemetryManager with a memory store and an OTLP exporter: queries answer locally, the collector gets the spans", async () => {
  await withReceiver(async (receiver) => {
    await using manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        resourceAttributes: { "service.name": "e2e" },
        backendConfig: {
          export: { otlp: { ...FAST, endpoint: receiver.url, protocol: "http/json" } },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    await manager.withSpan("fetch", {
      traceId: trace.traceId,
      kind: "tool_call",
      attributes: { "tool.name": "web" },
    }, () => Promise.resolve());
    manager.endTrace(trace.traceId);
    await manager.flush();
    const spans = await manager.querySpans({ traceId: trace.traceId });
    assert.equal(spans.length, 1);
    await waitFor(() => receiver.requests.some((r) => r.path === "/v1/traces"));
    const body = receiver.requests.find((r) => r.path === "/v1/traces")!.body;
    const resourceSpans = only<Obj>(body.resourceSpans);
    assert.deepEqual(attrs((resourceSpans.resource as Obj).attributes)["service.name"], {
      stringValue: "e2e",
    });
    const span = only<Obj>(only<Obj>(resourceSpans.scopeSpans).spans);
    assert.equal(span.spanId, spans[0]!.spanId);
    assert.equal(span.traceId, trace.traceId);
    assert.equal(span.kind, 3);
    assert.deepEqual(attrs(span.attributes)["gen_ai.tool.name"], { stringValue: "web" });
  });
});

Deno.test("TelemetryManager.stats().export shows what the collector refused, with its message", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ code: 3, message: "quota exceeded for tenant" }, { status: 400 }),
    );
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        backendConfig: {
          ...FAST,
          endpoint: receiver.url,
          protocol: "http/json",
          signals: ["traces"],
        },
      }),
    );
    assert.equal(manager.stats().export, null, "nothing reported before the first batch");
    const trace = manager.startTrace("graph_run");
    await manager.withSpan("a", { traceId: trace.traceId }, () => {});
    await manager.withSpan("b", { traceId: trace.traceId }, () => {});
    manager.endTrace(trace.traceId);
    await manager.flush();
    const stats = manager.stats();
    assert.equal(stats.export?.dropped, 2, "both spans refused by the collector");
    assert.equal(stats.export?.exported, 0);
    assert.match(stats.export?.lastError ?? "", /HTTP 400: quota exceeded for tenant/);
  });
});

Deno.test("withLlmCall() and withToolCall() spans reach the collector with GenAI attributes, events and metrics", async () => {
  await withReceiver(async (receiver) => {
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        backendConfig: { ...FAST, endpoint: receiver.url },
      }),
    );
    await manager.withTrace("agent", {}, async () => {
      await withLlmCall(manager, { model: "tiny-1", provider: "local" }, (call) => {
        call.setUsage({ promptTokens: 12, completionTokens: 30, finishReason: "stop" });
        return Promise.resolve("hello");
      });
      await withToolCall(manager, { name: "calculator" }, () => Promise.resolve(4));
    });
    await manager.flush();
    const spans = receiver.requests.filter((r) => r.path === "/v1/traces" && r.status === 200)
      .flatMap((r) =>
        (r.body.resourceSpans as Obj[]).flatMap((rs) =>
          (rs.scopeSpans as Obj[]).flatMap((ss) => ss.spans as Obj[])
        )
      );
    const llm = spans.find((s) =>
      attrs(s.attributes)["spark.span.kind"]?.stringValue === "llm_call"
    )!;
    const l = attrs(llm.attributes);
    assert.equal(llm.kind, 3);
    assert.deepEqual(l["gen_ai.request.model"], { stringValue: "tiny-1" });
    assert.deepEqual(l["gen_ai.provider.name"], { stringValue: "local" });
    assert.deepEqual(l["gen_ai.operation.name"], { stringValue: "chat" });
    assert.deepEqual(l["gen_ai.usage.input_tokens"], { intValue: "12" });
    assert.deepEqual(l["gen_ai.usage.output_tokens"], { intValue: "30" });
    assert.deepEqual(l["gen_ai.response.finish_reasons"], {
      arrayValue: { values: [{ stringValue: "stop" }] },
    });
    const eventNames = (llm.events as Obj[] | undefined ?? []).map((e) => e.name);
    assert.ok(eventNames.length >= 1, "llm.request / llm.response became span events");
    const tool = spans.find((s) =>
      attrs(s.attributes)["spark.span.kind"]?.stringValue === "tool_call"
    )!;
    assert.deepEqual(attrs(tool.attributes)["gen_ai.tool.name"], { stringValue: "calculator" });
    assert.deepEqual(attrs(tool.attributes)["gen_ai.operation.name"], {
      stringValue: "execute_tool",
    });
    const logs = receiver.requests.filter((r) => r.path === "/v1/logs" && r.status === 200)
      .flatMap((r) =>
        (r.body.resourceLogs as Obj[]).flatMap((rl) =>
          (rl.scopeLogs as Obj[]).flatMap((sl) => sl.logRecords as Obj[])
        )
      );
    const response = logs.find((log) => log.eventName === "llm.response")!;
    assert.equal(response.spanId, llm.spanId);
    assert.equal(response.traceId, llm.traceId);
    const metricNames = receiver.requests.filter((r) => r.path === "/v1/metrics")
      .flatMap((r) => Object.keys(metricsByName(r.body)));
    assert.ok(metricNames.includes("llm_prompt_tokens"), metricNames.join(", "));
  });
});

Deno.test("TelemetryManager exporting to a collector that is down for a while loses and repeats nothing", async () => {
  await withReceiver(async (receiver) => {
    const downUntil = Date.now() + 1200;
    receiver.replies.push(
      ...Array.from(
        { length: 500 },
        () => () =>
          Date.now() < downUntil ? new Response("restarting", { status: 503 }) : Response.json({}),
      ),
    );
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        bufferSize: 50,
        backendConfig: {
          endpoint: receiver.url,
          maxRetryTimeMs: 100,
          initialBackoffMs: 10,
          maxBackoffMs: 40,
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 200; i++) {
      await manager.withSpan(`node${i}`, { traceId: trace.traceId }, () => Promise.resolve());
    }
    manager.endTrace(trace.traceId);
    await manager.flush();
    assert.ok(Date.now() >= downUntil, "the flush waited for the collector");
    assert.ok(receiver.requests.some((r) => r.status === 503), "the collector was down");
    // Requests answered 503 reached the receiver too: count spans of accepted requests only.
    const accepted = receiver.requests.filter((r) => r.path === "/v1/traces" && r.status === 200);
    const spanIds = accepted.flatMap((r) =>
      only<Obj>(only<Obj>(r.body.resourceSpans).scopeSpans).spans as Obj[]
    ).map((span) => span.spanId);
    assert.equal(spanIds.length, 200, "every span arrived");
    assert.equal(new Set(spanIds).size, 200, "none arrived twice");
    await assert.rejects(manager.querySpans({ traceId: trace.traceId }), (error: Error) => {
      assert.equal((error as { code?: string }).code, "EXPORT_ONLY");
      assert.match(error.message, /only exports/);
      return true;
    });
  });
});

Deno.test("the SDK enum values our model hands the official serializers match the SDK's", () => {
  assert.deepEqual(DATA_POINT_TYPE, {
    HISTOGRAM: DataPointType.HISTOGRAM,
    GAUGE: DataPointType.GAUGE,
    SUM: DataPointType.SUM,
  });
  assert.deepEqual(SDK_TEMPORALITY, {
    DELTA: AggregationTemporality.DELTA,
    CUMULATIVE: AggregationTemporality.CUMULATIVE,
  });
  assert.equal(VALUE_TYPE_DOUBLE, ValueType.DOUBLE);
  assert.deepEqual(API_SPAN_KIND, {
    INTERNAL: ApiSpanKind.INTERNAL,
    SERVER: ApiSpanKind.SERVER,
    CLIENT: ApiSpanKind.CLIENT,
  });
});

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});

Deno.test("TelemetryManager.stats().export is current without another write, and after shutdown", async () => {
  await withReceiver(async (receiver) => {
    // The collector answers the first request late: when the store write
    // returns, nothing has been exported yet.
    receiver.replies.push(() =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 300))
    );
    const manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        backendConfig: {
          export: { otlp: { ...FAST, endpoint: receiver.url, signals: ["traces"] } },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 62; i++) manager.startSpan(`s${i}`, { traceId: trace.traceId }).end();
    await manager.flush();
    assert.equal(manager.stats().export?.queued, 62);
    // No further write: before, the counters stayed at exported 0 / queued 62 forever.
    await waitFor(() => manager.stats().export?.exported === 62, 5000);
    assert.equal(manager.stats().export?.queued, 0);
    await manager.shutdown();
    const after = manager.stats().export;
    assert.equal(after?.exported, 62);
    assert.equal(after?.queued, 0);
    assert.equal(after?.dropped, 0);
  });
});

Deno.test("TelemetryManager.stats().export counts as dropped what the collector never got by shutdown", async () => {
  await withReceiver(async (receiver) => {
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 3000));
    receiver.replies.push(hang, hang, hang);
    const manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        backendConfig: {
          export: {
            otlp: { ...FAST, endpoint: receiver.url, timeoutMs: 10_000, signals: ["traces"] },
            closeTimeoutMs: 100,
          },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 40; i++) manager.startSpan(`s${i}`, { traceId: trace.traceId }).end();
    await manager.flush();
    await waitFor(() => receiver.requests.length === 1);
    await manager.shutdown();
    const stats = manager.stats();
    // Stored locally, but the collector never answered: 40 spans it did not get.
    assert.equal(stats.exported, 41);
    assert.equal(stats.export?.exported, 0);
    assert.equal(stats.export?.queued, 0);
    assert.equal(stats.export?.dropped, 40);
    assert.match(stats.export?.lastError ?? "", /closed before the exporter caught up/);
  });
});
