/**
 * The viewer's routes (Hono): pages, their JSON API and the two static
 * assets. Only `GET` (and `HEAD`) routes exist, so any other method is 404
 * or 405; every response carries a Content-Security-Policy that forbids
 * inline script and style, framing and foreign origins.
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { parseQuery } from "../../../query/parse_query.ts";
import { QuerySyntaxError } from "../../../query/errors.ts";
import type { AggregatePlan, QueryPlan } from "../../../query/plan.ts";
import { analyzePerformance } from "../../analysis/analysis.ts";
import { listTraces, readTrace, type RunPlan } from "./_data.ts";
import {
  analysisPage,
  listPage,
  notFoundPage,
  type QueryErrorInfo,
  queryErrorPage,
  resultsPage,
  tracePage,
  traceRows,
} from "./_pages.ts";
import { CLIENT_JS, STYLE_CSS } from "./_assets.ts";

/** The Content-Security-Policy of every response. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const PAGE_SIZE = 50;
const MAX_PAGE_SIZE = 500;
/** Longest query text accepted from the box (the parser has its own, larger limit). */
const MAX_QUERY_TEXT = 20_000;

function intParam(value: string | undefined, fallback: number, max: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 ? Math.min(n, max) : fallback;
}

function queryError(
  error: unknown,
): { status: 400 | 500; info: QueryErrorInfo & Record<string, unknown> } {
  if (error instanceof QuerySyntaxError) {
    return {
      status: 400,
      info: {
        message: error.message,
        reason: error.reason,
        code: error.code,
        line: error.line,
        column: error.column,
        offset: error.offset,
        length: error.length,
        expected: [...error.expected],
      },
    };
  }
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  // A plan the store refuses (BAD_QUERY) is the query's fault; anything else is ours.
  return code === "BAD_QUERY"
    ? { status: 400, info: { message, code } }
    : { status: 500, info: { message, ...(typeof code === "string" ? { code } : {}) } };
}

/** `trace <id>` in the box opens the trace's page, like `deno task query "trace <id>"`. */
function traceShortcut(text: string, plan: QueryPlan): string | null {
  if (!/^\s*trace\b/i.test(text) || plan.type !== "select") return null;
  const where = plan.where;
  return where?.type === "compare" && typeof where.value === "string" ? where.value : null;
}

async function graphIds(run: RunPlan): Promise<string[]> {
  const plan: AggregatePlan = {
    type: "aggregate",
    entity: "traces",
    where: {
      type: "compare",
      field: { kind: "column", name: "name" },
      operator: "=",
      value: "graph_run",
    },
    aggregates: [{ fn: "count", field: null, alias: "n" }],
    groupBy: [{ field: { kind: "attribute", key: "graph.id" }, alias: "graph" }],
    having: null,
    orderBy: [],
    limit: 1000,
    offset: 0,
  };
  const rows = await run(plan);
  return rows.map((r) => r.graph).filter((g): g is string => typeof g === "string");
}

/**
 * Builds the viewer's application.
 *
 * @param run Runs a plan against the store (read-only).
 * @returns The Hono application; serve `app.fetch`.
 */
