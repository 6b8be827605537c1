/**
 * The PostgreSQL schema and its migrations. Every migration runs once, in
 * order, recorded in `telemetry_schema_version`; all of them run inside one
 * transaction holding an advisory lock keyed on the schema name, so processes
 * that start at the same moment take turns and the later ones find the work
 * done.
 *
 * Column names are the snake_case names of `COLUMNS` in `query/plan.ts`.
 * Text columns use the "C" collation so that comparisons, ordering and their
 * indexes follow Unicode code points, as on every other backend.
 *
 * @module
 */
import type { Sql } from "postgres";
import { BackendError } from "../backend.ts";

/** One schema change: applied once, in order, never edited after release. */
interface Migration {
  version: number;
  description: string;
  statements: string[];
}

const TEXT = 'text collate "C"';

/** Every migration, oldest first. Append; never rewrite a released one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "traces, spans, events, metrics with their indexes",
    statements: [
      `create table traces (
        trace_id ${TEXT} primary key,
        name ${TEXT} not null,
        start_time double precision not null,
        end_time double precision,
        status ${TEXT} not null,
        attributes jsonb not null default '{}',
        resource jsonb not null default '{}'
      )`,
      "create index traces_start_time_idx on traces (start_time, trace_id)",
      "create index traces_end_time_idx on traces (end_time)",
      "create index traces_duration_idx on traces ((end_time - start_time))",
      "create index traces_name_idx on traces (name)",
      "create index traces_status_idx on traces (status)",
      "create index traces_attributes_idx on traces using gin (attributes)",
      "create index traces_resource_idx on traces using gin (resource)",
      `create table spans (
        span_id ${TEXT} primary key,
        trace_id ${TEXT} not null,
        parent_span_id ${TEXT},
        name ${TEXT} not null,
        kind ${TEXT} not null,
        start_time double precision not null,
        end_time double precision,
        status ${TEXT} not null,
        dropped_events integer not null default 0,
        error_type ${TEXT},
        error_message ${TEXT},
        error_stack text,
        attributes jsonb not null default '{}'
      )`,
      "create index spans_start_time_idx on spans (start_time, span_id)",
      "create index spans_trace_id_idx on spans (trace_id)",
      "create index spans_parent_span_id_idx on spans (parent_span_id)",
      "create index spans_name_idx on spans (name)",
      "create index spans_kind_idx on spans (kind, start_time)",
      "create index spans_status_idx on spans (status, start_time)",
      "create index spans_end_time_idx on spans (end_time)",
      "create index spans_duration_idx on spans ((end_time - start_time))",
      "create index spans_error_type_idx on spans (error_type)",
      "create index spans_attributes_idx on spans using gin (attributes)",
      `create table events (
        event_id ${TEXT} primary key,
        event_type ${TEXT} not null,
        name ${TEXT} not null,
        timestamp double precision not null,
        trace_id ${TEXT},
        span_id ${TEXT},
        attributes jsonb not null default '{}'
      )`,
      "create index events_timestamp_idx on events (timestamp, event_id)",
      "create index events_span_id_idx on events (span_id, timestamp)",
      "create index events_trace_id_idx on events (trace_id)",
      "create index events_event_type_idx on events (event_type)",
      "create index events_name_idx on events (name)",
      "create index events_attributes_idx on events using gin (attributes)",
      `create table metrics (
        metric_id ${TEXT} primary key,
        name ${TEXT} not null,
        value double precision not null,
        unit ${TEXT} not null,
        kind ${TEXT} not null,
        timestamp double precision not null,
        trace_id ${TEXT},
        attributes jsonb not null default '{}'
      )`,
      "create index metrics_timestamp_idx on metrics (timestamp, metric_id)",
      "create index metrics_name_idx on metrics (name, timestamp)",
      "create index metrics_trace_id_idx on metrics (trace_id)",
      "create index metrics_kind_idx on metrics (kind)",
      "create index metrics_value_idx on metrics (value)",
      "create index metrics_attributes_idx on metrics using gin (attributes)",
    ],
  },
  {
    version: 2,
    description: "partial btree indexes on free-text columns, so text of any length is stored",
    // A btree entry holds at most ~2.7 kB (a third of a page): one span
    // name or error type longer than that failed its whole batch. These
    // indexes now hold only values of at most 2000 bytes (the bound
    // `query/postgresql_dialect.ts` repeats in every `=` / `in` on these
    // columns, so the planner can use them); longer text is stored in full
    // and found by a scan. (A hash index would hold any length, but its
    // inserts slow down without bound when many rows share a value, as
    // span names do: 8x slower at 600k rows of 10 names.)
    statements: [
      ["traces", "name", "name"],
      ["spans", "name", "name"],
      ["spans", "error_type", "error_type"],
      ["events", "event_type", "event_type"],
      ["events", "name", "name"],
      ["metrics", "name", "name, timestamp"],
    ].flatMap(([table, column, key]) => [
      `drop index if exists ${table}_${column}_idx`,
      `create index ${table}_${column}_idx on ${table} (${key}) where octet_length(${column}) <= 2000`,
    ]),
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Schema names we accept: plain identifiers, so they never need quoting. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Creates `schema` and brings it to {@linkcode SCHEMA_VERSION}. Safe to call
 * from many processes at once: the advisory lock serialises them, and each
 * reads the version only after acquiring it.
 *
 * @returns The migrations applied by this call (0 when already current).
 */
