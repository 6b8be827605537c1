/**
 * A small, fixed telemetry data set shaped like real agent-workflow runs
 * (graph runs with node, LLM and tool spans, events and metrics), for the
 * CLI tests and the examples in docs/dsl.md.
 *
 * @module
 */
import type { Batch, SpanKind, SpanRecord, SpanStatus } from "../mod.ts";

/** Start of the first run: 2025-11-25 10:00:00 UTC. */
export const T0 = 1_764_064_800;

/** Trace ids of the three runs. */
export const TRACE_IDS = [
  "4bf92f3577b34da6a3ce929d0e0e4736",
  "0af7651916cd43dd8448eb211c80319c",
  "c2b7e1a04f1d4e0f9a8b7c6d5e4f3a21",
];

interface SpanSpec {
  id: string;
  parent: string | null;
  name: string;
  kind: SpanKind;
  start: number;
  end: number;
  status: SpanStatus;
  attributes?: Record<string, string | number | boolean>;
  error?: string;
}

function spans(traceId: string, t: number, specs: SpanSpec[]): SpanRecord[] {
  return specs.map((s) => ({
    spanId: s.id,
    traceId,
    parentSpanId: s.parent,
    name: s.name,
    kind: s.kind,
    startTime: t + s.start,
    endTime: t + s.end,
    status: s.status,
    attributes: s.attributes ?? {},
    error: s.error ? { type: "TimeoutError", message: s.error, stack: null } : null,
    droppedEvents: 0,
  }));
}

function run(traceId: string, t: number, n: number, fail: boolean): SpanRecord[] {
  const p = (k: number) => `${n}${k}`.padStart(16, "a");
  return spans(traceId, t, [
    {
      id: p(1),
      parent: null,
      name: "research_graph",
      kind: "graph_run",
      start: 0,
      end: fail ? 2.4 : 3.1 + n * 0.2,
      status: fail ? "error" : "ok",
      attributes: { "graph.id": "research" },
    },
    {
      id: p(2),
      parent: p(1),
      name: "FetchNode.do",
      kind: "node_execution",
      start: 0.01,
      end: 0.41 + n * 0.05,
      status: "ok",
      attributes: { "node.id": "fetch", attempt: 1 },
    },
    {
      id: p(3),
      parent: p(2),
      name: "http.get",
      kind: "tool_call",
      start: 0.02,
      end: 0.38 + n * 0.05,
      status: "ok",
      attributes: { "tool.name": "http", "http.route": "/search" },
    },
    {
      id: p(4),
      parent: p(1),
      name: "SummariseNode.do",
      kind: "node_execution",
      start: 0.45,
      end: fail ? 2.39 : 2.6 + n * 0.1,
      status: fail ? "error" : "ok",
      attributes: { "node.id": "summarise", attempt: fail ? 2 : 1 },
      ...(fail ? { error: "LLM call timed out after 1.9s" } : {}),
    },
    {
      id: p(5),
      parent: p(4),
      name: "llm.chat",
      kind: "llm_call",
      start: 0.46,
      end: fail ? 2.38 : 2.55 + n * 0.1,
      status: fail ? "error" : "ok",
      attributes: fail ? { model: "gpt-4o", "llm.tokens": 0, streaming: true } : {
        model: n === 0 ? "claude-3" : "gpt-4o",
        "llm.tokens": 850 + n * 310,
        streaming: n !== 1,
      },
    },
    ...(fail ? [] : [
      {
        id: p(6),
        parent: p(1),
        name: "SaveNode.do",
        kind: "node_execution" as const,
        start: 2.7 + n * 0.1,
        end: 3.05 + n * 0.2,
        status: "ok" as const,
        attributes: { "node.id": "save", attempt: 1 },
      },
    ]),
  ]);
}

/**
 * The data set: three runs of a research graph, the last one failing in its
 * LLM call.
 *
 * @returns A batch to write to any backend.
 */
export function agentBatch(): Batch {
  const batch: Batch = { traces: [], spans: [], events: [], metrics: [] };
  TRACE_IDS.forEach((traceId, n) => {
    const t = T0 + n * 60;
    const fail = n === 2;
    const runSpans = run(traceId, t, n, fail);
    const root = runSpans[0]!;
    batch.traces.push({
      traceId,
      name: "research_graph",
      startTime: t,
      endTime: root.endTime,
      status: root.status,
      attributes: { "user.id": `u${n + 1}` },
      resource: { "service.name": n === 1 ? "worker" : "api", "host.name": "box-1" },
    });
    batch.spans.push(...runSpans);
    for (const span of runSpans.filter((s) => s.kind === "node_execution")) {
      const nodeId = String(span.attributes["node.id"]);
      batch.events.push({
        eventId: `${span.spanId}${"0".repeat(15)}1`,
        eventType: "node.started",
        name: `${nodeId} started`,
        timestamp: span.startTime,
        traceId,
        spanId: span.spanId,
        attributes: { "node.id": nodeId },
      });
      batch.events.push({
        eventId: `${span.spanId}${"0".repeat(15)}2`,
        eventType: span.status === "error" ? "node.failed" : "node.finished",
        name: `${nodeId} ${span.status === "error" ? "failed" : "finished"}`,
        timestamp: span.endTime!,
        traceId,
        spanId: span.spanId,
        attributes: { "node.id": nodeId },
      });
      batch.metrics.push({
        metricId: `${span.spanId}${"0".repeat(15)}3`,
        name: "node_duration",
        value: Math.round((span.endTime! - span.startTime) * 1000) / 1000,
        unit: "s",
        kind: "histogram",
        timestamp: span.endTime!,
        traceId,
        attributes: { "node.id": nodeId },
      });
    }
    const llm = runSpans.find((s) => s.kind === "llm_call")!;
    batch.metrics.push({
      metricId: `${llm.spanId}${"0".repeat(15)}4`,
      name: "tokens_used",
      value: llm.attributes["llm.tokens"] as number,
      unit: "tokens",
      kind: "counter",
      timestamp: llm.endTime!,
      traceId,
      attributes: { model: llm.attributes.model! },
    });
  });
  return batch;
}
