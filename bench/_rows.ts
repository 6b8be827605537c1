/**
 * Shared fixtures of the end-to-end benches: the span every "ours" case
 * records through `TelemetryManager`, and the same rows pre-built as plain
 * records for the raw baselines. Built outside any timed function.
 *
 * @module
 */
import { newSpanId } from "../src/model/ids.ts";
import { TABLE_COLUMNS } from "../src/backends/sqlite/_schema.ts";
import type { StatementSync } from "node:sqlite";
import type { TelemetryManager } from "../src/manager.ts";
import type { Attributes, SpanRecord } from "../src/model/types.ts";

/** Attributes of span `i`: the five that `bench/record_bench.ts` sets too. */
export function spanAttributes(i: number): Attributes {
  return { a: i, b: "x", c: true, d: 1.5, e: "node" };
}

/**
 * `n` span records shaped exactly like those the manager stores for
 * `startSpan("op", { traceId })` + `spanAttributes(i)` + `end()`: random
 * 16-hex ids, one trace, no parent, status "ok".
 *
 * @param traceId The trace all spans belong to.
 * @param n How many.
 * @returns The records.
 */
export function spanRows(traceId: string, n: number): SpanRecord[] {
  const rows: SpanRecord[] = [];
  const now = Date.now() / 1000;
  for (let i = 0; i < n; i++) {
    const start = now + i * 1e-6;
    rows.push({
      spanId: newSpanId(),
      traceId,
      parentSpanId: null,
      name: "op",
      kind: "internal",
      startTime: start,
      endTime: start + 2e-6,
      status: "ok",
      attributes: spanAttributes(i),
      error: null,
      droppedEvents: 0,
    });
  }
  return rows;
}

/** The span columns of the SQLite/PostgreSQL schema, in the order the baselines bind them. */
export const SPAN_COLUMNS: readonly string[] = TABLE_COLUMNS.spans;

/**
 * The raw SQLite baselines' statement text: one row into `spans`, an upsert
 * by `span_id` when `upsert` is set (what the backend does), a plain insert
 * otherwise.
 */
export function rawSpanInsertSql(upsert: boolean): string {
  const text = `insert into spans (${SPAN_COLUMNS.join(", ")}) values (${
    SPAN_COLUMNS.map(() => "?").join(", ")
  })`;
  if (!upsert) return text;
  const set = SPAN_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(", ");
  return `${text} on conflict (span_id) do update set ${set}`;
}

/** Runs a raw baseline's prepared statement once per row, binding the columns in order. */
export function insertRawSpans(insert: StatementSync, rows: readonly SpanRecord[]): void {
  for (const s of rows) {
    insert.run(
      s.spanId,
      s.traceId,
      s.parentSpanId,
      s.name,
      s.kind,
      s.startTime,
      s.endTime,
      s.status,
      s.droppedEvents,
      null,
      null,
      null,
      JSON.stringify(s.attributes),
    );
  }
}

/**
 * Records span `i` through the manager as an application would: start it in
 * `traceId`, set the five attributes of {@linkcode spanAttributes} one by one,
 * end it. The e2e and burst benches time exactly this.
 */
export function recordSpan(manager: TelemetryManager, traceId: string, i: number): void {
  const span = manager.startSpan("op", { traceId });
  const a = spanAttributes(i);
  span.setAttribute("a", a.a!);
  span.setAttribute("b", a.b!);
  span.setAttribute("c", a.c!);
  span.setAttribute("d", a.d!);
  span.setAttribute("e", a.e!);
  span.end();
}
