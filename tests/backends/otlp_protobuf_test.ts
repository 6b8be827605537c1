/**
 * Our protobuf encoder against the official ones: the same SDK-shaped records
 * must give the very bytes `@opentelemetry/otlp-transformer`'s serializers
 * give, and decode (with descriptors generated from the official `.proto`
 * files) to the same message as our OTLP/JSON. The response decoders are
 * checked against the official response deserializer and protobufjs.
 */
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import {
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from "@opentelemetry/otlp-transformer";
import type { Attributes, Batch, EventRecord, MetricRecord, SpanRecord } from "../../mod.ts";
import {
  decodePartialSuccessProtobuf,
  decodeStatusMessage,
  encodeLogsProtobuf,
  encodeMetricsProtobuf,
  encodeTracesProtobuf,
} from "../../src/backends/otlp/_protobuf.ts";
import {
  encodeLogsJson,
  encodeMetricsJson,
  encodeTracesJson,
} from "../../src/backends/otlp/_json_encoder.ts";
import { MetricAggregator } from "../../src/backends/otlp/_metric_aggregator.ts";
import { OtlpModel } from "../../src/backends/otlp/_sdk_model.ts";
import { decodeRequest } from "../_otlp_receiver.ts";
import { randomBatch } from "../_random_telemetry.ts";
import { agentBatch } from "../_agent_telemetry.ts";

type TraceInput = Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0];
type LogsInput = Parameters<typeof ProtobufLogsSerializer.serializeRequest>[0];
type MetricsInput = Parameters<typeof ProtobufMetricsSerializer.serializeRequest>[0];

const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
const T0 = 1_700_000_000.25;

/** Values that stress the wire format: lengths past one varint byte, int64 edges, non-finite doubles, UTF-16 oddities. */
const HOSTILE: Attributes = {
  empty: "",
  long: "x".repeat(200),
  longer: "é".repeat(9000),
  lone_surrogate: "a\uD800b",
  pair: "😀",
  zero: 0,
  negative_zero: -0,
  negative: -1,
  big: 2 ** 53 + 2,
  int64_max_edge: 2 ** 63 - 1024,
  int64_min: -(2 ** 63),
  too_big: 2 ** 63,
  fraction: 0.1,
  nan: NaN,
  inf: Infinity,
  ninf: -Infinity,
  yes: true,
  no: false,
  none: null,
  list: [1, "two", [3.5, null], { four: 4 }],
  nested: { a: { b: { c: [] } }, n: -7 },
};

function hostileBatch(): Batch {
  const spans: SpanRecord[] = [];
  const events: EventRecord[] = [];
  for (let i = 0; i < 3; i++) {
    const spanId = `b7ad6b716920333${i}`;
    spans.push({
      spanId,
      traceId: TRACE_ID,
      parentSpanId: i === 0 ? null : "b7ad6b7169203330",
      name: i === 2 ? "ünïcödé span ".repeat(20) : `span ${i}`,
      kind: i === 1 ? "llm_call" : "tool_call",
      startTime: T0 + i,
      endTime: i === 2 ? null : T0 + i + 1 / 8192,
      status: i === 1 ? "error" : "ok",
      attributes: i === 0
        ? { ...HOSTILE, "spark.parent.remote": true, "w3c.tracestate": "vendor=a,other=b" }
        : { ...HOSTILE, "gen_ai.request.model": "m", "llm.input_tokens": 12 },
      error: i === 1 ? { type: "TypeError", message: "bad ✗", stack: "at x\nat y" } : null,
      droppedEvents: i,
    } as SpanRecord);
    events.push({
      eventId: `event-${i}`,
      traceId: i === 2 ? null : TRACE_ID,
      spanId: i === 1 ? null : spanId,
      eventType: i === 1 ? "tool.failed" : "retry.attempted",
      name: i === 0 ? "" : "an event",
      timestamp: T0 + i / 3,
      attributes: HOSTILE,
    } as EventRecord);
  }
  const metrics: MetricRecord[] = [];
  const kinds = ["counter", "gauge", "histogram"] as const;
  for (let i = 0; i < 12; i++) {
    metrics.push({
      metricId: `metric-${i}`,
      name: `m.${kinds[i % 3]}`,
      value: [0, -1.5, 1e300, 0.004, 7, 12_000][i % 6]!,
      unit: i % 2 === 0 ? "s" : "",
      kind: kinds[i % 3]!,
      timestamp: T0 + i,
      traceId: i % 4 === 0 ? TRACE_ID : null,
      attributes: i % 5 === 0 ? HOSTILE : { route: `/r${i % 2}` },
    } as MetricRecord);
  }
  return {
    traces: [{
      traceId: TRACE_ID,
      name: "hostile",
      startTime: T0,
      endTime: T0 + 3,
      status: "ok",
      attributes: { "graph.type": "x" },
      resource: { "service.name": "svc", "host.id": 3 },
    }],
    spans,
    events,
    metrics,
  } as Batch;
}

