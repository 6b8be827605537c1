/**
 * No record can block the stream: a record that always fails its batch is
 * isolated (the batch is split until it fails alone), dropped and counted
 * with its reason, and every other record — before and after it — is
 * stored, in order. Transient failures are still retried until they pass.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TelemetryConfig, type TelemetryConfigOptions } from "../../src/config.ts";
import { TelemetryManager } from "../../src/manager.ts";
import { BackendError, isTransientError } from "../../src/backends/backend.ts";
import type { QueryPlan, QueryRow } from "../../query/plan.ts";

const FIXTURE = new URL("../fixtures/poison_backend.ts", import.meta.url).href;
/** Generous: the isolation itself takes well under a second; the old code never finished. */
const BOUND_MS = 20_000;

function poisonConfig(
  backendConfig: Record<string, unknown>,
  options: TelemetryConfigOptions = {},
): TelemetryConfig {
  return TelemetryConfig.createMemory({
    bufferSize: 100,
    exportInterval: 0,
    shutdownTimeoutMs: 1000,
    ...options,
    backendConfig: { module: FIXTURE, ...backendConfig },
  });
}

function selectAll(entity: "traces" | "metrics"): QueryPlan {
  return { type: "select", entity, where: null, orderBy: [], limit: 100_000, offset: 0 };
}

/** `promise`, or a failure after `ms` — so a regression fails instead of hanging. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `fn` with console.warn captured. */
async function capturingWarnings<T>(fn: (warnings: string[]) => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args.map(String).join(" "));
  try {
    return await fn(warnings);
  } finally {
    console.warn = original;
  }
}

/**
 * Records 1,000 metrics `m` (values 0–999) with two poisoned metrics among
 * them, and two traces whose start and end straddle them: trace A starts
 * and ends inside the first poisoned batch (bisection splits its two
 * versions), trace B starts before the second poison and ends batches later.
 */
function recordAroundPoison(manager: TelemetryManager): { a: string; b: string } {
  const a = manager.startTrace("a").traceId;
  for (let i = 0; i < 40; i++) manager.recordMetric("m", i);
  manager.recordMetric("poison", -1);
  for (let i = 40; i < 80; i++) manager.recordMetric("m", i);
  manager.endTrace(a);
  for (let i = 80; i < 500; i++) manager.recordMetric("m", i);
  const b = manager.startTrace("b").traceId;
  for (let i = 500; i < 510; i++) manager.recordMetric("m", i);
  manager.recordMetric("poison", -2);
  for (let i = 510; i < 1000; i++) manager.recordMetric("m", i);
  manager.endTrace(b);
  return { a, b };
}

async function assertPoisonIsolated(depth: number): Promise<void> {
  const logPath = await Deno.makeTempFile();
  await capturingWarnings(async (warnings) => {
    const manager = new TelemetryManager(
      poisonConfig({ poison: ["poison"], logPath, depth, delayMs: depth > 1 ? 5 : 0 }),
    );
    try {
      const { a, b } = recordAroundPoison(manager);
      await within(manager.flush(), BOUND_MS, "flush()");
      const metrics = await within(manager.runPlan(selectAll("metrics")), BOUND_MS, "query");
      assert.deepEqual(
        metrics.map((r) => r.value as number).sort((x, y) => x - y),
        Array.from({ length: 1000 }, (_, i) => i),
        "every metric but the poisoned ones is stored",
      );
      const traces = new Map<unknown, QueryRow>(
        (await manager.runPlan(selectAll("traces"))).map((t) => [t.traceId, t]),
      );
      assert.notEqual(traces.get(a)?.endTime, null, "trace a ends with its last version");
      assert.notEqual(traces.get(b)?.endTime, null, "trace b ends with its last version");
      const stats = manager.stats();
      // 1,002 metrics and two traces recorded twice (at start and at end).
      assert.equal(stats.recorded, 1006);
      assert.equal(stats.exported, 1004);
      assert.equal(stats.dropped, 2);
      assert.equal(stats.rejected, 2);
      assert.deepEqual(stats.rejectedByReason, { "backend refused (54000)": 2 });
      assert.equal(stats.pending, 0);
      const said = warnings.filter((w) => w.includes("backend refused (54000)"));
      assert.equal(said.length, 1, `said once, not per record: ${warnings.join("\n")}`);
      assert.match(said[0]!, /1 record was dropped, backend refused \(54000\).*named 'poison'/);
    } finally {
      await manager.shutdown();
    }
  });
  const lines = (await Deno.readTextFile(logPath)).trim().split("\n");
  const stored = lines.filter((l) => !l.startsWith("calls ")).map(Number);
  // With writes in flight, the batch behind a failed one is re-sent (in
  // order, upserted): written twice, stored once (the query above).
  const written = stored.reduce((x, y) => x + y, 0);
  if (depth === 1) assert.equal(written, 1004, "each record written once");
  else assert.ok(written >= 1004 && written <= 1004 + 2 * 100 * (depth - 1), `${written} written`);
  const calls = Number(lines.find((l) => l.startsWith("calls "))!.slice(6));
  // 12 batches; each poisoned one costs ~3 tries + 2 per halving + 3 tries alone.
  assert.ok(calls < 12 * depth + 2 * 30, `${calls} write calls`);
  await Deno.remove(logPath);
}

