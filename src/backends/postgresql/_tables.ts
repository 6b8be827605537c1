/**
 * How records map to PostgreSQL rows and back: one column list per table,
 * shared by ingest (which writes the columns in this order) and queries
 * (which read them back into records).
 *
 * @module
 */
import type {
  Attributes,
  Batch,
  EventRecord,
  MetricRecord,
  SpanKind,
  SpanRecord,
  SpanStatus,
  TraceRecord,
} from "../../model/types.ts";

/** PostgreSQL types our columns use. */
export type PgType = "text" | "float8" | "int4" | "jsonb";

/** One stored column: its name, type and how to read it from a record. */
export interface PgColumn<R> {
  name: string;
  type: PgType;
  // Method syntax keeps PgColumn<SpanRecord> usable as PgColumn<unknown>.
  get(record: R): string | number | null | Attributes;
}

/** One table: its name, id column and columns (id first). */
export interface PgTable<R> {
  name: "traces" | "spans" | "events" | "metrics";
  id: string;
  key(record: R): string;
  columns: readonly PgColumn<R>[];
}

/** Traces: written at start and again at end, so upserts are the norm. */
export const TRACES: PgTable<TraceRecord> = {
  name: "traces",
  id: "trace_id",
  key: (r) => r.traceId,
  columns: [
    { name: "trace_id", type: "text", get: (r) => r.traceId },
    { name: "name", type: "text", get: (r) => r.name },
    { name: "start_time", type: "float8", get: (r) => r.startTime },
    { name: "end_time", type: "float8", get: (r) => r.endTime },
    { name: "status", type: "text", get: (r) => r.status },
    { name: "attributes", type: "jsonb", get: (r) => r.attributes },
    { name: "resource", type: "jsonb", get: (r) => r.resource },
  ],
};

/** Spans, with the error flattened into three columns. */
export const SPANS: PgTable<SpanRecord> = {
  name: "spans",
  id: "span_id",
  key: (r) => r.spanId,
  columns: [
    { name: "span_id", type: "text", get: (r) => r.spanId },
    { name: "trace_id", type: "text", get: (r) => r.traceId },
    { name: "parent_span_id", type: "text", get: (r) => r.parentSpanId },
    { name: "name", type: "text", get: (r) => r.name },
    { name: "kind", type: "text", get: (r) => r.kind },
    { name: "start_time", type: "float8", get: (r) => r.startTime },
    { name: "end_time", type: "float8", get: (r) => r.endTime },
    { name: "status", type: "text", get: (r) => r.status },
    { name: "dropped_events", type: "int4", get: (r) => r.droppedEvents },
    { name: "error_type", type: "text", get: (r) => r.error?.type ?? null },
    { name: "error_message", type: "text", get: (r) => r.error?.message ?? null },
    { name: "error_stack", type: "text", get: (r) => r.error?.stack ?? null },
    { name: "attributes", type: "jsonb", get: (r) => r.attributes },
  ],
};

/** Events. */
export const EVENTS: PgTable<EventRecord> = {
  name: "events",
  id: "event_id",
  key: (r) => r.eventId,
  columns: [
    { name: "event_id", type: "text", get: (r) => r.eventId },
    { name: "event_type", type: "text", get: (r) => r.eventType },
    { name: "name", type: "text", get: (r) => r.name },
    { name: "timestamp", type: "float8", get: (r) => r.timestamp },
    { name: "trace_id", type: "text", get: (r) => r.traceId },
    { name: "span_id", type: "text", get: (r) => r.spanId },
    { name: "attributes", type: "jsonb", get: (r) => r.attributes },
  ],
};

/** Metric points. */
export const METRICS: PgTable<MetricRecord> = {
  name: "metrics",
  id: "metric_id",
  key: (r) => r.metricId,
  columns: [
    { name: "metric_id", type: "text", get: (r) => r.metricId },
    { name: "name", type: "text", get: (r) => r.name },
    { name: "value", type: "float8", get: (r) => r.value },
    { name: "unit", type: "text", get: (r) => r.unit },
    { name: "kind", type: "text", get: (r) => r.kind },
    { name: "timestamp", type: "float8", get: (r) => r.timestamp },
    { name: "trace_id", type: "text", get: (r) => r.traceId },
    { name: "attributes", type: "jsonb", get: (r) => r.attributes },
  ],
};

/** The four tables with their batch field, in the order a batch is written. */
export const TABLES: readonly { field: keyof Batch; table: PgTable<unknown> }[] = [
  { field: "traces", table: TRACES },
  { field: "spans", table: SPANS },
  { field: "events", table: EVENTS },
  { field: "metrics", table: METRICS },
];

/**
 * Keeps the last record of each id, sorted by id.
 *
 * - `insert ... on conflict do update` refuses to touch one row twice in a
 *   statement, and a batch legitimately holds a trace twice (at start and at
 *   end): the later one wins, as it would have in two separate writes.
 * - Sorting makes every writer lock rows in the same order, so two processes
 *   upserting overlapping ids wait for each other instead of deadlocking.
 */
export function uniqueById<R>(table: PgTable<R>, records: readonly R[]): R[] {
  const byId = new Map<string, R>();
  for (const record of records) byId.set(table.key(record), record);
  return [...byId.keys()].sort().map((id) => byId.get(id)!);
}

type Row = Record<string, unknown>;

function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : num(value);
}

function strOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

function attrs(value: unknown): Attributes {
  if (value === null || value === undefined) return {};
  return (typeof value === "string" ? JSON.parse(value) : value) as Attributes;
}

/** A `traces` row as a {@linkcode TraceRecord}. */
export function toTrace(row: Row): TraceRecord {
  return {
    traceId: String(row.trace_id),
    name: String(row.name),
    startTime: num(row.start_time),
    endTime: numOrNull(row.end_time),
    status: row.status as SpanStatus,
    attributes: attrs(row.attributes),
    resource: attrs(row.resource),
  };
}

/** A `spans` row as a {@linkcode SpanRecord}. */
export function toSpan(row: Row): SpanRecord {
  return {
    spanId: String(row.span_id),
    traceId: String(row.trace_id),
    parentSpanId: strOrNull(row.parent_span_id),
    name: String(row.name),
    kind: row.kind as SpanKind,
    startTime: num(row.start_time),
    endTime: numOrNull(row.end_time),
    status: row.status as SpanStatus,
    attributes: attrs(row.attributes),
    error: row.error_type === null || row.error_type === undefined ? null : {
      type: String(row.error_type),
      message: String(row.error_message ?? ""),
      stack: strOrNull(row.error_stack),
    },
    droppedEvents: num(row.dropped_events),
  };
}

/** An `events` row as an {@linkcode EventRecord}. */
export function toEvent(row: Row): EventRecord {
  return {
    eventId: String(row.event_id),
    eventType: String(row.event_type),
    name: String(row.name),
    timestamp: num(row.timestamp),
    traceId: strOrNull(row.trace_id),
    spanId: strOrNull(row.span_id),
    attributes: attrs(row.attributes),
  };
}

/** A `metrics` row as a {@linkcode MetricRecord}. */
export function toMetric(row: Row): MetricRecord {
  return {
    metricId: String(row.metric_id),
    name: String(row.name),
    value: num(row.value),
    unit: String(row.unit),
    kind: row.kind as MetricRecord["kind"],
    timestamp: num(row.timestamp),
    traceId: strOrNull(row.trace_id),
    attributes: attrs(row.attributes),
  };
}
