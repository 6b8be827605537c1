/**
 * Runs query plans in PostgreSQL: compiles them with the shared SQL compiler
 * and the PostgreSQL dialect, then shapes the rows exactly as every other
 * backend does (records with camelCase fields, spans with their events,
 * aggregate rows keyed by alias).
 *
 * @module
 */
import type { Sql } from "postgres";
import type { QueryPlan, QueryRow } from "../../../query/plan.ts";
import { compileSql } from "../../../query/sql.ts";
import { postgresqlDialect } from "../../../query/postgresql_dialect.ts";
import type { EventRecord, SpanWithEvents } from "../../model/types.ts";
import { arrayLiteral } from "./_ingest.ts";
import { toEvent, toMetric, toSpan, toTrace } from "./_tables.ts";

type Row = Record<string, unknown>;

const TO_RECORD = { traces: toTrace, spans: toSpan, events: toEvent, metrics: toMetric } as const;

/** Attaches to each span its events, oldest first (ties by event id), in one more query. */
async function withEvents(sql: Sql, rows: Row[]): Promise<SpanWithEvents[]> {
  const spans = rows.map((row) => ({ ...toSpan(row), events: [] as EventRecord[] }));
  if (spans.length === 0) return spans;
  const bySpan = new Map(spans.map((s) => [s.spanId, s]));
  const events = await sql.unsafe<Row[]>(
    "select * from events where span_id = any($1::text[]) order by timestamp, event_id",
    [arrayLiteral([...bySpan.keys()])],
    { prepare: true },
  );
  for (const row of events) bySpan.get(row.span_id as string)?.events.push(toEvent(row));
  return spans;
}

/** Runs `plan` and returns rows shaped like every other backend's. */
export async function runQuery(sql: Sql, plan: QueryPlan): Promise<QueryRow[]> {
  const compiled = compileSql(plan, postgresqlDialect);
  // Unnamed statements: DSL queries vary, and a named statement per text
  // would pile up on every connection; the server plans each with its values.
  const rows = await sql.unsafe<Row[]>(compiled.text, [...compiled.params]);
  if (plan.type === "select") {
    // Records are plain objects; QueryRow is their common, index-signature view.
    if (plan.entity === "spans") return await withEvents(sql, rows) as unknown as QueryRow[];
    const toRecord = TO_RECORD[plan.entity] as unknown as (row: Row) => QueryRow;
    return rows.map(toRecord);
  }
  const aggregates = new Set(plan.aggregates.map((a) => a.alias));
  return rows.map((row) => {
    const out: QueryRow = {};
    for (const column of compiled.columns) {
      const value = row[column.name];
      // count() is bigint, which postgres.js returns as a string.
      out[column.alias] = aggregates.has(column.alias) && typeof value === "string"
        ? Number(value)
        : value ?? null;
    }
    return out;
  });
}