Deno.test("a record that always fails its batch is dropped and counted; everything around it is stored in order", async () => {
  await assertPoisonIsolated(1);
});

Deno.test("a record that always fails is isolated with pipelined writes (depth 2) too, later batches in order", async () => {
  await assertPoisonIsolated(2);
});

Deno.test("a transient failure (CONNECTION) is retried until it passes: nothing is dropped", async () => {
  const logPath = await Deno.makeTempFile();
  await using manager = new TelemetryManager(
    poisonConfig({ connectionFailures: 6, logPath }),
  );
  for (let i = 0; i < 300; i++) manager.recordMetric("m", i);
  await within(manager.flush(), BOUND_MS, "flush()");
  assert.equal((await manager.runPlan(selectAll("metrics"))).length, 300);
  const stats = manager.stats();
  assert.equal(stats.dropped, 0);
  assert.equal(stats.rejected, 0);
  assert.equal(stats.exportErrors, 6);
  assert.match(stats.lastExportError ?? "", /^CONNECTION: /);
  const stored = (await Deno.readTextFile(logPath)).trim().split("\n").map(Number);
  // Never split: the failing batch was retried whole.
  assert.deepEqual(stored, [100, 100, 100]);
  await Deno.remove(logPath);
});

Deno.test("a non-transient failure that passes on a retry drops nothing and splits nothing", async () => {
  const logPath = await Deno.makeTempFile();
  await using manager = new TelemetryManager(poisonConfig({ flakyFailures: 2, logPath }));
  for (let i = 0; i < 200; i++) manager.recordMetric("m", i);
  await within(manager.flush(), BOUND_MS, "flush()");
  assert.equal((await manager.runPlan(selectAll("metrics"))).length, 200);
  assert.equal(manager.stats().dropped, 0);
  assert.equal(manager.stats().exportErrors, 2);
  const stored = (await Deno.readTextFile(logPath)).trim().split("\n").map(Number);
  assert.deepEqual(stored, [100, 100]);
  await Deno.remove(logPath);
});

Deno.test("a poisoned record alone in its batch is dropped, and the next batch is stored", async () => {
  const logPath = await Deno.makeTempFile();
  await capturingWarnings(async () => {
    await using manager = new TelemetryManager(poisonConfig({ poison: ["poison"], logPath }));
    manager.recordMetric("poison", 1);
    await within(manager.flush(), BOUND_MS, "flush()");
    manager.recordMetric("m", 2);
    await within(manager.flush(), BOUND_MS, "flush()");
    const rows = await manager.runPlan(selectAll("metrics"));
    assert.deepEqual(rows.map((r) => r.value), [2]);
    assert.deepEqual(manager.stats().rejectedByReason, { "backend refused (54000)": 1 });
  });
  await Deno.remove(logPath);
});

