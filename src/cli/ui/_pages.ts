/**
 * The viewer's pages, rendered on the server from plain data. Every stored
 * value passes through `html`'s escaping; markup comes only from the
 * literals below. Bars and charts are SVG elements of their own, each with
 * an accessible label (no inline styles: the Content-Security-Policy forbids
 * them along with inline script).
 *
 * @module
 */
import { formatDuration, formatTime } from "../_format.ts";
import type { QueryPlan, QueryRow } from "../../../query/plan.ts";
import type { PerformanceReport } from "../../analysis/analysis.ts";
import type { EventRecord, SpanWithEvents } from "../../model/types.ts";
import { bucketKey, type TraceDetail, type TracePage, type TraceSummary } from "./_data.ts";
import { Html, html, type HtmlValue } from "./_html.ts";

/** Example queries offered under the box on the list page. */
export const EXAMPLE_QUERIES: readonly string[] = [
  "traces where status = error",
  "spans where status = error limit 50",
  "spans | count(), p50(duration), p95(duration) by kind",
  "spans where kind = node_execution | avg(duration), count() by attr.node.id order by avg(duration) desc",
  "spans where kind = llm_call | sum(attr.llm.total_tokens), sum(attr.llm.cost) by attr.llm.model",
];

/** Where the query box stands and what it says. */
export interface QueryBox {
  /** The query text. */
  text: string;
  /** A positioned error to show beside the box. */
  error?: QueryErrorInfo;
}

/** A query error as the page and the JSON API show it. */
export interface QueryErrorInfo {
  /** The full message, with the caret excerpt. */
  message: string;
  /** 1-based line, when the error is a syntax error. */
  line?: number;
  /** 1-based column. */
  column?: number;
}

function layout(title: string, box: QueryBox, main: Html, active: string): string {
  const nav = (href: string, label: string, key: string) =>
    html`
      <a href="${href}" ${active === key ? new Html(' aria-current="page"') : ""}>${label}</a>
    `;
  const error = box.error;
  return "<!doctype html>\n" + html`
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="color-scheme" content="light dark">
        <title>${title} · telemetry</title>
        <link rel="stylesheet" href="/assets/viewer.css">
        <link rel="icon" href="data:,">
        <script type="module" src="/assets/viewer.js"></script>
      </head>
      <body>
    <header class="top">
      <a class="brand" href="/">spark telemetry</a>
      <nav>${nav("/", "Traces", "traces")}${nav("/analysis", "Analysis", "analysis")}</nav>
      <form class="query" action="/" method="get" role="search">
        <input id="q" name="q" type="text" value="${box.text}" aria-label="Query"
          placeholder="spans where status = error   ( / to focus )" autocomplete="off" spellcheck="false"
          ${error ? new Html('aria-invalid="true" aria-describedby="query-error"') : ""}>
        <button type="submit">Run</button>
      </form>
    </header>
    ${error
      ? html`
        <div id="query-error" class="query-error" role="alert">
          <pre>${error.message}</pre>
        </div>
      `
      : ""}
    <main>${main}</main>
      </body>
    </html>
  `.value;
}

function statusBadge(status: string): Html {
  return html`<span class="badge status-${cssToken(status)}">${status}</span>`;
}

function kindBadge(kind: string): Html {
  return html`<span class="badge kind kind-${cssToken(kind)}">${kind.replace("_", " ")}</span>`;
}

/** A class-name-safe token for a stored value (kinds and statuses are enums; anything else → `other`). */
function cssToken(value: string): string {
  return /^[a-z_]{1,32}$/.test(value) ? value : "other";
}

function duration(start: number, end: number | null): string {
  return end === null ? "active" : formatDuration(end - start);
}

function traceHref(traceId: string, spanId?: string | null): string {
  const base = `/trace/${encodeURIComponent(traceId)}`;
  return spanId ? `${base}#d-${encodeURIComponent(spanId)}` : base;
}

function queryHref(text: string): string {
  return `/?q=${encodeURIComponent(text)}`;
}

function formatNumber(value: number): string {
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  return String(+value.toPrecision(6));
}

function formatCost(value: number): string {
  return value >= 1 ? value.toFixed(2) : value >= 0.01 ? value.toFixed(4) : value.toPrecision(2);
}

function jsonText(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? String(value);
}

