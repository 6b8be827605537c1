/**
 * `deno task demo`: a small research agent (plan → search → summarize →
 * validate, with a tool call, simulated LLM calls with token counts, random
 * failures and retries) run a few hundred times concurrently, recorded into
 * `telemetry.db` (SQLite) in the current directory, then queried with the
 * DSL, one failed run drawn as a waterfall, and the performance analysed;
 * it ends by pointing at `deno task ui`, the web viewer of the same file.
 *
 * Randomness is seeded per run, so the shape of the output is stable.
 *
 * @module
 */
import {
  analyzePerformance,
  instrumentGraphRun,
  instrumentNode,
  type PerformanceReport,
  recordEdge,
  renderWaterfall,
  type SpanRecord,
  TelemetryConfig,
  TelemetryManager,
  withLlmCall,
  withRetry,
  withToolCall,
} from "../mod.ts";
import { DEFAULT_VIEWER_PORT } from "../src/cli/ui/mod.ts";

const RUNS = 300;
const CONCURRENCY = 50;
const DB_PATH = "telemetry.db";
const GRAPH = { type: "ResearchAgent", id: "research_agent", nodesCount: 4 };

/** mulberry32: a tiny seeded generator, so every run draws the same numbers each time. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class TimeoutError extends Error {
  override name = "TimeoutError";
}
class RateLimitError extends Error {
  override name = "RateLimitError";
}
class ContextLengthError extends Error {
  override name = "ContextLengthError";
}
class ValidationError extends Error {
  override name = "ValidationError";
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function between(random: () => number, low: number, high: number): number {
  return low + (high - low) * random();
}

/** Pretends to be a model: waits, then reports token counts and cost. */
async function simulatedLlm(
  manager: TelemetryManager,
  random: () => number,
  model: string,
  shape: { latencyMs: [number, number]; prompt: [number, number]; completion: [number, number] },
  failure?: () => Error | null,
): Promise<string> {
  return await withLlmCall(manager, { model, provider: "simulated" }, async (call) => {
    await sleep(between(random, ...shape.latencyMs));
    const error = failure?.() ?? null;
    if (error) throw error;
    const promptTokens = Math.round(between(random, ...shape.prompt));
    const completionTokens = Math.round(between(random, ...shape.completion));
    call.setUsage({
      promptTokens,
      completionTokens,
      cost: (promptTokens * 0.15 + completionTokens * 0.6) / 1e6,
      finishReason: "stop",
    });
    return `${model} answer`;
  });
}

/** One run of the agent; throws when a node fails for good. */
async function runAgent(manager: TelemetryManager, run: number): Promise<void> {
  const random = seeded(run + 1);
  await instrumentGraphRun(
    manager,
    { ...GRAPH, taskType: "research", attributes: { "run.index": run } },
    async () => {
      const needsSearch = await instrumentNode(
        manager,
        { id: "plan", type: "PlanNode" },
        async () => {
          await simulatedLlm(manager, random, "sim-planner-small", {
            latencyMs: [4, 12],
            prompt: [200, 400],
            completion: [40, 120],
          });
          return random() < 0.7;
        },
      );
      recordEdge(
        manager,
        { fromNodeId: "plan", toNodeId: "search", condition: "needs_search" },
        needsSearch,
      );
      recordEdge(
        manager,
        { fromNodeId: "plan", toNodeId: "summarize", condition: "!needs_search" },
        !needsSearch,
      );
      if (needsSearch) {
        await instrumentNode(manager, { id: "search", type: "SearchNode" }, () =>
          withRetry(
            manager,
            () =>
              withToolCall(
                manager,
                { name: "web_search", attributes: { query: `topic ${run}` } },
                async () => {
                  await sleep(between(random, 3, 10));
                  if (random() < 0.25) throw new TimeoutError("web_search timed out after 8s");
                  return ["result-1", "result-2"];
                },
              ),
            { operation: "web_search", attempts: 3, baseDelayMs: 2, random },
          ));
        recordEdge(manager, { fromNodeId: "search", toNodeId: "summarize", condition: null });
      }
      await instrumentNode(manager, { id: "summarize", type: "SummarizeNode" }, () =>
        withRetry(
          manager,
          () =>
            simulatedLlm(manager, random, "sim-writer-large", {
              latencyMs: [60, 120],
              prompt: [800, 2000],
              completion: [200, 500],
            }, () => {
              const roll = random();
              if (roll < 0.03) return new ContextLengthError("prompt exceeds 8192 tokens");
              if (roll < 0.13) return new RateLimitError("429 Too Many Requests");
              return null;
            }),
          {
            operation: "summarize",
            attempts: 3,
            baseDelayMs: 2,
            random,
            retryOn: (error) => error instanceof RateLimitError,
          },
        ));
      recordEdge(manager, { fromNodeId: "summarize", toNodeId: "validate", condition: null });
      await instrumentNode(manager, { id: "validate", type: "ValidateNode" }, async () => {
        await sleep(between(random, 1, 4));
        if (random() < 0.06) throw new ValidationError("summary cites no source");
      });
    },
  );
}

