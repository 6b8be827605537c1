import { TelemetryConfig } from "./src/config.ts";
import { TelemetryManager } from "./src/manager.ts";
const ours = new TelemetryManager(new TelemetryConfig({ enabled: true, backend: "noop" }));
await ours.startBackgroundExport();
const traceId = ours.startTrace("bench").traceId;
let best = Infinity;
for (let r = 0; r < 4000; r++) {
  const t = performance.now();
  for (let i = 0; i < 500; i++) {
    const span = ours.startSpan("op", { traceId });
    span.setAttribute("a", i); span.setAttribute("b", "x"); span.setAttribute("c", true); span.setAttribute("d", 1.5); span.setAttribute("e", "node");
    span.end();
  }
  await null;
  best = Math.min(best, performance.now() - t);
  await new Promise((r) => setTimeout(r, 0));
}
console.log("best ns/span", (best * 1e6 / 500).toFixed(0), ours.stats().dropped);
await ours.shutdown();
