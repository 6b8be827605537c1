/**
 * The SQLite backend on Deno's built-in `node:sqlite` (`DatabaseSync`): one
 * file, WAL journal, one transaction per batch, upserts through statements
 * prepared once, plans compiled to SQL by `compileSql` with the SQLite
 * dialect. It registers the two functions that dialect relies on: `regexp`
 * (JavaScript regular expressions, compiled once per pattern) and the
 * `spark_percentile` aggregate (PostgreSQL's `percentile_cont`), so regular
 * expressions and percentiles run inside the database query.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Entity, QueryPlan, QueryRow } from "../../../query/plan.ts";
import { type CompiledSql, compileSql } from "../../../query/sql.ts";
import { sqliteDialect } from "../../../query/sqlite_dialect.ts";
import {
  canonicalJson,
  percentileCont,
  roundSignificant,
  roundSum,
  setField,
} from "../../../query/values.ts";
import { compileRegex, type LinearRegex } from "../../../query/re2_regex.ts";
import type {
  Batch,
  EventRecord,
  MetricRecord,
  SpanWithEvents,
  TraceRecord,
} from "../../model/types.ts";
import { type Backend, BackendError } from "../backend.ts";
import { LATEST_SCHEMA_VERSION, MIGRATIONS, TABLE_COLUMNS, WRITER_PRAGMAS } from "./_schema.ts";
import { validateBatch } from "../validate_batch.ts";
import {
  type ArrayRow,
  eventFromRow,
  metricFromRow,
  returnArrays,
  spanFromRow,
  traceFromRow,
} from "./_rows.ts";

/** Options of {@linkcode SqliteBackend}. */
export interface SqliteBackendOptions {
  /**
   * Database file; `":memory:"` for a private in-memory database.
   * @default {"spark_telemetry.db"}
   */
  path?: string;
  /**
   * How long a statement waits for another connection's lock, in milliseconds.
   * @default {5000}
   */
  busyTimeoutMs?: number;
  /**
   * Open an existing store for queries only (the query CLI, readers): the
   * file is never created, migrated, analyzed or switched to WAL, nothing is
   * written to it, and writes fail with `"WRITE_FAILED"`. A missing file, or
   * a file that is not a @spark/telemetry store of this schema version (a
   * table missing, no or another version), is refused with `"BAD_CONFIG"`.
   * @default {false}
   */
  readOnly?: boolean;
  /**
   * Lets another thread stop a running query: while `cancel[0]` is non-zero
   * and equal to `cancel[1]` (which the owner sets to the id of the query it
   * runs), the registered functions (`regexp`, `spark_percentile`) return at
   * once without work, so the statement calling them ends soon, and the
   * query fails with `"QUERY_TIMEOUT"`. node:sqlite cannot interrupt a
   * statement otherwise; the reader worker uses it for `queryTimeoutMs`.
   */
  cancel?: Int32Array;
  /**
   * Rows deleted per statement by {@linkcode SqliteBackend.applyRetention};
   * each batch commits on its own so writers never wait long.
   * @default {2000}
   */
  retentionBatchSize?: number;
}

type Row = Record<string, unknown>;

const ENTITY_ORDER: readonly Entity[] = ["traces", "spans", "events", "metrics"];

function upsertSql(entity: Entity): string {
  const columns = TABLE_COLUMNS[entity];
  const values = `(${columns.map(() => "?").join(", ")})`;
  const updates = columns.slice(1).map((c) => `${c} = excluded.${c}`).join(", ");
  return `insert into ${entity} (${columns.join(", ")}) values ${values} on conflict (${
    columns[0]
  }) do update set ${updates}`;
}

// Each writer binds its columns as direct arguments: spreading a reused
// values array into run() measured slower per row (bench/e2e_bench.ts).

function runTrace(statement: StatementSync, t: TraceRecord): void {
  statement.run(
    t.traceId,
    t.name,
    t.startTime,
    t.endTime,
    t.status,
    JSON.stringify(t.attributes),
    JSON.stringify(t.resource),
  );
}

function runSpan(statement: StatementSync, s: Batch["spans"][number]): void {
  const e = s.error;
  statement.run(
    s.spanId,
    s.traceId,
    s.parentSpanId,
    s.name,
    s.kind,
    s.startTime,
    s.endTime,
    s.status,
    s.droppedEvents,
    e === null ? null : e.type,
    e === null ? null : e.message,
    e === null ? null : e.stack,
    JSON.stringify(s.attributes),
  );
}

function runEvent(statement: StatementSync, e: EventRecord): void {
  statement.run(
    e.eventId,
    e.eventType,
    e.name,
    e.timestamp,
    e.traceId,
    e.spanId,
    JSON.stringify(e.attributes),
  );
}