function progress(done: number, failed: number, interactive: boolean): void {
  const line = `  ${done}/${RUNS} runs, ${failed} failed`;
  if (interactive) {
    Deno.stdout.writeSync(new TextEncoder().encode(`\r${line}`));
  } else if (done % 100 === 0 || done === RUNS) {
    console.log(line);
  }
}

function seconds(value: number | null): string {
  return value === null ? "-" : `${(value * 1000).toFixed(1)} ms`;
}

function percent(value: number | null): string {
  return value === null ? "-" : `${(value * 100).toFixed(1)}%`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => "  " + r.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n");
}

function printReport(report: PerformanceReport): void {
  const r = report.runs;
  console.log(
    `  runs: ${r.total}, succeeded ${r.succeeded}, failed ${r.failed}, success rate ${
      percent(r.successRate)
    }`,
  );
  console.log(
    `  run duration: mean ${seconds(r.duration.mean)}, median ${seconds(r.duration.median)}, p95 ${
      seconds(r.duration.p95)
    }, p99 ${seconds(r.duration.p99)}`,
  );
  console.log("\n  nodes:");
  console.log(table([
    ["node", "executions", "success", "errors", "mean", "p95"],
    ...report.nodes.map((n) => [
      String(n.nodeId),
      String(n.executions),
      percent(n.successRate),
      percent(n.errorRate),
      seconds(n.meanDuration),
      seconds(n.p95Duration),
    ]),
  ]));
  console.log("\n  bottlenecks:");
  for (const b of report.bottlenecks) {
    const what = b.type === "slow"
      ? `mean ${seconds(b.value)} > ${seconds(b.threshold)}`
      : `error rate ${percent(b.value)} > ${percent(b.threshold)}`;
    console.log(`  [${b.severity}] ${b.nodeId} ${b.type}: ${what}`);
  }
  console.log("\n  failure patterns:");
  console.log(table([
    ["node", "error type", "count", "share"],
    ...report.failurePatterns.map((p) => [
      String(p.nodeId),
      String(p.errorType),
      String(p.count),
      percent(p.share),
    ]),
  ]));
}

async function main(): Promise<void> {
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    await Deno.remove(DB_PATH + suffix).catch(() => {});
  }
  const config = TelemetryConfig.createSqlite(DB_PATH, {
    exportInterval: 0.5,
    resourceAttributes: { "service.name": "research-agent-demo", "service.version": "1.0.0" },
  });
  await using manager = new TelemetryManager(config);

  console.log(
    `== Recording ${RUNS} runs of ${GRAPH.type} into ${DB_PATH} (${CONCURRENCY} at a time)`,
  );
  const interactive = Deno.stdout.isTerminal();
  const started = performance.now();
  let next = 0;
  let done = 0;
  let failed = 0;
  async function worker(): Promise<void> {
    while (next < RUNS) {
      const run = next++;
      try {
        await runAgent(manager, run);
      } catch {
        failed++;
      }
      done++;
      progress(done, failed, interactive);
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (interactive) console.log();
  await manager.flush();
  const elapsed = (performance.now() - started) / 1000;
  const stats = manager.stats();
  console.log(
    `  done in ${
      elapsed.toFixed(2)
    } s: ${stats.recorded} records stored in ${stats.batches} batches, ${stats.dropped} dropped`,
  );

  const queries = [
    "spans where kind = node_execution and status = error | count() by attr.node.id, error_type order by count() desc",
    "spans where kind = llm_call | count(), sum(attr.llm.total_tokens), sum(attr.llm.cost), p95(duration) by attr.llm.model",
  ];
  for (const text of queries) {
    console.log(`\n== Query: ${text}`);
    const rows = await manager.query(text);
    console.log(table([
      Object.keys(rows[0] ?? { "(no rows)": "" }),
      ...rows.map((row) =>
        Object.values(row).map((v) =>
          typeof v === "number" ? String(Number(v.toPrecision(6))) : String(v)
        )
      ),
    ]));
  }

  // A failed run that also retried its tool call shows the most in one picture.
  const failedRuns = [
    'traces where name = "graph_run" and status = error and has(spans where kind = tool_call and status = error) order by start_time limit 1',
    'traces where name = "graph_run" and status = error order by start_time limit 1',
  ];
  for (const text of failedRuns) {
    const [failedRun] = await manager.query(text);
    if (failedRun === undefined) continue;
    const traceId = String(failedRun.traceId);
    console.log(`\n== Waterfall of a failed run: trace ${traceId}`);
    const spans = await manager.query(`trace ${traceId}`);
    console.log(renderWaterfall(spans as unknown as SpanRecord[]));
    break;
  }

  console.log(`\n== Performance analysis of ${GRAPH.id}`);
  printReport(await analyzePerformance(manager, { graphId: GRAPH.id }));
  console.log(`\nExplore ${DB_PATH} further: deno task query 'spans where status = error limit 5'`);
  console.log(
    `Or in the browser: deno task ui   (then open http://127.0.0.1:${DEFAULT_VIEWER_PORT}/)`,
  );
}

if (import.meta.main) await main();