export function createViewerApp(run: RunPlan): Hono {
  const app = new Hono();

  app.use("*", async (c, next) => {
    await next();
    c.header("Content-Security-Policy", CONTENT_SECURITY_POLICY);
    c.header("X-Content-Type-Options", "nosniff");
    c.header("Referrer-Policy", "no-referrer");
    c.header("Cache-Control", c.req.path.startsWith("/assets/") ? "max-age=300" : "no-store");
  });

  app.get("/", async (c) => {
    const text = c.req.query("q");
    if (text !== undefined && text.trim() !== "") return await queryPage(c, text);
    const offset = intParam(c.req.query("offset"), 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query("limit"), PAGE_SIZE, MAX_PAGE_SIZE) || PAGE_SIZE;
    return c.html(listPage(await listTraces(run, offset, limit)));
  });

  async function queryPage(c: Context, text: string): Promise<Response> {
    if (text.length > MAX_QUERY_TEXT) {
      return c.html(
        queryErrorPage(text.slice(0, 200), {
          message:
            `Cannot run query: it is ${text.length} characters long; the box takes ${MAX_QUERY_TEXT}`,
        }),
        400,
      );
    }
    let plan: QueryPlan;
    try {
      plan = parseQuery(text);
    } catch (e) {
      const { status, info } = queryError(e);
      return c.html(queryErrorPage(text, info), status);
    }
    const traceId = traceShortcut(text, plan);
    if (traceId !== null) return c.redirect(`/trace/${encodeURIComponent(traceId)}`, 303);
    const started = performance.now();
    try {
      const rows = await run(plan);
      return c.html(resultsPage(text, plan, rows, performance.now() - started));
    } catch (e) {
      const { status, info } = queryError(e);
      return c.html(queryErrorPage(text, info), status);
    }
  }

  app.get("/partial/traces", async (c) => {
    const offset = intParam(c.req.query("offset"), 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query("limit"), PAGE_SIZE, MAX_PAGE_SIZE) || PAGE_SIZE;
    return c.html(traceRows(await listTraces(run, offset, limit)).value);
  });

  app.get("/trace/:id", async (c) => {
    const id = c.req.param("id");
    const detail = await readTrace(run, id);
    if (detail === null) return c.html(notFoundPage(id), 404);
    return c.html(tracePage(id, detail));
  });

  app.get("/analysis", async (c) => {
    const graphs = await graphIds(run);
    const asked = c.req.query("graph");
    const graph = asked !== undefined && asked !== ""
      ? asked
      : graphs.length === 1
      ? graphs[0]!
      : null;
    const report = await analyzePerformance(
      { runPlan: run },
      { minExecutions: 1, ...(graph === null ? {} : { graphId: graph }) },
    );
    return c.html(analysisPage(report, graphs, graph));
  });

  app.get("/api/query", async (c) => {
    const text = c.req.query("q") ?? "";
    if (text.length > MAX_QUERY_TEXT) {
      return c.json({ message: `Cannot run query: longer than ${MAX_QUERY_TEXT} characters` }, 400);
    }
    try {
      const plan = parseQuery(text);
      const rows = await run(plan);
      const columns = plan.type === "aggregate"
        ? [...plan.groupBy.map((g) => g.alias), ...plan.aggregates.map((a) => a.alias)]
        : [...new Set(rows.flatMap((r) => Object.keys(r)))];
      return c.json({ type: plan.type, entity: plan.entity, columns, rows });
    } catch (e) {
      const { status, info } = queryError(e);
      return c.json(info, status);
    }
  });

  app.get("/api/traces", async (c) => {
    const offset = intParam(c.req.query("offset"), 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(c.req.query("limit"), PAGE_SIZE, MAX_PAGE_SIZE) || PAGE_SIZE;
    return c.json(await listTraces(run, offset, limit));
  });

  app.get("/api/trace/:id", async (c) => {
    const id = c.req.param("id");
    const detail = await readTrace(run, id);
    if (detail === null) {
      return c.json(
        { message: `Cannot show trace ${JSON.stringify(id)}: nothing of it is stored` },
        404,
      );
    }
    return c.json({ traceId: id, ...detail });
  });

  app.get("/assets/viewer.js", (c) => {
    c.header("Content-Type", "text/javascript; charset=utf-8");
    return c.body(CLIENT_JS);
  });
  app.get("/assets/viewer.css", (c) => {
    c.header("Content-Type", "text/css; charset=utf-8");
    return c.body(STYLE_CSS);
  });

  app.onError((error, c) => {
    const { status, info } = queryError(error);
    return c.req.path.startsWith("/api/")
      ? c.json(info, status)
      : c.text(`Cannot show this page: ${info.message}`, status);
  });

  return app;
}
