/**
 * OtlpHttpBackend on the wire: what it sends decodes with the official
 * definitions (JSON and protobuf alike), equals the official serializers,
 * and carries every field, time and number.
 *
 * @module
 */
import assert from "node:assert/strict";
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
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { type Batch, type MetricRecord, VERSION } from "../../mod.ts";
import { OtlpHttpBackend } from "../../src/backends/otlp/mod.ts";
import { hrTimeToNanos, toHrTime } from "../../src/backends/otlp/_hr_time.ts";
import {
  DATA_POINT_TYPE,
  SDK_TEMPORALITY,
  VALUE_TYPE_DOUBLE,
} from "../../src/backends/otlp/_metric_aggregator.ts";
import { API_SPAN_KIND } from "../../src/backends/otlp/_sdk_model.ts";
import { canonical } from "../_otlp_receiver.ts";
import {
  attrs,
  bodyOf,
  checkLogs,
  checkMetrics,
  checkTraces,
  eventRecord,
  FAST,
  fixtureBatch,
  LLM,
  metricRecord,
  metricsByName,
  type Obj,
  only,
  ROOT,
  sdkResource,
  sortAttributes,
  spanRecord,
  T0,
  T_SUBMS,
  TOOL,
  TRACE_ID,
  traceRecord,
  withReceiver,
} from "./_otlp_fixtures.ts";

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

Deno.test("toHrTime() keeps the sub-millisecond part of float seconds", () => {
  assert.deepEqual(toHrTime(T0), [1_700_000_000, 250_000_000]);
  assert.equal(hrTimeToNanos(toHrTime(T_SUBMS)), "1700000000000122070");
  assert.equal(hrTimeToNanos(toHrTime(1_700_000_000.999_999_999_9)), "1700000001000000000");
  assert.equal(hrTimeToNanos(toHrTime(0)), "0");
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
