import assert from "node:assert/strict";
import {
  type EventRecord,
  instrumentGraphRun,
  instrumentNode,
  type MetricRecord,
  recordEdge,
  type SpanWithEvents,
  TelemetryConfig,
  type TelemetryConfigOptions,
  TelemetryManager,
  traced,
  type TraceRecord,
} from "../../mod.ts";

interface Recorded {
  traces: TraceRecord[];
  spans: SpanWithEvents[];
  events: EventRecord[];
  metrics: MetricRecord[];
}

/** Runs `fn` against a fresh memory-backed manager and returns everything it stored. */
async function record(
  fn: (manager: TelemetryManager) => Promise<unknown>,
  options: TelemetryConfigOptions = {},
): Promise<Recorded> {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory(options));
  await fn(manager).catch(() => {});
  await manager.flush();
  const all = async <T>(entity: "traces" | "spans" | "events" | "metrics") =>
    (await manager.runPlan({
      type: "select",
      entity,
      where: null,
      orderBy: [],
      limit: 100_000,
      offset: 0,
    })) as unknown as T[];
  return {
    traces: await all<TraceRecord>("traces"),
    spans: await all<SpanWithEvents>("spans"),
    events: await all<EventRecord>("events"),
    metrics: await all<MetricRecord>("metrics"),
  };
}

const GRAPH = { type: "ResearchAgent", nodesCount: 2, id: "research", taskType: "qa" };

class BoomError extends Error {
  override name = "BoomError";
}

/** A two-node run whose second node fails when `fail` is set. */
function run(manager: TelemetryManager, fail = false): Promise<string> {
  return instrumentGraphRun(manager, { ...GRAPH, attributes: { "run.tag": "t1" } }, async () => {
    await instrumentNode(manager, { id: "fetch", type: "FetchNode", name: "Fetch docs" }, () => 1);
    recordEdge(manager, { fromNodeId: "fetch", toNodeId: "answer", condition: "has_docs" });
    return await instrumentNode(manager, { id: "answer", type: "AnswerNode" }, () => {
      if (fail) throw new BoomError("model unavailable");
      return "42";
    });
  });
}

function only<T>(items: T[], what: string): T {
  assert.equal(items.length, 1, `expected exactly one ${what}, got ${items.length}`);
  return items[0]!;
}

function byType(events: EventRecord[], type: string): EventRecord[] {
  return events.filter((e) => e.eventType === type);
}

Deno.test("instrumentGraphRun() records a graph_run trace with graph.type, graph.nodes_count, task.type and custom attributes", async () => {
  const rec = await record((m) => run(m), { customAttributes: { env: "test" } });
  const trace = only(rec.traces, "trace");
  assert.equal(trace.name, "graph_run");
  assert.equal(trace.status, "ok");
  assert.ok(trace.endTime !== null);
  assert.deepEqual(trace.attributes, {
    env: "test",
    "graph.id": "research",
    "graph.type": "ResearchAgent",
    "graph.nodes_count": 2,
    "task.type": "qa",
    "run.tag": "t1",
  });
});

Deno.test("instrumentGraphRun() defaults graph.id to the type and task.type to 'default'", async () => {
  const rec = await record((m) =>
    instrumentGraphRun(m, { type: "Tiny", nodesCount: 0 }, () => Promise.resolve())
  );
  const trace = only(rec.traces, "trace");
  assert.equal(trace.attributes["graph.id"], "Tiny");
  assert.equal(trace.attributes["task.type"], "default");
});

Deno.test("instrumentGraphRun() records a graph_run span that is the parent of the node spans", async () => {
  const rec = await record((m) => run(m));
  const graphSpan = only(rec.spans.filter((s) => s.kind === "graph_run"), "graph span");
  assert.equal(graphSpan.name, "ResearchAgent.run");
  assert.equal(graphSpan.parentSpanId, null);
  assert.equal(graphSpan.traceId, rec.traces[0]!.traceId);
  assert.equal(graphSpan.attributes["graph.nodes_count"], 2);
  const nodes = rec.spans.filter((s) => s.kind === "node_execution");
  assert.equal(nodes.length, 2);
  for (const node of nodes) {
    assert.equal(node.parentSpanId, graphSpan.spanId);
    assert.equal(node.traceId, graphSpan.traceId);
  }
});

