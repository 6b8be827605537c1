/**
 * Misuse gets a clear error, never a silent wrong answer: unknown option
 * keys of the query methods and of `backendConfig`, enum filters outside
 * their values, recording after shutdown, `getTrace` of an ended trace.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TelemetryConfig, type TelemetryConfigOptions } from "../src/config.ts";
import { TelemetryManager } from "../src/manager.ts";

function configError(options: TelemetryConfigOptions): string {
  try {
    new TelemetryConfig(options);
  } catch (error) {
    assert.ok(error instanceof TypeError, String(error));
    return error.message;
  }
  assert.fail(`accepted ${JSON.stringify(options)}`);
}

Deno.test("query methods refuse an unknown option key, naming the key meant", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  manager.endTrace(manager.startTrace("a").traceId);
  manager.endTrace(manager.startTrace("b").traceId);
  // Before: every trace came back, as if no filter had been given.
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.queryTraces({ trace_name: "a" } as any),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot queryTraces: unknown option 'trace_name' in the options — use 'traceName'",
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.querySpans({ spanName: "x", limt: 3 } as any),
    /Cannot querySpans: unknown option 'limt' in the options — did you mean 'limit'\?/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.queryEvents({ event_type: "x" } as any),
    /unknown option 'event_type' .* use 'eventType'/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.queryMetrics({ name: "x" } as any),
    /Cannot queryMetrics: unknown option 'name'/,
  );
  assert.equal((await manager.queryTraces({ traceName: "a" })).length, 1);
});

Deno.test("status and kind filters outside their values are refused, listing the values", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  manager.startSpan("failing").end("error");
  // Before: 0 rows, silently.
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.querySpans({ status: "ERROR" as any }),
    (e: Error) =>
      e instanceof RangeError &&
      e.message ===
        `Cannot querySpans: status must be one of 'unset', 'ok', 'error', got "ERROR" — did you mean 'error'?`,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.queryTraces({ status: "failed" as any }),
    /Cannot queryTraces: status must be one of 'unset', 'ok', 'error', got "failed"$/,
  );
  await assert.rejects(
    // deno-lint-ignore no-explicit-any
    () => manager.querySpans({ kind: "tool" as any }),
    /Cannot querySpans: kind must be one of 'graph_run', .*'internal', got "tool"/,
  );
  assert.equal((await manager.querySpans({ status: "error" })).length, 1);
});

Deno.test("backendConfig refuses unknown keys on every backend; Python names get ours", () => {
  // Before: ignored, and SQLite wrote to ./spark_telemetry.db.
  assert.equal(
    configError({ enabled: true, backend: "sqlite", backendConfig: { db_path: "x.db" } }),
    "Cannot configure telemetry: unknown key 'db_path' in backendConfig of 'sqlite' — use 'dbPath'",
  );
  assert.match(
    configError({ backend: "sqlite", backendConfig: { dbpath: "x.db" } }),
    /unknown key 'dbpath' .* did you mean 'dbPath'\?/,
  );
  assert.match(
    configError({ backend: "memory", backendConfig: { max_records: 10 } }),
    /unknown key 'max_records' in backendConfig of 'memory' — use 'maxRecords'/,
  );
  assert.match(
    configError({ backend: "postgresql", backendConfig: { connection_string: "postgres://" } }),
    /unknown key 'connection_string' in backendConfig of 'postgresql' — use 'url'/,
  );
  assert.match(
    configError({ backend: "postgresql", backendConfig: { max_connections: 2 } }),
    /use 'maxConnections'/,
  );
  assert.match(
    configError({ backend: "otlp_http", backendConfig: { endpiont: "http://127.0.0.1:4318" } }),
    /unknown key 'endpiont' in backendConfig of 'otlp_http' — did you mean 'endpoint'\?/,
  );
  assert.match(
    configError({ backend: "noop", backendConfig: { path: "x" } }),
    /unknown key 'path' in backendConfig of 'noop' \(known: module, export\)/,
  );
  assert.match(
    configError({
      backend: "sqlite",
      backendConfig: { dbPath: "x.db", export: { otlp: { endpoint: "http://h" }, max_queue: 1 } },
    }),
    /unknown key 'max_queue' in backendConfig.export \(known: otlp, maxQueueRecords/,
  );
  assert.match(
    configError({
      backend: "memory",
      backendConfig: { export: { otlp: { endpoint: "http://h", header: {} } } },
    }),
    /unknown key 'header' in backendConfig.export.otlp — did you mean 'headers'\?/,
  );
  assert.match(
    configError({ backend: "sqlite", backendConfig: { dbPath: "x.db", readonly: true } }),
    /did you mean 'readOnly'\?/,
  );
  // Known keys pass; a custom backend module takes whatever keys it wants.
  new TelemetryConfig({ backend: "sqlite", backendConfig: { dbPath: "x.db", readOnly: true } });
  new TelemetryConfig({
    backend: "memory",
    backendConfig: { module: "file:///custom.ts", stallMs: 3, anything: true },
  });
  assert.throws(
    () => TelemetryConfig.createSqlite("x.db", { backendConfig: { path: "y.db" } }),
    /unknown key 'path' in backendConfig of 'sqlite' — use 'dbPath'/,
  );
});

Deno.test("drainOnSignal is validated and defaults to false", () => {
  assert.equal(new TelemetryConfig().drainOnSignal, false);
  assert.equal(new TelemetryConfig({ drainOnSignal: true }).toDict().drainOnSignal, true);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new TelemetryConfig({ drainOnSignal: "yes" as any }),
    /Cannot configure telemetry: drainOnSignal must be a boolean, got "yes"/,
  );
});

Deno.test("recording after shutdown() never throws, is counted as dropped and warned once", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory());
  manager.recordMetric("before", 1);
  await manager.shutdown();
  const warnings: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    manager.recordMetric("after", 1);
    manager.recordEvent("custom", "after");
    manager.startSpan("after").end(); // a span and its implicit trace (start and end)
  } finally {
    console.error = original;
  }
  const stats = manager.stats();
  // Before: recorded 1, dropped 0 — the five records vanished uncounted.
  assert.equal(stats.recorded, 6);
  assert.equal(stats.exported, 1);
  assert.equal(stats.dropped, 5);
  assert.deepEqual(warnings, [
    "@spark/telemetry: a record was made after shutdown(); it and any later ones are dropped and counted in stats().dropped",
  ]);
});

Deno.test("getTrace() finds an ended trace among the last 1,000, then points to the store", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const first = manager.startTrace("first");
  manager.endTrace(first.traceId, "error");
  // Before: null as soon as the trace had ended.
  assert.equal(manager.getTrace(first.traceId), first);
  assert.equal(manager.getTrace(first.traceId)?.status, "error");
  for (let i = 0; i < 1000; i++) manager.endTrace(manager.startTrace(`t${i}`).traceId);
  assert.equal(manager.getTrace(first.traceId), null);
  const [stored] = await manager.queryTraces({ traceName: "first" });
  assert.equal(stored?.traceId, first.traceId);
});

Deno.test("withSpan saves a throwing block as error (the translation of Python's async with)", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await assert.rejects(
    () =>
      manager.withSpan("failing", {}, () => {
        throw new Error("boom");
      }),
    /boom/,
  );
  const [span] = await manager.querySpans({ spanName: "failing" });
  assert.equal(span?.status, "error");
});
