/**
 * Rows of the SQLite tables decoded into records by column position, as
 * node:sqlite returns them with `setReturnArrays(true)`. Shared by
 * `SqliteBackend` and the query bench, whose hand-written baseline reads the
 * same rows the same way.
 *
 * @module
 */
import type { StatementSync } from "node:sqlite";
import type {
  EventRecord,
  MetricKind,
  MetricRecord,
  SpanKind,
  SpanStatus,
  SpanWithEvents,
  TraceRecord,
} from "../../model/types.ts";

/**
 * A stored row as node:sqlite returns it with `setReturnArrays(true)`: the
 * table's columns in `TABLE_COLUMNS` order (`select t.*`; the constructor
 * checks that order). Arrays, because building an object per row with a
 * property per column took a quarter of a 20-span page's read.
 */
export type ArrayRow = (string | number | null)[];

/** Makes `statement` return `ArrayRow`s (node:sqlite has the method; Deno's typings lack it). */
export function returnArrays(statement: StatementSync): void {
  (statement as StatementSync & { setReturnArrays(enabled: boolean): void }).setReturnArrays(true);
}

/** Decodes a `traces` row of `setReturnArrays(true)`. */
export function traceFromRow(r: ArrayRow): TraceRecord {
  return {
    traceId: r[0] as string,
    name: r[1] as string,
    startTime: r[2] as number,
    endTime: r[3] as number | null,
    status: r[4] as SpanStatus,
    attributes: JSON.parse(r[5] as string),
    resource: JSON.parse(r[6] as string),
  };
}

/** Decodes a `spans` row of `setReturnArrays(true)`. */
export function spanFromRow(r: ArrayRow): SpanWithEvents {
  return {
    spanId: r[0] as string,
    traceId: r[1] as string,
    parentSpanId: r[2] as string | null,
    name: r[3] as string,
    kind: r[4] as SpanKind,
    startTime: r[5] as number,
    endTime: r[6] as number | null,
    status: r[7] as SpanStatus,
    attributes: JSON.parse(r[12] as string),
    error: r[9] === null ? null : {
      type: r[9] as string,
      message: r[10] as string,
      stack: r[11] as string | null,
    },
    droppedEvents: r[8] as number,
    events: [],
  };
}

/** Decodes a `events` row of `setReturnArrays(true)`. */
export function eventFromRow(r: ArrayRow): EventRecord {
  return {
    eventId: r[0] as string,
    eventType: r[1] as string,
    name: r[2] as string,
    timestamp: r[3] as number,
    traceId: r[4] as string | null,
    spanId: r[5] as string | null,
    attributes: JSON.parse(r[6] as string),
  };
}

/** Decodes a `metrics` row of `setReturnArrays(true)`. */
export function metricFromRow(r: ArrayRow): MetricRecord {
  return {
    metricId: r[0] as string,
    name: r[1] as string,
    value: r[2] as number,
    unit: r[3] as string,
    kind: r[4] as MetricKind,
    timestamp: r[5] as number,
    traceId: r[6] as string | null,
    attributes: JSON.parse(r[7] as string),
  };
}
