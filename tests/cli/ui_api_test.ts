/**
 * The web viewer's HTTP surface, served over a real read-only SQLite store
 * (and a live in-process manager): pages, JSON API, errors, escaping of
 * hostile stored values, the Content-Security-Policy, and that nothing
 * writes.
 */
import assert from "node:assert/strict";
import { openBackend } from "../../src/backends/open_backend.ts";
import { TelemetryConfig, TelemetryManager } from "../../mod.ts";
import { serveViewer } from "../../src/cli/ui/mod.ts";
import { CONTENT_SECURITY_POLICY } from "../../src/cli/ui/_app.ts";
import { resultsPage } from "../../src/cli/ui/_pages.ts";
import { isBucketed } from "../../src/cli/ui/_data.ts";
import type { AggregatePlan } from "../../query/plan.ts";
import { agentBatch, T0, TRACE_IDS } from "../_agent_telemetry.ts";
import {
  fingerprint,
  HOSTILE_ATTRIBUTE,
  HOSTILE_MESSAGE,
  HOSTILE_NAME,
  HOSTILE_TRACE,
  hostileBatch,
  startUi,
} from "../_ui_fixtures.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

const dir = await Deno.makeTempDir();
const DB = `${dir}/telemetry.db`;
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
{
  const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: DB } });
  await backend.write(agentBatch());
  await backend.write(hostileBatch(T0 + 3600));
  await backend.close();
}
const BEFORE = await fingerprint(DB);

async function withViewer(fn: (url: string) => Promise<void>): Promise<void> {
  const backend = await openBackend({
    backend: "sqlite",
    backendConfig: { dbPath: DB, readOnly: true },
  });
  try {
    await using viewer = serveViewer({ backend, port: 0 });
    await fn(viewer.url);
  } finally {
    await backend.close();
  }
}

async function get(
  url: string,
  path: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const response = await fetch(new URL(path, url));
  return { status: response.status, text: await response.text(), headers: response.headers };
}

Deno.test("GET / lists traces newest first with spans, errors, tokens, models and paging", async () => {
  await withViewer(async (url) => {
    const page = await get(url, "/");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type")!, /text\/html/);
    const ids = [...page.text.matchAll(/data-trace-id="([0-9a-f]+)"/g)].map((m) => m[1]);
    assert.deepEqual(ids, [HOSTILE_TRACE, TRACE_IDS[2], TRACE_IDS[1], TRACE_IDS[0]]);
    const api = await (await fetch(new URL("/api/traces?limit=2&offset=1", url))).json();
    assert.equal(api.more, true);
    assert.deepEqual(
      api.traces.map((t: { traceId: string }) => t.traceId),
      TRACE_IDS.slice(1).reverse(),
    );
    const failed = api.traces[0];
    assert.equal(failed.status, "error");
    assert.ok(failed.spans >= 3, `span count ${failed.spans}`);
    assert.ok(failed.errors >= 1, `error count ${failed.errors}`);
    assert.deepEqual(failed.errorTypes, ["TimeoutError"]);
    const last = await (await fetch(new URL("/api/traces?limit=2&offset=2", url))).json();
    assert.equal(last.more, false);
    assert.match(page.text, /id="trace-rows"\s+data-live=/, "the first page refreshes itself");
  });
});

Deno.test("GET /api/query answers a selection and an aggregate with columns and rows", async () => {
  await withViewer(async (url) => {
    const select =
      await (await fetch(new URL("/api/query?q=spans where status = error limit 2", url))).json();
    assert.equal(select.type, "select");
    assert.ok(select.columns.includes("spanId"));
    assert.ok(select.rows.length >= 1 && select.rows.length <= 2);
    assert.ok(select.rows.every((r: { status: string }) => r.status === "error"));
    const response = await fetch(
      new URL(`/api/query?q=${encodeURIComponent("spans | count() by kind")}`, url),
    );
    assert.equal(response.status, 200);
    const aggregate = await response.json();
    assert.deepEqual(aggregate.columns, ["kind", "count()"]);
    assert.ok(aggregate.rows.some((r: Record<string, unknown>) => r.kind === "llm_call"));
  });
});

