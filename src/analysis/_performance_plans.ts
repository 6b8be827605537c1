/**
 * The aggregate plans behind `analyzePerformance`: five queries in all,
 * whatever the number of runs, each executed by the backend (SQL for SQLite
 * and PostgreSQL, predicates for memory).
 *
 * @module
 */
import {
  type Aggregate,
  type AggregatePlan,
  type Condition,
  type Entity,
  type FieldRef,
  type GroupKey,
  MAX_LIMIT,
} from "../../query/plan.ts";

/** What the analysis looks at. */
export interface PlanFilter {
  /** Only records at or after this time (seconds since the epoch). */
  since: number | null;
  /** Only records whose `graph.id` attribute equals this. */
  graphId: string | null;
}

/** The plans of one analysis, by purpose. */
export interface PerformancePlans {
  /** Graph runs (traces named `graph_run`) per status. */
  runStatus: AggregatePlan;
  /** Mean, median, p95, p99 of the duration of ended graph runs. */
  runDuration: AggregatePlan;
  /** Per node: executions, mean and p95 duration. */
  nodeDuration: AggregatePlan;
  /** Per node and status: executions. */
  nodeStatus: AggregatePlan;
  /** `node.failed` events per node and error type. */
  failures: AggregatePlan;
}

/** Output column names shared by the plans and the code reading their rows. */
export const ALIAS = {
  status: "status",
  count: "count",
  mean: "mean",
  median: "median",
  p95: "p95",
  p99: "p99",
  nodeId: "node_id",
  nodeName: "node_name",
  errorType: "error_type",
  firstSeen: "first_seen",
  lastSeen: "last_seen",
} as const;

function column(name: string): FieldRef {
  return { kind: "column", name };
}

function attribute(key: string): FieldRef {
  return { kind: "attribute", key };
}

function equals(field: FieldRef, value: string): Condition {
  return { type: "compare", field, operator: "=", value };
}

function where(entity: Entity, own: Condition[], filter: PlanFilter): Condition {
  const conditions = [...own];
  if (filter.since !== null) {
    const time = entity === "events" || entity === "metrics" ? "timestamp" : "start_time";
    conditions.push({ type: "compare", field: column(time), operator: ">=", value: filter.since });
  }
  if (filter.graphId !== null) conditions.push(equals(attribute("graph.id"), filter.graphId));
  return conditions.length === 1 ? conditions[0]! : { type: "and", conditions };
}

function aggregate(
  entity: Entity,
  filter: Condition,
  aggregates: Aggregate[],
  groupBy: GroupKey[],
): AggregatePlan {
  return {
    type: "aggregate",
    entity,
    where: filter,
    aggregates,
    groupBy,
    having: null,
    orderBy: [],
    limit: MAX_LIMIT,
    offset: 0,
  };
}

const COUNT: Aggregate = { fn: "count", field: null, alias: ALIAS.count };
const NODE_KEYS: GroupKey[] = [
  { field: attribute("node.id"), alias: ALIAS.nodeId },
  { field: attribute("node.name"), alias: ALIAS.nodeName },
];

/**
 * Builds the plans of one analysis.
 *
 * @param filter Time and graph restrictions.
 * @returns The five plans.
 */
export function buildPerformancePlans(filter: PlanFilter): PerformancePlans {
  const runs = equals(column("name"), "graph_run");
  const nodes = equals(column("kind"), "node_execution");
  const duration = column("duration");
  return {
    runStatus: aggregate("traces", where("traces", [runs], filter), [COUNT], [
      { field: column("status"), alias: ALIAS.status },
    ]),
    runDuration: aggregate(
      "traces",
      where(
        "traces",
        [runs, { type: "exists", field: column("end_time"), negated: false }],
        filter,
      ),
      [
        { fn: "count", field: duration, alias: ALIAS.count },
        { fn: "avg", field: duration, alias: ALIAS.mean },
        { fn: "p50", field: duration, alias: ALIAS.median },
        { fn: "p95", field: duration, alias: ALIAS.p95 },
        { fn: "p99", field: duration, alias: ALIAS.p99 },
      ],
      [],
    ),
    nodeDuration: aggregate(
      "spans",
      where("spans", [nodes], filter),
      [
        COUNT,
        { fn: "avg", field: duration, alias: ALIAS.mean },
        { fn: "p95", field: duration, alias: ALIAS.p95 },
      ],
      NODE_KEYS,
    ),
    nodeStatus: aggregate("spans", where("spans", [nodes], filter), [COUNT], [
      ...NODE_KEYS,
      { field: column("status"), alias: ALIAS.status },
    ]),
    failures: aggregate(
      "events",
      where("events", [equals(column("event_type"), "node.failed")], filter),
      [
        COUNT,
        { fn: "min", field: column("timestamp"), alias: ALIAS.firstSeen },
        { fn: "max", field: column("timestamp"), alias: ALIAS.lastSeen },
      ],
      [
        { field: attribute("node_id"), alias: ALIAS.nodeId },
        { field: attribute("error_type"), alias: ALIAS.errorType },
      ],
    ),
  };
}