function short(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// ---- trace list -------------------------------------------------------------

/**
 * Rows of the trace list (also served alone for live updates).
 *
 * @param page The page.
 * @returns The `<tr>` elements.
 */
export function traceRows(page: TracePage): Html {
  if (page.traces.length === 0) {
    return html`
      <tr>
        <td colspan="9" class="empty">No traces stored yet. Record some
            (<code>deno task demo</code>) and they appear here.</td>
      </tr>
    `;
  }
  return html`${page.traces.map(traceRow)}`;
}

function traceRow(t: TraceSummary): Html {
  return html`
    <tr class="trace-row status-${cssToken(t.status)}" data-trace-id="${t.traceId}">
      <td class="name"><a href="${traceHref(t.traceId)}">${t.name}</a>${t.graph === null
        ? ""
        : html`<span class="graph-label">${t.graph}</span>`}</td>
      <td class="time">${formatTime(t.startTime)}</td>
      <td class="num">${duration(t.startTime, t.endTime)}</td>
      <td>${statusBadge(t.status)}${t.errorTypes.length > 0
        ? html`
          <span class="err error-types">${short(t.errorTypes.join(", "), 60)}</span>
        `
        : ""}</td>
      <td class="num">${formatNumber(t.spans)}</td>
      <td class="num${t.errors > 0 ? " errors" : ""}">${t.errors > 0
        ? formatNumber(t.errors)
        : "–"}</td>
      <td class="num">${t.tokens === null ? "–" : formatNumber(t.tokens)}</td>
      <td class="num">${t.cost === null ? "–" : formatCost(t.cost)}</td>
      <td class="models">${t.models.join(", ")}</td>
    </tr>
  `;
}

/**
 * The list page: newest traces first, live on the first page.
 *
 * @param page The page of traces.
 * @returns The document.
 */
export function listPage(page: TracePage): string {
  const live = page.offset === 0;
  const newer = Math.max(0, page.offset - page.limit);
  const main = html`
    <section class="list">
      <div class="heading"><h1>Traces</h1>
    ${live ? html`<span class="live" id="live-status" aria-live="polite">live</span>` : ""}
    <span class="hint">Try:
    ${EXAMPLE_QUERIES.map((q) =>
      html`<a class="example" href="${queryHref(q)}"><code>${q}</code></a>`
    )}</span></div>
      <table class="grid">
        <thead>
          <tr>
            <th>Name</th>
            <th>Start (UTC)</th>
            <th class="num">Duration</th>
            <th>Status</th>
            <th class="num">Spans</th>
            <th class="num">Errors</th>
            <th class="num">Tokens</th>
            <th class="num">Cost</th>
            <th>Models</th>
          </tr>
        </thead>
        <tbody id="trace-rows" ${live
          ? html`
            data-live="/partial/traces?limit=${page.limit}"
          `
          : ""}>${traceRows(page)}</tbody>
      </table>
      <nav class="pager">
    ${page.offset > 0
      ? html`<a rel="prev" href="/?offset=${newer}&amp;limit=${page.limit}">← Newer</a>`
      : ""}
    <span>${page.traces.length === 0
      ? ""
      : `${page.offset + 1}–${page.offset + page.traces.length}`}</span>
    ${page.more
      ? html`<a rel="next" href="/?offset=${
        page.offset + page.limit
      }&amp;limit=${page.limit}">Older →</a>`
      : ""}
      </nav>
    </section>
  `;
  return layout("Traces", { text: "" }, main, "traces");
}

// ---- query results ----------------------------------------------------------

interface Cell {
  header: string;
  render: (row: QueryRow) => HtmlValue;
  numeric?: boolean;
}

function plain(header: string, key: string): Cell {
  return { header, render: (row) => row[key] === null ? "–" : jsonText(row[key]) };
}

function timeCell(header: string, key: string): Cell {
  return {
    header,
    render: (row) => typeof row[key] === "number" ? formatTime(row[key] as number) : "–",
  };
}

const durationCell: Cell = {
  header: "duration",
  numeric: true,
  render: (row) =>
    typeof row.startTime === "number"
      ? duration(row.startTime, typeof row.endTime === "number" ? row.endTime : null)
      : "–",
};

const statusCell: Cell = { header: "status", render: (row) => statusBadge(String(row.status)) };

const attributesCell: Cell = {
  header: "attributes",
  render: (row) => {
    const attrs = row.attributes as Record<string, unknown> | undefined;
    if (!attrs || Object.keys(attrs).length === 0) return "–";
    return html`<span class="attrs">${short(JSON.stringify(attrs), 160)}</span>`;
  },
};

function traceLink(row: QueryRow): HtmlValue {
  const id = row.traceId;
  return typeof id === "string" ? html`<a class="id" href="${traceHref(id)}">${id}</a>` : "–";
}

const SELECT_CELLS: Record<string, Cell[]> = {
  traces: [
    timeCell("start_time", "startTime"),
    {
      header: "name",
      render: (row) => html`<a href="${traceHref(String(row.traceId))}">${String(row.name)}</a>`,
    },
    statusCell,
    durationCell,
    { header: "trace_id", render: traceLink },
    attributesCell,
  ],
  spans: [
    timeCell("start_time", "startTime"),
    {
      header: "name",
      render: (row) =>
        html`<a href="${traceHref(String(row.traceId), String(row.spanId))}">${
          String(row.name)
        }</a>`,
    },
    { header: "kind", render: (row) => kindBadge(String(row.kind)) },
    statusCell,
    durationCell,
    {
      header: "error",
      render: (row) => {
        const error = row.error as { type: string; message: string } | null;
        return error ? html`<span class="err">${error.type}: ${short(error.message)}</span>` : "";
      },
    },
    { header: "trace_id", render: traceLink },
    attributesCell,
  ],
  events: [
    timeCell("timestamp", "timestamp"),
    plain("event_type", "eventType"),
    plain("name", "name"),
    {
      header: "span",
      render: (row) =>
        typeof row.traceId === "string" && typeof row.spanId === "string"
          ? html`<a class="id" href="${traceHref(row.traceId, row.spanId)}">${row.spanId}</a>`
          : "–",
    },
    { header: "trace_id", render: traceLink },
    attributesCell,
  ],
  metrics: [
    timeCell("timestamp", "timestamp"),
    plain("name", "name"),
    { header: "value", numeric: true, render: (row) => formatValue(row.value, false) },
    plain("unit", "unit"),
    plain("kind", "kind"),
    { header: "trace_id", render: traceLink },
    attributesCell,
  ],
};

function isDurationAggregate(plan: QueryPlan, alias: string): boolean {
  if (plan.type !== "aggregate") return false;
  const a = plan.aggregates.find((x) => x.alias === alias);
  return a !== undefined && a.fn !== "count" && a.field?.kind === "column" &&
    (a.field.name === "duration");
}

function formatValue(value: unknown, isDuration: boolean): string {
  if (value === null || value === undefined) return "–";
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  if (typeof value !== "boolean" && value !== "" && Number.isFinite(n)) {
    return isDuration ? formatDuration(n) : formatNumber(n);
  }
  return jsonText(value);
}

function groupLabel(plan: QueryPlan, row: QueryRow, skip?: string): string {
  if (plan.type !== "aggregate" || plan.groupBy.length === 0) return "all";
  const bucket = bucketKey(plan);
  return plan.groupBy.filter((g) => g.alias !== skip).map((g) => {
    const v = row[g.alias];
    if (bucket !== null && g.alias === bucket.alias && typeof v === "number") return formatTime(v);
    return v === null || v === undefined ? "(missing)" : jsonText(v);
  }).join(" · ") || "all";
}

function resultTable(plan: QueryPlan, rows: QueryRow[]): Html {
  let cells: Cell[];
  if (plan.type === "select") cells = SELECT_CELLS[plan.entity]!;
  else {
    const bucket = bucketKey(plan);
    cells = [
      ...plan.groupBy.map((g): Cell =>
        bucket !== null && g.alias === bucket.alias
          ? {
            header: g.alias,
            render: (row) =>
              typeof row[g.alias] === "number"
                ? formatTime(row[g.alias] as number)
                : formatValue(row[g.alias], false),
          }
          : { header: g.alias, render: (row) => formatValue(row[g.alias], false) }
      ),
      ...plan.aggregates.map((a): Cell => ({
        header: a.alias,
        numeric: true,
        render: (row) => formatValue(row[a.alias], isDurationAggregate(plan, a.alias)),
      })),
    ];
  }
  return html`
    <table class="grid results">
      <thead>
        <tr>${cells.map((c) =>
          html`<th${c.numeric ? new Html(' class="num"') : ""}>${c.header}</th>`
        )}</tr>
      </thead>
      <tbody>${rows.map((row) =>
        html`<tr${
          plan.type === "select" && row.status === "error" ? new Html(' class="status-error"') : ""
        }>${
          cells.map((c) =>
            html`<td${c.numeric ? new Html(' class="num"') : ""}>${c.render(row)}</td>`
          )
        }</tr>`
      )}</tbody>
    </table>
  `;
}

function numeric(value: unknown): number | null {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return typeof value === "boolean" || value === "" || !Number.isFinite(n) ? null : n;
}

const MAX_BARS = 200;

function barCharts(plan: QueryPlan, rows: QueryRow[]): Html {
  if (plan.type !== "aggregate") return html``;
  return html`${
    plan.aggregates.map((a) => {
      const values = rows.slice(0, MAX_BARS).map((row) => ({
        label: groupLabel(plan, row),
        value: numeric(row[a.alias]),
      }));
      const max = Math.max(0, ...values.map((v) => v.value ?? 0));
      const isDuration = isDurationAggregate(plan, a.alias);
      return html`
        <figure class="chart bars-chart">
          <figcaption>${a.alias}${plan.groupBy.length > 0
            ? ` by ${plan.groupBy.map((g) => g.alias).join(", ")}`
            : ""}${rows.length > MAX_BARS ? ` (first ${MAX_BARS} groups)` : ""}</figcaption>
          <div class="bars" role="list">${values.map((v) => {
            const text = formatValue(v.value, isDuration);
            const width = max > 0 && v.value !== null && v.value > 0 ? (v.value / max) * 1000 : 0;
            return html`<div class="bar-row" role="listitem">
<span class="bar-label" title="${v.label}">${v.label}</span>
<svg class="bar-track" viewBox="0 0 1000 10" preserveAspectRatio="none"><rect class="chart-bar" role="img"
 aria-label="${v.label}: ${text}" x="0" y="0" height="10" width="${
              width.toFixed(1)
            }"><title>${v.label}: ${text}</title></rect></svg>
<span class="bar-value">${text}</span></div>`;
          })}</div>
        </figure>
      `;
    })
  }`;
}

const PALETTE = 6;

function lineCharts(plan: QueryPlan, rows: QueryRow[]): Html {
  const bucket = bucketKey(plan);
  if (plan.type !== "aggregate" || bucket === null) return html``;
  const times = rows.map((r) => numeric(r[bucket.alias])).filter((t): t is number => t !== null);
  if (times.length === 0) return html``;
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const W = 800;
  const H = 200;
  const PAD_L = 64;
  const PAD_B = 24;
  const x = (t: number) =>
    PAD_L + (t1 === t0 ? (W - PAD_L) / 2 : ((t - t0) / (t1 - t0)) * (W - PAD_L - 8));
  return html`${
    plan.aggregates.map((a) => {
      const isDuration = isDurationAggregate(plan, a.alias);
      const series = new Map<string, { t: number; v: number; row: QueryRow }[]>();
      for (const row of rows) {
        const t = numeric(row[bucket.alias]);
        const v = numeric(row[a.alias]);
        if (t === null || v === null) continue;
        const key = groupLabel(plan, row, bucket.alias);
        const points = series.get(key) ?? [];
        points.push({ t, v, row });
        series.set(key, points);
      }
      const max = Math.max(0, ...[...series.values()].flat().map((p) => p.v));
      const y = (v: number) => 8 + (max === 0 ? H - PAD_B - 8 : (1 - v / max) * (H - PAD_B - 8));
      let index = 0;
      return html`<figure class="chart line-chart">
<figcaption>${a.alias} per ${bucket.alias}</figcaption>
<svg class="line-svg" viewBox="0 0 ${W} ${H}" role="img" aria-label="${a.alias} over time">
<line class="chart-axis" x1="${PAD_L}" y1="${H - PAD_B}" x2="${W}" y2="${H - PAD_B}"></line>
<line class="chart-axis" x1="${PAD_L}" y1="8" x2="${PAD_L}" y2="${H - PAD_B}"></line>
<text class="axis-label" x="${PAD_L - 6}" y="12" text-anchor="end">${
        formatValue(max, isDuration)
      }</text>
<text class="axis-label" x="${PAD_L - 6}" y="${H - PAD_B}" text-anchor="end">0</text>
<text class="axis-label" x="${PAD_L}" y="${H - 6}" text-anchor="start">${formatTime(t0)}</text>
<text class="axis-label" x="${W}" y="${H - 6}" text-anchor="end">${formatTime(t1)}</text>
${
        [...series.entries()].map(([label, points]) => {
          points.sort((p, q) => p.t - q.t);
          const colour = `series-${index++ % PALETTE}`;
          return html`<g class="series ${colour}" aria-label="${label}">
<polyline class="line" points="${
            points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ")
          }"></polyline>
${
            points.map((p) => {
              const text = `${series.size > 1 ? `${label} · ` : ""}${formatTime(p.t)}: ${
                formatValue(p.v, isDuration)
              }`;
              return html`
                <circle class="point" role="img" aria-label="${text}" cx="${x(p.t).toFixed(
                  1,
                )}" cy="${y(p.v).toFixed(1)}" r="3">
                  <title>${text}</title>
                </circle>
              `;
            })
          }</g>`;
        })
      }
</svg>
${
        series.size > 1
          ? html`<div class="legend">${
            [...series.keys()].map((label, i) =>
              html`<span class="series-${i % PALETTE}"><i></i>${label}</span>`
            )
          }</div>`
          : ""
      }
</figure>`;
    })
  }`;
}

/**
 * The page of one query's results.
 *
 * @param text The query.
 * @param plan Its plan.
 * @param rows Its rows.
 * @param elapsed Server time in milliseconds.
 * @returns The document.
 */
export function resultsPage(
  text: string,
  plan: QueryPlan,
  rows: QueryRow[],
  elapsed: number,
): string {
  const charts = plan.type === "aggregate"
    ? (bucketKey(plan) !== null ? lineCharts(plan, rows) : barCharts(plan, rows))
    : html``;
  const main = html`<section class="results-page">