export async function migrate(sql: Sql, schema: string): Promise<number> {
  return await sql.begin(async (tx) => {
    // Transaction-scoped: released by commit or rollback, even if the
    // process dies mid-migration (the server ends the session).
    await tx`select pg_advisory_xact_lock(hashtext(${"spark_telemetry:" + schema}))`;
    // Create only what is missing: a role allowed to read and write but not
    // to create (the schema migrated by someone else) must still get in.
    const [found] = await tx<{ namespace: boolean; versions: boolean }[]>`
      select exists (select 1 from pg_namespace where nspname = ${schema}) as namespace,
             to_regclass(${schema + ".telemetry_schema_version"}) is not null as versions`;
    if (!found?.namespace) await tx.unsafe(`create schema ${schema}`);
    if (!found?.versions) {
      await tx.unsafe(
        `create table ${schema}.telemetry_schema_version (
          version integer primary key,
          description text not null,
          applied_at timestamptz not null default now()
        )`,
      );
    }
    const [row] = await tx.unsafe<{ version: number | null }[]>(
      `select max(version) as version from ${schema}.telemetry_schema_version`,
    );
    const current = row?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(
        `schema '${schema}' is at version ${current}, newer than this library's ${SCHEMA_VERSION}`,
      );
    }
    let applied = 0;
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue;
      await tx.unsafe(`set local search_path to ${schema}`);
      for (const statement of migration.statements) await tx.unsafe(statement);
      await tx.unsafe(
        `insert into ${schema}.telemetry_schema_version (version, description) values ($1, $2)`,
        [migration.version, migration.description],
      );
      applied++;
    }
    return applied;
  });
}

/**
 * Checks, without writing anything, that `schema` holds a store of
 * {@linkcode SCHEMA_VERSION}: for a backend opened read-only, which must
 * not create or migrate.
 *
 * @throws {BackendError} `"BAD_CONFIG"`: "not a @spark/telemetry store (no
 * traces table)", or of another schema version.
 */
export async function checkStore(sql: Sql, schema: string): Promise<void> {
  const tables = ["telemetry_schema_version", "traces", "spans", "events", "metrics"];
  const found = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p')`;
  const present = new Set(found.map((r) => r.name));
  const notAStore = (why: string) =>
    new BackendError("BAD_CONFIG", `not a @spark/telemetry store (${why})`);
  for (const table of tables) {
    if (!present.has(table)) throw notAStore(`no ${table} table`);
  }
  const [row] = await sql.unsafe<{ version: number | null }[]>(
    `select max(version) as version from ${schema}.telemetry_schema_version`,
  );
  const version = row?.version ?? null;
  if (version !== SCHEMA_VERSION) {
    throw notAStore(
      version === null
        ? "no schema version recorded"
        : `schema version ${version}; this library reads ${SCHEMA_VERSION}`,
    );
  }
}