Deno.test("GET /api/query with a bad query is 400 with message, line and column", async () => {
  await withViewer(async (url) => {
    const response = await fetch(
      new URL(`/api/query?q=${encodeURIComponent("spans\nwhere stauts = error")}`, url),
    );
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.line, 2);
    assert.equal(body.column, 7);
    assert.equal(body.code, "UNKNOWN_FIELD");
    assert.match(body.message, /did you mean 'status'\?/);
    const empty = await fetch(new URL("/api/query?q=", url));
    assert.equal(empty.status, 400);
    assert.equal(typeof (await empty.json()).line, "number");
  });
});

Deno.test("GET /?q=<bad query> shows the positioned error beside the box and keeps the page whole", async () => {
  await withViewer(async (url) => {
    const page = await get(url, `/?q=${encodeURIComponent("spans where stauts = error")}`);
    assert.equal(page.status, 400);
    assert.match(page.text, /id="query-error"/);
    assert.match(page.text, /did you mean &#39;status&#39;\?/);
    assert.match(page.text, /\n {14}\^{6}/, "the caret points at the field");
    assert.match(page.text, /<form class="query"/);
    assert.match(page.text, /value="spans where stauts = error"/, "the box keeps the text");
    assert.match(page.text, /<\/html>\s*$/);
  });
});

Deno.test("GET /?q= renders a selection as a table with trace links and an aggregate with bars", async () => {
  await withViewer(async (url) => {
    const select = await get(url, `/?q=${encodeURIComponent("traces where status = error")}`);
    assert.equal(select.status, 200);
    assert.ok(select.text.includes(`href="/trace/${TRACE_IDS[2]}"`));
    const aggregate = await get(url, `/?q=${encodeURIComponent("spans | count() by kind")}`);
    assert.match(aggregate.text, /<rect class="chart-bar" role="img"\s+aria-label="llm_call: \d+"/);
    const trace = await fetch(
      new URL(`/?q=${encodeURIComponent(`trace "${TRACE_IDS[0]}"`)}`, url),
      {
        redirect: "manual",
      },
    );
    await trace.body?.cancel();
    assert.equal(trace.status, 303);
    assert.equal(trace.headers.get("location"), `/trace/${TRACE_IDS[0]}`);
  });
});

Deno.test("a time-bucketed aggregate renders as a line chart with one labelled point per bucket", () => {
  const plan = {
    type: "aggregate",
    entity: "spans",
    where: null,
    aggregates: [{ fn: "count", field: null, alias: "count()" }],
    groupBy: [{
      field: { kind: "column", name: "start_time" },
      alias: "bucket(start_time, 1m)",
      bucket: 60,
    }],
    having: null,
    orderBy: [],
    limit: 100,
    offset: 0,
  } as unknown as AggregatePlan;
  assert.equal(isBucketed(plan), true);
  const rows = [0, 60, 120].map((t, i) => ({ "bucket(start_time, 1m)": T0 + t, "count()": i + 1 }));
  const page = resultsPage("spans | count() by bucket(start_time, 1m)", plan, rows, 1);
  assert.match(page, /<polyline class="line"/);
  assert.equal(page.match(/<circle class="point"/g)?.length, 3);
  assert.match(page, /aria-label="2025-11-25 10:02:00\.000: 3"/);
  assert.doesNotMatch(page, /chart-bar/, "not a bar chart");
});

Deno.test("GET /api/trace/<id> returns the spans with their events; an unknown id is 404", async () => {
  await withViewer(async (url) => {
    const body = await (await fetch(new URL(`/api/trace/${TRACE_IDS[2]}`, url))).json();
    assert.equal(body.trace.traceId, TRACE_IDS[2]);
    assert.ok(body.spans.length >= 3);
    assert.ok(body.spans.some((s: { events: unknown[] }) => s.events.length > 0));
    const missing = await fetch(new URL("/api/trace/00000000000000000000000000000000", url));
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).message, /^Cannot show trace/);
    const page = await get(url, "/trace/00000000000000000000000000000000");
    assert.equal(page.status, 404);
    assert.match(page.text, /Trace not found/);
    const trace = await get(url, `/trace/${TRACE_IDS[2]}`);
    assert.equal(trace.status, 200);
    assert.match(trace.text, /role="treeitem"/);
    assert.match(trace.text, /class="error-box"/);
  });
});

