import assert from "node:assert/strict";
import { TelemetryConfig, TelemetryManager } from "../mod.ts";

Deno.test("a record a backend refuses (NaN) is left out; the rest of its batch is stored and flush() resolves", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory({ exportInterval: 0 }));
  try {
    const trace = manager.startTrace("run");
    assert.throws(
      () => manager.recordMetric("nan", NaN, { traceId: trace.traceId }),
      /Cannot record metric 'nan': value must be a finite number, got NaN/,
    );
    manager.recordMetric("infinite attribute", 1, {
      traceId: trace.traceId,
      attributes: { score: Infinity },
    });
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
  }
});