function runMetric(statement: StatementSync, m: MetricRecord): void {
  statement.run(
    m.metricId,
    m.name,
    m.value,
    m.unit,
    m.kind,
    m.timestamp,
    m.traceId,
    JSON.stringify(m.attributes),
  );
}

const FROM_ROW: Readonly<Record<Entity, (r: ArrayRow) => QueryRow>> = {
  traces: traceFromRow as unknown as (r: ArrayRow) => QueryRow,
  spans: spanFromRow as unknown as (r: ArrayRow) => QueryRow,
  events: eventFromRow as unknown as (r: ArrayRow) => QueryRow,
  metrics: metricFromRow as unknown as (r: ArrayRow) => QueryRow,
};

/** Prepared statements of compiled queries kept for reuse (least recently used go first). */
const MAX_CACHED_STATEMENTS = 128;

/** Compiled patterns of the `regexp` function, bounded so odd queries cannot grow it forever. */
const MAX_CACHED_PATTERNS = 256;

function cancelled(cancel: Int32Array | null): boolean {
  if (cancel === null) return false;
  const id = Atomics.load(cancel, 0);
  return id !== 0 && id === Atomics.load(cancel, 1);
}

/** What the registered functions report to the query that ran them. */
interface FunctionFailure {
  /** What a function threw, kept for the query to report; `null` when all went well. */
  error: unknown;
}

/**
 * Registers `regexp` and `spark_percentile`. They never throw: in Deno's
 * node:sqlite a JavaScript function that throws leaves its statement
 * hanging forever (seen with Deno 2.9), so a failure is kept in the
 * returned object and reported by the query once the statement is done,
 * and a cancelled query (see {@linkcode SqliteBackendOptions.cancel}) makes
 * them return at once without work, so the statement finishes quickly and
 * its result is thrown away.
 */
function registerFunctions(db: DatabaseSync, cancel: Int32Array | null): FunctionFailure {
  const failure: FunctionFailure = { error: null };
  const patterns = new Map<string, LinearRegex>();
  db.function("regexp", { deterministic: true }, (pattern, text) => {
    if (typeof text !== "string" || typeof pattern !== "string") return 0;
    if (failure.error !== null || cancelled(cancel)) return 0;
    try {
      let re = patterns.get(pattern);
      if (re === undefined) {
        if (patterns.size >= MAX_CACHED_PATTERNS) patterns.clear();
        re = compileRegex(pattern);
        patterns.set(pattern, re);
      }
      return re.test(text) ? 1 : 0;
    } catch (error) {
      failure.error = error;
      return 0;
    }
  });
  interface State {
    values: number[];
    fraction: number;
  }
  // The accumulator is a JS object kept by node:sqlite between calls; its typings
  // only admit SQL values, hence the cast.
  const percentile = {
    start: (): State => ({ values: [], fraction: 0 }),
    step: (state: State, value: unknown, fraction: unknown): State => {
      if ((state.values.length & 1023) === 1023 && cancelled(cancel)) return state;
      if (typeof value === "number") state.values.push(value);
      state.fraction = fraction as number;
      return state;
    },
    result: (state: State): number | null => {
      try {
        return percentileCont(state.values, state.fraction);
      } catch (error) {
        failure.error = error;
        return null;
      }
    },
  };
  db.aggregate(
    "spark_percentile",
    percentile as unknown as Parameters<DatabaseSync["aggregate"]>[1],
  );
  return failure;
}

/** Rounding of sum/avg and the order of array/object group keys, as memory computes them. */
function registerValueFunctions(db: DatabaseSync): void {
  const number = (x: unknown) => (typeof x === "number" ? x : null);
  db.function("spark_round", { deterministic: true }, (x) => {
    const n = number(x);
    return n === null ? null : roundSignificant(n);
  });
  db.function("spark_round_sum", { deterministic: true }, (x) => {
    const n = number(x);
    return n === null ? null : roundSum(n);
  });
  db.function("spark_canonical_json", { deterministic: true }, (text) => {
    if (typeof text !== "string" || (text[0] !== "[" && text[0] !== "{")) return null;
    return canonicalJson(JSON.parse(text));
  });
}

/** A read-only open must not create the file, as `DatabaseSync` would for a missing one. */
function checkFileExists(path: string): void {
  if (path === ":memory:" || path === "") {
    throw new BackendError(
      "BAD_CONFIG",
      `Cannot open ${path || "''"} read-only: an in-memory database is empty, not a store`,
    );
  }
  try {
    if (Deno.statSync(path).isFile) return;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return; // let SQLite report it
  }
  throw new BackendError(
    "BAD_CONFIG",
    `Cannot open ${path}: no such file (a store opened read-only is never created)`,
  );
}

