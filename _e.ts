import { Span } from "./src/span.ts";
import { FrameWriter } from "./src/_frame_writer.ts";
import { writeSpan } from "./src/codec.ts";
const traceId = "0af7651916cd43dd8448eb211c80319c";
const spans = Array.from({ length: 500 }, (_, i) => { const s = new Span({ traceId, name: "op" }); s.setAttribute("a", i); s.setAttribute("b", "x"); s.setAttribute("c", true); s.setAttribute("d", 1.5); s.setAttribute("e", "node"); s.end(); return s; });
const w = new FrameWriter();
let best = Infinity;
for (let r = 0; r < 20000; r++) { const t = performance.now(); w.reset(); for (let i = 0; i < 500; i++) writeSpan(w, spans[i]!); best = Math.min(best, performance.now() - t); }
console.log("encode ns/span", (best * 1e6 / 500).toFixed(0), "bytes", w.pos / 500);
