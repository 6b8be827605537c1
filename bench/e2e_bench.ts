/**
 * End-to-end flush throughput: spans recorded on the main thread through
 * `TelemetryManager` until they are durable in the backend (`await
 * manager.flush()` is inside the timed region), against a raw baseline in the
 * same run that stores the same rows without the pipeline.
 *
 *   deno bench -A bench/e2e_bench.ts
 *   TELEMETRY_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test deno bench -A bench/e2e_bench.ts
 *
 * Every bench name ends in `[N records]`: records/s = N / (time per
 * iteration); `bench/report.ts` relies on it.
 *
 * | group          | ours (default config, bufferSize 1000)  | raw baseline, same rows, 1000 per batch           |
 * | -------------- | --------------------------------------- | ------------------------------------------------- |
 * | e2e memory     | manager → memory backend                | `MemoryBackend.write()`                           |
 * | e2e sqlite     | manager → SQLite file (WAL)             | node:sqlite prepared one-row inserts, one         |
 * |                |                                         | transaction per 1000, same schema and pragmas     |
 * | e2e postgresql | manager → PostgreSQL                    | postgres.js COPY per 1000 rows, noDelay socket    |
 * | e2e otlp       | manager → OTLP/HTTP protobuf receiver   | fetch POST of pre-encoded protobuf bodies         |
 *
 * The SQLite baseline runs the backend's own list of writer pragmas
 * (`WRITER_PRAGMAS`: WAL, synchronous=NORMAL, wal_autocheckpoint) so the
 * ratio measures the pipeline (encode, ring, decode, batching, wake-ups),
 * not a pragma. (Until 2026-11-25 the baseline also set a 32 MB page cache
 * that the backend had stopped setting.)
 * Both sides of a group run the same number of iterations, so both SQLite
 * files grow alike; PostgreSQL tables are emptied before each iteration,
 * outside the timed region. Fixtures are built per iteration before
 * `b.start()`, and the "ours" side builds (and discards) the same fixture
 * untimed too: both sides then leave the same pause between timed regions,
 * in which the OS writes back dirty pages — without it the baseline alone
 * got that head start. The OTLP receiver runs in a worker (`_otlp_receiver.ts`) so it
 * answers while the main thread records. The last group checks that every
 * record arrived and that nothing was dropped or spilled.
 *
 * PostgreSQL cases are skipped, with a message, when `TELEMETRY_TEST_PG_URL`
 * is unset.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import type { Sql } from "postgres";
import { TelemetryConfig } from "../src/config.ts";
import { TelemetryManager } from "../src/manager.ts";
import { MemoryBackend } from "../src/backends/memory/mod.ts";
import { SqliteBackend } from "../src/backends/sqlite/mod.ts";
import { WRITER_PRAGMAS } from "../src/backends/sqlite/_schema.ts";
import { PostgresqlBackend } from "../src/backends/postgresql/mod.ts";
import { OtlpModel } from "../src/backends/otlp/_sdk_model.ts";
import { encodeTracesProtobuf } from "../src/backends/otlp/_protobuf.ts";
import type { Batch, SpanRecord } from "../src/model/types.ts";
import { client, writeRawCopy } from "./_pg_write_strategies.ts";
import { insertRawSpans, rawSpanInsertSql, recordSpan, spanRows } from "./_rows.ts";

/** Records per iteration. */
const N = 20_000;
/** Rows per transaction / batch / request: the default `bufferSize`. */
const BATCH = 1000;
const ITERATIONS = 10;
const WARMUP = 2;
const PG_URL = Deno.env.get("TELEMETRY_TEST_PG_URL");
if (PG_URL === undefined) {
  console.warn("e2e_bench: PostgreSQL cases skipped: set TELEMETRY_TEST_PG_URL to run them.");
}