<div class="heading"><h1>Results</h1><span class="hint">${rows.length} ${
    rows.length === 1 ? "row" : "rows"
  } · ${elapsed.toFixed(0)} ms · <a href="/api/query?q=${
    encodeURIComponent(text)
  }">JSON</a></span></div>
${
    rows.length === 0
      ? html`<p class="empty">No rows match.</p>`
      : html`${charts}${resultTable(plan, rows)}`
  }
</section>`;
  return layout("Query", { text }, main, "traces");
}

/**
 * The page shown for a query that does not parse or cannot run: the box with
 * the error beside it, and the examples.
 *
 * @param text The query.
 * @param error The error.
 * @returns The document.
 */
export function queryErrorPage(text: string, error: QueryErrorInfo): string {
  const main = html`
    <section class="results-page">
      <p class="hint">Examples:
    ${EXAMPLE_QUERIES.map((q) =>
      html`<a class="example" href="${queryHref(q)}"><code>${q}</code></a>`
    )}
      </p>
    </section>
  `;
  return layout("Query error", { text, error }, main, "traces");
}

// ---- one trace --------------------------------------------------------------

interface TreeNode {
  span: SpanWithEvents;
  children: TreeNode[];
  depth: number;
}

function buildTree(spans: SpanWithEvents[]): TreeNode[] {
  const byId = new Map<string, TreeNode>();
  for (const span of spans) byId.set(span.spanId, { span, children: [], depth: 0 });
  const roots: TreeNode[] = [];
  for (const node of byId.values()) {
    const parent = node.span.parentSpanId === null ? undefined : byId.get(node.span.parentSpanId);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const order = (a: TreeNode, b: TreeNode) =>
    a.span.startTime - b.span.startTime || (a.span.spanId < b.span.spanId ? -1 : 1);
  const out: TreeNode[] = [];
  // Iterative depth-first walk: a deep or cyclic parent chain cannot overflow the stack.
  const seen = new Set<TreeNode>();
  const stack: TreeNode[] = roots.sort(order).reverse();
  for (const r of stack) r.depth = 0;
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (seen.has(node)) continue;
    seen.add(node);
    out.push(node);
    const children = node.children.sort(order);
    for (let i = children.length - 1; i >= 0; i--) {
      children[i]!.depth = node.depth + 1;
      stack.push(children[i]!);
    }
  }
  // Spans caught in a parent cycle are not reachable from a root: show them as roots.
  for (const node of byId.values()) {
    if (!seen.has(node)) {
      node.depth = 0;
      out.push(node);
    }
  }
  return out;
}

const MAX_INDENT = 40;

function spanDomId(spanId: string): string {
  return `d-${encodeURIComponent(spanId)}`;
}

function attributesTable(attrs: Record<string, unknown>): Html {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return html`<p class="muted">none</p>`;
  return html`<table class="kv">${
    keys.map((k) =>
      html`
        <tr>
          <th>${k}</th>
          <td>${jsonText(attrs[k])}</td>
        </tr>
      `
    )
  }</table>`;
}

function eventList(events: EventRecord[], origin: number): Html {
  if (events.length === 0) return html`<p class="muted">none</p>`;
  return html`<ol class="events">${
    events.map((e) =>
      html`<li><div class="event-head"><span class="offset">+${
        formatDuration(e.timestamp - origin)
      }</span> <span class="badge">${e.eventType}</span> ${e.name}</div>
${Object.keys(e.attributes).length > 0 ? attributesTable(e.attributes) : ""}</li>`
    )
  }</ol>`;
}

/**
 * The waterfall page of one trace with the detail pane of every span.
 *
 * @param traceId The trace id.
 * @param detail The trace.
 * @returns The document.
 */
export function tracePage(traceId: string, detail: TraceDetail): string {
  const { trace, spans } = detail;
  const nodes = buildTree(spans);
  const starts = spans.map((s) => s.startTime);
  const ends = spans.map((s) => s.endTime ?? s.startTime);
  if (trace) {
    starts.push(trace.startTime);
    if (trace.endTime !== null) ends.push(trace.endTime);
  }
  const t0 = Math.min(...starts);
  const t1 = Math.max(...ends, t0);
  const total = t1 - t0;
  const scale = (t: number) => (total > 0 ? ((t - t0) / total) * 1000 : 0);
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const childrenOf = new Map<string, SpanWithEvents[]>();
  for (const n of nodes) childrenOf.set(n.span.spanId, n.children.map((c) => c.span));
  const errors = spans.filter((s) => s.status === "error").length;
  const name = trace?.name ?? nodes[0]?.span.name ?? traceId;
  const status = trace?.status ?? (errors > 0 ? "error" : "ok");

  const rows = nodes.map((node) => {
    const s = node.span;
    const x = scale(s.startTime);
    const end = s.endTime ?? t1;
    const width = Math.max(2, scale(end) - x);
    const label = `${s.name}: ${duration(s.startTime, s.endTime)} at +${
      formatDuration(s.startTime - t0)
    }`;
    const hasChildren = node.children.length > 0;
    return html`
      <div class="span-row kind-${cssToken(s.kind)} status-${cssToken(
        s.status,
      )}" role="treeitem" aria-level="${node.depth + 1}"
        aria-selected="false" ${hasChildren
          ? new Html(' aria-expanded="true"')
          : ""} data-span-id="${s.spanId}" data-parent-id="${s.parentSpanId ?? ""}"
        data-depth="${node.depth}" aria-label="${s.name}">
        <div
          class="cell name-cell">${new Html(
            '<span class="indent"></span>'.repeat(Math.min(node.depth, MAX_INDENT)),
          )}${hasChildren
            ? html`<button type="button" class="toggle" tabindex="-1" aria-label="Collapse ${s.name}">▾</button>`
            : new Html(
              '<span class="toggle-space"></span>',
            )}<a class="span-name" href="#${spanDomId(s.spanId)}" tabindex="-1">${s
            .name}</a>${s.status === "error"
            ? new Html('<span class="err-dot" aria-label="failed">●</span>')
            : ""}</div>
        <div class="cell">${kindBadge(s.kind)}</div>
        <div class="cell">${statusBadge(s.status)}</div>
        <div class="cell num">${duration(s.startTime, s.endTime)}</div>
        <div class="cell bar-cell">
          <svg class="track" viewBox="0 0 1000 12"
            preserveAspectRatio="none"><rect class="wf-bar${s.endTime === null
              ? " active"
              : ""}" role="img" aria-label="${label}" x="${x.toFixed(
                2,
              )}" y="1" height="10" width="${width.toFixed(2)}"><title>${label}</title></rect>${s
              .events.map((e) =>
                html`
                  <line class="tick${e.eventType.includes("fail") || e.eventType.startsWith("error")
                    ? " tick-error"
                    : ""}" x1="${scale(e.timestamp).toFixed(2)}" x2="${scale(e.timestamp).toFixed(
                      2,
                    )}" y1="0" y2="12">
                    <title>${e.eventType} ${e.name}</title>
                  </line>
                `
              )}</svg>
        </div>
      </div>
    `;
  });

  const details = nodes.map((node) => {
    const s = node.span;
    const parent = s.parentSpanId === null ? undefined : byId.get(s.parentSpanId);
    const children = childrenOf.get(s.spanId) ?? [];
    return html`<section class="detail" id="${
      spanDomId(s.spanId)
    }" data-span-id="${s.spanId}" aria-label="Span ${s.name}">
