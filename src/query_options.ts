/**
 * The seed's four query methods (`queryTraces`, `querySpans`, `queryEvents`,
 * `queryMetrics`) as query plans: their options are checked (an unknown key or
 * a misspelt status is refused rather than silently matching everything or
 * nothing) and turned into the same {@linkcode SelectPlan} the query language
 * builds, so there is one query path, not two.
 *
 * @module
 */
import {
  clampLimit,
  type Condition,
  DEFAULT_LIMIT,
  type Entity,
  type Literal,
  type SelectPlan,
} from "../query/plan.ts";
import { checkKeys } from "./backends/config_keys.ts";
import { type EventType, SpanKind, SpanStatus } from "./model/types.ts";

/** Paging options shared by the query methods. */
export interface PageOptions {
  /** Maximum number of results. @default {100} */
  limit?: number;
  /** Results skipped. @default {0} */
  offset?: number;
}

/** Options of `TelemetryManager.queryTraces()`. */
export interface QueryTracesOptions extends PageOptions {
  /** Only traces with this name. */
  traceName?: string;
  /** Only traces with this status. */
  status?: SpanStatus;
  /** Only traces that started at or after this time (seconds since the epoch). */
  startTime?: number;
  /** Only traces that started at or before this time (seconds since the epoch). */
  endTime?: number;
}

/** Options of `TelemetryManager.querySpans()`. */
export interface QuerySpansOptions extends PageOptions {
  /** Only spans of this trace. */
  traceId?: string;
  /** Only spans with this name. */
  spanName?: string;
  /** Only spans of this kind. */
  kind?: SpanKind;
  /** Only spans with this status. */
  status?: SpanStatus;
}

/** Options of `TelemetryManager.queryEvents()`. */
export interface QueryEventsOptions extends PageOptions {
  /** Only events of this trace. */
  traceId?: string;
  /** Only events of this type. */
  eventType?: EventType | string;
}

/** Options of `TelemetryManager.queryMetrics()`. */
export interface QueryMetricsOptions extends PageOptions {
  /** Only points of this metric. */
  metricName?: string;
  /** Only points of this trace. */
  traceId?: string;
}

function equals(column: string, value: Literal): Condition {
  return { type: "compare", field: { kind: "column", name: column }, operator: "=", value };
}

/** The option keys of each query method, checked so that a misspelt filter is not silently ignored. */
const PAGE_KEYS = ["limit", "offset"] as const;
const QUERY_OPTION_KEYS = {
  queryTraces: ["traceName", "status", "startTime", "endTime", ...PAGE_KEYS],
  querySpans: ["traceId", "spanName", "kind", "status", ...PAGE_KEYS],
  queryEvents: ["traceId", "eventType", ...PAGE_KEYS],
  queryMetrics: ["metricName", "traceId", ...PAGE_KEYS],
} as const;

/**
 * Refuses unknown option keys (`trace_name` would otherwise return every
 * trace) and enum values outside their set (`status: "ERROR"` would
 * otherwise match nothing).
 */
function checkQueryOptions(method: keyof typeof QUERY_OPTION_KEYS, options: object): void {
  if (options === null || typeof options !== "object") {
    throw new TypeError(`Cannot ${method}: options must be an object, got ${options}`);
  }
  try {
    checkKeys("the options", options as Record<string, unknown>, QUERY_OPTION_KEYS[method]);
  } catch (error) {
    throw new TypeError(
      (error as Error).message.replace(
        "Cannot configure telemetry: unknown key",
        `Cannot ${method}: unknown option`,
      ),
    );
  }
  const o = options as { status?: unknown; kind?: unknown };
  checkEnum(method, "status", o.status, Object.values(SpanStatus));
  if (method === "querySpans") checkEnum(method, "kind", o.kind, Object.values(SpanKind));
}

function checkEnum(method: string, name: string, value: unknown, allowed: readonly string[]): void {
  if (value === undefined || allowed.includes(value as string)) return;
  const lower = typeof value === "string" ? value.toLowerCase() : undefined;
  const hint = lower !== undefined && allowed.includes(lower) ? ` — did you mean '${lower}'?` : "";
  throw new RangeError(
    `Cannot ${method}: ${name} must be one of ${allowed.map((v) => `'${v}'`).join(", ")}, got ${
      JSON.stringify(value)
    }${hint}`,
  );
}

function selectPlan(entity: Entity, conditions: Condition[], page: PageOptions): SelectPlan {
  const offset = page.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new RangeError(`Cannot query: offset must be a whole number >= 0, got ${offset}`);
  }
  return {
    type: "select",
    entity,
    where: conditions.length === 0
      ? null
      : conditions.length === 1
      ? conditions[0]!
      : { type: "and", conditions },
    orderBy: [],
    limit: clampLimit(page.limit ?? DEFAULT_LIMIT),
    offset,
  };
}

/** The plan of `queryTraces(options)`, after checking the options. */
export function tracesPlan(options: QueryTracesOptions): SelectPlan {
  checkQueryOptions("queryTraces", options);
  const where: Condition[] = [];
  if (options.traceName !== undefined) where.push(equals("name", options.traceName));
  if (options.status !== undefined) where.push(equals("status", options.status));
  if (options.startTime !== undefined) {
    where.push({
      type: "compare",
      field: { kind: "column", name: "start_time" },
      operator: ">=",
      value: options.startTime,
    });
  }
  if (options.endTime !== undefined) {
    where.push({
      type: "compare",
      field: { kind: "column", name: "start_time" },
      operator: "<=",
      value: options.endTime,
    });
  }
  return selectPlan("traces", where, options);
}

/** The plan of `querySpans(options)`, after checking the options. */
export function spansPlan(options: QuerySpansOptions): SelectPlan {
  checkQueryOptions("querySpans", options);
  const where: Condition[] = [];
  if (options.traceId !== undefined) where.push(equals("trace_id", options.traceId));
  if (options.spanName !== undefined) where.push(equals("name", options.spanName));
  if (options.kind !== undefined) where.push(equals("kind", options.kind));
  if (options.status !== undefined) where.push(equals("status", options.status));
  return selectPlan("spans", where, options);
}

/** The plan of `queryEvents(options)`, after checking the options. */
export function eventsPlan(options: QueryEventsOptions): SelectPlan {
  checkQueryOptions("queryEvents", options);
  const where: Condition[] = [];
  if (options.traceId !== undefined) where.push(equals("trace_id", options.traceId));
  if (options.eventType !== undefined) where.push(equals("event_type", options.eventType));
  return selectPlan("events", where, options);
}

/** The plan of `queryMetrics(options)`, after checking the options. */
export function metricsPlan(options: QueryMetricsOptions): SelectPlan {
  checkQueryOptions("queryMetrics", options);
  const where: Condition[] = [];
  if (options.metricName !== undefined) where.push(equals("name", options.metricName));
  if (options.traceId !== undefined) where.push(equals("trace_id", options.traceId));
  return selectPlan("metrics", where, options);
}
