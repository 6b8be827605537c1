/**
 * Compiled query plans run by SqliteBackend.query() against the equivalent
 * hand-written SQL run with node:sqlite on the same file (`baseline`), on a
 * database of 1,000,000 spans (set SPARK_BENCH_SPANS to change; the file is
 * built once per process, outside the timed functions).
 *
 *   deno bench -A bench/sqlite_query_bench.ts
 *
 * The backend's numbers include what a user gets on top of the raw rows:
 * plan validation and compilation, decoding rows into records, and for
 * selected spans the one extra query that attaches their events.
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteBackend } from "../src/backends/sqlite.ts";
import { percentileCont } from "../query/_values.ts";
import type { AggregatePlan, SelectPlan } from "../query/plan.ts";
import type { SpanRecord } from "../src/types.ts";

const SPANS = Number(Deno.env.get("SPARK_BENCH_SPANS") ?? 1_000_000);
const BATCH = 10_000;

const dir = Deno.makeTempDirSync({ prefix: "spark_query_bench_" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const path = join(dir, "spans.db");
const backend = new SqliteBackend({ path });

let seed = 42;
/** mulberry32: a small deterministic generator with a full 2^32 period. */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
function hex(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(random() * 16)];
  return s;
}

const KINDS = ["node_execution", "tool_call", "llm_call", "edge_transition"] as const;
const start = 1_764_000_000;
let traceId = hex(32);
for (let done = 0; done < SPANS; done += BATCH) {
  const spans: SpanRecord[] = [];
  for (let i = done; i < done + BATCH; i++) {
    if (i % 20 === 0) traceId = hex(32);
    spans.push({
      spanId: hex(16),
      traceId,
      parentSpanId: null,
      name: `Node${i % 50}.do`,
      kind: KINDS[i % 4]!,
      startTime: start + i / 100,
      endTime: start + i / 100 + random(),
      status: i % 101 === 0 ? "error" : "ok",
      attributes: {
        "node.id": `node-${i % 50}`,
        "llm.model": i % 3 === 0 ? "gpt-4o" : "haiku",
        attempt: 1,
      },
      error: null,
      droppedEvents: 0,
    });
  }
  await backend.write({ traces: [], spans, events: [], metrics: [] });
}
const stored = (await backend.query({
  type: "aggregate",
  entity: "spans",
  where: null,
  aggregates: [{ fn: "count", field: null, alias: "n" }],
  groupBy: [],
  having: null,
  orderBy: [],
  limit: 1,
  offset: 0,
}))[0]?.n;
if (stored !== SPANS) throw new Error(`bench fixture: expected ${SPANS} spans, stored ${stored}`);

const raw = new DatabaseSync(path, { readOnly: true });
// The hand-written query uses the same percentile function, registered the plain way.
const p95 = {
  start: (): number[] => [],
  step: (values: number[], value: unknown): number[] => {
    if (typeof value === "number") values.push(value);
    return values;
  },
  result: (values: number[]): number | null => percentileCont(values, 0.95),
};
raw.aggregate("spark_percentile", p95 as unknown as Parameters<DatabaseSync["aggregate"]>[1]);

const errorsPlan: SelectPlan = {
  type: "select",
  entity: "spans",
  where: {
    type: "and",
    conditions: [
      {
        type: "compare",
        field: { kind: "column", name: "kind" },
        operator: "=",
        value: "node_execution",
      },
      { type: "compare", field: { kind: "column", name: "status" }, operator: "=", value: "error" },
    ],
  },
  orderBy: [],
  limit: 20,
  offset: 0,
};
const errorsSql = raw.prepare(
  "select * from spans where kind = ? and status = ? order by start_time desc, span_id desc limit 20",
);

Deno.bench({
  name: "hand-written SQL",
  group: "spans where kind=node_execution and status=error limit 20",
  baseline: true,
  fn() {
    errorsSql.all("node_execution", "error");
  },
});
Deno.bench({
  name: "SqliteBackend.query(plan)",
  group: "spans where kind=node_execution and status=error limit 20",
  async fn() {
    await backend.query(errorsPlan);
  },
});

const attributePlan: SelectPlan = {
  type: "select",
  entity: "spans",
  where: {
    type: "compare",
    field: { kind: "attribute", key: "llm.model" },
    operator: "=",
    value: "gpt-4o",
  },
  orderBy: [],
  limit: 20,
  offset: 0,
};
const attributeSql = raw.prepare(
  `select * from spans where attributes ->> '$."llm.model"' = ? order by start_time desc, span_id desc limit 20`,
);

Deno.bench({
  name: "hand-written SQL",
  group: 'spans where attr."llm.model" = "gpt-4o" limit 20',
  baseline: true,
  fn() {
    attributeSql.all("gpt-4o");
  },
});
Deno.bench({
  name: "SqliteBackend.query(plan)",
  group: 'spans where attr."llm.model" = "gpt-4o" limit 20',
  async fn() {
    await backend.query(attributePlan);
  },
});

const duration = { kind: "column", name: "duration" } as const;
const p95Plan: AggregatePlan = {
  type: "aggregate",
  entity: "spans",
  where: {
    type: "compare",
    field: { kind: "column", name: "kind" },
    operator: "=",
    value: "llm_call",
  },
  aggregates: [
    { fn: "count", field: null, alias: "count()" },
    { fn: "avg", field: duration, alias: "avg(duration)" },
    { fn: "p95", field: duration, alias: "p95(duration)" },
  ],
  groupBy: [{ field: { kind: "attribute", key: "node.id" }, alias: 'attr."node.id"' }],
  having: null,
  orderBy: [{ alias: "p95(duration)", direction: "desc" }],
  limit: 5,
  offset: 0,
};
const P95_GROUP = `${SPANS / 4} llm_call spans | count(), avg(duration), p95(duration) by node.id`;
const p95Sql = raw.prepare(
  `select attributes ->> '$."node.id"' as node, count(*) as n, avg(end_time - start_time) as mean,
     spark_percentile(end_time - start_time) as p95
   from spans where kind = ? group by 1 order by p95 desc limit 5`,
);

Deno.bench({
  name: "hand-written SQL",
  group: P95_GROUP,
  baseline: true,
  fn() {
    p95Sql.all("llm_call");
  },
});
Deno.bench({
  name: "SqliteBackend.query(plan)",
  group: P95_GROUP,
  async fn() {
    await backend.query(p95Plan);
  },
});