const BATCHES: Array<[string, Batch]> = [
  ["hostile values", hostileBatch()],
  ["the agent workflow", agentBatch()],
  ...[1, 2, 3, 4, 5].map((seed): [string, Batch] => [`random batch ${seed}`, randomBatch(seed)]),
];

function models(batch: Batch, temporality: "cumulative" | "delta") {
  const model = new OtlpModel({
    resource: { "deployment.environment": "test" },
    serviceName: null,
    maxPendingSpanEvents: 100,
  });
  model.observeTraces(batch.traces);
  model.holdSpanEvents(batch.events);
  const spans = model.spans(batch.spans).spans;
  const logs = model.logs(batch.events);
  const aggregator = new MetricAggregator(temporality);
  const first = aggregator.build(batch.metrics, model);
  first.commit();
  // A second build: cumulative points then carry running totals and start times.
  const metrics = aggregator.build(batch.metrics, model).resourceMetrics;
  return { spans, logs, metrics };
}

function official(kind: "traces" | "logs" | "metrics", input: unknown): Uint8Array {
  if (kind === "traces") {
    return ProtobufTraceSerializer.serializeRequest(input as TraceInput)!;
  }
  if (kind === "logs") return ProtobufLogsSerializer.serializeRequest(input as LogsInput)!;
  // The official serializer takes one ResourceMetrics; several concatenate (protobuf merges them).
  const parts = (input as unknown[]).map((rm) =>
    ProtobufMetricsSerializer.serializeRequest(rm as MetricsInput)!
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function firstDifference(a: Uint8Array, b: Uint8Array): string {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} vs ${b[i]}`;
  return `lengths ${a.length} vs ${b.length}`;
}

/**
 * JSON carries a lone surrogate as an escape; protobuf's UTF-8 cannot, so it
 * has U+FFFD there (as the official serializer writes it).
 */
function wellFormed(value: unknown): unknown {
  if (typeof value === "string") return value.toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormed);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, wellFormed(v)]));
}

for (const [name, batch] of BATCHES) {
  for (const temporality of ["cumulative", "delta"] as const) {
    Deno.test(`encode*Protobuf() writes the official serializers' bytes: ${name}, ${temporality}`, () => {
      const { spans, logs, metrics } = models(batch, temporality);
      assert.ok(spans.length > 0 && logs.length > 0 && metrics.length > 0);
      const cases: Array<["traces" | "logs" | "metrics", Uint8Array, unknown]> = [
        ["traces", encodeTracesProtobuf(spans), spans],
        ["logs", encodeLogsProtobuf(logs), logs],
        ["metrics", encodeMetricsProtobuf(metrics), metrics],
      ];
      for (const [kind, ours, input] of cases) {
        const theirs = official(kind, input);
        assert.ok(
          ours.length === theirs.length && ours.every((b, i) => b === theirs[i]),
          `${kind}: ${firstDifference(ours, theirs)}`,
        );
      }
    });
  }

  Deno.test(`encode*Protobuf() decodes with the official .proto to what encode*Json() says: ${name}`, async () => {
    const { spans, logs, metrics } = models(batch, "cumulative");
    const pairs: Array<[string, Uint8Array, Uint8Array]> = [
      ["/v1/traces", encodeTracesProtobuf(spans), encodeTracesJson(spans)],
      ["/v1/logs", encodeLogsProtobuf(logs), encodeLogsJson(logs)],
      ["/v1/metrics", encodeMetricsProtobuf(metrics), encodeMetricsJson(metrics)],
    ];
    for (const [path, proto, json] of pairs) {
      const fromProto = await decodeRequest(
        path,
        new Headers({ "content-type": "application/x-protobuf" }),
        proto,
      );
      const fromJson = await decodeRequest(
        path,
        new Headers({ "content-type": "application/json" }),
        json,
      );
      assert.deepEqual(fromProto.body, wellFormed(fromJson.body), path);
    }
  });
}

