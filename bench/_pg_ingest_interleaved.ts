/**
 * Ingest statement shapes against a raw COPY, interleaved in one process:
 * each round writes 20 batches of 1,000 e2e-shaped spans with every variant
 * (tables emptied first), so machine load hits all of them alike.
 *
 *   TELEMETRY_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test deno run -A bench/_pg_ingest_interleaved.ts [rounds] [variants]
 *
 * @module
 */
import postgres, { type Sql } from "postgres";
import type { Batch } from "../src/types.ts";
import { PostgresqlBackend } from "../src/backends/postgresql.ts";
import { openSocket } from "../src/backends/_pg_socket.ts";
import { client, writeRawCopy } from "./_pg_write_strategies.ts";
import { spanRows } from "./_rows.ts";
import { newTraceId } from "../src/ids.ts";
import { EXPERIMENTS } from "./_pg_ingest_experiments.ts";

const URL = Deno.env.get("TELEMETRY_TEST_PG_URL")!;
const rounds = Number(Deno.args[0] ?? 8);
const only = Deno.args[1]?.split(",");

type Case = { name: string; sql: Sql; write: (b: Batch) => Promise<void> };
const cases: Case[] = [];
{
  await (await PostgresqlBackend.open({ url: URL, schema: "il_raw" })).close();
  const sql = client(URL, "il_raw", true);
  cases.push({ name: "rawcopy", sql, write: (b) => writeRawCopy(sql, b) });
}
{
  const backend = await PostgresqlBackend.open({ url: URL, schema: "il_backend" });
  const sql = client(URL, "il_backend", true);
  cases.push({ name: "backend", sql, write: (b) => backend.write(b) });
}
for (const [name, write] of Object.entries(EXPERIMENTS)) {
  if (only && !only.includes(name)) continue;
  const schema = "il_" + name;
  await (await PostgresqlBackend.open({ url: URL, schema })).close();
  const options = {
    onnotice: () => {},
    fetch_types: false,
    socket: openSocket,
    max: 1,
    connection: { search_path: schema },
  };
  const sql = postgres(URL, options);
  if (name.startsWith("stage")) {
    for (const t of ["traces", "spans", "events", "metrics"]) {
      await sql.unsafe(
        `create temp table if not exists stage_${t} as select * from ${t} where false`,
      );
    }
    await sql.unsafe(`drop table stage_spans`);
    await sql.unsafe(
      `create temp table stage_spans (span_id text, trace_id text, parent_span_id text, name text, kind text, start_time text, end_time text, status text, dropped_events text, error_type text, error_message text, error_stack text, attributes text) on commit delete rows`,
    );
  }
  cases.push({ name, sql, write: (b) => write(sql, b) });
}
const times: number[][] = cases.map(() => []);
for (let r = 0; r < rounds + 1; r++) {
  for (let c = 0; c < cases.length; c++) {
    const { sql, write } = cases[c]!;
    await sql`truncate traces, spans, events, metrics`;
    const traceId = newTraceId();
    const rows = spanRows(traceId, 20_000);
    const work: Batch[] = [];
    for (let i = 0; i < rows.length; i += 1000) {
      work.push({ traces: [], spans: rows.slice(i, i + 1000), events: [], metrics: [] });
    }
    const t0 = performance.now();
    for (const b of work) await write(b);
    if (r > 0) times[c]!.push(performance.now() - t0);
    const [n] = await sql`select count(*)::int as n from spans`;
    if (n!.n !== 20_000) throw new Error(`${cases[c]!.name}: ${n!.n} rows`);
  }
}
const base = times[0]!.slice().sort((a, b) => a - b);
for (let c = 0; c < cases.length; c++) {
  const xs = times[c]!.slice().sort((a, b) => a - b);
  const ratios = times[c]!.map((t, i) => t / times[0]![i]!).sort((a, b) => a - b);
  console.log(
    cases[c]!.name.padEnd(10),
    "median",
    xs[xs.length >> 1]!.toFixed(0).padStart(4),
    "ms  min",
    xs[0]!.toFixed(0).padStart(4),
    " per-round ratio to rawcopy: median",
    ratios[ratios.length >> 1]!.toFixed(2),
    " all",
    times[c]!.map((x) => x.toFixed(0)).join(" "),
  );
}
void base;
for (const c of cases) await c.sql.end();
Deno.exit(0);
