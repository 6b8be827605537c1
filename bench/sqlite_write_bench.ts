/**
 * SqliteBackend.write() of 1000-span batches against a raw node:sqlite
 * baseline that writes the same rows into the same schema: one prepared
 * single-row upsert per span, JSON per row, one transaction per batch.
 *
 *   deno bench -A bench/sqlite_write_bench.ts
 *
 * Rows/s = 1000 / (time per iteration).
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteBackend } from "../src/backends/sqlite/mod.ts";
import { WRITER_PRAGMAS } from "../src/backends/sqlite/_schema.ts";
import type { Batch, SpanRecord } from "../src/model/types.ts";
import { insertRawSpans, rawSpanInsertSql } from "./_rows.ts";

const BATCH = 1000;
const ITERATIONS = 60;
const WARMUP = 5;
const BATCHES = ITERATIONS + WARMUP + 5;

function spans(prefix: string, n: number): SpanRecord[] {
  const out: SpanRecord[] = [];
  const now = 1_764_000_000;
  for (let i = 0; i < n; i++) {
    const id = (prefix + i.toString(16)).padStart(16, "0");
    out.push({
      spanId: id,
      traceId: (prefix + (i >> 4).toString(16)).padStart(32, "0"),
      parentSpanId: i % 4 === 0 ? null : id.slice(0, 15) + "f",
      name: `Node${i % 20}.do`,
      kind: "node_execution",
      startTime: now + i / 1000,
      endTime: now + i / 1000 + 0.0123,
      status: i % 50 === 0 ? "error" : "ok",
      attributes: {
        "node.id": `node-${i % 20}`,
        "graph.id": "graph-1",
        "attempt": 1,
        "llm.model": "gpt-4o",
        "tokens": 120 + (i % 7),
      },
      error: null,
      droppedEvents: 0,
    });
  }
  return out;
}

function fixtures(tag: string): SpanRecord[][] {
  return Array.from({ length: BATCHES }, (_, b) => spans(`${tag}${b.toString(16)}x`, BATCH));
}

const dir = Deno.makeTempDirSync({ prefix: "spark_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

// The backend, on its own file.
const backend = new SqliteBackend({ path: join(dir, "backend.db") });
const backendBatches = fixtures("a");
let backendNext = 0;

// The baseline: same schema (created by the backend), a plain prepared upsert per row.
new SqliteBackend({ path: join(dir, "raw.db") }).close();
const raw = new DatabaseSync(join(dir, "raw.db"));
for (const pragma of WRITER_PRAGMAS) raw.exec(pragma);
const insert = raw.prepare(rawSpanInsertSql(true));
const rawBatches = fixtures("b");
let rawNext = 0;

Deno.bench({
  name: "raw node:sqlite: prepared one-row upserts, 1000 spans per transaction",
  group: "sqlite write 1000 spans",
  baseline: true,
  n: ITERATIONS,
  warmup: WARMUP,
  fn() {
    const rows = rawBatches[rawNext++ % BATCHES]!;
    raw.exec("begin immediate");
    insertRawSpans(insert, rows);
    raw.exec("commit");
  },
});

Deno.bench({
  name: "SqliteBackend.write(): 1000 spans",
  group: "sqlite write 1000 spans",
  n: ITERATIONS,
  warmup: WARMUP,
  async fn() {
    const b: Batch = {
      traces: [],
      spans: backendBatches[backendNext++ % BATCHES]!,
      events: [],
      metrics: [],
    };
    await backend.write(b);
  },
});
