/**
 * Graph and node instrumentation that any graph runner can use: wrap a graph
 * run in {@linkcode instrumentGraphRun}, each node execution in
 * {@linkcode instrumentNode} (or decorate the node's method with
 * {@linkcode traced}), and report edges with {@linkcode recordEdge}.
 *
 * What one graph run emits:
 *
 * ```
 * trace graph_run                graph.id graph.type graph.nodes_count task.type + attributes
 * ├─ metric graph_duration (s)   graph.id graph.type status
 * └─ span <GraphType>.run        kind graph_run, same attributes as the trace
 *    ├─ event graph.started      graph.id graph.type
 *    ├─ span <NodeType>.do       kind node_execution: node.id node.name node.type graph.id
 *    │  ├─ event node.started    node_id node_name node_type graph.id
 *    │  ├─ event node.finished (+ duration) | node.failed (+ error, error_type)
 *    │  └─ metrics node_duration (s), node_execution_count, node_error_count (on failure)
 *    ├─ event edge.evaluated / edge.taken   from_node_id to_node_id condition graph.id
 *    └─ event graph.finished | graph.failed (+ error, error_type)
 * ```
 *
 * Parents come from the async context, so concurrent runs of the same graph
 * never mix; a graph run inside another run's context becomes a child span
 * of it, in the same trace, rather than a new trace.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { nowSeconds } from "../model/clock.ts";
import { TelemetryManager } from "../manager.ts";
import { toSpanError } from "../model/span.ts";
import { type Attributes, EventType, MetricKind, SpanKind, SpanStatus } from "../model/types.ts";
import { currentIds } from "../context/current.ts";
import { readableAttributes } from "../model/sanitize.ts";

/** What {@linkcode instrumentGraphRun} records about a graph. */
export interface GraphInfo {
  /** The graph's class or kind, e.g. `"ResearchAgent"`; names the span `<type>.run`. */
  type: string;
  /** Number of nodes in the graph. */
  nodesCount: number;
  /** A stable identifier of this graph, used by `analyzePerformance({ graphId })`. @default {type} */
  id?: string;
  /** What the run is for, e.g. `"question_answering"`. @default {"default"} */
  taskType?: string;
  /** Further attributes of this run, added to the trace and the graph span. @default {{}} */
  attributes?: Attributes;
}

/** What {@linkcode instrumentNode} records about a node. */
export interface NodeInfo {
  /** The node's id within its graph, e.g. `"fetch_docs"`. */
  id: string;
  /** The node's class, e.g. `"FetchNode"`; names the span `<type>.do`. */
  type: string;
  /** A human-readable name. @default {type} */
  name?: string;
  /** Further attributes of this execution, added to the node span. @default {{}} */
  attributes?: Attributes;
  /** The span name. @default {"<type>.do"} */
  spanName?: string;
}

/** An edge between two nodes, for {@linkcode recordEdge}. */
export interface EdgeInfo {
  /** Id of the node the edge leaves. */
  fromNodeId: string;
  /** Id of the node the edge enters. */
  toNodeId: string;
  /** A description of the edge's condition; `null` for an unconditional edge. @default {null} */
  condition?: string | null;
}

// The graph a node runs in, so node spans, events and metrics carry graph.id
// without every runner threading it through by hand.
const graphStorage = new AsyncLocalStorage<string>();

function graphAttributes(): Attributes {
  const graphId = graphStorage.getStore();
  return graphId === undefined ? {} : { "graph.id": graphId };
}

function errorAttributes(error: unknown): Attributes {
  const { type, message } = toSpanError(error);
  return { error: message, error_type: type };
}

/**
 * Runs one graph run inside a `graph_run` trace and a `graph_run` span that
 * is the parent of every node span started inside `fn`, and records
 * `graph.started`, then `graph.finished` or `graph.failed`, and the
 * `graph_duration` metric. The trace and span end `ok`, or `error` when `fn`
 * throws; the error is rethrown. With `autoInstrumentGraphs` off (or
 * telemetry disabled) it only runs `fn`.
 *
 * @param manager The telemetry manager.
 * @param graph What to record about the graph.
 * @param fn The run.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import {
 *   instrumentGraphRun,
 *   instrumentNode,
 *   TelemetryConfig,
 *   TelemetryManager,
 * } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const answer = await instrumentGraphRun(manager, { type: "Agent", nodesCount: 1 }, () =>
 *   instrumentNode(manager, { id: "answer", type: "AnswerNode" }, () => Promise.resolve(42)));
 * assert.equal(answer, 42);
 * await manager.flush();
 * const [span] = await manager.querySpans({ kind: "node_execution" });
 * assert.equal(span?.name, "AnswerNode.do");
 * ```
 */
