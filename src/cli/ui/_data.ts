/**
 * What the viewer reads, as query plans run through the store's one query
 * path (`manager.runPlan` or `backend.query`): the trace list with per-trace
 * span, error, token and cost totals, one trace with its spans and events,
 * and any query typed into the box (parsed by `parseQuery`). No SQL is
 * written here; ids and query text only ever reach the store as plan values.
 *
 * @module
 */
import {
  type Aggregate,
  type AggregatePlan,
  type Condition,
  type FieldRef,
  type GroupKey,
  MAX_LIMIT,
  type QueryPlan,
  type QueryRow,
} from "../../../query/plan.ts";
import type { EventRecord, SpanWithEvents, TraceRecord } from "../../model/types.ts";

/** Runs one plan against the store. */
export type RunPlan = (plan: QueryPlan) => Promise<QueryRow[]>;

/** One row of the trace list. */
export interface TraceSummary {
  /** The trace id. */
  traceId: string;
  /** The trace name. */
  name: string;
  /** The `graph.id` attribute of a graph run, `null` when absent. */
  graph: string | null;
  /** Start, seconds since the epoch. */
  startTime: number;
  /** End, or `null` while active. */
  endTime: number | null;
  /** Status of the trace. */
  status: string;
  /** Stored spans. */
  spans: number;
  /** Spans with status `error`. */
  errors: number;
  /** Total LLM tokens, `null` when no span carries token counts. */
  tokens: number | null;
  /** Total LLM cost, `null` when no span carries a cost. */
  cost: number | null;
  /** Models named by the trace's LLM spans, sorted. */
  models: string[];
  /** Error types of its failed spans, most frequent first. */
  errorTypes: string[];
}

/** A page of the trace list. */
export interface TracePage {
  /** The traces, newest first. */
  traces: TraceSummary[];
  /** Rows skipped. */
  offset: number;
  /** Page size. */
  limit: number;
  /** Whether older traces follow. */
  more: boolean;
}

/** One trace as the waterfall needs it. */
export interface TraceDetail {
  /** The trace record, `null` when only its spans are stored. */
  trace: TraceRecord | null;
  /** Its spans with their events, in start order. */
  spans: SpanWithEvents[];
  /** Events of the trace that belong to no stored span, oldest first. */
  events: EventRecord[];
}

/** Longest trace id the viewer looks up (ids are 32 hex characters). */
export const MAX_ID_LENGTH = 256;

function column(name: string): FieldRef {
  return { kind: "column", name };
}

function attribute(key: string): FieldRef {
  return { kind: "attribute", key };
}

function equals(field: FieldRef, value: string): Condition {
  return { type: "compare", field, operator: "=", value };
}

function aggregatePlan(
  where: Condition,
  aggregates: Aggregate[],
  groupBy: GroupKey[],
): AggregatePlan {
  return {
    type: "aggregate",
    entity: "spans",
    where,
    aggregates,
    groupBy,
    having: null,
    orderBy: [],
    limit: MAX_LIMIT,
    offset: 0,
  };
}

// PostgreSQL returns counts and sums of bigint as strings.
function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function add(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : a + b;
}

