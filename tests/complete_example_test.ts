/**
 * The seed API reference's "Complete Example", translated to TypeScript and
 * run against the SQLite backend (and, for comparison, memory).
 */
import assert from "node:assert/strict";
import { EventType, SpanKind, SpanStatus, TelemetryConfig, TelemetryManager } from "../mod.ts";

async function processData(): Promise<number[]> {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return [1, 2, 3];
}

async function completeExample(config: TelemetryConfig): Promise<string[]> {
  const lines: string[] = [];
  const print = (line: string) => lines.push(line);

  // Get telemetry manager
  const manager = TelemetryManager.getInstance(config);

  // Start background export (optional)
  await manager.startBackgroundExport();

  // Manual telemetry collection
  const trace = manager.startTrace("workflow_execution", {
    attributes: { workflow_id: "wf123" },
  });

  {
    await using span = manager.startSpan("data_processing", {
      traceId: trace.traceId,
      kind: SpanKind.NODE_EXECUTION,
      attributes: { node_id: "process_data" },
    });
    // Do work
    const result = await processData();

    // Record event
    manager.recordEvent(EventType.NODE_FINISHED, "Processing complete", {
      traceId: trace.traceId,
      spanId: span.spanId,
      attributes: { result_count: result.length },
    });

    // Record metric (the span is still running, so its duration is null → 0, as in the seed)
    manager.recordMetric("processing_time", span.duration ?? 0, {
      unit: "seconds",
      traceId: trace.traceId,
    });
  }

  manager.endTrace(trace.traceId, SpanStatus.OK);

  // Flush data to backend
  await manager.flush();

  // Query telemetry
  const traces = await manager.queryTraces({ limit: 10 });
  for (const t of traces) {
    print(`Trace: ${t.name} - ${t.duration!.toFixed(3)}s`);
    const spans = await manager.querySpans({ traceId: t.traceId });
    for (const s of spans) print(`  Span: ${s.name} - ${s.duration!.toFixed(3)}s`);
  }

  // Analyze performance
  const execTimes = await manager.queryMetrics({ metricName: "processing_time" });
  const avgTime = execTimes.reduce((sum, m) => sum + m.value, 0) / execTimes.length;
  print(`Average processing time: ${avgTime.toFixed(3)}s`);

  // Find errors
  const errors = await manager.querySpans({ status: SpanStatus.ERROR });
  print(`Found ${errors.length} failed spans`);

  // Checks beyond the seed's example: the event is stored on the span.
  const [span] = await manager.querySpans({ traceId: trace.traceId });
  assert.equal(span?.events[0]?.name, "Processing complete");
  assert.equal(span?.events[0]?.attributes.result_count, 3);
  assert.equal(traces[0]?.resource["service.name"], "my_workflow");

  await TelemetryManager.resetInstance();
  return lines;
}

function seedConfig(backend: "sqlite" | "memory", dbPath: string): TelemetryConfig {
  const options = {
    samplingRate: 1.0,
    exportInterval: 5.0,
    enableMetrics: true,
    enableEvents: true,
    resourceAttributes: { "service.name": "my_workflow", "service.version": "1.0.0" },
  };
  return backend === "sqlite"
    ? TelemetryConfig.createSqlite(dbPath, options)
    : TelemetryConfig.createMemory(options);
}

for (const backend of ["sqlite", "memory"] as const) {
  Deno.test(`the seed's Complete Example runs on the ${backend} backend`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const lines = await completeExample(seedConfig(backend, `${dir}/telemetry.db`));
      assert.equal(lines.length, 4);
      assert.match(lines[0]!, /^Trace: workflow_execution - \d+\.\d{3}s$/);
      assert.match(lines[1]!, /^ {2}Span: data_processing - 0\.0\d\ds$/);
      assert.equal(lines[2], "Average processing time: 0.000s");
      assert.equal(lines[3], "Found 0 failed spans");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