Deno.test("encodeTracesProtobuf() writes the official bytes for a span over 2 MiB (4-byte lengths, buffer growth)", () => {
  const batch = hostileBatch();
  batch.spans = [{ ...batch.spans[0]!, attributes: { huge: "x".repeat(3 * 1024 * 1024) } }];
  const { spans } = models(batch, "cumulative");
  const ours = encodeTracesProtobuf(spans);
  const theirs = official("traces", spans);
  assert.ok(ours.length > 3 * 1024 * 1024);
  assert.ok(
    ours.length === theirs.length && ours.every((b, i) => b === theirs[i]),
    firstDifference(ours, theirs),
  );
});

Deno.test("encodeTracesProtobuf() returns a copy: a later request does not overwrite an earlier body", () => {
  const { spans } = models(hostileBatch(), "cumulative");
  const first = encodeTracesProtobuf(spans);
  const copy = first.slice();
  encodeTracesProtobuf(spans.slice(1));
  assert.deepEqual(first, copy);
});

Deno.test("decodePartialSuccessProtobuf() agrees with the official response deserializer", () => {
  const w = protobuf.Writer;
  const partial = (rejected: number | null, message: string | null) => {
    const inner = w.create();
    if (rejected !== null) inner.uint32(8).int64(rejected);
    if (message !== null) inner.uint32(18).string(message);
    return w.create().uint32(10).bytes(inner.finish()).finish();
  };
  const bodies: Uint8Array[] = [
    new Uint8Array(),
    partial(3, "3 spans refused"),
    partial(0, ""),
    partial(2 ** 40, null),
    partial(null, "only a message ✓"),
    // An unknown field before partial_success, which must be skipped.
    Uint8Array.from([...w.create().uint32(7 << 3 | 2).string("x").finish(), ...partial(5, "m")]),
  ];
  for (const body of bodies) {
    const p = ProtobufTraceSerializer.deserializeResponse(body).partialSuccess;
    assert.deepEqual(decodePartialSuccessProtobuf(body), {
      rejected: Number(p?.rejectedSpans ?? 0),
      message: p?.errorMessage || null,
    });
  }
  assert.throws(() => decodePartialSuccessProtobuf(Uint8Array.from([10, 5, 8])));
});

Deno.test("decodeStatusMessage() reads google.rpc.Status as protobufjs does, and refuses what is not one", () => {
  const Status = protobuf.parse(
    `syntax = "proto3"; package google.rpc;
     message Any { string type_url = 1; bytes value = 2; }
     message Status { int32 code = 1; string message = 2; repeated Any details = 3; }`,
  ).root.lookupType("google.rpc.Status");
  const bodies = [
    { code: 3, message: "invalid span" },
    { code: 8, message: "überlastet", details: [{ typeUrl: "t", value: Uint8Array.of(1, 2) }] },
    { code: -1, message: "negative code" },
    { code: 14 },
  ];
  for (const body of bodies) {
    const bytes = Status.encode(Status.fromObject(body)).finish();
    assert.equal(decodeStatusMessage(bytes), body.message ?? null);
  }
  for (const text of ["Bad Request", "", '{"message":"json"}']) {
    assert.equal(decodeStatusMessage(new TextEncoder().encode(text)), null, text);
  }
  assert.equal(decodeStatusMessage(Uint8Array.of(0x12, 0x05, 0x61)), null, "truncated");
  assert.equal(decodeStatusMessage(Uint8Array.of(0x12, 0x01, 0xff)), null, "not UTF-8");
});