Deno.test("hostile stored values come back as data in JSON and as escaped text in every page", async () => {
  await withViewer(async (url) => {
    const body = await (await fetch(new URL(`/api/trace/${HOSTILE_TRACE}`, url))).json();
    assert.equal(body.spans[0].name, HOSTILE_NAME);
    assert.equal(body.spans[0].error.message, HOSTILE_MESSAGE);
    assert.equal(body.spans[0].attributes[HOSTILE_ATTRIBUTE], HOSTILE_ATTRIBUTE);
    const pages = [
      "/",
      `/trace/${HOSTILE_TRACE}`,
      `/?q=${encodeURIComponent('spans where name contains "<img"')}`,
      `/?q=${encodeURIComponent("spans | count() by name")}`,
      `/?q=${
        encodeURIComponent(
          `spans where name = "${HOSTILE_NAME.replaceAll('"', '\\"')}" and stauts = 1`,
        )
      }`,
      "/analysis",
    ];
    for (const path of pages) {
      const page = await get(url, path);
      for (const raw of ["<img", "<script>window", "<svg onload", "<b>Boom"]) {
        assert.ok(!page.text.includes(raw), `${path} contains raw ${raw}`);
      }
    }
    const trace = await get(url, `/trace/${HOSTILE_TRACE}`);
    assert.ok(trace.text.includes("&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;"));
    assert.ok(trace.text.includes("&lt;/pre&gt;&lt;svg onload="));
  });
});

Deno.test("no endpoint writes: other methods are refused and the store file is byte-identical", async () => {
  await withViewer(async (url) => {
    for (
      const path of [
        "/",
        "/api/query?q=spans",
        `/api/trace/${TRACE_IDS[0]}`,
        "/analysis",
        "/api/sql",
      ]
    ) {
      for (const method of ["POST", "PUT", "PATCH", "DELETE"]) {
        const response = await fetch(new URL(path, url), { method, body: "x" });
        await response.body?.cancel();
        assert.ok([404, 405].includes(response.status), `${method} ${path} → ${response.status}`);
      }
    }
    for (const path of ["/", `/trace/${TRACE_IDS[2]}`, "/analysis", "/?q=spans", "/api/traces"]) {
      await (await fetch(new URL(path, url))).body?.cancel();
    }
  });
  assert.equal(await fingerprint(DB), BEFORE);
});

Deno.test("every response carries a Content-Security-Policy that forbids inline script", async () => {
  assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
  await withViewer(async (url) => {
    for (const path of ["/", "/assets/viewer.js", "/api/query?q=bad", "/trace/nope", "/nowhere"]) {
      const response = await fetch(new URL(path, url));
      await response.body?.cancel();
      assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY, path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
    }
    const page = await get(url, "/");
    assert.doesNotMatch(page.text, /<script>|<script [^>]*>[^<]/, "no inline script");
    assert.doesNotMatch(page.text, / style="/, "no inline style");
  });
});

Deno.test("GET /analysis shows runs, nodes, bottlenecks and failure patterns", async () => {
  await withViewer(async (url) => {
    const page = await get(url, "/analysis");
    assert.equal(page.status, 200);
    for (const text of ["Runs", "Nodes", "Bottlenecks", "Failure patterns", "success rate"]) {
      assert.ok(page.text.includes(text), text);
    }
  });
});

Deno.test("serveViewer shows the records of a live in-process manager as they arrive", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await using viewer = serveViewer({ manager, port: 0 });
  assert.match(viewer.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const before = await (await fetch(new URL("/api/traces", viewer.url))).json();
  assert.equal(before.traces.length, 0);
  const traceId = await manager.withTrace("live_run", {}, async (trace) => {
    await manager.withSpan("step", { kind: "tool_call" }, () => {});
    return trace.traceId;
  });
  const rows = await (await fetch(new URL("/partial/traces", viewer.url))).text();
  assert.ok(rows.includes(`data-trace-id="${traceId}"`), rows);
  const trace = await (await fetch(new URL(`/api/trace/${traceId}`, viewer.url))).json();
  assert.deepEqual(trace.spans.map((s: { name: string }) => s.name), ["step"]);
});

Deno.test("serveViewer refuses a missing or doubled source and a bad port; an aborted signal stops it", async () => {
  assert.throws(() => serveViewer({}), /give exactly one of `manager` and `backend`/);
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  assert.throws(() => serveViewer({ manager, port: 70000 }), RangeError);
  const controller = new AbortController();
  const viewer = serveViewer({ manager, port: 0, signal: controller.signal });
  controller.abort();
  await viewer.finished;
  await assert.rejects(fetch(viewer.url));
});

Deno.test("deno task ui prints its URL, serves read-only, and refuses a missing store without creating it", async () => {
  {
    await using ui = await startUi(["--db", DB, "--port", "0"]);
    const response = await fetch(new URL("/api/traces", ui.url));
    assert.equal((await response.json()).traces.length, 4);
  }
  assert.equal(await fingerprint(DB), BEFORE);
  const missing = `${dir}/missing.db`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../src/cli/ui/cli.ts", import.meta.url).pathname,
      "--db",
      missing,
    ],
    stdout: "piped",
    stderr: "piped",
    // A viewer that wrongly opened (and created) the file would serve forever.
    signal: AbortSignal.timeout(60_000),
  }).output();
  assert.equal(output.code, 2);
  assert.match(new TextDecoder().decode(output.stderr), /missing\.db/);
  await assert.rejects(Deno.stat(missing), Deno.errors.NotFound);
});

