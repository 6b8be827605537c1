/**
 * A DSL query (parse + compile + run through the SQLite backend, records
 * built) against the equivalent hand-written SQL on the same database of
 * 1,000,000 spans, run with a prepared `node:sqlite` statement (the
 * baseline). The database is built once and kept in the temp directory
 * (`SPARK_DSL_BENCH_DB` overrides the path), because writing a million spans
 * takes longer than the benchmark itself.
 *
 *   deno bench -A bench/dsl_query_bench.ts
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { openBackend } from "../src/backends/open_backend.ts";
import { parseQuery, type SpanKind, type SpanRecord, type SpanStatus } from "../mod.ts";

const SPANS = 1_000_000;
const PATH = Deno.env.get("SPARK_DSL_BENCH_DB") ?? join(tmpdir(), "spark_dsl_bench_1m.db");
const T0 = 1_764_000_000;
const KINDS: SpanKind[] = ["node_execution", "llm_call", "tool_call", "internal"];
const STATUSES: SpanStatus[] = ["ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok", "unset", "error"];
const NODES = Array.from({ length: 50 }, (_, i) => `node_${i}`);

function spanCount(): number {
  try {
    const db = new DatabaseSync(PATH, { readOnly: true });
    try {
      return (db.prepare("select count(*) as n from spans").get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

async function build(): Promise<void> {
  await Deno.remove(PATH).catch(() => {});
  const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: PATH } });
  // mulberry32: an LCG's low bits would repeat with a short period.
  let state = 1;
  const random = (n: number) => {
    let t = (state = (state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
  const batch: SpanRecord[] = [];
  for (let i = 0; i < SPANS; i++) {
    const start = T0 + i * 0.01;
    batch.push({
      spanId: i.toString(16).padStart(16, "0"),
      traceId: Math.floor(i / 10).toString(16).padStart(32, "0"),
      parentSpanId: i % 10 === 0 ? null : (i - (i % 10)).toString(16).padStart(16, "0"),
      name: `Node${random(20)}.do`,
      kind: KINDS[random(KINDS.length)]!,
      startTime: start,
      endTime: start + random(2000) / 1000,
      status: STATUSES[random(STATUSES.length)]!,
      attributes: { "node.id": NODES[random(NODES.length)]!, attempt: 1 + random(3) },
      error: null,
      droppedEvents: 0,
    });
    if (batch.length === 10_000) {
      await backend.write({ traces: [], spans: batch, events: [], metrics: [] });
      batch.length = 0;
    }
  }
  await backend.close();
}

if (spanCount() !== SPANS) {
  console.error(`building ${PATH} with ${SPANS} spans (once)...`);
  await build();
}

const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: PATH } });
const db = new DatabaseSync(PATH, { readOnly: true });

const SELECT_DSL = "spans where kind=node_execution and status=error limit 20";
const selectSql = db.prepare(
  "select * from spans where kind = ? and status = ? order by start_time desc, span_id desc limit 20",
);
Deno.bench({
  name: "hand-written SQL (prepared)",
  group: "select: 20 newest failed node spans",
  baseline: true,
  fn: () => {
    selectSql.all("node_execution", "error");
  },
});
Deno.bench({
  name: "DSL via SqliteBackend",
  group: "select: 20 newest failed node spans",
  fn: async () => {
    await backend.query(parseQuery(SELECT_DSL));
  },
});

const AGGREGATE_DSL =
  'spans where kind=llm_call and since 1d | count(), avg(duration) by attr."node.id"';
const aggregateSql = db.prepare(
  "select json_extract(attributes, '$.\"node.id\"') as node, count(*) as n," +
    " avg(end_time - start_time) as avg from spans" +
    " where kind = ? and start_time >= ? group by node order by node",
);
const NOW = T0 + SPANS * 0.01;
Deno.bench({
  name: "hand-written SQL (prepared)",
  group: "aggregate: count and avg duration by node over 250k llm spans",
  baseline: true,
  n: 10,
  warmup: 1,
  fn: () => {
    aggregateSql.all("llm_call", NOW - 86400);
  },
});
Deno.bench({
  name: "DSL via SqliteBackend",
  group: "aggregate: count and avg duration by node over 250k llm spans",
  n: 10,
  warmup: 1,
  fn: async () => {
    await backend.query(parseQuery(AGGREGATE_DSL, { now: NOW }));
  },
});

Deno.bench({
  name: "parseQuery() of the aggregate query",
  group: "parse only",
  fn: () => {
    parseQuery(AGGREGATE_DSL, { now: NOW });
  },
});
