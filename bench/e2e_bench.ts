/**
 * End-to-end flush throughput: spans recorded on the main thread through
 * `TelemetryManager` until they are durable in the backend (`await
 * manager.flush()` is inside the timed function), against a raw baseline in
 * the same run that stores the same rows without the pipeline.
 *
 *   deno bench -A bench/e2e_bench.ts
 *
 * Every bench name ends in `[N records]`: records/s = N / (time per
 * iteration); `bench/report.ts` relies on it.
 *
 * - memory: the manager with the memory backend, against
 *   `MemoryBackend.write()` of the same rows in batches of 1000.
 * - SQLite (file, WAL): the manager with the default configuration
 *   (bufferSize 1000), against prepared one-row inserts of the same rows into
 *   the same schema with `node:sqlite`, 1000 rows per transaction, with the
 *   same pragmas the backend sets — so the ratio measures the pipeline
 *   (encode, ring, decode, batching, wake-ups), not a pragma.
 *
 * Both sides of a group run the same number of iterations, so both databases
 * grow alike. A last group checks that every record arrived, and that none
 * was dropped or spilled.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { TelemetryConfig } from "../src/config.ts";
import { TelemetryManager } from "../src/manager.ts";
import { MemoryBackend } from "../src/backends/memory.ts";
import { SqliteBackend } from "../src/backends/sqlite.ts";
import type { Batch, SpanRecord } from "../src/types.ts";
import { SPAN_COLUMNS, spanAttributes, spanRows } from "./_rows.ts";

/** Records per iteration. */
const N = 10_000;
/** Rows per transaction / batch: the default `bufferSize`. */
const BATCH = 1000;
const ITERATIONS = 15;
const WARMUP = 2;
const RUNS = ITERATIONS + WARMUP;

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

/** Records N spans through the manager, as an application would. */
function record(manager: TelemetryManager, traceId: string): void {
  for (let i = 0; i < N; i++) {
    const span = manager.startSpan("op", { traceId });
    const a = spanAttributes(i);
    span.setAttribute("a", a.a!);
    span.setAttribute("b", a.b!);
    span.setAttribute("c", a.c!);
    span.setAttribute("d", a.d!);
    span.setAttribute("e", a.e!);
    span.end();
  }
}

// ---- memory -------------------------------------------------------------------

const memoryManager = new TelemetryManager(TelemetryConfig.createMemory());
await memoryManager.startBackgroundExport();
const memoryTrace = memoryManager.startTrace("e2e").traceId;
await memoryManager.flush();

const memoryRaw = new MemoryBackend();

Deno.bench({
  name: `raw MemoryBackend.write(), ${BATCH} per batch [${N} records]`,
  group: "e2e memory",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  async fn(b) {
    const rows = fixture(memoryTrace);
    b.start();
    for (const spans of rows) {
      const batch: Batch = { traces: [], spans, events: [], metrics: [] };
      await memoryRaw.write(batch);
    }
    b.end();
  },
});

Deno.bench({
  name: `TelemetryManager → memory: record + flush [${N} records]`,
  group: "e2e memory",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn() {
    record(memoryManager, memoryTrace);
    await memoryManager.flush();
  },
});

// ---- SQLite -------------------------------------------------------------------

const sqlitePath = join(dir, "ours.db");
const sqliteManager = new TelemetryManager(TelemetryConfig.createSqlite(sqlitePath));
await sqliteManager.startBackgroundExport();
const sqliteTrace = sqliteManager.startTrace("e2e").traceId;
await sqliteManager.flush();

// The baseline's database: the same schema (created by the backend, then
// closed), the same pragmas, a plain prepared insert per row.
const rawPath = join(dir, "raw.db");
new SqliteBackend({ path: rawPath }).close();
const raw = new DatabaseSync(rawPath);
raw.exec("pragma journal_mode = wal");
raw.exec("pragma synchronous = normal");
raw.exec("pragma wal_autocheckpoint = 10000");
raw.exec("pragma journal_size_limit = 67108864");
raw.exec("pragma cache_size = -32000");
const insert = raw.prepare(
  `insert into spans (${SPAN_COLUMNS.join(", ")}) values (${
    SPAN_COLUMNS.map(() => "?").join(", ")
  })`,
);
const begin = raw.prepare("begin immediate");
const commit = raw.prepare("commit");

Deno.bench({
  name: `raw node:sqlite: prepared inserts, ${BATCH} per transaction [${N} records]`,
  group: "e2e sqlite",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  fn(b) {
    const batches = fixture(sqliteTrace);
    b.start();
    for (const rows of batches) {
      begin.run();
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
  async fn() {
    record(sqliteManager, sqliteTrace);
    await sqliteManager.flush();
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
    const expected = RUNS * N;
    for (
      const [label, manager] of [["memory", memoryManager], ["sqlite", sqliteManager]] as const
    ) {
      await manager.flush();
      const stats = manager.stats();
      if (stats.dropped !== 0 || stats.spilled !== 0) {
        throw new Error(`${label}: dropped ${stats.dropped}, spilled ${stats.spilled}`);
      }
      // The trace is recorded at start, and counts as one record.
      if (stats.exported !== expected + 1) {
        throw new Error(`${label}: ${stats.exported} records stored, expected ${expected + 1}`);
      }
    }
    const ours = countSpans(sqlitePath);
    const rawCount = countSpans(rawPath);
    if (ours !== expected || rawCount !== expected) {
      throw new Error(`SQLite rows: ours ${ours}, raw ${rawCount}, expected ${expected} each`);
    }
  },
});
