/**
 * The write strategies of `postgresql_write_bench.ts`, interleaved: each
 * round runs every strategy once (10 batches of 1,000 spans + their traces,
 * events and metrics, into emptied tables), so load from other processes on a
 * shared machine hits all of them alike; prints median, minimum and every
 * run. `deno bench` runs each case's iterations back to back, which on a busy
 * machine can favour whichever case ran in a quiet moment.
 *
 *   TELEMETRY_TEST_PG_URL=postgres://postgres@127.0.0.1:5432/test deno run -A bench/_pg_write_interleaved.ts [rounds]
 *
 * @module
 */
import type { Sql } from "postgres";
import type { Batch } from "../src/model/types.ts";
import { PostgresqlBackend } from "../src/backends/postgresql/mod.ts";
import { makeBatch } from "./_pg_fixtures.ts";
import {
  client,
  writeCopyStaging,
  writeJsonRecordset,
  writeMultiRow,
} from "./_pg_write_strategies.ts";
import { writeBatch } from "../src/backends/postgresql/_ingest.ts";
const URL = Deno.env.get("TELEMETRY_TEST_PG_URL")!;
const cases: [string, boolean, (sql: Sql, b: Batch) => Promise<void>][] = [
  ["unnest", false, writeBatch],
  ["copyND", true, writeCopyStaging],
  ["json", false, writeJsonRecordset],
  ["multi", false, writeMultiRow],
];
const clients: Sql[] = [];
for (const [name, nd] of cases) {
  const schema = "il_" + name.toLowerCase();
  await (await PostgresqlBackend.open({ url: URL, schema })).close();
  clients.push(client(URL, schema, nd));
}
const times: number[][] = cases.map(() => []);
const rounds = Number(Deno.args[0] ?? 8);
for (let r = 0; r < rounds + 1; r++) {
  for (let c = 0; c < cases.length; c++) {
    const sql = clients[c]!;
    await sql`truncate traces, spans, events, metrics`;
    const work = Array.from({ length: 10 }, (_, i) => makeBatch(1000, 1_700_000_000 + i * 10));
    const t0 = performance.now();
    for (const b of work) await cases[c]![2](sql, b);
    if (r > 0) times[c]!.push(performance.now() - t0);
  }
}
for (let c = 0; c < cases.length; c++) {
  const xs = times[c]!.sort((a, b) => a - b);
  console.log(
    cases[c]![0].padEnd(8),
    "median",
    xs[xs.length >> 1]!.toFixed(0),
    "ms  min",
    xs[0]!.toFixed(0),
    " all",
    xs.map((x) => x.toFixed(0)).join(" "),
  );
}
for (const s of clients) await s.end();
