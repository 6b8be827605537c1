/**
 * The SQLite schema as an ordered list of migrations. Column names are the
 * snake_case names of `COLUMNS` in `query/plan.ts` (the SQL compiler emits
 * exactly those); attributes are JSON text. Every query filter and ordering
 * of the four query methods has an index; each ends in the time column and
 * the id, so a filtered, newest-first page (ties by id) reads in index order
 * with no sort.
 *
 * @module
 */
import type { Entity } from "../../../query/plan.ts";

/** One schema step; applied once, in order, inside a transaction. */
export interface Migration {
  /** The version the database has after this step. */
  version: number;
  /** The statements of the step. */
  sql: string;
}

/** Every migration, oldest first. Never edit a released one: append. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      create table traces (
        trace_id text primary key,
        name text not null,
        start_time real not null,
        end_time real,
        status text not null,
        attributes text not null,
        resource text not null
      );
      create index traces_start_time on traces (start_time, trace_id);
      create index traces_name on traces (name, start_time, trace_id);
      create index traces_status on traces (status, start_time, trace_id);

      create table spans (
        span_id text primary key,
        trace_id text not null,
        parent_span_id text,
        name text not null,
        kind text not null,
        start_time real not null,
        end_time real,
        status text not null,
        dropped_events integer not null,
        error_type text,
        error_message text,
        error_stack text,
        attributes text not null
      );
      create index spans_start_time on spans (start_time, span_id);
      create index spans_trace_id on spans (trace_id, start_time, span_id);
      create index spans_name on spans (name, start_time, span_id);
      create index spans_kind_status on spans (kind, status, start_time, span_id);
      create index spans_status on spans (status, start_time, span_id);

      create table events (
        event_id text primary key,
        event_type text not null,
        name text not null,
        timestamp real not null,
        trace_id text,
        span_id text,
        attributes text not null
      );
      create index events_timestamp on events (timestamp, event_id);
      create index events_trace_id on events (trace_id, timestamp, event_id);
      create index events_span_id on events (span_id, timestamp, event_id);
      create index events_event_type on events (event_type, timestamp, event_id);

      create table metrics (
        metric_id text primary key,
        name text not null,
        value real not null,
        unit text not null,
        kind text not null,
        timestamp real not null,
        trace_id text,
        attributes text not null
      );
      create index metrics_timestamp on metrics (timestamp, metric_id);
      create index metrics_name on metrics (name, timestamp, metric_id);
      create index metrics_trace_id on metrics (trace_id, timestamp, metric_id);
    `,
  },
];

/** The schema version this library writes. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/**
 * Columns written per table, in statement order (the first is the id);
 * `SqliteBackend` checks at start that the tables have exactly these, in
 * this order. The raw baselines of `bench/` bind the same list.
 */
export const TABLE_COLUMNS: Readonly<Record<Entity, readonly string[]>> = {
  traces: ["trace_id", "name", "start_time", "end_time", "status", "attributes", "resource"],
  spans: [
    "span_id",
    "trace_id",
    "parent_span_id",
    "name",
    "kind",
    "start_time",
    "end_time",
    "status",
    "dropped_events",
    "error_type",
    "error_message",
    "error_stack",
    "attributes",
  ],
  events: ["event_id", "event_type", "name", "timestamp", "trace_id", "span_id", "attributes"],
  metrics: ["metric_id", "name", "value", "unit", "kind", "timestamp", "trace_id", "attributes"],
};

/**
 * The pragmas a writing connection runs before anything else, in order
 * (`SqliteBackend` and the raw baselines of `bench/` both apply this list,
 * so that a benchmark compares the pipeline, not a pragma).
 *
 * - WAL journal; with WAL, `synchronous = NORMAL` loses at most the last
 *   transactions on power loss, never integrity.
 * - Random span ids dirty many index pages per batch; checkpointing every
 *   ~40 MB of WAL (10,000 pages) instead of SQLite's ~4 MB copies each hot
 *   page back once rather than ten times.
 * - The page cache stays SQLite's default (2 MB): a 32 MB one did not make
 *   writes faster here.
 */
export const WRITER_PRAGMAS: readonly string[] = [
  "pragma journal_mode = wal",
  "pragma synchronous = normal",
  "pragma wal_autocheckpoint = 10000",
  "pragma journal_size_limit = 67108864",
];