Deno.test("instrumentGraphRun() records graph.started and graph.finished with graph.id and graph.type", async () => {
  const rec = await record((m) => run(m));
  const graphSpan = rec.spans.find((s) => s.kind === "graph_run")!;
  for (const type of ["graph.started", "graph.finished"]) {
    const event = only(byType(rec.events, type), type);
    assert.deepEqual(event.attributes, { "graph.id": "research", "graph.type": "ResearchAgent" });
    assert.equal(event.spanId, graphSpan.spanId);
    assert.equal(event.traceId, graphSpan.traceId);
  }
  assert.equal(byType(rec.events, "graph.failed").length, 0);
});

Deno.test("instrumentGraphRun() records graph.failed with error and error_type and rethrows", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await assert.rejects(run(manager, true), BoomError);
  await manager.flush();
  const [failed, ...more] = await manager.queryEvents({ eventType: "graph.failed" });
  assert.equal(more.length, 0);
  assert.deepEqual(failed?.attributes, {
    "graph.id": "research",
    "graph.type": "ResearchAgent",
    error: "model unavailable",
    error_type: "BoomError",
  });
  assert.equal((await manager.queryEvents({ eventType: "graph.finished" })).length, 0);
  const [trace] = await manager.queryTraces();
  assert.equal(trace?.status, "error");
  const [graphSpan] = await manager.querySpans({ kind: "graph_run" });
  assert.equal(graphSpan?.status, "error");
  assert.equal(graphSpan?.error?.type, "BoomError");
});

Deno.test("instrumentNode() records a node_execution span named <NodeClass>.do with node.id, node.name, node.type", async () => {
  const rec = await record((m) => run(m));
  const fetch = only(rec.spans.filter((s) => s.name === "FetchNode.do"), "FetchNode.do");
  assert.equal(fetch.kind, "node_execution");
  assert.equal(fetch.status, "ok");
  assert.deepEqual(fetch.attributes, {
    "node.id": "fetch",
    "node.name": "Fetch docs",
    "node.type": "FetchNode",
    "graph.id": "research",
  });
  const answer = only(rec.spans.filter((s) => s.name === "AnswerNode.do"), "AnswerNode.do");
  assert.equal(answer.attributes["node.name"], "AnswerNode", "name defaults to the type");
});

Deno.test("instrumentNode() records node.started and node.finished with node_id on the node span", async () => {
  const rec = await record((m) => run(m));
  const fetch = rec.spans.find((s) => s.name === "FetchNode.do")!;
  const started = byType(rec.events, "node.started").filter((e) => e.spanId === fetch.spanId);
  const finished = byType(rec.events, "node.finished").filter((e) => e.spanId === fetch.spanId);
  assert.deepEqual(only(started, "node.started").attributes, {
    node_id: "fetch",
    node_name: "Fetch docs",
    node_type: "FetchNode",
    "graph.id": "research",
  });
  const done = only(finished, "node.finished");
  assert.equal(done.attributes.node_id, "fetch");
  assert.equal(typeof done.attributes.duration, "number");
  assert.equal(byType(rec.events, "node.started").length, 2);
  assert.equal(byType(rec.events, "node.finished").length, 2);
});

Deno.test("instrumentNode() records node.failed with node_id, error and error_type, fails the span and rethrows", async () => {
  const rec = await record((m) => run(m, true));
  const answer = rec.spans.find((s) => s.name === "AnswerNode.do")!;
  assert.equal(answer.status, "error");
  assert.equal(answer.error?.message, "model unavailable");
  const failed = only(byType(rec.events, "node.failed"), "node.failed");
  assert.equal(failed.spanId, answer.spanId);
  assert.deepEqual(failed.attributes, {
    node_id: "answer",
    node_name: "AnswerNode",
    node_type: "AnswerNode",
    "graph.id": "research",
    error: "model unavailable",
    error_type: "BoomError",
  });
  assert.equal(byType(rec.events, "node.finished").length, 1, "only the node that succeeded");
});