<h2>${s.name}</h2>
<div class="badges">${kindBadge(s.kind)} ${statusBadge(s.status)}</div>
<dl class="facts">
<dt>span id</dt><dd><code class="id">${s.spanId}</code> <button type="button" class="copy" data-copy="${s.spanId}">copy</button></dd>
<dt>start</dt><dd>${formatTime(s.startTime)} (+${formatDuration(s.startTime - t0)})</dd>
<dt>duration</dt><dd>${duration(s.startTime, s.endTime)}</dd>
<dt>parent</dt><dd>${
      s.parentSpanId === null
        ? "root"
        : parent
        ? html`<a class="span-link" href="#${spanDomId(parent.spanId)}">${parent.name}</a>`
        : html`<code>${s.parentSpanId}</code> (not stored)`
    }</dd>
${
      s.droppedEvents > 0
        ? html`
          <dt>dropped events</dt>
          <dd>${s.droppedEvents}</dd>
        `
        : ""
    }
</dl>
${
      s.error
        ? html`<div class="error-box" role="group" aria-label="Error">
<div class="error-type">${s.error.type}</div>
<p class="error-message">${s.error.message}</p>
${s.error.stack ? html`<pre class="stack">${s.error.stack}</pre>` : ""}
</div>`
        : ""
    }
