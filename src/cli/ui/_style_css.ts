/**
 * The viewer's stylesheet, served as `/assets/viewer.css`: dense tables,
 * colours by span kind and status, light and dark (`prefers-color-scheme`).
 *
 * @module
 */

/** The stylesheet. */
export const STYLE_CSS: string = String.raw`
:root {
  --bg: #ffffff; --fg: #1d2330; --muted: #6a7384; --line: #e3e6ec; --panel: #f6f7f9;
  --accent: #2f6fdf; --hover: #eef3fd; --sel: #dbe7fc;
  --ok: #1f8f4e; --error: #d0302f; --unset: #8a93a3; --err-bg: #fdecec;
  --k-graph: #7b4fd6; --k-node: #2f6fdf; --k-edge: #8a93a3; --k-state: #b07d12;
  --k-tool: #c0580c; --k-llm: #0f8f8f; --k-internal: #5b6577;
  --s0: #2f6fdf; --s1: #d0302f; --s2: #1f8f4e; --s3: #c0580c; --s4: #7b4fd6; --s5: #0f8f8f;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14171d; --fg: #dde2ea; --muted: #8d96a6; --line: #2a2f39; --panel: #1b1f27;
    --accent: #6ea0ff; --hover: #1f2733; --sel: #233452;
    --ok: #4cc47f; --error: #ff6b66; --unset: #8d96a6; --err-bg: #3a1c1c;
    --k-graph: #a684f0; --k-node: #6ea0ff; --k-edge: #8d96a6; --k-state: #e0b44a;
    --k-tool: #f0914a; --k-llm: #3cc7c7; --k-internal: #9aa4b5;
  }
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--fg); }
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
code, pre, .id, .time, .num, .attrs { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; }
h1 { font-size: 18px; margin: 0; }
h2 { font-size: 15px; margin: 18px 0 8px; }
h3 { font-size: 12px; margin: 14px 0 4px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.muted { color: var(--muted); }
.empty { color: var(--muted); padding: 16px; }

header.top { display: flex; align-items: center; gap: 16px; padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0; z-index: 2; }
.brand { font-weight: 700; color: var(--fg); white-space: nowrap; }
header nav { display: flex; gap: 12px; }
header nav a[aria-current="page"] { font-weight: 600; color: var(--fg); border-bottom: 2px solid var(--accent); }
form.query { flex: 1; display: flex; gap: 6px; }
form.query input { flex: 1; font: 13px ui-monospace, Menlo, Consolas, monospace; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); }
form.query input[aria-invalid="true"] { border-color: var(--error); }
form.query button, button.copy { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 4px; background: var(--bg); color: var(--fg); cursor: pointer; }
form.query button { background: var(--accent); color: #fff; border-color: var(--accent); }
button.copy { padding: 0 6px; font-size: 11px; }
.query-error { margin: 8px 16px 0; border: 1px solid var(--error); background: var(--err-bg); border-radius: 4px; }
.query-error pre { margin: 0; padding: 8px 12px; white-space: pre-wrap; font-size: 12px; }
main { padding: 12px 16px 32px; }

.heading { display: flex; align-items: baseline; gap: 12px; flex-wrap: wrap; margin-bottom: 8px; }
.hint { color: var(--muted); }
.example { display: inline-block; margin: 2px 0 2px 6px; padding: 0 6px; border: 1px solid var(--line); border-radius: 3px; background: var(--panel); }
.graph-label { color: var(--muted); margin-left: 6px; font-size: 12px; }
td.errors a { color: var(--error); }
.live { font-size: 11px; color: var(--ok); border: 1px solid currentColor; border-radius: 8px; padding: 0 6px; }
.live.stale { color: var(--error); }

table.grid { border-collapse: collapse; width: 100%; }
table.grid th, table.grid td { padding: 3px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
table.grid th { font-weight: 600; color: var(--muted); font-size: 12px; background: var(--panel); position: sticky; top: 45px; }
table.grid tbody tr:hover { background: var(--hover); }
table.grid td.models, table.grid td .attrs { white-space: normal; }
.attrs { color: var(--muted); word-break: break-all; }
.num { text-align: right !important; font-variant-numeric: tabular-nums; }
td.errors, dd.errors { color: var(--error); font-weight: 600; }
tr.status-error td.name a { color: var(--error); }
.err { color: var(--error); }
.pager { display: flex; gap: 16px; justify-content: center; padding: 10px; color: var(--muted); }

.badge { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 3px; border: 1px solid var(--line); color: var(--muted); white-space: nowrap; }
.badge.status-ok { color: var(--ok); border-color: var(--ok); }
.badge.status-error { color: #fff; background: var(--error); border-color: var(--error); }
.badge.status-unset { color: var(--unset); }
.badge.kind { color: #fff; border: 0; }
.kind-graph_run .badge.kind, .badge.kind-graph_run { background: var(--k-graph); }
.badge.kind-node_execution { background: var(--k-node); }
.badge.kind-edge_transition { background: var(--k-edge); }
.badge.kind-state_change { background: var(--k-state); }
.badge.kind-tool_call { background: var(--k-tool); }
.badge.kind-llm_call { background: var(--k-llm); }
.badge.kind-internal, .badge.kind-other { background: var(--k-internal); }

.trace-head { margin-bottom: 10px; }
.trace-head h1 { display: flex; gap: 8px; align-items: center; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 6px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; word-break: break-all; }
dl.facts.inline { display: flex; flex-wrap: wrap; gap: 4px 8px; }
dl.facts.inline dd { margin-right: 14px; }
details { margin: 4px 0; }
summary { cursor: pointer; color: var(--muted); }

.trace-body { display: grid; grid-template-columns: minmax(0, 1fr) minmax(320px, 32%); gap: 12px; align-items: start; }
.waterfall { border: 1px solid var(--line); border-radius: 4px; outline: none; }
.waterfall:focus-visible { box-shadow: 0 0 0 2px var(--accent); }
.span-row { display: grid; grid-template-columns: minmax(220px, 34%) 112px 60px 72px minmax(120px, 1fr); align-items: center; border-bottom: 1px solid var(--line); min-height: 22px; cursor: pointer; }
.span-row:hover { background: var(--hover); }
.span-row.selected { background: var(--sel); }
.span-row.status-error .span-name { color: var(--error); }
.span-row[hidden] { display: none; }
.axis-row { cursor: default; background: var(--panel); color: var(--muted); font-size: 11px; font-weight: 600; position: sticky; top: 45px; z-index: 1; }
.axis-row:hover { background: var(--panel); }
.cell { padding: 1px 6px; overflow: hidden; white-space: nowrap; text-overflow: ellipsis; }
.name-cell { display: flex; align-items: center; }
.indent { display: inline-block; flex: none; width: 14px; align-self: stretch; border-left: 1px solid var(--line); margin-left: 6px; margin-right: -6px; }
.toggle, .toggle-space { flex: none; width: 16px; height: 16px; margin-right: 2px; padding: 0; border: 0; background: none; color: var(--muted); font-size: 11px; cursor: pointer; }
.span-name { color: var(--fg); overflow: hidden; text-overflow: ellipsis; }
.err-dot { color: var(--error); margin-left: 4px; font-size: 9px; }
.axis { display: grid; grid-template-columns: repeat(3, 1fr); position: relative; overflow: visible; }
.axis .axis-end { position: absolute; right: 6px; }
.axis span { border-left: 1px solid var(--line); padding-left: 3px; }
.axis span.axis-end { border: 0; }
svg.track { display: block; width: 100%; height: 12px; overflow: visible; }
.wf-bar { fill: var(--k-internal); }
.kind-graph_run .wf-bar { fill: var(--k-graph); }
.kind-node_execution .wf-bar { fill: var(--k-node); }
.kind-edge_transition .wf-bar { fill: var(--k-edge); }
.kind-state_change .wf-bar { fill: var(--k-state); }
.kind-tool_call .wf-bar { fill: var(--k-tool); }
.kind-llm_call .wf-bar { fill: var(--k-llm); }
.status-error .wf-bar { fill: var(--error); }
.wf-bar.active { opacity: .45; }
line.tick { stroke: var(--fg); stroke-width: 1.5; vector-effect: non-scaling-stroke; opacity: .7; }
line.tick-error { stroke: var(--error); opacity: 1; }

.detail-pane { border: 1px solid var(--line); border-radius: 4px; padding: 8px 12px; position: sticky; top: 56px; max-height: calc(100vh - 70px); overflow: auto; background: var(--panel); }
.detail { display: none; }
.detail:target, .detail.selected { display: block; }
.detail-pane:has(.detail.selected) .detail:target:not(.selected) { display: none; }
.detail h2 { margin: 2px 0 4px; word-break: break-all; }
.badges { display: flex; gap: 4px; }
.error-box { border: 1px solid var(--error); background: var(--err-bg); border-radius: 4px; padding: 6px 10px; margin: 8px 0; }
.error-type { font-weight: 700; color: var(--error); }
.error-message { margin: 2px 0 4px; white-space: pre-wrap; word-break: break-word; }
pre.stack { margin: 0; font-size: 11px; white-space: pre-wrap; word-break: break-all; max-height: 240px; overflow: auto; color: var(--muted); }
table.kv { border-collapse: collapse; width: 100%; }
table.kv th, table.kv td { text-align: left; vertical-align: top; padding: 1px 6px 1px 0; border-bottom: 1px solid var(--line); font: 12px ui-monospace, Menlo, Consolas, monospace; }
table.kv th { color: var(--muted); font-weight: 400; white-space: nowrap; width: 1%; }
table.kv td { word-break: break-all; white-space: pre-wrap; }
ol.events { list-style: none; padding: 0; margin: 0; }
ol.events li { border-bottom: 1px solid var(--line); padding: 3px 0; }
.offset { font: 11px ui-monospace, Menlo, monospace; color: var(--muted); }
ul.children { margin: 0; padding-left: 16px; }

figure.chart { margin: 4px 0 16px; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.bars { display: grid; gap: 2px; max-width: 900px; }
.bar-row { display: grid; grid-template-columns: minmax(120px, 260px) 1fr 90px; gap: 8px; align-items: center; }
.bar-label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.bar-value { text-align: right; font: 12px ui-monospace, Menlo, monospace; }
svg.bar-track { display: block; width: 100%; height: 12px; background: var(--panel); }
.chart-bar { fill: var(--accent); }
td.bar-col, th.bar-col { width: 25%; min-width: 120px; }
svg.line-svg { width: 100%; max-width: 900px; height: auto; }
.chart-axis { stroke: var(--line); }
text.axis-label { fill: var(--muted); font-size: 11px; stroke: none; }
polyline.line { fill: none; stroke-width: 2; }
.series circle.point { stroke: none; }
.series-0 polyline { stroke: var(--s0); } .series-0 circle, .legend .series-0 i { fill: var(--s0); background: var(--s0); }
.series-1 polyline { stroke: var(--s1); } .series-1 circle, .legend .series-1 i { fill: var(--s1); background: var(--s1); }
.series-2 polyline { stroke: var(--s2); } .series-2 circle, .legend .series-2 i { fill: var(--s2); background: var(--s2); }
.series-3 polyline { stroke: var(--s3); } .series-3 circle, .legend .series-3 i { fill: var(--s3); background: var(--s3); }
.series-4 polyline { stroke: var(--s4); } .series-4 circle, .legend .series-4 i { fill: var(--s4); background: var(--s4); }
.series-5 polyline { stroke: var(--s5); } .series-5 circle, .legend .series-5 i { fill: var(--s5); background: var(--s5); }
.legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; border-radius: 2px; }

.cards { display: flex; flex-wrap: wrap; gap: 8px; }
.card { border: 1px solid var(--line); border-radius: 4px; padding: 6px 12px; min-width: 96px; background: var(--panel); }
.card-value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card-label { color: var(--muted); font-size: 11px; }
.card.bad .card-value, .card.bad a { color: var(--error); }
.card.good .card-value { color: var(--ok); }
.card.warn .card-value { color: var(--k-state); }
.graphs { display: flex; gap: 8px; }
.graphs a[aria-current="page"] { font-weight: 700; color: var(--fg); }
ul.bottlenecks { padding-left: 0; list-style: none; }
ul.bottlenecks li { padding: 2px 0; }
.severity-high .sev { background: var(--error); color: #fff; border-color: var(--error); }
.severity-medium .sev { color: var(--k-state); border-color: var(--k-state); }
tr.has-errors td:first-child code { color: var(--error); }
@media (max-width: 900px) { .trace-body { grid-template-columns: 1fr; } .detail-pane { position: static; max-height: none; } }
`;