Deno.test("instrumentNode() records node_duration and node_execution_count per run and node_error_count per failure", async () => {
  const rec = await record((m) => run(m, true));
  const named = (name: string) => rec.metrics.filter((m) => m.name === name);
  const durations = named("node_duration");
  assert.equal(durations.length, 2);
  for (const d of durations) {
    assert.equal(d.unit, "s");
    assert.equal(d.kind, "histogram");
    assert.ok(d.value >= 0);
    assert.equal(d.traceId, rec.traces[0]!.traceId);
  }
  assert.deepEqual(
    durations.map((d) => [d.attributes["node.id"], d.attributes.status]).sort(),
    [["answer", "error"], ["fetch", "ok"]],
  );
  const counts = named("node_execution_count");
  assert.equal(counts.length, 2);
  assert.ok(counts.every((c) => c.value === 1 && c.kind === "counter"));
  const errors = only(named("node_error_count"), "node_error_count");
  assert.deepEqual(errors.attributes, {
    "node.id": "answer",
    "node.type": "AnswerNode",
    "graph.id": "research",
    error_type: "BoomError",
  });
});

Deno.test("instrumentGraphRun() records graph_duration with status", async () => {
  const rec = await record(async (m) => {
    await run(m);
    await run(m, true).catch(() => {});
  });
  const durations = rec.metrics.filter((m) => m.name === "graph_duration");
  assert.equal(durations.length, 2);
  assert.deepEqual(durations.map((d) => d.attributes.status).sort(), ["error", "ok"]);
  assert.ok(durations.every((d) => d.unit === "s" && d.kind === "histogram"));
  assert.equal(durations[0]!.attributes["graph.id"], "research");
});

Deno.test("recordEdge() records edge.evaluated and edge.taken with from_node_id, to_node_id, condition", async () => {
  const rec = await record((m) =>
    instrumentGraphRun(m, GRAPH, () => {
      recordEdge(m, { fromNodeId: "a", toNodeId: "b", condition: "x > 1" });
      recordEdge(m, { fromNodeId: "a", toNodeId: "c" }, false);
      return Promise.resolve();
    })
  );
  const graphSpan = rec.spans.find((s) => s.kind === "graph_run")!;
  const evaluated = byType(rec.events, "edge.evaluated");
  assert.equal(evaluated.length, 2);
  const taken = only(byType(rec.events, "edge.taken"), "edge.taken");
  assert.equal(taken.spanId, graphSpan.spanId);
  assert.deepEqual(taken.attributes, {
    from_node_id: "a",
    to_node_id: "b",
    condition: "x > 1",
    "graph.id": "research",
  });
  const untaken = evaluated.find((e) => e.attributes.to_node_id === "c")!;
  // A null attribute is "missing" in queries; it still says the edge had no condition.
  assert.equal(untaken.attributes.condition ?? null, null);
});

Deno.test("concurrent runs of the same graph keep their own parents", async () => {
  const runs = 40;
  const rec = await record((m) =>
    Promise.all(
      Array.from({ length: runs }, (_, i) =>
        instrumentGraphRun(m, { ...GRAPH, attributes: { run: i } }, async () => {
          for (const id of ["a", "b", "c"]) {
            await instrumentNode(m, { id, type: "StepNode", attributes: { run: i } }, async () => {
              // Interleave the runs: each waits a different time at each step.
              await new Promise((r) =>
                setTimeout(r, (i * 7 + id.charCodeAt(0)) % 5)
              );
            });
          }
        })),
    )
  );
  assert.equal(rec.traces.length, runs);
  const runOfTrace = new Map(rec.traces.map((t) => [t.traceId, t.attributes.run]));
  const graphSpanOfTrace = new Map(
    rec.spans.filter((s) => s.kind === "graph_run").map((s) => [s.traceId, s.spanId]),
  );
  assert.equal(graphSpanOfTrace.size, runs);
  const nodes = rec.spans.filter((s) => s.kind === "node_execution");
  assert.equal(nodes.length, runs * 3);
  for (const node of nodes) {
    assert.equal(runOfTrace.get(node.traceId), node.attributes.run, "node in its run's trace");
    assert.equal(node.parentSpanId, graphSpanOfTrace.get(node.traceId), "parent is its graph span");
  }
  const spanById = new Map(rec.spans.map((s) => [s.spanId, s]));
  for (const event of byType(rec.events, "node.started")) {
    assert.equal(spanById.get(event.spanId!)?.traceId, event.traceId);
  }
});