${
      children.length > 0
        ? html`
          <h3>Children (${children.length})</h3>
          <ul class="children">${children.map((c) =>
            html`<li><a class="span-link" href="#${spanDomId(c.spanId)}">${c.name}</a> ${
              statusBadge(c.status)
            } <span class="muted">${duration(c.startTime, c.endTime)}</span></li>`
          )}</ul>
        `
        : ""
    }
<h3>Attributes</h3>${attributesTable(s.attributes)}
<h3>Events (${s.events.length})</h3>${eventList(s.events, t0)}
</section>`;
  });

  const ticks = [0, 1 / 3, 2 / 3, 1];
  const main = html`
    <section class="trace-head">
      <h1>${name} ${statusBadge(status)}</h1>
      <dl class="facts inline">
        <dt>trace</dt>
        <dd><code class="id">${traceId}</code> <button type="button" class="copy" data-copy="${traceId}">copy</button></dd>
        <dt>start</dt>
        <dd>${formatTime(t0)}</dd>
        <dt>duration</dt>
        <dd>${trace ? duration(trace.startTime, trace.endTime) : formatDuration(total)}</dd>
        <dt>spans</dt>
        <dd>${spans.length}</dd>
        <dt>errors</dt>
        <dd${errors > 0 ? new Html(' class="errors"') : ""}>${errors}</dd>
    <dt>JSON</dt><dd><a href="/api/trace/${encodeURIComponent(traceId)}">/api/trace</a></dd>
    </dl>
    ${trace && Object.keys(trace.attributes).length > 0
      ? html`<details><summary>Trace attributes</summary>${attributesTable(trace.attributes)}${
        Object.keys(trace.resource).length > 0
          ? html`<h3>Resource</h3>${attributesTable(trace.resource)}`
          : ""
      }</details>`
      : ""}
    ${detail.events.length > 0
      ? html`<details><summary>Trace events (${detail.events.length})</summary>${
        eventList(detail.events, t0)
      }</details>`
      : ""}
    </section>
    <div class="trace-body">
    <div class="waterfall" role="tree" aria-label="Spans of ${name}" tabindex="0">
    <div class="span-row axis-row" aria-hidden="true"><div class="cell name-cell">Span</div><div class="cell">Kind</div><div class="cell">Status</div><div class="cell num">Duration</div>
    <div class="cell bar-cell axis">${ticks.map((f) =>
      html`<span class="${f === 1 ? "axis-end" : ""}">${formatDuration(total * f)}</span>`
    )}</div></div>
    ${rows.length > 0 ? rows : html`<p class="empty">This trace has no stored spans.</p>`}
    </div>
    <aside class="detail-pane" aria-label="Span detail">
    <p class="detail-empty muted">Select a span (click, or ↑ ↓ in the waterfall) to see its attributes, events and error.</p>
    ${details}
    </aside>
    </div>
  `;
  return layout(name, { text: "" }, main, "trace");
}

/**
 * The page for an unknown trace id.
 *
 * @param traceId The id asked for.
 * @returns The document.
 */
export function notFoundPage(traceId: string): string {
  return layout(
    "Not found",
    { text: "" },
    html`
      <section>
        <h1>Trace not found</h1>
        <p>No trace or span is stored with id <code>${traceId}</code>.</p>
        <p><a href="/">All traces</a></p>
      </section>
    `,
    "trace",
  );
}

// ---- analysis ---------------------------------------------------------------

function pct(value: number | null): string {
  return value === null ? "–" : `${(value * 100).toFixed(1)}%`;
}

function dur(value: number | null): string {
  return value === null ? "–" : formatDuration(value);
}

function quoted(text: string): string {
  return JSON.stringify(text);
}

/**
 * The analysis page: runs, nodes (slowest first), bottlenecks, failure patterns.
 *
 * @param report The report.
 * @param graphs Graph ids with runs, for the selector.
 * @param graph The graph shown, or `null` for all.
 * @returns The document.
 */
export function analysisPage(
  report: PerformanceReport,
  graphs: string[],
  graph: string | null,
): string {
  const scope = graph === null ? "" : ` and attr.graph.id = ${quoted(graph)}`;
  const nodes = [...report.nodes].sort((a, b) => (b.meanDuration ?? -1) - (a.meanDuration ?? -1));
  const slowest = Math.max(0, ...nodes.map((n) => n.meanDuration ?? 0));
  const r = report.runs;
  const card = (label: string, value: HtmlValue, cls = "") =>
    html`
      <div class="card ${cls}">
        <div class="card-value">${value}</div>
        <div class="card-label">${label}</div>
      </div>
    `;
  const nodeQuery = (nodeId: string | null, extra: string) =>
    nodeId === null
      ? `spans where kind = node_execution and attr.node.id not exists${extra}${scope}`
      : `spans where kind = node_execution and attr.node.id = ${quoted(nodeId)}${extra}${scope}`;
  const main = html`<section class="analysis">