/**
 * A {@linkcode Backend} storing records in a SQLite file.
 *
 * @example
 * ```ts
 * import { SqliteBackend } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using backend = new SqliteBackend({ path: ":memory:" });
 * await backend.write({
 *   traces: [],
 *   spans: [],
 *   events: [],
 *   metrics: [{
 *     metricId: "m".repeat(32), name: "latency", value: 0.25, unit: "s",
 *     kind: "histogram", timestamp: 1, traceId: null, attributes: { "node.id": "fetch" },
 *   }],
 * });
 * const [row] = await backend.query({
 *   type: "aggregate", entity: "metrics", where: null,
 *   aggregates: [{ fn: "p50", field: { kind: "column", name: "value" }, alias: "p50(value)" }],
 *   groupBy: [{ field: { kind: "attribute", key: "node.id" }, alias: "node" }],
 *   having: null, orderBy: [], limit: 10, offset: 0,
 * });
 * assert.deepEqual(row, { node: "fetch", "p50(value)": 0.25 });
 * ```
 */
export class SqliteBackend implements Backend, AsyncDisposable {
  /** Always `"sqlite"`. */
  readonly name: string = "sqlite";
  readonly #db: DatabaseSync;
  readonly #retentionBatchSize: number;
  readonly #readOnly: boolean;
  readonly #cancel: Int32Array | null;
  #functions: FunctionFailure = { error: null };
  readonly #upserts: Record<Entity, StatementSync>;
  readonly #begin: StatementSync;
  readonly #commit: StatementSync;
  readonly #rollback: StatementSync;
  readonly #eventsOfSpans: StatementSync;
  readonly #statements = new Map<string, StatementSync>();
  #closed = false;

