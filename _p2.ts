import { RingBuffer } from "./src/ring_buffer.ts";
let calls = 0, time = 0, maxT = 0;
const orig = RingBuffer.prototype.wakeConsumer;
RingBuffer.prototype.wakeConsumer = function () { const t = performance.now(); orig.call(this); const d = performance.now() - t; time += d; calls++; maxT = Math.max(maxT, d); };
await import("./_p.ts");
console.log({ calls, timeMs: time, maxMs: maxT });
