/**
 * Rendering of query results for the CLI: an aligned table (coloured on a
 * terminal), JSON, or CSV. Select results show a fixed set of readable
 * columns per entity; aggregate results show the plan's aliases, group keys
 * first.
 *
 * @module
 */
import type { Entity, QueryPlan, QueryRow } from "../../query/plan.ts";

/** A column of the output: its header and how to read it from a row. */
interface OutputColumn {
  header: string;
  get: (row: QueryRow) => unknown;
  /** How the table shows the value (raw values go to CSV and JSON). */
  kind: "time" | "duration" | "status" | "json" | "plain";
}

function field(header: string, key: string, kind: OutputColumn["kind"] = "plain"): OutputColumn {
  return { header, get: (row) => row[key], kind };
}

function durationOf(row: QueryRow): number | null {
  const start = row.startTime;
  const end = row.endTime;
  return typeof start === "number" && typeof end === "number" ? end - start : null;
}

const SELECT_COLUMNS: Record<Entity, OutputColumn[]> = {
  traces: [
    field("start_time", "startTime", "time"),
    field("trace_id", "traceId"),
    field("name", "name"),
    field("status", "status", "status"),
    { header: "duration", get: durationOf, kind: "duration" },
    field("attributes", "attributes", "json"),
    field("resource", "resource", "json"),
  ],
  spans: [
    field("start_time", "startTime", "time"),
    field("span_id", "spanId"),
    field("trace_id", "traceId"),
    field("name", "name"),
    field("kind", "kind"),
    field("status", "status", "status"),
    { header: "duration", get: durationOf, kind: "duration" },
    field("attributes", "attributes", "json"),
  ],
  events: [
    field("timestamp", "timestamp", "time"),
    field("event_type", "eventType"),
    field("name", "name"),
    field("span_id", "spanId"),
    field("attributes", "attributes", "json"),
  ],
  metrics: [
    field("timestamp", "timestamp", "time"),
    field("name", "name"),
    field("value", "value"),
    field("unit", "unit"),
    field("kind", "kind"),
    field("attributes", "attributes", "json"),
  ],
};

const TIME_COLUMNS = new Set(["start_time", "end_time", "timestamp"]);

function columnsOf(plan: QueryPlan): OutputColumn[] {
  if (plan.type === "select") return SELECT_COLUMNS[plan.entity];
  return [
    // A bucket of a time column shows the bucket's start as a time, of duration as a duration.
    ...plan.groupBy.map((g) =>
      field(
        g.alias,
        g.alias,
        g.bucket === undefined || g.field.kind !== "column"
          ? "plain"
          : g.field.name === "duration"
          ? "duration"
          : TIME_COLUMNS.has(g.field.name)
          ? "time"
          : "plain",
      )
    ),
    ...plan.aggregates.map((a) =>
      field(
        a.alias,
        a.alias,
        a.field?.kind === "column" && a.field.name === "duration" && a.fn !== "count"
          ? "duration"
          : "plain",
      )
    ),
  ];
}

/** Options of {@linkcode formatTable}. */
export interface TableOptions {
  /** Whether to use ANSI colours. */
  color: boolean;
  /** Longest cell, in characters, before it is cut with `…`. */
  maxCell?: number;
}

const ANSI = {
  bold: "\x1b[1m",
  dim: "\x1b[2m",
  red: "\x1b[31m",
  green: "\x1b[32m",
  reset: "\x1b[0m",
};

/**
 * Formats a time as UTC `YYYY-MM-DD HH:MM:SS.mmm`.
 *
 * @param seconds Seconds since the epoch.
 * @returns The text.
 */
export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace("T", " ").replace("Z", "");
}

/**
 * Formats a duration in seconds with a unit that keeps it short.
 *
 * @param seconds The duration.
 * @returns The text, e.g. `"1.25s"`, `"340ms"`, `"12µs"`.
 */
export function formatDuration(seconds: number): string {
  const abs = Math.abs(seconds);
  if (abs >= 60) return `${(seconds / 60).toFixed(1)}m`;
  if (abs >= 1) return `${seconds.toFixed(2)}s`;
  if (abs >= 1e-3) return `${(seconds * 1e3).toFixed(abs >= 0.1 ? 0 : 1)}ms`;
  if (abs === 0) return "0s";
  return `${(seconds * 1e6).toFixed(0)}µs`;
}

function display(value: unknown, kind: OutputColumn["kind"]): string {
  if (value === null || value === undefined) return "-";
  if (kind === "time" && typeof value === "number") return formatTime(value);
  if (kind === "duration" && typeof value === "number") return formatDuration(value);
  if (typeof value === "string") return kind === "json" ? JSON.stringify(value) : value;
  if (typeof value === "number") {
    return String(Number.isInteger(value) ? value : +value.toPrecision(6));
  }
  if (kind === "json" && typeof value === "object" && Object.keys(value).length === 0) return "-";
  return JSON.stringify(value);
}

function paint(text: string, value: unknown, kind: OutputColumn["kind"], color: boolean): string {
  if (!color) return text;
  if (value === null || value === undefined) return ANSI.dim + text + ANSI.reset;
  if (kind === "status" && value === "error") return ANSI.red + text + ANSI.reset;
  if (kind === "status" && value === "ok") return ANSI.green + text + ANSI.reset;
  return text;
}

/**
 * Renders rows as an aligned table, numbers right-aligned.
 *
 * @param plan The plan the rows answer (it decides the columns).
 * @param rows The rows.
 * @param options Colours and cell width.
 * @returns The table, one line per row after a header, ending with a row count.
 */
export function formatTable(plan: QueryPlan, rows: QueryRow[], options: TableOptions): string {
  const columns = columnsOf(plan);
  const maxCell = options.maxCell ?? 60;
  const cells = rows.map((row) =>
    columns.map((c) => {
      const value = c.get(row);
      const text = display(value, c.kind);
      return { value, text: text.length > maxCell ? `${text.slice(0, maxCell - 1)}…` : text };
    })
  );
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((r) => r[i]!.text.length))
  );
  const numeric = columns.map((c, i) =>
    c.kind === "duration" || rows.length > 0 && cells.every((r) => typeof r[i]!.value === "number")
  );
  const pad = (text: string, i: number) =>
    numeric[i] ? text.padStart(widths[i]!) : text.padEnd(widths[i]!);
  const header = columns.map((c, i) => pad(c.header, i)).join("  ").trimEnd();
  const lines = [options.color ? ANSI.bold + header + ANSI.reset : header];
  for (const row of cells) {
    lines.push(
      row.map((cell, i) => paint(pad(cell.text, i), cell.value, columns[i]!.kind, options.color))
        .join("  ").trimEnd(),
    );
  }
  const count = `(${rows.length} ${rows.length === 1 ? "row" : "rows"})`;
  lines.push(options.color ? ANSI.dim + count + ANSI.reset : count);
  return lines.join("\n");
}

/**
 * Renders rows as RFC 4180 CSV with a header line; objects as JSON text.
 *
 * @param plan The plan the rows answer.
 * @param rows The rows.
 * @returns The CSV text.
 */
export function formatCsv(plan: QueryPlan, rows: QueryRow[]): string {
  const columns = columnsOf(plan);
  const lines = [columns.map((c) => csvCell(c.header)).join(",")];
  for (const row of rows) {
    lines.push(columns.map((c) => csvCell(c.get(row))).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
