import { newSpanId } from "./src/ids.ts";
const N = 500_000;
function time(label: string, f: () => void) { let best = Infinity; for (let r = 0; r < 10; r++) { const t = performance.now(); f(); best = Math.min(best, performance.now() - t); } console.log(label, (best * 1e6 / N).toFixed(1), "ns/op"); }
const map = new Map<string, object>();
time("newSpanId + map.delete (empty map)", () => { for (let i = 0; i < N; i++) { map.delete(newSpanId()); } });
time("newSpanId only", () => { for (let i = 0; i < N; i++) { newSpanId(); } });
const m2 = new Map<string, object>(); const o = {};
time("newSpanId + set + delete", () => { for (let i = 0; i < N; i++) { const id = newSpanId(); m2.set(id, o); m2.delete(id); } });