Deno.test("a batch whose every record fails is drained in bounded time, all counted; later records stored", async () => {
  const logPath = await Deno.makeTempFile();
  await capturingWarnings(async (warnings) => {
    await using manager = new TelemetryManager(poisonConfig({ poison: ["poison"], logPath }));
    for (let i = 0; i < 300; i++) manager.recordMetric("poison", i);
    for (let i = 0; i < 50; i++) manager.recordMetric("m", i);
    await within(manager.flush(), BOUND_MS, "flush()");
    assert.equal((await manager.runPlan(selectAll("metrics"))).length, 50);
    const stats = manager.stats();
    assert.equal(stats.dropped, 300);
    assert.deepEqual(stats.rejectedByReason, { "backend refused (54000)": 300 });
    assert.equal(stats.exported, 50);
    assert.equal(warnings.length, 1, warnings.join("\n"));
  });
  await Deno.remove(logPath);
});

Deno.test("invalid records (BAD_RECORD) are counted under 'invalid record' and said once", async () => {
  const logPath = await Deno.makeTempFile();
  await capturingWarnings(async (warnings) => {
    await using manager = new TelemetryManager(poisonConfig({ logPath }));
    for (let i = 0; i < 250; i++) {
      // A NaN metric value is a record the fixture refuses, like SQLite.
      manager.recordMetric("m", i % 100 === 7 ? NaN : i);
    }
    await within(manager.flush(), BOUND_MS, "flush()");
    assert.equal((await manager.runPlan(selectAll("metrics"))).length, 247);
    const stats = manager.stats();
    assert.equal(stats.rejected, 3);
    assert.deepEqual(stats.rejectedByReason, { "invalid record": 3 });
    assert.equal(warnings.filter((w) => w.includes("dropped, invalid record")).length, 1);
  });
  await Deno.remove(logPath);
});

Deno.test("isTransientError() tells connection, server and lock failures from record failures", () => {
  const withCode = (code: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(code), { code, ...extra });
  const transient = [
    new BackendError("CONNECTION", "Cannot write: reset"),
    new BackendError("CLOSED", "Cannot write: closed"),
    withCode("ECONNRESET"),
    withCode("ECONNREFUSED"),
    withCode("CONNECTION_CLOSED"),
    withCode("08006"), // connection failure
    withCode("57P01"), // admin shutdown
    withCode("57P03"), // cannot connect now
    withCode("53100"), // disk full
    withCode("53300"), // too many connections
    withCode("40001"), // serialization failure
    withCode("40P01"), // deadlock
    new DOMException("timed out", "TimeoutError"),
    Object.assign(new Error("database is locked"), { code: "ERR_SQLITE_ERROR", errcode: 5 }),
    Object.assign(new Error("locked"), { code: "ERR_SQLITE_ERROR", errcode: 6 }),
    Object.assign(new Error("disk I/O error"), { code: "ERR_SQLITE_ERROR", errcode: 266 }),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("40P01") }),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("54000"), transient: true }),
  ];
  const record = [
    new BackendError("BAD_RECORD", "Cannot write span 'x'"),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("54000") }),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("22021") }),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("23505") }),
    new BackendError("WRITE_FAILED", "Cannot write", { cause: withCode("42P01") }),
    new BackendError("CONNECTION", "Cannot write", { transient: false }),
    withCode("22P02"),
    Object.assign(new Error("string or blob too big"), { code: "ERR_SQLITE_ERROR", errcode: 18 }),
    Object.assign(new Error("CHECK constraint failed"), {
      code: "ERR_SQLITE_ERROR",
      errcode: 275,
    }),
    Object.assign(new Error("datatype mismatch"), { code: "ERR_SQLITE_ERROR", errcode: 20 }),
    new Error("something a custom backend threw"),
    "a thrown string",
  ];
  for (const e of transient) assert.equal(isTransientError(e), true, String(e));
  for (const e of record) assert.equal(isTransientError(e), false, String(e));
});
