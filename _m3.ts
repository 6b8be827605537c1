const N = 500_000;
function time(label: string, f: () => void) { let best = Infinity; for (let r = 0; r < 10; r++) { const t = performance.now(); f(); best = Math.min(best, performance.now() - t); } console.log(label, (best * 1e6 / N).toFixed(1), "ns/op"); }
const pool = new Uint8Array(4096); let off = 4096;
const HEXC = new Uint8Array(16); for (let i = 0; i < 16; i++) HEXC[i] = "0123456789abcdef".charCodeAt(i);
const codes: number[] = new Array(16).fill(0);
function idB(): string {
  if (off + 8 > 4096) { crypto.getRandomValues(pool); off = 0; }
  for (let i = 0; i < 8; i++) { const b = pool[off + i]!; codes[2 * i] = HEXC[b >> 4]!; codes[2 * i + 1] = HEXC[b & 15]!; }
  off += 8;
  return String.fromCharCode.apply(null, codes);
}
const HEX2: number[] = []; for (let b = 0; b < 256; b++) HEX2[b] = HEXC[b >> 4]! | (HEXC[b & 15]! << 8);
const out16 = new Uint16Array(8); const out8 = new Uint8Array(out16.buffer);
const dec = new TextDecoder();
function idC(): string {
  if (off + 8 > 4096) { crypto.getRandomValues(pool); off = 0; }
  for (let i = 0; i < 8; i++) out16[i] = HEX2[pool[off + i]!]!;
  off += 8;
  return dec.decode(out8);
}
function idD(): string {
  if (off + 8 > 4096) { crypto.getRandomValues(pool); off = 0; }
  const p = pool, o = off; off += 8;
  const h = HEXC;
  return String.fromCharCode(h[p[o]! >> 4]!, h[p[o]! & 15]!, h[p[o+1]! >> 4]!, h[p[o+1]! & 15]!, h[p[o+2]! >> 4]!, h[p[o+2]! & 15]!, h[p[o+3]! >> 4]!, h[p[o+3]! & 15]!, h[p[o+4]! >> 4]!, h[p[o+4]! & 15]!, h[p[o+5]! >> 4]!, h[p[o+5]! & 15]!, h[p[o+6]! >> 4]!, h[p[o+6]! & 15]!, h[p[o+7]! >> 4]!, h[p[o+7]! & 15]!);
}
const map = new Map();
for (const [name, f] of [["apply", idB], ["textdecoder", idC], ["fromCharCode16", idD]] as const) {
  time(name + " gen", () => { for (let i = 0; i < N; i++) f(); });
  time(name + " gen+delete", () => { for (let i = 0; i < N; i++) map.delete(f()); });
}
console.log(idB(), idC(), idD());
const set = new Set();
time("fromCharCode16 + set.has", () => { for (let i = 0; i < N; i++) set.has(idD()); });
time("fromCharCode16 + map.get", () => { for (let i = 0; i < N; i++) map.get(idD()); });
const nm = new Map<number, number>();
let k = 0;
time("number key map set+delete", () => { for (let i = 0; i < N; i++) { k++; nm.set(k, 1); nm.delete(k); } });
const smallMap = new Map(); smallMap.set("x", 1);
time("fromCharCode16 + nonempty map.get", () => { for (let i = 0; i < N; i++) smallMap.get(idD()); });
time("fromCharCode16 + charCodeAt loop", () => { for (let i = 0; i < N; i++) { const s = idD(); let h = 0; for (let j = 0; j < 16; j++) h += s.charCodeAt(j); } });
const m5 = new Map(); const o5 = {};
time("fresh + get + set + delete", () => { for (let i = 0; i < N; i++) { const id = idD(); m5.get(id); m5.set(id, o5); m5.delete(id); } });
time("fresh + set + delete", () => { for (let i = 0; i < N; i++) { const id = idD(); m5.set(id, o5); m5.delete(id); } });
time("fresh + set", () => { for (let i = 0; i < N; i++) { const id = idD(); m5.set(id, o5); if (m5.size > 1000) m5.clear(); } });