const dir = Deno.makeTempDirSync({ prefix: "spark_e2e_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

function chunks<T>(rows: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += size) out.push(rows.slice(i, i + size));
  return out;
}

/**
 * One iteration's fixture: N fresh rows in batches of BATCH. Built per
 * iteration before `b.start()` (not all up front) so that the baselines do
 * not run on a main-thread heap swollen by every iteration's rows, which
 * would slow them with GC work the pipeline side does not have.
 */
function fixture(traceId: string): SpanRecord[][] {
  return chunks(spanRows(traceId, N), BATCH);
}

function spansOnly(spans: SpanRecord[]): Batch {
  return { traces: [], spans, events: [], metrics: [] };
}

/** Records N spans through the manager, as an application would. */
function record(manager: TelemetryManager, traceId: string): void {
  for (let i = 0; i < N; i++) {
    recordSpan(manager, traceId, i);
  }
}

/** Starts a manager, records its trace (one record) and waits until the worker is ready. */
async function started(
  config: TelemetryConfig,
): Promise<{ manager: TelemetryManager; traceId: string }> {
  const manager = new TelemetryManager(config);
  await manager.startBackgroundExport();
  const traceId = manager.startTrace("e2e").traceId;
  await manager.flush();
  return { manager, traceId };
}

/** Every manager of the file, for the final check: records each should have stored. */
const checks: { label: string; manager: TelemetryManager; runs: () => number }[] = [];

// ---- memory -------------------------------------------------------------------

const memory = await started(TelemetryConfig.createMemory());
const memoryRaw = new MemoryBackend();
let memoryRuns = 0;
checks.push({ label: "memory", manager: memory.manager, runs: () => memoryRuns });

Deno.bench({
  name: `raw MemoryBackend.write(), ${BATCH} per batch [${N} records]`,
  group: "e2e memory",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    const batches = fixture(memory.traceId);
    b.start();
    for (const spans of batches) await memoryRaw.write(spansOnly(spans));
    b.end();
  },
});

Deno.bench({
  name: `TelemetryManager → memory: record + flush [${N} records]`,
  group: "e2e memory",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    memoryRuns++;
    fixture(memory.traceId);
    b.start();
    record(memory.manager, memory.traceId);
    await memory.manager.flush();
    b.end();
  },
});

// ---- SQLite -------------------------------------------------------------------

const sqlitePath = join(dir, "ours.db");
const sqlite = await started(TelemetryConfig.createSqlite(sqlitePath));
let sqliteRuns = 0;
checks.push({ label: "sqlite", manager: sqlite.manager, runs: () => sqliteRuns });

// The baseline's database: the same schema (created by the backend, then
// closed), the same pragmas, a plain prepared insert per row.
const rawPath = join(dir, "raw.db");
new SqliteBackend({ path: rawPath }).close();
const raw = new DatabaseSync(rawPath);
for (const pragma of WRITER_PRAGMAS) raw.exec(pragma);
const insert = raw.prepare(rawSpanInsertSql(false));
const begin = raw.prepare("begin immediate");
const commit = raw.prepare("commit");
let rawRuns = 0;

Deno.bench({
  name: `raw node:sqlite: prepared inserts, ${BATCH} per transaction [${N} records]`,
  group: "e2e sqlite",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  fn(b) {
    rawRuns++;
    const batches = fixture(sqlite.traceId);
    b.start();
    for (const rows of batches) {
      begin.run();
      insertRawSpans(insert, rows);
      commit.run();
    }
    b.end();
  },
});

Deno.bench({
  name: `TelemetryManager → SQLite: record + flush [${N} records]`,
  group: "e2e sqlite",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    sqliteRuns++;
    fixture(sqlite.traceId);
    b.start();
    record(sqlite.manager, sqlite.traceId);
    await sqlite.manager.flush();
    b.end();
  },
});

// ---- PostgreSQL ---------------------------------------------------------------

const PG_OURS = "bench_e2e_ours";
const PG_RAW = "bench_e2e_raw";
let pg: { manager: TelemetryManager; traceId: string } | null = null;
let pgOurs: Sql | null = null;
let pgRaw: Sql | null = null;
let pgRuns = 0;
if (PG_URL !== undefined) {
  // Both schemas are created by the backend's migrations: the same tables and indexes.
  await (await PostgresqlBackend.open({ url: PG_URL, schema: PG_RAW })).close();
  pg = await started(
    TelemetryConfig.createPostgresql({ url: PG_URL, backendConfig: { schema: PG_OURS } }),
  );
  pgOurs = client(PG_URL, PG_OURS, false);
  pgRaw = client(PG_URL, PG_RAW, true);
  const p = pg;
  checks.push({ label: "postgresql", manager: p.manager, runs: () => pgRuns });
}