Deno.test("a graph run inside another run becomes a child span in the same trace", async () => {
  const rec = await record((m) =>
    instrumentGraphRun(
      m,
      GRAPH,
      () =>
        instrumentNode(m, { id: "sub", type: "SubgraphNode" }, () =>
          instrumentGraphRun(m, { type: "Inner", nodesCount: 1 }, () =>
            instrumentNode(m, { id: "leaf", type: "LeafNode" }, () =>
              "done"))),
    )
  );
  assert.equal(rec.traces.length, 1);
  const inner = rec.spans.find((s) => s.name === "Inner.run")!;
  const sub = rec.spans.find((s) => s.name === "SubgraphNode.do")!;
  const leaf = rec.spans.find((s) => s.name === "LeafNode.do")!;
  assert.equal(inner.parentSpanId, sub.spanId);
  assert.equal(leaf.parentSpanId, inner.spanId);
  assert.equal(leaf.attributes["graph.id"], "Inner");
});

Deno.test("autoInstrumentGraphs=false records no graph trace, span, event or metric", async () => {
  const rec = await record((m) => run(m), { autoInstrumentGraphs: false });
  assert.equal(rec.traces.filter((t) => t.name === "graph_run").length, 0);
  assert.equal(rec.spans.filter((s) => s.kind === "graph_run").length, 0);
  assert.equal(rec.events.filter((e) => e.eventType.startsWith("graph.")).length, 0);
  assert.equal(rec.events.filter((e) => e.eventType.startsWith("edge.")).length, 0);
  assert.equal(rec.metrics.filter((m) => m.name === "graph_duration").length, 0);
  // Nodes are still instrumented.
  assert.equal(rec.spans.filter((s) => s.kind === "node_execution").length, 2);
});

Deno.test("autoInstrumentNodes=false records no node span, event or metric", async () => {
  const rec = await record((m) => run(m), { autoInstrumentNodes: false });
  assert.equal(rec.spans.filter((s) => s.kind === "node_execution").length, 0);
  assert.equal(rec.events.filter((e) => e.eventType.startsWith("node.")).length, 0);
  assert.equal(rec.metrics.filter((m) => m.name.startsWith("node_")).length, 0);
  assert.equal(rec.traces.length, 1);
});

Deno.test("instrumentation on a disabled manager only runs the work", async () => {
  await using manager = new TelemetryManager(new TelemetryConfig({ enabled: false }));
  assert.equal(await run(manager), "42");
  assert.equal(manager.stats().recorded, 0);
});

Deno.test("@traced({ kind: 'node_execution' }) instruments a node method like instrumentNode()", async () => {
  const rec = await record(async (manager) => {
    class ScoreNode {
      id = "score";
      name = "Score answers";
      @traced({ manager, kind: "node_execution" })
      do(value: number): Promise<number> {
        if (value < 0) return Promise.reject(new RangeError("negative"));
        return Promise.resolve(value * 2);
      }
    }
    const node = new ScoreNode();
    assert.equal(await node.do(2), 4);
    await assert.rejects(node.do(-1), RangeError);
  });
  const spans = rec.spans.filter((s) => s.name === "ScoreNode.do");
  assert.equal(spans.length, 2);
  assert.deepEqual(spans[0]!.attributes, {
    "node.id": "score",
    "node.name": "Score answers",
    "node.type": "ScoreNode",
  });
  assert.equal(byType(rec.events, "node.failed")[0]?.attributes.error_type, "RangeError");
});

Deno.test("@traced() records a plain span named <Class>.<method> under the current span", async () => {
  const rec = await record(async (manager) => {
    class Retriever {
      @traced({ manager })
      lookup(key: string): Promise<string> {
        return Promise.resolve(key.toUpperCase());
      }
    }
    await manager.withSpan("outer", {}, async () => {
      assert.equal(await new Retriever().lookup("k"), "K");
    });
  });
  const outer = rec.spans.find((s) => s.name === "outer")!;
  const lookup = only(rec.spans.filter((s) => s.name === "Retriever.lookup"), "Retriever.lookup");
  assert.equal(lookup.kind, "internal");
  assert.equal(lookup.parentSpanId, outer.spanId);
});
