/**
 * Performance analysis of recorded graph runs (the seed's "RSI" consumer):
 * run success and latency, per-node statistics, bottlenecks and failure
 * patterns, computed by the backend in five aggregate queries.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import { ALIAS, buildPerformancePlans } from "./_performance_plans.ts";

/**
 * Anything that runs a query plan: a `TelemetryManager` (its `runPlan`), or a
 * wrapper around a backend (`{ runPlan: (plan) => backend.query(plan) }`).
 */
export interface PlanRunner {
  /** Runs the plan and returns its rows. */
  runPlan(plan: QueryPlan): Promise<QueryRow[]>;
}

/** Options of {@linkcode analyzePerformance}. */
export interface AnalyzePerformanceOptions {
  /** Only runs, spans and events at or after this time (a `Date` or seconds since the epoch). @default {all time} */
  since?: Date | number;
  /** Only records whose `graph.id` attribute equals this (see `instrumentGraphRun`). @default {every graph} */
  graphId?: string;
  /**
   * Nodes executed fewer times are reported but never flagged as bottlenecks,
   * nor counted in the mean of node averages: too few runs say little.
   * @default {10}
   */
  minExecutions?: number;
}

/** Duration statistics in seconds; `null` when there is nothing to measure. */
export interface DurationStats {
  /** Arithmetic mean. */
  mean: number | null;
  /** 50th percentile (linear interpolation, like PostgreSQL `percentile_cont`). */
  median: number | null;
  /** 95th percentile. */
  p95: number | null;
  /** 99th percentile. */
  p99: number | null;
}

/** Statistics of graph runs (traces named `graph_run`). */
export interface RunStats {
  /** All runs, ended or not. */
  total: number;
  /** Runs ended with status `ok`. */
  succeeded: number;
  /** Runs ended with status `error`. */
  failed: number;
  /** Runs not yet ended (status `unset`). */
  active: number;
  /** `succeeded / (succeeded + failed)`; `null` when no run has ended. */
  successRate: number | null;
  /** Duration of ended runs. */
  duration: DurationStats;
}

/** Statistics of one node (spans of kind `node_execution` with one `node.id`). */
export interface NodeStats {
  /** The `node.id` attribute; `null` for spans without one. */
  nodeId: string | null;
  /** The `node.name` attribute; `null` for spans without one. */
  nodeName: string | null;
  /** Executions (spans). */
  executions: number;
  /** Executions ended `ok`. */
  succeeded: number;
  /** Executions ended `error`. */
  failed: number;
  /** `succeeded / executions`. */
  successRate: number;
  /** `failed / executions`. */
  errorRate: number;
  /** Mean duration in seconds; `null` when no execution has ended. */
  meanDuration: number | null;
  /** 95th percentile duration in seconds. */
  p95Duration: number | null;
}

/** How bad a bottleneck is. */
export type BottleneckSeverity = "medium" | "high";

/** A node that slows runs down or fails them. */
export interface Bottleneck {
  /** The node. */
  nodeId: string | null;
  /** Its name. */
  nodeName: string | null;
  /**
   * `"slow"`: mean duration above 2× (medium) or 5× (high) the mean of node
   * averages. `"errors"`: error rate above 5% (medium) or 20% (high).
   */
  type: "slow" | "errors";
  /** Severity. */
  severity: BottleneckSeverity;
  /** The measured value: mean duration in seconds, or error rate. */
  value: number;
  /** The threshold it exceeded, in the same unit. */
  threshold: number;
}

/** Failures of one node with one error type, from `node.failed` events. */
export interface FailurePattern {
  /** The `node_id` attribute of the events. */
  nodeId: string | null;
  /** The `error_type` attribute of the events. */
  errorType: string | null;
  /** Number of failures. */
  count: number;
  /** Fraction of all `node.failed` events in scope. */
  share: number;
  /** Time of the first failure, seconds since the epoch. */
  firstSeen: number;
  /** Time of the last failure, seconds since the epoch. */
  lastSeen: number;
}