async function emptyTables(sql: Sql): Promise<void> {
  await sql`truncate traces, spans, events, metrics`;
}

Deno.bench({
  name: `raw postgres.js COPY, ${BATCH} per transaction, noDelay socket [${N} records]`,
  group: "e2e postgresql",
  baseline: true,
  ignore: PG_URL === undefined,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    await emptyTables(pgRaw!);
    const batches = fixture(pg!.traceId);
    b.start();
    for (const spans of batches) await writeRawCopy(pgRaw!, spansOnly(spans));
    b.end();
  },
});

Deno.bench({
  name: `TelemetryManager → PostgreSQL: record + flush [${N} records]`,
  group: "e2e postgresql",
  ignore: PG_URL === undefined,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    await emptyTables(pgOurs!);
    pgRuns++;
    fixture(pg!.traceId);
    b.start();
    record(pg!.manager, pg!.traceId);
    await pg!.manager.flush();
    b.end();
  },
});

// ---- OTLP ---------------------------------------------------------------------

const receiver = new Worker(new URL("./_otlp_receiver.ts", import.meta.url));
receiver.unref();
const port = await new Promise<number>((resolve) => {
  receiver.once("message", (m: { port: number }) => resolve(m.port));
});
const endpoint = `http://127.0.0.1:${port}`;
const otlp = await started(
  new TelemetryConfig({
    enabled: true,
    backend: "otlp_http",
    backendConfig: { endpoint, serviceName: "bench" },
  }),
);
let otlpRuns = 0;
checks.push({ label: "otlp", manager: otlp.manager, runs: () => otlpRuns });
const model = new OtlpModel({ resource: {}, serviceName: "bench", maxPendingSpanEvents: 0 });

Deno.bench({
  name: `raw fetch POST of pre-encoded protobuf, ${BATCH} per request [${N} records]`,
  group: "e2e otlp",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    const bodies = fixture(otlp.traceId).map((spans) =>
      encodeTracesProtobuf(model.spans(spans).spans)
    );
    b.start();
    for (const body of bodies) {
      const response = await fetch(`${endpoint}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/x-protobuf" },
        body: body as BodyInit,
      });
      await response.arrayBuffer();
    }
    b.end();
  },
});

Deno.bench({
  name: `TelemetryManager → OTLP/HTTP protobuf: record + flush [${N} records]`,
  group: "e2e otlp",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    otlpRuns++;
    fixture(otlp.traceId).map((spans) => encodeTracesProtobuf(model.spans(spans).spans));
    b.start();
    record(otlp.manager, otlp.traceId);
    await otlp.manager.flush();
    b.end();
  },
});

// ---- check ----------------------------------------------------------------------

function countSpans(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("select count(*) as n from spans").get() as { n: number }).n;
  } finally {
    db.close();
  }
}

Deno.bench({
  name: "check: every record stored, none dropped or spilled",
  group: "check",
  n: 1,
  warmup: 0,
  async fn() {
    for (const { label, manager, runs } of checks) {
      await manager.flush();
      const stats = manager.stats();
      if (stats.dropped !== 0 || stats.spilled !== 0) {
        throw new Error(`${label}: dropped ${stats.dropped}, spilled ${stats.spilled}`);
      }
      // The trace recorded at start counts as one record.
      const expected = runs() * N + 1;
      if (stats.exported !== expected) {
        throw new Error(`${label}: ${stats.exported} records stored, expected ${expected}`);
      }
    }
    const ours = countSpans(sqlitePath);
    const rawCount = countSpans(rawPath);
    if (ours !== sqliteRuns * N || rawCount !== rawRuns * N) {
      throw new Error(
        `SQLite rows: ours ${ours}, raw ${rawCount}, expected ${sqliteRuns * N} each`,
      );
    }
    if (pgOurs !== null) {
      const [row] = await pgOurs`select count(*)::int as n from spans`;
      if (row!.n !== N) {
        throw new Error(`PostgreSQL: ${row!.n} spans in the last run, expected ${N}`);
      }
    }
  },
});
