import { AsyncLocalStorage } from "node:async_hooks";
import { newSpanId } from "./src/ids.ts";
const N = 500_000;
function time(label: string, f: () => void) { let best = Infinity; for (let r = 0; r < 10; r++) { const t = performance.now(); f(); best = Math.min(best, performance.now() - t); } console.log(label, (best * 1e6 / N).toFixed(1), "ns/op"); }
const ids = Array.from({ length: N }, () => newSpanId());
const map = new Map<string, object>();
const o = {};
time("map set+delete (fresh ids)", () => { for (let i = 0; i < N; i++) { map.set(ids[i]!, o); map.delete(ids[i]!); } });
const als = new AsyncLocalStorage<object>();
time("als outside", () => { for (let i = 0; i < N; i++) als.getStore(); });
let x = 0;
time("newSpanId", () => { for (let i = 0; i < N; i++) x += newSpanId().length; });
time("perf.now", () => { for (let i = 0; i < N; i++) x += performance.now(); });
time("obj literal 12", () => { for (let i = 0; i < N; i++) { const a = { a: 1, b: 2, c: null, d: "x", e: "y", f: 1.5, g: null, h: "ok", i: {}, j: [], k: null, l: 0 }; x += a.a; } });
console.log(x > 0);
