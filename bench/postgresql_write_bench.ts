/**
 * How to write a batch into PostgreSQL: the backend's one-statement unnest
 * upsert against the alternatives, the same rows each time (10 batches of
 * 1,000 spans plus their 50 traces, 250 events and 250 metrics), into the
 * same schema with every index, tables emptied before each run.
 *
 * Needs a server: `TELEMETRY_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test deno bench -A bench/postgresql_write_bench.ts`.
 *
 * @module
 */
import postgres, { type Sql } from "postgres";
import type { Batch } from "../src/model/types.ts";
import { nowSeconds, TelemetryConfig, TelemetryManager } from "../mod.ts";
import { newSpanId, newTraceId } from "../src/model/ids.ts";
import { PostgresqlBackend } from "../src/backends/postgresql/mod.ts";
import { ingestStatement } from "../src/backends/postgresql/_ingest.ts";
import { makeBatch } from "./_pg_fixtures.ts";
import {
  client,
  writeCopyStaging,
  writeJsonRecordset,
  writeMultiRow,
  writeRawCopy,
  writeSingleRows,
} from "./_pg_write_strategies.ts";

const URL = Deno.env.get("TELEMETRY_TEST_PG_URL");
if (URL === undefined) {
  console.warn("postgresql_write_bench skipped: set TELEMETRY_TEST_PG_URL to run it.");
}

const BATCHES = 10;
const SPANS_PER_BATCH = 1000;
const RUNS = { n: 3, warmup: 1 };

function batches(): Batch[] {
  const start = 1_700_000_000 + Math.random() * 1e6;
  return Array.from({ length: BATCHES }, (_, i) => makeBatch(SPANS_PER_BATCH, start + i * 10));
}

/** Each case gets its own schema (created by the backend's migrations) and client. */
async function setup(schema: string, noDelay: boolean): Promise<Sql> {
  const backend = await PostgresqlBackend.open({ url: URL!, schema });
  await backend.close();
  return client(URL!, schema, noDelay);
}

async function empty(sql: Sql): Promise<void> {
  await sql`truncate traces, spans, events, metrics`;
}

type Write = (batch: Batch) => Promise<void>;

function bench(
  name: string,
  group: string,
  open: () => Promise<{ write: Write; sql: Sql }>,
  baseline = false,
): void {
  let state: { write: Write; sql: Sql } | null = null;
  Deno.bench({
    name,
    group,
    baseline,
    ignore: URL === undefined,
    ...RUNS,
    async fn(b) {
      state ??= await open();
      await empty(state.sql);
      const work = batches();
      b.start();
      for (const batch of work) await state.write(batch);
      b.end();
    },
  });
}

function strategy(
  name: string,
  group: string,
  schema: string,
  noDelay: boolean,
  write: (sql: Sql, batch: Batch) => Promise<void>,
  baseline = false,
): void {
  bench(name, group, async () => {
    const sql = await setup(schema, noDelay);
    return { sql, write: (batch) => write(sql, batch) };
  }, baseline);
}

function library(name: string, group: string, schema: string): void {
  bench(name, group, async () => {
    const backend = await PostgresqlBackend.open({ url: URL!, schema });
    const sql = postgres(URL!, {
      onnotice: () => {},
      fetch_types: false,
      connection: { search_path: schema },
    });
    return { sql, write: (batch) => backend.write(batch) };
  });
}

const WRITE = "pg upsert 10k spans + 5.5k other records, 1k-span batches";
strategy("single-row inserts", WRITE, "bench_single", false, writeSingleRows, true);
strategy("multi-row sql(rows)", WRITE, "bench_multi", false, writeMultiRow);
strategy("COPY + staging, default socket", WRITE, "bench_copy", false, writeCopyStaging);
strategy("COPY + staging, noDelay socket", WRITE, "bench_copy_nd", true, writeCopyStaging);
strategy("jsonb_to_recordset, one statement", WRITE, "bench_json", false, writeJsonRecordset);
library("unnest, one statement (PostgresqlBackend.write)", WRITE, "bench_unnest");

const FLOOR = "pg library write vs raw COPY of the same rows";
strategy("raw COPY, no upsert, noDelay socket", FLOOR, "bench_raw_copy", true, writeRawCopy, true);
library("PostgresqlBackend.write", FLOOR, "bench_library");

// End to end: spans recorded on the application thread, through the ring
// buffer and the flusher worker, into PostgreSQL, against a raw COPY of
// spans of the same shape. Each iteration records 10,000 spans in one trace
// and waits for flush().
const E2E = "pg end to end: 10k spans recorded and flushed vs raw COPY";
const E2E_SPANS = 10_000;

function e2eBatch(): Batch {
  const traceId = newTraceId();
  const now = nowSeconds();
  const batch: Batch = {
    traces: [{
      traceId,
      name: "run",
      startTime: now,
      endTime: now + 1,
      status: "ok",
      attributes: {},
      resource: {},
    }],
    spans: [],
    events: [],
    metrics: [],
  };
  for (let i = 0; i < E2E_SPANS; i++) {
    batch.spans.push({
      spanId: newSpanId(),
      traceId,
      parentSpanId: null,
      name: "Node.do",
      kind: "node_execution",
      startTime: now + i / 1e6,
      endTime: now + i / 1e6 + 1e-4,
      status: "ok",
      attributes: { "node.id": `n${i % 13}`, attempt: i % 3, cached: i % 2 === 0 },
      error: null,
      droppedEvents: 0,
    });
  }
  return batch;
}

let rawCopy: Sql | null = null;
Deno.bench({
  name: "raw COPY of 10k spans, noDelay socket",
  group: E2E,
  baseline: true,
  ignore: URL === undefined,
  ...RUNS,
  async fn(b) {
    rawCopy ??= await setup("bench_e2e_copy", true);
    await empty(rawCopy);
    const batch = e2eBatch();
    b.start();
    await writeRawCopy(rawCopy, batch);
    b.end();
  },
});

let manager: TelemetryManager | null = null;
let managerSql: Sql | null = null;
Deno.bench({
  name: "TelemetryManager: startSpan/end × 10k, then flush()",
  group: E2E,
  ignore: URL === undefined,
  ...RUNS,
  async fn(b) {
    if (manager === null) {
      manager = new TelemetryManager(TelemetryConfig.createPostgresql({
        url: URL!,
        exportInterval: 0,
        backendConfig: { schema: "bench_e2e_library" },
      }));
      await manager.startBackgroundExport();
      managerSql = client(URL!, "bench_e2e_library", false);
    }
    await empty(managerSql!);
    b.start();
    const trace = manager.startTrace("run");
    for (let i = 0; i < E2E_SPANS; i++) {
      manager.startSpan("Node.do", {
        traceId: trace.traceId,
        kind: "node_execution",
        attributes: { "node.id": `n${i % 13}`, attempt: i % 3, cached: i % 2 === 0 },
      }).end("ok");
    }
    manager.endTrace(trace.traceId);
    await manager.flush();
    b.end();
  },
});

Deno.bench({
  name: "ingestStatement(): text and parameters of 10 batches (client side only, no server)",
  group: "ingest statement",
  n: 20,
  warmup: 5,
  fn(b) {
    const work = batches();
    b.start();
    for (const batch of work) ingestStatement(batch);
    b.end();
  },
});