Deno.test("deno task ui --hostname other than loopback warns that the data is visible to the network", async () => {
  await using ui = await startUi(["--db", DB, "--port", "0", "--hostname", "0.0.0.0"]);
  const deadline = Date.now() + 10_000;
  while (!/Warning: listening on 0\.0\.0\.0/.test(ui.output()) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(ui.output(), /Warning: listening on 0\.0\.0\.0: the stored telemetry is visible/);
});

Deno.test({
  name: "deno task ui --url serves a PostgreSQL store read-only",
  ignore: PG_IGNORE,
  fn: async () => {
    const schema = freshSchema("ui");
    await withAdmin(schema, async () => {
      const writer = await openBackend({
        backend: "postgresql",
        backendConfig: { url: pgUrl(), schema },
      });
      await writer.write(agentBatch());
      await writer.close();
      await using ui = await startUi(["--url", pgUrl(), "--schema", schema, "--port", "0"]);
      const list = await (await fetch(new URL("/api/traces", ui.url))).json();
      assert.deepEqual(
        list.traces.map((t: { traceId: string }) => t.traceId),
        [...TRACE_IDS].reverse(),
      );
      assert.equal(list.traces[0].errors >= 1, true);
      assert.deepEqual(list.traces[0].errorTypes, ["TimeoutError"]);
      assert.equal(typeof list.traces[0].spans, "number", "PostgreSQL counts arrive as numbers");
      const trace = await fetch(new URL(`/trace/${TRACE_IDS[2]}`, ui.url));
      assert.equal(trace.status, 200);
      assert.match(await trace.text(), /class="error-box"/);
    });
  },
});

const BUCKET_QUERY = "spans | count(), p95(duration) by bucket(start_time, 1m)";

Deno.test({
  name: "GET /?q=<time-bucketed aggregate> draws the store's buckets as a line chart",
  fn: async () => {
    await withViewer(async (url) => {
      const api =
        await (await fetch(new URL(`/api/query?q=${encodeURIComponent(BUCKET_QUERY)}`, url)))
          .json();
      assert.ok(api.rows.length >= 2, JSON.stringify(api.rows));
      const page = await get(url, `/?q=${encodeURIComponent(BUCKET_QUERY)}`);
      assert.equal(page.status, 200);
      assert.equal(page.text.match(/<svg class="line-svg"/g)?.length, 2, "one chart per aggregate");
      assert.equal(page.text.match(/<circle class="point"/g)?.length, 2 * api.rows.length);
    });
  },
});

Deno.test("deno task ui on a port in use says so and exits 2", async () => {
  using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../../src/cli/ui/cli.ts", import.meta.url).pathname,
      "--db",
      DB,
      "--port",
      String(listener.addr.port),
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(output.code, 2);
  assert.match(
    new TextDecoder().decode(output.stderr),
    /Cannot listen on 127\.0\.0\.1:\d+: the port is in use/,
  );
});