<div class="heading"><h1>Performance analysis</h1>
<nav class="graphs" aria-label="Graph">
<a href="/analysis"${graph === null ? new Html(' aria-current="page"') : ""}>all graphs</a>
${
    graphs.map((g) =>
      html`
        <a href="/analysis?graph=${encodeURIComponent(g)}" ${g === graph
          ? new Html(' aria-current="page"')
          : ""}>${g}</a>
      `
    )
  }
</nav></div>
<h2>Runs${
    graph === null ? "" : html`
      of <code>${graph}</code>
    `
  }</h2>
<div class="cards">
${card("runs", formatNumber(r.total))}
${card("success rate", pct(r.successRate), r.failed > 0 ? "warn" : "good")}
${
    card(
      "failed",
      r.failed > 0
        ? html`<a href="${
          queryHref(
            `traces where status = error${
              graph === null ? "" : ` and attr.graph.id = ${quoted(graph)}`
            }`,
          )
        }">${formatNumber(r.failed)}</a>`
        : "0",
      r.failed > 0 ? "bad" : "",
    )
  }
${card("active", formatNumber(r.active))}
${card("mean", dur(r.duration.mean))}
${card("median", dur(r.duration.median))}
${card("p95", dur(r.duration.p95))}
${card("p99", dur(r.duration.p99))}
</div>
<h2>Bottlenecks</h2>
${
    report.bottlenecks.length === 0
      ? html`
        <p
          class="muted">None: no node is more than twice as slow as the average node or fails more than 5% of its runs.</p>
      `
      : html`<ul class="bottlenecks">${
        report.bottlenecks.map((b) =>
          html`<li class="severity-${b.severity}"><span class="badge sev">${b.severity}</span>
<a href="${
            queryHref(nodeQuery(b.nodeId, b.type === "errors" ? " and status = error" : ""))
          }"><code>${b.nodeId ?? "(no node.id)"}</code></a> ${
            b.type === "slow"
              ? `slow: mean ${formatDuration(b.value)}, above ${formatDuration(b.threshold)}`
              : `errors: ${pct(b.value)} of executions fail, above ${pct(b.threshold)}`
          }</li>`
        )
      }</ul>`
  }
