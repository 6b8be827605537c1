import { RingBuffer } from "./src/ring_buffer.ts";
import { Worker } from "node:worker_threads";
const ring = RingBuffer.create(65536);
const src = `
import { parentPort, workerData } from "node:worker_threads";
const c = new Int32Array(workerData, 0, 16);
(async () => { for (;;) { const seen = Atomics.load(c, 2); Atomics.store(c, 3, 1); const r = Atomics.waitAsync(c, 2, seen, 1000); if (r.async) await r.value; Atomics.store(c, 3, 0); } })();
`;
await Deno.writeTextFile("/tmp/rt/ww.ts", src);
const w = new Worker(new URL("file:///tmp/rt/ww.ts"), { workerData: ring.buffer });
await new Promise((r) => setTimeout(r, 300));
let total = 0, n = 0, max = 0;
for (let i = 0; i < 200; i++) {
  await new Promise((r) => setTimeout(r, 2));
  const t = performance.now(); ring.wakeConsumer(); const d = performance.now() - t;
  total += d; n++; max = Math.max(max, d);
}
console.log("wakeConsumer avg µs", (total / n * 1000).toFixed(1), "max", (max * 1000).toFixed(1));
w.terminate();