export function instrumentGraphRun<T>(
  manager: TelemetryManager,
  graph: GraphInfo,
  fn: () => Promise<T>,
): Promise<T> {
  const config = manager.config;
  if (!config.enabled || !config.autoInstrumentGraphs) return fn();
  const graphId = graph.id ?? graph.type;
  const identity: Attributes = { "graph.id": graphId, "graph.type": graph.type };
  const attributes: Attributes = {
    ...identity,
    "graph.nodes_count": graph.nodesCount,
    "task.type": graph.taskType ?? "default",
    ...readableAttributes(graph.attributes) as Attributes,
  };
  const run = (traceId: string): Promise<T> =>
    manager.withSpan(
      `${graph.type}.run`,
      { traceId, kind: SpanKind.GRAPH_RUN, attributes },
      async (span) => {
        const ids = { traceId: span.traceId, spanId: span.spanId };
        const start = nowSeconds();
        manager.recordEvent(EventType.GRAPH_STARTED, `${graph.type} started`, {
          ...ids,
          attributes: identity,
        });
        let status: SpanStatus = SpanStatus.OK;
        try {
          const result = await graphStorage.run(graphId, fn);
          manager.recordEvent(EventType.GRAPH_FINISHED, `${graph.type} finished`, {
            ...ids,
            attributes: identity,
          });
          return result;
        } catch (error) {
          status = SpanStatus.ERROR;
          manager.recordEvent(EventType.GRAPH_FAILED, `${graph.type} failed`, {
            ...ids,
            attributes: { ...identity, ...errorAttributes(error) },
          });
          throw error;
        } finally {
          manager.recordMetric("graph_duration", nowSeconds() - start, {
            unit: "s",
            kind: MetricKind.HISTOGRAM,
            traceId: span.traceId,
            attributes: { ...identity, status },
          });
        }
      },
    );
  // Inside another run (a sub-graph), the graph span joins that trace.
  const outer = config.propagateContext ? currentIds() : null;
  if (outer !== null) return run(outer.traceId);
  return manager.withTrace("graph_run", { attributes }, (trace) => run(trace.traceId));
}

/**
 * Runs one node execution inside a `node_execution` span named
 * `<NodeType>.do` (a child of the current span: the graph span inside
 * {@linkcode instrumentGraphRun}), records `node.started`, then
 * `node.finished` or `node.failed`, and the metrics `node_duration`,
 * `node_execution_count` and, on failure, `node_error_count`. The error is
 * rethrown. With `autoInstrumentNodes` off (or telemetry disabled) it only
 * runs `fn`.
 *
 * @param manager The telemetry manager.
 * @param node What to record about the node.
 * @param fn The execution.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { instrumentNode, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * await assert.rejects(
 *   instrumentNode(manager, { id: "parse", type: "ParseNode" }, () => {
 *     throw new SyntaxError("bad input");
 *   }),
 *   SyntaxError,
 * );
 * await manager.flush();
 * const [failed] = await manager.queryEvents({ eventType: "node.failed" });
 * assert.equal(failed?.attributes.error_type, "SyntaxError");
 * ```
 */
export function instrumentNode<T>(
  manager: TelemetryManager,
  node: NodeInfo,
  fn: () => Promise<T> | T,
): Promise<T> {
  const config = manager.config;
  if (!config.enabled || !config.autoInstrumentNodes) return Promise.resolve().then(fn);
  const name = node.name ?? node.type;
  const graph = graphAttributes();
  let spanAttributes: Attributes;
  try {
    spanAttributes = {
      "node.id": node.id,
      "node.name": name,
      "node.type": node.type,
      ...graph,
      ...node.attributes,
    };
  } catch {
    // A getter or Proxy trap of node.attributes threw: a marker in its place.
    spanAttributes = {
      "node.id": node.id,
      "node.name": name,
      "node.type": node.type,
      ...graph,
      ...readableAttributes(node.attributes) as Attributes,
    };
  }
  const eventAttributes: Attributes = {
    node_id: node.id,
    node_name: name,
    node_type: node.type,
    ...graph,
  };
  const metricAttributes: Attributes = { "node.id": node.id, "node.type": node.type, ...graph };
  return manager.withSpan(
    node.spanName ?? `${node.type}.do`,
    { kind: SpanKind.NODE_EXECUTION, attributes: spanAttributes },
    async (span) => {
      const ids = { traceId: span.traceId, spanId: span.spanId };
      const start = nowSeconds();
      manager.recordEvent(EventType.NODE_STARTED, `${name} started`, {
        ...ids,
        attributes: eventAttributes,
      });
      let status: SpanStatus = SpanStatus.OK;
      try {
        return await fn();
      } catch (error) {
        status = SpanStatus.ERROR;
        const errorAttrs = errorAttributes(error);
        manager.recordEvent(EventType.NODE_FAILED, `${name} failed`, {
          ...ids,
          attributes: { ...eventAttributes, ...errorAttrs },
        });
        manager.recordMetric("node_error_count", 1, {
          kind: MetricKind.COUNTER,
          traceId: span.traceId,
          attributes: { ...metricAttributes, error_type: errorAttrs.error_type! },
        });
        throw error;
      } finally {
        const duration = nowSeconds() - start;
        if (status === SpanStatus.OK) {
          manager.recordEvent(EventType.NODE_FINISHED, `${name} finished`, {
            ...ids,
            attributes: { ...eventAttributes, duration },
          });
        }
        manager.recordMetric("node_duration", duration, {
          unit: "s",
          kind: MetricKind.HISTOGRAM,
          traceId: span.traceId,
          attributes: { ...metricAttributes, status },
        });
        manager.recordMetric("node_execution_count", 1, {
          kind: MetricKind.COUNTER,
          traceId: span.traceId,
          attributes: { ...metricAttributes, status },
        });
      }
    },
  );
}