<h2>Nodes <span class="muted">(slowest first)</span></h2>
<table class="grid nodes">
<thead><tr><th>Node</th><th>Name</th><th class="num">Executions</th><th class="num">Success</th>
<th class="num">Failed</th><th class="num">Mean</th><th class="num">p95</th><th class="bar-col">Mean duration</th></tr></thead>
<tbody>${
    nodes.map((n) => {
      const label = `${n.nodeId ?? "(no node.id)"}: mean ${dur(n.meanDuration)}`;
      const width = slowest > 0 && n.meanDuration !== null ? (n.meanDuration / slowest) * 1000 : 0;
      return html`
        <tr${n.failed > 0 ? new Html(' class="has-errors"') : ""}>
          <td><a href="${queryHref(nodeQuery(n.nodeId, ""))}"><code>${n.nodeId ??
            "(none)"}</code></a></td>
          <td>${n.nodeName ?? "–"}</td>
          <td class="num">${formatNumber(n.executions)}</td>
          <td class="num">${pct(n.successRate)}</td>
          <td class="num${n.failed > 0 ? " errors" : ""}">${n.failed > 0
            ? html`<a href="${
              queryHref(nodeQuery(n.nodeId, " and status = error"))
            }">${n.failed}</a>`
            : "0"}</td>
          <td class="num">${dur(n.meanDuration)}</td>
          <td class="num">${dur(n.p95Duration)}</td>
          <td class="bar-col">
            <svg class="bar-track" viewBox="0 0 1000 10" preserveAspectRatio="none">
              <rect class="chart-bar" role="img" aria-label="${label}" x="0" y="0" height="10"
                width="${width.toFixed(1)}">
                <title>${label}</title>
              </rect>
            </svg>
          </td>
          </tr>
      `;
    })
  }</tbody></table>
<h2>Failure patterns</h2>
${
    report.failurePatterns.length === 0
      ? html`<p class="muted">No <code>node.failed</code> events.</p>`
      : html`
        <table class="grid">
          <thead>
            <tr>
              <th>Node</th>
              <th>Error type</th>
              <th class="num">Count</th>
              <th class="num">Share</th>
              <th>First seen</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>${report.failurePatterns.map((p) =>
            html`
              <tr>
                <td><a href="${queryHref(
                  `events where type = node.failed${
                    p.nodeId === null ? "" : ` and attr.node_id = ${quoted(p.nodeId)}`
                  }${
                    p.errorType === null ? "" : ` and attr.error_type = ${quoted(p.errorType)}`
                  }${scope}`,
                )}"><code>${p.nodeId ?? "(none)"}</code></a></td>
                <td class="err">${p.errorType ?? "–"}</td>
                <td class="num">${p.count}</td>
                <td class="num">${pct(p.share)}</td>
                <td class="time">${formatTime(p.firstSeen)}</td>
                <td class="time">${formatTime(p.lastSeen)}</td>
              </tr>
            `
          )}</tbody>
        </table>
      `
  }
</section>`;
  return layout("Analysis", { text: "" }, main, "analysis");
}
