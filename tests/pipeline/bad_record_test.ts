import assert from "node:assert/strict";
import { TelemetryConfig, TelemetryManager } from "../../mod.ts";

Deno.test("a record a backend refuses (a NaN metric value on SQLite) is left out; the rest of its batch is stored and flush() resolves", async () => {
  const dir = await Deno.makeTempDir();
  const manager = new TelemetryManager(
    TelemetryConfig.createSqlite(`${dir}/t.db`, { exportInterval: 0 }),
  );
  try {
    const trace = manager.startTrace("run");
    // SQLite's REAL column cannot hold NaN (it would be NULL): refused there.
    manager.recordMetric("nan", NaN, { traceId: trace.traceId });
    manager.recordMetric("fine", 2, { traceId: trace.traceId });
    await manager.flush();
    const names = (await manager.queryMetrics({})).map((m) => m.name);
    assert.deepEqual(names, ["fine"]);
    assert.match(manager.stats().lastExportError ?? "", /^BAD_RECORD: Cannot write metric/);
    const stats = manager.stats();
    assert.equal(stats.dropped, 1, "the refused record counts as dropped, not exported");
    assert.equal(stats.recorded, stats.exported + stats.dropped + stats.pending);
  } finally {
    await manager.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