/** What {@linkcode analyzePerformance} returns. */
export interface PerformanceReport {
  /** Graph runs. */
  runs: RunStats;
  /** Per node, ordered by node id. */
  nodes: NodeStats[];
  /** Mean of the mean durations of the nodes with at least `minExecutions` executions. */
  meanNodeDuration: number | null;
  /** Bottlenecks, high severity first, then by type and node id. */
  bottlenecks: Bottleneck[];
  /** Failure patterns, most frequent first. */
  failurePatterns: FailurePattern[];
}

const SLOW_MEDIUM = 2;
const SLOW_HIGH = 5;
const ERRORS_MEDIUM = 0.05;
const ERRORS_HIGH = 0.2;

/**
 * Analyses recorded graph runs: success rate and duration percentiles of runs,
 * per-node executions, success and error rates, mean and p95 durations,
 * bottlenecks, and failure patterns grouped by `node_id` and `error_type`.
 *
 * It runs five aggregate plans through `runner.runPlan` — never a query per
 * run — so the backend does the counting (SQL on SQLite and PostgreSQL), and
 * every backend gives the same answer. Pass a `TelemetryManager` after
 * `await manager.flush()` so that recent records are included.
 *
 * @param runner A `TelemetryManager`, or anything with `runPlan`.
 * @param options Time and graph restrictions, and the evidence threshold.
 * @returns The report.
 * @throws {RangeError} When `minExecutions` is negative or not a whole number.
 *
 * @example
 * ```ts
 * import { analyzePerformance, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import { instrumentGraphRun, instrumentNode } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * for (let i = 0; i < 3; i++) {
 *   await instrumentGraphRun(manager, { type: "Pipeline", nodesCount: 1 }, () =>
 *     instrumentNode(manager, { id: "fetch", type: "FetchNode" }, () => Promise.resolve(i)));
 * }
 * await manager.flush();
 * const report = await analyzePerformance(manager, { minExecutions: 1 });
 * assert.equal(report.runs.total, 3);
 * assert.equal(report.runs.successRate, 1);
 * assert.equal(report.nodes[0]?.nodeId, "fetch");
 * assert.equal(report.nodes[0]?.executions, 3);
 * ```
 */
export async function analyzePerformance(
  runner: PlanRunner,
  options: AnalyzePerformanceOptions = {},
): Promise<PerformanceReport> {
  const minExecutions = options.minExecutions ?? 10;
  if (!Number.isInteger(minExecutions) || minExecutions < 0) {
    throw new RangeError(
      `Cannot analyse performance: minExecutions must be a whole number >= 0, got ${minExecutions}`,
    );
  }
  const since = options.since instanceof Date
    ? options.since.getTime() / 1000
    : options.since ?? null;
  const plans = buildPerformancePlans({ since, graphId: options.graphId ?? null });
  const [runStatus, runDuration, nodeDuration, nodeStatus, failures] = await Promise.all([
    runner.runPlan(plans.runStatus),
    runner.runPlan(plans.runDuration),
    runner.runPlan(plans.nodeDuration),
    runner.runPlan(plans.nodeStatus),
    runner.runPlan(plans.failures),
  ]);

  const runs = runStats(runStatus, runDuration[0]);
  const nodes = nodeStats(nodeDuration, nodeStatus);
  const considered = nodes.filter((n) => n.executions >= minExecutions);
  const averages = considered.map((n) => n.meanDuration).filter((d): d is number => d !== null);
  const meanNodeDuration = averages.length === 0
    ? null
    : averages.reduce((a, b) => a + b, 0) / averages.length;
  return {
    runs,
    nodes,
    meanNodeDuration,
    bottlenecks: bottlenecks(considered, meanNodeDuration),
    failurePatterns: failurePatterns(failures),
  };
}

// PostgreSQL returns counts as bigint strings; every backend's numbers pass through here.
function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = typeof value === "number" ? value : Number(value);
  return Number.isFinite(n) ? n : null;
}

function str(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : String(value);
}

function runStats(statusRows: QueryRow[], durationRow: QueryRow | undefined): RunStats {
  let succeeded = 0;
  let failed = 0;
  let active = 0;
  for (const row of statusRows) {
    const count = num(row[ALIAS.count]) ?? 0;
    if (row[ALIAS.status] === "ok") succeeded += count;
    else if (row[ALIAS.status] === "error") failed += count;
    else active += count;
  }
  const ended = succeeded + failed;
  return {
    total: ended + active,
    succeeded,
    failed,
    active,
    successRate: ended === 0 ? null : succeeded / ended,
    duration: {
      mean: num(durationRow?.[ALIAS.mean]),
      median: num(durationRow?.[ALIAS.median]),
      p95: num(durationRow?.[ALIAS.p95]),
      p99: num(durationRow?.[ALIAS.p99]),
    },
  };
}

