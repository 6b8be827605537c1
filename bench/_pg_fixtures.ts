/**
 * Realistic batches for the PostgreSQL benchmarks and tests: spans with five
 * attributes, a few errors, events on spans, metrics.
 *
 * @module
 */
import type {
  Batch,
  EventRecord,
  MetricRecord,
  SpanRecord,
  TraceRecord,
} from "../src/model/types.ts";
import { newRecordId, newSpanId, newTraceId } from "../src/model/ids.ts";

const KINDS = ["node_execution", "tool_call", "llm_call", "internal"] as const;

/** Builds `spans` spans (plus one trace per 20 spans, one event and one metric per 4 spans). */
export function makeBatch(spans: number, start = 1_700_000_000): Batch {
  const batch: Batch = { traces: [], spans: [], events: [], metrics: [] };
  let trace: TraceRecord | null = null;
  for (let i = 0; i < spans; i++) {
    const t = start + i / 1000;
    if (i % 20 === 0) {
      trace = {
        traceId: newTraceId(),
        name: "graph_run",
        startTime: t,
        endTime: t + 0.5,
        status: "ok",
        attributes: { "graph.id": `graph-${i % 7}` },
        resource: { "service.name": "bench", "host.name": "h1" },
      };
      batch.traces.push(trace);
    }
    const failed = i % 50 === 49;
    const span: SpanRecord = {
      spanId: newSpanId(),
      traceId: trace!.traceId,
      parentSpanId: i % 20 === 0 ? null : newSpanId(),
      name: `Node${i % 13}.process`,
      kind: KINDS[i % KINDS.length]!,
      startTime: t,
      endTime: t + 0.001 + (i % 17) / 1000,
      status: failed ? "error" : "ok",
      attributes: {
        "node.id": `node-${i % 13}`,
        "node.type": "ProcessNode",
        "attempt": i % 3,
        "cached": i % 2 === 0,
        "input.tokens": 100 + (i % 400),
      },
      error: failed
        ? { type: "TypeError", message: "bad\tinput\nline 2", stack: "at x\n at y" }
        : null,
      droppedEvents: 0,
    };
    batch.spans.push(span);
    if (i % 4 === 0) {
      const event: EventRecord = {
        eventId: newRecordId(),
        eventType: "node.finished",
        name: "done",
        timestamp: t + 0.001,
        traceId: span.traceId,
        spanId: span.spanId,
        attributes: { "output.size": i },
      };
      batch.events.push(event);
      const metric: MetricRecord = {
        metricId: newRecordId(),
        name: "node_duration",
        value: (i % 17) / 1000,
        unit: "s",
        kind: "histogram",
        timestamp: t + 0.002,
        traceId: span.traceId,
        attributes: { "node.id": `node-${i % 13}` },
      };
      batch.metrics.push(metric);
    }
  }
  return batch;
}
