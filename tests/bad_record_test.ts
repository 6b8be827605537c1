import assert from "node:assert/strict";
import { TelemetryConfig, TelemetryManager } from "../mod.ts";

Deno.test("a record a backend refuses (NaN) is left out; the rest of its batch is stored and flush() resolves", async () => {
  const manager = new TelemetryManager(TelemetryConfig.createMemory({ exportInterval: 0 }));
  try {
    const trace = manager.startTrace("run");
    manager.recordMetric("nan", NaN, { traceId: trace.traceId });
    manager.recordMetric("infinite attribute", 1, {
      traceId: trace.traceId,
      attributes: { score: Infinity },
    });
    manager.recordMetric("fine", 2, { traceId: trace.traceId });
    await manager.flush();
    const names = (await manager.queryMetrics({})).map((m) => m.name);
    assert.deepEqual(names, ["fine"]);
    assert.match(manager.stats().lastExportError ?? "", /^BAD_RECORD: Cannot write metric/);
  } finally {
    await manager.shutdown();
  }
});
