/**
 * Main-thread cost of instrumenting one node execution: a bare call
 * (baseline), a plain `withSpan`, and `instrumentNode` (span, two events,
 * two metrics). Each iteration runs CHUNK executions inside one graph run;
 * divide by CHUNK for the cost of one. The noop backend keeps storage out of
 * the measurement; a final check asserts nothing was dropped.
 */
import { instrumentGraphRun, instrumentNode } from "../src/instrumentation/instrumentation.ts";
import { TelemetryConfig } from "../src/config.ts";
import { TelemetryManager } from "../src/manager.ts";

const CHUNK = 200;
const manager = new TelemetryManager(new TelemetryConfig({ enabled: true, backend: "noop" }));
await manager.startBackgroundExport();
const GRAPH = { type: "BenchGraph", nodesCount: 1 };
const NODE = { id: "step", type: "StepNode" };
const work = () => Promise.resolve(1);

Deno.bench("bare async call", { group: "node execution", baseline: true }, async () => {
  for (let i = 0; i < CHUNK; i++) await work();
});

Deno.bench("manager.withSpan", { group: "node execution" }, async () => {
  await instrumentGraphRun(manager, GRAPH, async () => {
    for (let i = 0; i < CHUNK; i++) await manager.withSpan("StepNode.do", {}, work);
  });
});

Deno.bench(
  "instrumentNode (span + 2 events + 2 metrics)",
  { group: "node execution" },
  async () => {
    await instrumentGraphRun(manager, GRAPH, async () => {
      for (let i = 0; i < CHUNK; i++) await instrumentNode(manager, NODE, work);
    });
  },
);

globalThis.addEventListener("unload", () => {
  const stats = manager.stats();
  if (stats.dropped > 0) console.error(`instrumentation_bench: ${stats.dropped} records dropped`);
});
