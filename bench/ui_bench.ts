/**
 * The web viewer's two hot answers on the 1,000,000-span SQLite database of
 * `bench/query_bench.ts` (issue 13: the list page's API and a trace page's
 * API each ≤ 100 ms server time, median; the list page renders in ≤ 1 s in
 * the browser).
 *
 *   deno bench -A bench/ui_bench.ts
 *
 * Each group's baseline is the store's own answer without the viewer: the
 * plan of the same page run through `SqliteBackend.query()` (the traces of
 * one list page; the spans with events of one trace). Beside it, the
 * viewer's answer over loopback HTTP from `serveViewer` on the same
 * read-only backend: `GET /api/traces` (the page plus per-trace span,
 * error, token, cost and model totals: four plans) and `GET /` (the same,
 * rendered as HTML); `GET /api/trace/<id>` and `GET /trace/<id>` (the
 * waterfall page). Time measured is the client's round trip, so it bounds
 * the server time from above.
 *
 * With Chromium installed (or `CHROME_PATH`), one more group loads the list
 * page in headless Chromium (navigation until `load`).
 *
 * ## The fixture
 *
 * The query bench's file (`SPARK_QUERY_BENCH_DB`, default in the temp
 * directory; built by `deno bench -A bench/query_bench.ts` when missing)
 * holds spans and events but no trace records, so this bench copies it once
 * to `spark_ui_bench_1m_v1.db` beside it and adds one trace record per root
 * span (100,000 traces), then `ANALYZE`s. Later runs reuse the copy when its
 * counts are right.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import {
  type BrowserPage,
  type Chromium,
  CHROMIUM_PATH,
  launchChromium,
} from "../tests/_chromium.ts";
import { SqliteBackend } from "../src/backends/sqlite/sqlite_backend.ts";
import { parseQuery } from "../query/parse_query.ts";
import { serveViewer } from "../src/cli/ui/mod.ts";

const SOURCE = Deno.env.get("SPARK_QUERY_BENCH_DB") ??
  join(tmpdir(), "spark_query_bench_1m_v1.db");
const PATH = join(dirname(SOURCE), "spark_ui_bench_1m_v1.db");
const SPANS = 1_000_000;
const TRACES = 100_000;

function counts(path: string): { spans: number; traces: number } {
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    try {
      const n = (table: string) =>
        (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
      return { spans: n("spans"), traces: n("traces") };
    } finally {
      db.close();
    }
  } catch {
    return { spans: 0, traces: 0 };
  }
}

if (counts(SOURCE).spans !== SPANS) {
  console.error(`building ${SOURCE} with bench/query_bench.ts (once)...`);
  const built = await new Deno.Command(Deno.execPath(), {
    args: [
      "bench",
      "-A",
      new URL("./query_bench.ts", import.meta.url).pathname,
      "--filter",
      "^$",
    ],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  // Only the fixture matters here, not whether the query bench's own checks pass.
  if (counts(SOURCE).spans !== SPANS) {
    throw new Error(`Cannot build the query bench's database (exit ${built.code})`);
  }
}
const have = counts(PATH);
if (have.spans !== SPANS || have.traces !== TRACES) {
  console.error(`copying ${SOURCE} to ${PATH} with ${TRACES} trace records (once)...`);
  for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(PATH + suffix).catch(() => {});
  await Deno.copyFile(SOURCE, PATH);
  const db = new DatabaseSync(PATH);
  db.exec(`insert or replace into traces
    select trace_id, 'graph_run', start_time, end_time, status, '{"graph.id":"bench"}', '{}'
    from spans where parent_span_id is null`);
  db.exec("analyze");
  db.close();
  const after = counts(PATH);
  if (after.traces !== TRACES) throw new Error(`${PATH} has ${after.traces} traces, not ${TRACES}`);
}

const backend = new SqliteBackend({ path: PATH, readOnly: true });
const viewer = serveViewer({ backend, port: 0 });
globalThis.addEventListener("unload", () => {
  void viewer.shutdown().then(() => backend.close());
});

// A trace from the middle of the file, and one list page.
const [middle] = await backend.query(parseQuery("traces order by start_time limit 1 offset 50000"));
const TRACE_ID = String(middle!.traceId);
const LIST_PLAN = parseQuery("traces limit 51");
const TRACE_PLAN = parseQuery(
  `spans where trace_id = ${JSON.stringify(TRACE_ID)} order by start_time limit 100000`,
);

async function get(path: string, expected: number): Promise<void> {
  const response = await fetch(new URL(path, viewer.url));
  const text = await response.text();
  if (response.status !== 200 || text.length < expected) {
    throw new Error(`GET ${path}: ${response.status}, ${text.length} bytes`);
  }
}

// Sanity before timing: the viewer answers what the store answers.
{
  const list = await (await fetch(new URL("/api/traces", viewer.url))).json();
  const plain = await backend.query(LIST_PLAN);
  if (list.traces.length !== 50 || list.traces[0].traceId !== plain[0]!.traceId) {
    throw new Error("the list API and the store disagree");
  }
  if (list.traces[0].spans !== 10) throw new Error(`span count ${list.traces[0].spans}, not 10`);
  const trace = await (await fetch(new URL(`/api/trace/${TRACE_ID}`, viewer.url))).json();
  if (trace.spans.length !== 10) throw new Error(`trace has ${trace.spans.length} spans, not 10`);
}

Deno.bench({
  name: "store: traces page plan (no viewer)",
  group: "list page",
  baseline: true,
  fn: async () => {
    await backend.query(LIST_PLAN);
  },
});
Deno.bench({
  name: "viewer: GET /api/traces (page + totals, JSON)",
  group: "list page",
  fn: async () => {
    await get("/api/traces", 1000);
  },
});
Deno.bench({
  name: "viewer: GET / (HTML)",
  group: "list page",
  fn: async () => {
    await get("/", 1000);
  },
});

Deno.bench({
  name: "store: spans of one trace (no viewer)",
  group: "trace page",
  baseline: true,
  fn: async () => {
    await backend.query(TRACE_PLAN);
  },
});
Deno.bench({
  name: "viewer: GET /api/trace/<id> (JSON)",
  group: "trace page",
  fn: async () => {
    await get(`/api/trace/${TRACE_ID}`, 1000);
  },
});
Deno.bench({
  name: "viewer: GET /trace/<id> (waterfall HTML)",
  group: "trace page",
  fn: async () => {
    await get(`/trace/${TRACE_ID}`, 1000);
  },
});

let browser: Chromium | undefined;
let page: BrowserPage | undefined;
if (CHROMIUM_PATH !== undefined) {
  browser = await launchChromium();
  page = await browser.newPage();
  globalThis.addEventListener("unload", () => void browser?.close());
  Deno.bench({
    name: "Chromium: load / (list page)",
    group: "browser",
    n: 20,
    warmup: 3,
    fn: async () => {
      await page!.goto(viewer.url, { waitUntil: "load" });
    },
  });
} else {
  console.error("browser group skipped: no Chromium (apt-get install -y chromium)");
}
