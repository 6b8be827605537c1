/**
 * A trace drawn as a waterfall: its spans as an indented tree, each with its
 * kind, status, duration, and a bar showing when it ran within the trace.
 *
 * @module
 */
import type { SpanRecord } from "../model/types.ts";
import { formatDuration } from "./_format.ts";

/** Options of {@linkcode renderWaterfall}. */
export interface WaterfallOptions {
  /**
   * Width of the timeline bars, in characters.
   *
   * @default {40}
   */
  width?: number;
  /**
   * Whether to colour the output with ANSI escapes (status and bars).
   *
   * @default {false}
   */
  color?: boolean;
}

interface Node {
  span: SpanRecord;
  children: Node[];
}

const RED = "\x1b[31m";
const GREEN = "\x1b[32m";
const DIM = "\x1b[2m";
const BOLD = "\x1b[1m";
const RESET = "\x1b[0m";
const STATUS_COLOR: Record<string, string> = { error: RED, ok: GREEN, unset: DIM };

/**
 * Draws the spans of one trace as a waterfall. Spans hang under their
 * parent (spans whose parent is not among them are roots), siblings in start
 * order. The bar of a span covers the part of the trace's time it ran; a
 * span still running (no end time) is drawn to the end of the trace with `░`.
 *
 * @param spans The spans of the trace, in any order.
 * @param options Bar width and colours.
 * @returns The waterfall, one line per span after a header line.
 *
 * @example
 * ```ts
 * import { renderWaterfall, type SpanRecord } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const span = (spanId: string, parentSpanId: string | null, startTime: number, endTime: number): SpanRecord => ({
 *   spanId, parentSpanId, startTime, endTime, traceId: "t", name: spanId, kind: "internal",
 *   status: "ok", attributes: {}, error: null, droppedEvents: 0,
 * });
 * const text = renderWaterfall([span("root", null, 0, 4), span("child", "root", 2, 4)], { width: 4 });
 * assert.equal(text.split("\n")[2], "└─ child  internal  ok         2.00s  |  ██|");
 * ```
 */
export function renderWaterfall(
  spans: readonly SpanRecord[],
  options: WaterfallOptions = {},
): string {
  const width = options.width ?? 40;
  const color = options.color ?? false;
  if (spans.length === 0) return "(no spans)";
  const byId = new Map<string, Node>();
  for (const span of spans) byId.set(span.spanId, { span, children: [] });
  const roots: Node[] = [];
  for (const node of byId.values()) {
    const parent = node.span.parentSpanId === null ? undefined : byId.get(node.span.parentSpanId);
    if (parent && parent !== node) parent.children.push(node);
    else roots.push(node);
  }
  const byStart = (a: Node, b: Node) =>
    a.span.startTime - b.span.startTime || (a.span.spanId < b.span.spanId ? -1 : 1);
  const start = Math.min(...spans.map((s) => s.startTime));
  const end = Math.max(...spans.map((s) => s.endTime ?? s.startTime));
  const total = end - start;

  const rows: { label: string; span: SpanRecord }[] = [];
  const visited = new Set<Node>();
  function walk(node: Node, prefix: string, branch: string): void {
    // Guards against a parent cycle in corrupt data.
    if (visited.has(node)) return;
    visited.add(node);
    rows.push({ label: prefix + branch + node.span.name, span: node.span });
    const children = node.children.sort(byStart);
    // Below a "├─" the parent's line continues; below a "└─" (or a root) it does not.
    const childPrefix = prefix + (branch === "├─ " ? "│  " : " ".repeat(branch.length));
    children.forEach((child, i) =>
      walk(child, childPrefix, i === children.length - 1 ? "└─ " : "├─ ")
    );
  }
  for (const root of roots.sort(byStart)) walk(root, "", "");

  const nameWidth = Math.max(4, ...rows.map((r) => r.label.length));
  const kindWidth = Math.max(4, ...rows.map((r) => r.span.kind.length));
  const durations = rows.map((r) =>
    r.span.endTime === null ? "active" : formatDuration(r.span.endTime - r.span.startTime)
  );
  const durationWidth = Math.max(8, ...durations.map((d) => d.length));
  const header = `${"span".padEnd(nameWidth)}  ${"kind".padEnd(kindWidth)}  status  ${
    "duration".padStart(durationWidth)
  }  ${formatDuration(total)} from ${new Date(start * 1000).toISOString()}`;
  const lines = [color ? BOLD + header + RESET : header];
  rows.forEach(({ label, span }, i) => {
    const status = span.status.padEnd(6);
    const paintedStatus = color ? (STATUS_COLOR[span.status] ?? "") + status + RESET : status;
    lines.push(
      `${label.padEnd(nameWidth)}  ${span.kind.padEnd(kindWidth)}  ${paintedStatus}  ${
        durations[i]!.padStart(durationWidth)
      }  |${bar(span, start, total, width, color)}|`,
    );
  });
  return lines.join("\n");
}

function bar(
  span: SpanRecord,
  start: number,
  total: number,
  width: number,
  color: boolean,
): string {
  const scale = total > 0 ? width / total : 0;
  const from = Math.min(width - 1, Math.floor((span.startTime - start) * scale));
  const endTime = span.endTime ?? start + total;
  const to = Math.max(from + 1, Math.min(width, Math.ceil((endTime - start) * scale)));
  const fill = (span.endTime === null ? "░" : "█").repeat(to - from);
  const painted = color && span.status === "error" ? RED + fill + RESET : fill;
  return " ".repeat(from) + painted + " ".repeat(width - to);
}
