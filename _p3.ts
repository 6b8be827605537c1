import { TelemetryConfig } from "./src/config.ts";
import { TelemetryManager } from "./src/manager.ts";
import { Span } from "./src/span.ts";
import { FrameWriter } from "./src/_frame_writer.ts";
import { writeSpan } from "./src/codec.ts";
const ours = new TelemetryManager(new TelemetryConfig({ enabled: true, backend: "noop" }));
const off = new TelemetryManager();
await ours.startBackgroundExport();
const traceId = ours.startTrace("bench").traceId;
const w = new FrameWriter();
async function run(label: string, body: (i: number) => void) {
  let best = Infinity; let sum = 0;
  for (let r = 0; r < 1000; r++) {
    const t = performance.now();
    for (let i = 0; i < 500; i++) body(i);
    await null;
    const d = performance.now() - t; best = Math.min(best, d); sum += d;
    await new Promise((r) => setTimeout(r, 0));
  }
  console.log(label.padEnd(32), (best * 1e6 / 500).toFixed(0), "best", (sum / 1000 * 1e6 / 500).toFixed(0), "mean ns/span");
}
const attrs = (s: Span, i: number) => { s.setAttribute("a", i); s.setAttribute("b", "x"); s.setAttribute("c", true); s.setAttribute("d", 1.5); s.setAttribute("e", "node"); };
await run("full", (i) => { const s = ours.startSpan("op", { traceId }); attrs(s, i); s.end(); });
await run("disabled manager", (i) => { const s = off.startSpan("op", { traceId }); attrs(s, i); s.end(); });
await run("plain Span + end", (i) => { const s = new Span({ traceId, name: "op" }); attrs(s, i); s.end(); });
await run("plain Span + end + encode", (i) => { const s = new Span({ traceId, name: "op" }); attrs(s, i); s.end(); if (w.pos > 60000) w.reset(); writeSpan(w, s); });
await run("full", (i) => { const s = ours.startSpan("op", { traceId }); attrs(s, i); s.end(); });
await ours.shutdown();