function nodeKey(row: QueryRow): string {
  return JSON.stringify([str(row[ALIAS.nodeId]), str(row[ALIAS.nodeName])]);
}

function nodeStats(durationRows: QueryRow[], statusRows: QueryRow[]): NodeStats[] {
  const byStatus = new Map<string, { ok: number; error: number }>();
  for (const row of statusRows) {
    const key = nodeKey(row);
    const entry = byStatus.get(key) ?? { ok: 0, error: 0 };
    const count = num(row[ALIAS.count]) ?? 0;
    if (row[ALIAS.status] === "ok") entry.ok += count;
    else if (row[ALIAS.status] === "error") entry.error += count;
    byStatus.set(key, entry);
  }
  const nodes = durationRows.map((row): NodeStats => {
    const executions = num(row[ALIAS.count]) ?? 0;
    const status = byStatus.get(nodeKey(row)) ?? { ok: 0, error: 0 };
    return {
      nodeId: str(row[ALIAS.nodeId]),
      nodeName: str(row[ALIAS.nodeName]),
      executions,
      succeeded: status.ok,
      failed: status.error,
      successRate: executions === 0 ? 0 : status.ok / executions,
      errorRate: executions === 0 ? 0 : status.error / executions,
      meanDuration: num(row[ALIAS.mean]),
      p95Duration: num(row[ALIAS.p95]),
    };
  });
  // Sorted here rather than by the plan: backends agree on group order, but
  // a stable order by id is what a reader of the report expects.
  return nodes.sort((a, b) =>
    compareNullable(a.nodeId, b.nodeId) || compareNullable(a.nodeName, b.nodeName)
  );
}

function compareNullable(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function bottlenecks(nodes: NodeStats[], meanNodeDuration: number | null): Bottleneck[] {
  const found: Bottleneck[] = [];
  for (const node of nodes) {
    if (meanNodeDuration !== null && meanNodeDuration > 0 && node.meanDuration !== null) {
      const high = node.meanDuration > SLOW_HIGH * meanNodeDuration;
      if (high || node.meanDuration > SLOW_MEDIUM * meanNodeDuration) {
        found.push({
          nodeId: node.nodeId,
          nodeName: node.nodeName,
          type: "slow",
          severity: high ? "high" : "medium",
          value: node.meanDuration,
          threshold: (high ? SLOW_HIGH : SLOW_MEDIUM) * meanNodeDuration,
        });
      }
    }
    const high = node.errorRate > ERRORS_HIGH;
    if (high || node.errorRate > ERRORS_MEDIUM) {
      found.push({
        nodeId: node.nodeId,
        nodeName: node.nodeName,
        type: "errors",
        severity: high ? "high" : "medium",
        value: node.errorRate,
        threshold: high ? ERRORS_HIGH : ERRORS_MEDIUM,
      });
    }
  }
  const rank = { high: 0, medium: 1 };
  return found.sort((a, b) =>
    rank[a.severity] - rank[b.severity] || compareNullable(a.type, b.type) ||
    compareNullable(a.nodeId, b.nodeId)
  );
}

function failurePatterns(rows: QueryRow[]): FailurePattern[] {
  const total = rows.reduce((sum, row) => sum + (num(row[ALIAS.count]) ?? 0), 0);
  const patterns = rows.map((row): FailurePattern => {
    const count = num(row[ALIAS.count]) ?? 0;
    return {
      nodeId: str(row[ALIAS.nodeId]),
      errorType: str(row[ALIAS.errorType]),
      count,
      share: total === 0 ? 0 : count / total,
      firstSeen: num(row[ALIAS.firstSeen]) ?? 0,
      lastSeen: num(row[ALIAS.lastSeen]) ?? 0,
    };
  });
  return patterns.sort((a, b) =>
    b.count - a.count || compareNullable(a.nodeId, b.nodeId) ||
    compareNullable(a.errorType, b.errorType)
  );
}