/** Token and cost attributes: ours (`llm.*`) and OpenTelemetry GenAI (`gen_ai.*`). */
const TOKEN_KEYS = ["llm.total_tokens", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens"];
const COST_KEYS = ["llm.cost"];
const MODEL_KEYS = ["llm.model", "gen_ai.request.model"];

/**
 * Reads one page of the trace list, newest first, with per-trace totals.
 * Five plans in all, whatever the page size: the page of traces, then span
 * counts per trace and status with token and cost sums, error types of
 * failed spans, and models (two attribute keys).
 *
 * @param run Runs a plan.
 * @param offset Traces skipped.
 * @param limit Page size.
 * @returns The page.
 */
export async function listTraces(run: RunPlan, offset: number, limit: number): Promise<TracePage> {
  const rows = await run({
    type: "select",
    entity: "traces",
    where: null,
    orderBy: [],
    limit: limit + 1,
    offset,
  }) as unknown as TraceRecord[];
  const more = rows.length > limit;
  const traces = rows.slice(0, limit);
  const summaries = new Map<string, TraceSummary>();
  for (const t of traces) {
    summaries.set(t.traceId, {
      traceId: t.traceId,
      name: t.name,
      graph: typeof t.attributes["graph.id"] === "string" ? t.attributes["graph.id"] : null,
      startTime: t.startTime,
      endTime: t.endTime,
      status: t.status,
      spans: 0,
      errors: 0,
      tokens: null,
      cost: null,
      models: [],
      errorTypes: [],
    });
  }
  if (traces.length > 0) {
    const inPage: Condition = {
      type: "in",
      field: column("trace_id"),
      negated: false,
      values: traces.map((t) => t.traceId),
    };
    const sums: Aggregate[] = [
      { fn: "count", field: null, alias: "n" },
      ...TOKEN_KEYS.map((key, i): Aggregate => ({
        fn: "sum",
        field: attribute(key),
        alias: `t${i}`,
      })),
      ...COST_KEYS.map((key, i): Aggregate => ({
        fn: "sum",
        field: attribute(key),
        alias: `c${i}`,
      })),
    ];
    const failed: Condition = {
      type: "and",
      conditions: [inPage, {
        type: "compare",
        field: column("status"),
        operator: "=",
        value: "error",
      }],
    };
    const [counts, errorRows, ...modelRows] = await Promise.all([
      run(aggregatePlan(inPage, sums, [
        { field: column("trace_id"), alias: "trace_id" },
        { field: column("status"), alias: "status" },
      ])),
      run(aggregatePlan(failed, [{ fn: "count", field: null, alias: "n" }], [
        { field: column("trace_id"), alias: "trace_id" },
        { field: column("error_type"), alias: "error_type" },
      ])),
      ...MODEL_KEYS.map((key) =>
        run(aggregatePlan(
          {
            type: "and",
            conditions: [inPage, { type: "exists", field: attribute(key), negated: false }],
          },
          [{ fn: "count", field: null, alias: "n" }],
          [{ field: column("trace_id"), alias: "trace_id" }, {
            field: attribute(key),
            alias: "model",
          }],
        ))
      ),
    ]);
    for (const row of counts!) {
      const summary = summaries.get(String(row.trace_id));
      if (summary === undefined) continue;
      const n = num(row.n) ?? 0;
      summary.spans += n;
      if (row.status === "error") summary.errors += n;
      for (let i = 0; i < TOKEN_KEYS.length; i++) {
        summary.tokens = add(summary.tokens, num(row[`t${i}`]));
      }
      for (let i = 0; i < COST_KEYS.length; i++) {
        summary.cost = add(summary.cost, num(row[`c${i}`]));
      }
    }
    for (const rows of modelRows) {
      for (const row of rows) {
        const summary = summaries.get(String(row.trace_id));
        const model = typeof row.model === "string" ? row.model : JSON.stringify(row.model);
        if (summary !== undefined && !summary.models.includes(model)) summary.models.push(model);
      }
    }
    const errorCounts = new Map<TraceSummary, Map<string, number>>();
    for (const row of errorRows!) {
      const summary = summaries.get(String(row.trace_id));
      if (summary === undefined || typeof row.error_type !== "string") continue;
      const types = errorCounts.get(summary) ?? new Map<string, number>();
      types.set(row.error_type, (types.get(row.error_type) ?? 0) + (num(row.n) ?? 0));
      errorCounts.set(summary, types);
    }
    for (const [summary, types] of errorCounts) {
      summary.errorTypes = [...types.entries()]
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
        .map(([type]) => type);
    }
    for (const summary of summaries.values()) summary.models.sort();
  }
  return { traces: [...summaries.values()], offset, limit, more };
}

/**
 * Reads one trace: its record, its spans with their events (start order) and
 * its events outside any stored span.
 *
 * @param run Runs a plan.
 * @param traceId The trace id.
 * @returns The trace, or `null` when nothing of it is stored.
 */
export async function readTrace(run: RunPlan, traceId: string): Promise<TraceDetail | null> {
  if (traceId.length === 0 || traceId.length > MAX_ID_LENGTH) return null;
  const byTrace = equals(column("trace_id"), traceId);
  const [traces, spans, events] = await Promise.all([
    run({ type: "select", entity: "traces", where: byTrace, orderBy: [], limit: 1, offset: 0 }),
    run({
      type: "select",
      entity: "spans",
      where: byTrace,
      orderBy: [{ field: column("start_time"), direction: "asc" }],
      limit: MAX_LIMIT,
      offset: 0,
    }),
    run({
      type: "select",
      entity: "events",
      where: {
        type: "and",
        conditions: [byTrace, { type: "exists", field: column("span_id"), negated: true }],
      },
      orderBy: [{ field: column("timestamp"), direction: "asc" }],
      limit: MAX_LIMIT,
      offset: 0,
    }),
  ]);
  if (traces.length === 0 && spans.length === 0) return null;
  return {
    trace: (traces[0] ?? null) as TraceRecord | null,
    spans: spans as unknown as SpanWithEvents[],
    events: events as unknown as EventRecord[],
  };
}

/**
 * Whether an aggregate plan groups by a time bucket (`bucket(field, width)`),
 * which the pages draw as a line chart rather than bars.
 *
 * @param plan The plan.
 * @returns `true` for a time-bucketed aggregate.
 */
export function isBucketed(plan: QueryPlan): boolean {
  return plan.type === "aggregate" && plan.groupBy.some((key) => key.bucket !== undefined);
}

/**
 * The bucket width of a time-bucketed plan's first bucket key, in seconds.
 *
 * @param plan An aggregate plan.
 * @returns The group key and its width, or `null`.
 */
export function bucketKey(plan: QueryPlan): { alias: string; width: number } | null {
  if (plan.type !== "aggregate") return null;
  for (const key of plan.groupBy) {
    if (key.bucket !== undefined) return { alias: key.alias, width: key.bucket };
  }
  return null;
}
