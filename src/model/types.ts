/**
 * Enumerations, attribute types and the plain record shapes that cross the
 * worker boundary and are stored by every backend.
 *
 * @module
 */

/** Span kinds, with exactly the string values of the Python original. */
export const SpanKind = {
  GRAPH_RUN: "graph_run",
  NODE_EXECUTION: "node_execution",
  EDGE_TRANSITION: "edge_transition",
  STATE_CHANGE: "state_change",
  TOOL_CALL: "tool_call",
  LLM_CALL: "llm_call",
  INTERNAL: "internal",
} as const;
/** One of the {@linkcode SpanKind} values. */
export type SpanKind = typeof SpanKind[keyof typeof SpanKind];

/** Span and trace statuses, with exactly the string values of the Python original. */
export const SpanStatus = {
  UNSET: "unset",
  OK: "ok",
  ERROR: "error",
} as const;
/** One of the {@linkcode SpanStatus} values. */
export type SpanStatus = typeof SpanStatus[keyof typeof SpanStatus];

/** Event types, with exactly the string values of the Python original. */
export const EventType = {
  NODE_STARTED: "node.started",
  NODE_FINISHED: "node.finished",
  NODE_FAILED: "node.failed",
  GRAPH_STARTED: "graph.started",
  GRAPH_FINISHED: "graph.finished",
  GRAPH_FAILED: "graph.failed",
  EDGE_EVALUATED: "edge.evaluated",
  EDGE_TAKEN: "edge.taken",
  STATE_UPDATED: "state.updated",
  MESSAGE_SENT: "message.sent",
  MESSAGE_RECEIVED: "message.received",
  TOOL_EXECUTED: "tool.executed",
  LLM_REQUEST: "llm.request",
  LLM_RESPONSE: "llm.response",
  ERROR_OCCURRED: "error.occurred",
  RETRY_ATTEMPTED: "retry.attempted",
  CUSTOM: "custom",
} as const;
/**
 * One of the {@linkcode EventType} values. Any other string is accepted too
 * (the original takes `EventType | str`); it is stored as given.
 */
export type EventType = typeof EventType[keyof typeof EventType];

/** How a metric's values combine when exported (OTLP gauge, sum or histogram). */
export const MetricKind = {
  GAUGE: "gauge",
  COUNTER: "counter",
  HISTOGRAM: "histogram",
} as const;
/** One of the {@linkcode MetricKind} values. */
export type MetricKind = typeof MetricKind[keyof typeof MetricKind];

/** A JSON-compatible attribute value. */
export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | AttributeValue[]
  | { [key: string]: AttributeValue };

/** Key-value metadata attached to traces, spans, events and metrics. */
export type Attributes = Record<string, AttributeValue>;

/** A plain, serialisable description of the error that failed a span. */
export interface SpanError {
  /** The error's class name, e.g. `"TypeError"`. */
  type: string;
  /** The error's message. */
  message: string;
  /** The stack trace, when one was available. */
  stack: string | null;
}

/** A trace as stored: plain data, the same shape on every backend. */
export interface TraceRecord {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** Human-readable name, e.g. `"graph_run"`. */
  name: string;
  /** Seconds since the epoch. */
  startTime: number;
  /** Seconds since the epoch; `null` while the trace is active. */
  endTime: number | null;
  /** Final status. */
  status: SpanStatus;
  /** Key-value metadata. */
  attributes: Attributes;
  /** Resource attributes (service name, host, ...). */
  resource: Attributes;
}

/** A span as stored: plain data, the same shape on every backend. */
export interface SpanRecord {
  /** 16 lowercase hex characters. */
  spanId: string;
  /** The trace the span belongs to. */
  traceId: string;
  /** The parent span, or `null` for a root span. */
  parentSpanId: string | null;
  /** Operation name, e.g. `"ProcessNode.do"`. */
  name: string;
  /** The span's kind. */
  kind: SpanKind;
  /** Seconds since the epoch. */
  startTime: number;
  /** Seconds since the epoch; `null` while the span is active. */
  endTime: number | null;
  /** Final status. */
  status: SpanStatus;
  /** Key-value metadata. */
  attributes: Attributes;
  /** The error that failed the span, if any. */
  error: SpanError | null;
  /** Events refused because the span already had `maxEventsPerSpan` events. */
  droppedEvents: number;
}

/** An event as stored: plain data, the same shape on every backend. */
export interface EventRecord {
  /** Unique id, 32 lowercase hex characters. */
  eventId: string;
  /** An {@linkcode EventType} value or any other string. */
  eventType: string;
  /** Event name. */
  name: string;
  /** Seconds since the epoch. */
  timestamp: number;
  /** The associated trace, if any. */
  traceId: string | null;
  /** The associated span, if any. */
  spanId: string | null;
  /** Key-value metadata. */
  attributes: Attributes;
}

/** A metric point as stored: plain data, the same shape on every backend. */
export interface MetricRecord {
  /** Unique id, 32 lowercase hex characters. */
  metricId: string;
  /** Metric name, e.g. `"node_duration"`. */
  name: string;
  /** The measured value. */
  value: number;
  /** Unit of measurement, e.g. `"s"`, `"bytes"`; empty when none. */
  unit: string;
  /** How values combine when exported. */
  kind: MetricKind;
  /** Seconds since the epoch. */
  timestamp: number;
  /** The associated trace, if any. */
  traceId: string | null;
  /** Key-value metadata. */
  attributes: Attributes;
}

/** A span as returned by a query: the stored span plus the events recorded on it. */
export interface SpanWithEvents extends SpanRecord {
  /** Events whose `spanId` is this span's, oldest first. */
  events: EventRecord[];
}

/**
 * What the worker hands a backend in one write: records of all four kinds.
 * A backend writes a batch in one transaction and upserts by id, so a batch
 * replayed after a retry or a worker restart leaves no duplicates.
 */
export interface Batch {
  /** Traces (written at start and again at end: last write wins). */
  traces: TraceRecord[];
  /** Finished spans. */
  spans: SpanRecord[];
  /** Events. */
  events: EventRecord[];
  /** Metric points. */
  metrics: MetricRecord[];
}
