/**
 * Fixtures of the OTLP tests: one batch of every record kind, a receiver
 * decoding with the official definitions, and checks of the decoded fields.
 *
 * @module
 */
import assert from "node:assert/strict";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  type Batch,
  type EventRecord,
  type MetricRecord,
  type SpanRecord,
  type TraceRecord,
  VERSION,
} from "../../mod.ts";
import type { OtlpHttpOptions } from "../../src/backends/otlp/mod.ts";
import { type Receiver, startReceiver } from "../_otlp_receiver.ts";

export const T0 = 1_700_000_000.25;
// 1/8192 s is exact in binary: 122070.3125 ns, so the sub-millisecond part is checkable.
export const T_SUBMS = 1_700_000_000 + 1 / 8192;
export const TRACE_ID = "0af7651916cd43dd8448eb211c80319c";
export const ROOT = "b7ad6b7169203331";
export const LLM = "00f067aa0ba902b7";
export const TOOL = "1111111111111111";

export function traceRecord(): TraceRecord {
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

export function spanRecord(fields: Partial<SpanRecord> & { spanId: string }): SpanRecord {
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

export function eventRecord(fields: Partial<EventRecord> & { eventId: string }): EventRecord {
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

export function metricRecord(fields: Partial<MetricRecord> & { metricId: string }): MetricRecord {
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

export function fixtureBatch(): Batch {
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

export const FAST: OtlpHttpOptions = {
  initialBackoffMs: 20,
  maxBackoffMs: 50,
  maxRetryTimeMs: 2000,
};

export async function withReceiver(fn: (receiver: Receiver) => Promise<void>): Promise<void> {
  const receiver = startReceiver();
  try {
    await fn(receiver);
  } finally {
    await receiver.close();
  }
}

export type Obj = Record<string, unknown>;
export type KeyValue = { key: string; value: Obj };

export function attrs(list: unknown): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const kv of (list ?? []) as KeyValue[]) out[kv.key] = kv.value;
  return out;
}

export function only<T>(list: unknown): T {
  assert.ok(Array.isArray(list), `expected a list, got ${JSON.stringify(list)}`);
  assert.equal(list.length, 1, `expected one entry, got ${JSON.stringify(list)}`);
  return list[0] as T;
}

export function bodyOf(receiver: Receiver, path: string): Obj {
  const matching = receiver.requests.filter((r) => r.path === path);
  assert.equal(matching.length, 1, `expected one request to ${path}`);
  return matching[0]!.body;
}

// ---------------------------------------------------------- field checks

export function checkTraces(body: Obj): void {
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

export function checkLogs(body: Obj): void {
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

export function metricsByName(body: Obj): Record<string, Obj> {
  const out: Record<string, Obj> = {};
  for (const rm of body.resourceMetrics as Obj[]) {
    for (const sm of rm.scopeMetrics as Obj[]) {
      assert.deepEqual(sm.scope, { name: "@spark/telemetry", version: VERSION });
      for (const m of sm.metrics as Obj[]) out[m.name as string] = m;
    }
  }
  return out;
}

export function checkMetrics(body: Obj): void {
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
export function sortAttributes(value: unknown): unknown {
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
export function sdkResource(resource: Record<string, string>) {
  return resourceFromAttributes({
    ...resource,
    "telemetry.sdk.name": "@spark/telemetry",
    "telemetry.sdk.version": VERSION,
    "process.runtime.name": "deno",
    "process.runtime.version": Deno.version.deno,
  });
}

/** Waits until `condition()` holds, polling every 10 ms; throws after `ms`. */
export async function waitFor(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