/**
 * Records that a graph runner evaluated an edge (`edge.evaluated`) and, when
 * `taken`, that it followed it (`edge.taken`), on the current span. Honours
 * `autoInstrumentGraphs`.
 *
 * @param manager The telemetry manager.
 * @param edge The edge.
 * @param taken Whether the runner followed the edge. @default {true}
 *
 * @example
 * ```ts
 * import { recordEdge, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * recordEdge(manager, { fromNodeId: "plan", toNodeId: "search", condition: "needs_search" });
 * recordEdge(manager, { fromNodeId: "plan", toNodeId: "answer" }, false);
 * await manager.flush();
 * assert.equal((await manager.queryEvents({ eventType: "edge.evaluated" })).length, 2);
 * assert.equal((await manager.queryEvents({ eventType: "edge.taken" })).length, 1);
 * ```
 */
export function recordEdge(manager: TelemetryManager, edge: EdgeInfo, taken = true): void {
  const config = manager.config;
  if (!config.enabled || !config.autoInstrumentGraphs) return;
  const ids = currentIds();
  const attributes: Attributes = {
    from_node_id: edge.fromNodeId,
    to_node_id: edge.toNodeId,
    condition: edge.condition ?? null,
    ...graphAttributes(),
  };
  const options = ids === null
    ? { attributes }
    : { traceId: ids.traceId, ...(ids.spanId !== null ? { spanId: ids.spanId } : {}), attributes };
  const label = `${edge.fromNodeId} -> ${edge.toNodeId}`;
  manager.recordEvent(EventType.EDGE_EVALUATED, label, options);
  if (taken) manager.recordEvent(EventType.EDGE_TAKEN, label, options);
}

/** Options of {@linkcode traced}. */
export interface TracedOptions {
  /** The manager to record with. @default {TelemetryManager.getInstance()} */
  manager?: TelemetryManager;
  /**
   * The span kind. With `"node_execution"` the method is instrumented as a
   * node with {@linkcode instrumentNode}: `node.id` is `this.id` (or the class
   * name), `node.name` is `this.name` (or the class name), `node.type` the
   * class name, and the span is named `<Class>.<method>`.
   * @default {"internal"}
   */
  kind?: SpanKind;
  /** The span name. @default {"<Class>.<method>"} */
  name?: string;
}

/** An async method, as the `traced` decorator sees it. */
export type AsyncMethod<This, Args extends unknown[], R> = (
  this: This,
  ...args: Args
) => Promise<R>;

function ownString(target: unknown, key: string): string | undefined {
  const value = (target as Record<string, unknown> | null)?.[key];
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * A method decorator (TC39 decorators, as TypeScript 5+ and Deno compile them
 * without `experimentalDecorators`) that runs each call of an async method
 * inside a span named `<Class>.<method>`; with `kind: "node_execution"` the
 * call is instrumented as a node run (see {@linkcode instrumentNode}), so a
 * node class's `do()` emits what a graph runner would.
 *
 * @param options Manager, kind and name.
 * @returns The decorator.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager, traced } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * class SearchNode {
 *   id = "search";
 *   @traced({ manager, kind: "node_execution" })
 *   do(query: string): Promise<string> {
 *     return Promise.resolve(`results for ${query}`);
 *   }
 * }
 * assert.equal(await new SearchNode().do("deno"), "results for deno");
 * const [span] = await manager.querySpans({ kind: "node_execution" });
 * assert.equal(span?.name, "SearchNode.do");
 * assert.equal(span?.attributes["node.id"], "search");
 * ```
 */
export function traced(
  options: TracedOptions = {},
): <This, Args extends unknown[], R>(
  method: AsyncMethod<This, Args, R>,
  context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>>,
) => AsyncMethod<This, Args, R> {
  return <This, Args extends unknown[], R>(
    method: AsyncMethod<This, Args, R>,
    context: ClassMethodDecoratorContext<This, AsyncMethod<This, Args, R>>,
  ): AsyncMethod<This, Args, R> => {
    const methodName = String(context.name);
    return function (this: This, ...args: Args): Promise<R> {
      const manager = options.manager ?? TelemetryManager.getInstance();
      // Resolved per call: the class of `this` may be a subclass of the one decorated.
      const className = (this as { constructor?: { name?: string } })?.constructor?.name ??
        "Object";
      const call = () => method.call(this, ...args);
      if (options.kind === SpanKind.NODE_EXECUTION) {
        return instrumentNode(manager, {
          id: ownString(this, "id") ?? className,
          type: className,
          name: ownString(this, "name") ?? className,
          spanName: options.name ?? `${className}.${methodName}`,
        }, call);
      }
      return manager.withSpan(
        options.name ?? `${className}.${methodName}`,
        { kind: options.kind ?? SpanKind.INTERNAL },
        call,
      );
    };
  };
}