  /**
   * Opens (creating and migrating when needed) the database.
   *
   * @param options File and tuning.
   * @throws {BackendError} `"CONNECTION"` when the file cannot be opened,
   * `"BAD_CONFIG"` when its schema is newer than this library.
   */
  constructor(options: SqliteBackendOptions = {}) {
    const path = options.path ?? "spark_telemetry.db";
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#retentionBatchSize = options.retentionBatchSize ?? 2000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new RangeError(
        `Cannot open SQLite: busyTimeoutMs must be a whole number >= 0, got ${busyTimeoutMs}`,
      );
    }
    if (!Number.isInteger(this.#retentionBatchSize) || this.#retentionBatchSize < 1) {
      throw new RangeError(
        `Cannot open SQLite: retentionBatchSize must be a whole number >= 1, got ${this.#retentionBatchSize}`,
      );
    }
    this.#readOnly = options.readOnly ?? false;
    if (this.#readOnly) checkFileExists(path);
    this.#cancel = options.cancel ?? null;
    try {
      this.#db = new DatabaseSync(path, { readOnly: this.#readOnly });
    } catch (e) {
      throw new BackendError(
        "CONNECTION",
        `Cannot open SQLite database '${path}': ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    try {
      this.#db.exec(`pragma busy_timeout = ${busyTimeoutMs}`);
      if (this.#readOnly) this.#checkSchema(path);
      else this.#configureWriter();
      this.#functions = registerFunctions(this.#db, this.#cancel);
      registerValueFunctions(this.#db);
      // One-row statements: with the indexes in place they measured faster than
      // 16- to 1000-row multi-VALUES upserts (bench/sqlite_write_bench.ts, README).
      const upserts = {} as Record<Entity, StatementSync>;
      for (const entity of ENTITY_ORDER) upserts[entity] = this.#db.prepare(upsertSql(entity));
      this.#upserts = upserts;
      this.#begin = this.#db.prepare("begin immediate");
      this.#commit = this.#db.prepare("commit");
      this.#rollback = this.#db.prepare("rollback");
      // One query per page of spans, whatever its size: the ids travel as one JSON array.
      this.#eventsOfSpans = this.#db.prepare(
        "select * from events where span_id in (select value from json_each(?)) order by timestamp asc, event_id asc",
      );
      returnArrays(this.#eventsOfSpans);
      this.#checkColumnOrder();
    } catch (e) {
      this.#db.close();
      if (e instanceof BackendError) throw e;
      throw new BackendError(
        "CONNECTION",
        `Cannot open SQLite database '${path}': ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }

  /** The schema version of the open database. */
  get schemaVersion(): number {
    const row = this.#db.prepare("select max(version) as v from spark_schema_version").get() as Row;
    return row.v as number;
  }

  #configureWriter(): void {
    for (const pragma of WRITER_PRAGMAS) this.#db.exec(pragma);
    // Bounded statistics so the planner picks the right index (SQLite's
    // advice for long-lived connections); cheap on an unchanged database.
    this.#db.exec("pragma analysis_limit = 400");
    this.#migrate();
    this.#db.exec("pragma optimize = 0x10002");
  }

  /** A read-only connection cannot migrate: the file must already be a current store. */
  #checkSchema(path: string): void {
    const tables = new Set(
      (this.#db.prepare("select name from sqlite_master where type = 'table'").all() as Row[])
        .map((r) => r.name as string),
    );
    const notAStore = (why: string) =>
      new BackendError("BAD_CONFIG", `Cannot open ${path}: not a @spark/telemetry store (${why})`);
    for (const table of ["spark_schema_version", ...ENTITY_ORDER]) {
      if (!tables.has(table)) throw notAStore(`no ${table} table`);
    }
    const version = this.schemaVersion;
    if (version !== LATEST_SCHEMA_VERSION) {
      throw notAStore(
        version === null
          ? "no schema version recorded"
          : `schema version ${version}; this library reads ${LATEST_SCHEMA_VERSION}`,
      );
    }
  }

  #migrate(): void {
    this.#db.exec(
      "create table if not exists spark_schema_version (version integer primary key, applied_at real not null)",
    );
    this.#db.exec("begin immediate");
    try {
      const row = this.#db.prepare(
        "select coalesce(max(version), 0) as v from spark_schema_version",
      ).get() as Row;
      const current = row.v as number;
      if (current > LATEST_SCHEMA_VERSION) {
        throw new BackendError(
          "BAD_CONFIG",
          `Cannot open SQLite database: its schema version ${current} is newer than this library's ${LATEST_SCHEMA_VERSION}`,
        );
      }
      const record = this.#db.prepare(
        "insert into spark_schema_version (version, applied_at) values (?, ?)",
      );
      for (const m of MIGRATIONS) {
        if (m.version <= current) continue;
        this.#db.exec(m.sql);
        record.run(m.version, Date.now() / 1000);
      }
      this.#db.exec("commit");
    } catch (e) {
      this.#db.exec("rollback");
      throw e;
    }
  }

  #checkOpen(action: string): void {
    if (this.#closed) {
      throw new BackendError("CLOSED", `Cannot ${action}: the SQLite backend is closed`);
    }
  }

  /**
   * Upserts the batch in one transaction.
   *
   * @param batch Records to store.
   * @throws {BackendError} `"BAD_RECORD"` for an invalid record (nothing is
   * written), `"WRITE_FAILED"` when SQLite fails (the transaction is rolled back).
   */
  write(batch: Batch): Promise<void> {
    try {
      this.#checkOpen("write");
      if (this.#readOnly) {
        // Not the records' fault: keep them (retried) rather than isolate and drop them.
        throw new BackendError("WRITE_FAILED", "Cannot write batch to SQLite: opened read-only", {
          transient: true,
        });
      }
      validateBatch(batch);
      if (
        batch.traces.length + batch.spans.length + batch.events.length + batch.metrics.length === 0
      ) {
        return Promise.resolve();
      }
      this.#begin.run();
      try {
        this.#writeAll("traces", batch.traces, runTrace);
        this.#writeAll("spans", batch.spans, runSpan);
        this.#writeAll("events", batch.events, runEvent);
        this.#writeAll("metrics", batch.metrics, runMetric);
        this.#commit.run();
      } catch (e) {
        this.#rollback.run();
        throw new BackendError(
          "WRITE_FAILED",
          `Cannot write batch to SQLite: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
      }
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #writeAll<T>(
    entity: Entity,
    records: readonly T[],
    run: (statement: StatementSync, r: T) => void,
  ): void {
    const upsert = this.#upserts[entity];
    for (let i = 0; i < records.length; i++) run(upsert, records[i]!);
  }

  /** Rows are read by position (`ArrayRow`): each table must have its columns in `TABLE_COLUMNS` order. */
  #checkColumnOrder(): void {
    for (const entity of ENTITY_ORDER) {
      const names = this.#db.prepare(`select * from ${entity}`).columns().map((c) => c.name);
      if (names.join() !== TABLE_COLUMNS[entity].join()) {
        throw new BackendError(
          "BAD_CONFIG",
          `Cannot open SQLite database: table ${entity} has columns (${
            names.join(", ")
          }), expected (${TABLE_COLUMNS[entity].join(", ")})`,
        );
      }
    }
  }

  /** The prepared statement of a compiled query, from a small LRU cache keyed by its text. */
  #prepared(text: string): StatementSync {
    let statement = this.#statements.get(text);
    if (statement === undefined) {
      if (this.#statements.size >= MAX_CACHED_STATEMENTS) {
        this.#statements.delete(this.#statements.keys().next().value!);
      }
      statement = this.#db.prepare(text);
      returnArrays(statement);
    } else {
      // Maps iterate in insertion order: re-inserting makes this the newest.
      this.#statements.delete(text);
    }
    this.#statements.set(text, statement);
    return statement;
  }

  /**
   * Compiles the plan to SQL and runs it.
   *
   * @param plan The plan.
   * @returns Records (spans with their events) or aggregate rows.
   * @throws {BackendError} `"BAD_QUERY"` for an invalid plan, `"QUERY_FAILED"` when SQLite fails.
   */
  query(plan: QueryPlan): Promise<QueryRow[]> {
    try {
      this.#checkOpen("query");
      const compiled = compileSql(plan, sqliteDialect);
      return Promise.resolve(this.#run(plan, compiled));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #run(plan: QueryPlan, compiled: CompiledSql): QueryRow[] {
    let rows: ArrayRow[];
    this.#functions.error = null;
    try {
      rows = this.#prepared(compiled.text).all(...compiled.params) as unknown as ArrayRow[];
    } catch (e) {
      throw new BackendError(
        "QUERY_FAILED",
        `Cannot run query on SQLite: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    if (cancelled(this.#cancel)) {
      // The functions stopped working part-way: the rows are wrong.
      throw new BackendError("QUERY_TIMEOUT", "Cannot run query on SQLite: it was cancelled");
    }
    const failed = this.#functions.error;
    if (failed !== null) {
      this.#functions.error = null;
      throw new BackendError(
        "QUERY_FAILED",
        `Cannot run query on SQLite: ${(failed as Error)?.message ?? String(failed)}`,
        { cause: failed },
      );
    }
    if (plan.type === "aggregate") {
      // The statement's columns are exactly compiled.columns, in order.
      const columns = compiled.columns;
      return rows.map((r) => {
        const out: QueryRow = {};
        for (let i = 0; i < columns.length; i++) {
          const c = columns[i]!;
          const v = r[i];
          setField(out, c.alias, c.json && typeof v === "string" ? JSON.parse(v) : v);
        }
        return out;
      });
    }
    const records = rows.map(FROM_ROW[plan.entity]);
    if (plan.entity === "spans" && records.length > 0) {
      this.#attachEvents(records as unknown as SpanWithEvents[]);
    }
    return records;
  }

  #attachEvents(spans: SpanWithEvents[]): void {
    const bySpan = new Map<string, SpanWithEvents>();
    for (const s of spans) bySpan.set(s.spanId, s);
    const rows = this.#eventsOfSpans.all(
      JSON.stringify([...bySpan.keys()]),
    ) as unknown as ArrayRow[];
    for (const r of rows) bySpan.get(r[5] as string)?.events.push(eventFromRow(r));
  }

  /**
   * Deletes records older than `cutoff` in small batches, each its own
   * transaction, yielding between batches.
   *
   * @param cutoff Seconds since the epoch.
   * @returns How many records were deleted.
   */
  async applyRetention(cutoff: number): Promise<number> {
    this.#checkOpen("apply retention");
    if (this.#readOnly) {
      throw new BackendError("WRITE_FAILED", "Cannot apply retention: SQLite opened read-only");
    }
    if (typeof cutoff !== "number" || Number.isNaN(cutoff)) {
      throw new RangeError(`Cannot apply retention: cutoff must be a number, got ${cutoff}`);
    }
    let deleted = 0;
    for (
      const [table, time] of [
        ["traces", "start_time"],
        ["spans", "start_time"],
        ["events", "timestamp"],
        ["metrics", "timestamp"],
      ] as const
    ) {
      const statement = this.#db.prepare(
        `delete from ${table} where rowid in (select rowid from ${table} where ${time} < ? limit ?)`,
      );
      for (;;) {
        const { changes } = statement.run(cutoff, this.#retentionBatchSize);
        deleted += Number(changes);
        if (Number(changes) < this.#retentionBatchSize) break;
        // Let queued writes and queries run between batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
        this.#checkOpen("apply retention");
      }
    }
    return deleted;
  }

  /** Closes the database file. Further calls fail with `"CLOSED"`. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#statements.clear();
      try {
        if (!this.#readOnly) this.#db.exec("pragma optimize");
      } finally {
        this.#db.close();
      }
    }
    return Promise.resolve();
  }

  /** Same as {@linkcode SqliteBackend.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
