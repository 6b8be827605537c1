import { spanRows } from "./_rows.ts";
import { SPANS, uniqueById } from "../src/backends/_pg_tables.ts";
import { copyText } from "../src/backends/_pg_ingest.ts";
import { validateBatch } from "../src/backends/_validate_batch.ts";
const rows = spanRows("t".repeat(32), 1000);
const batch = { traces: [], spans: rows, events: [], metrics: [] };
for (const [name, fn] of [
  ["uniqueById", () => uniqueById(SPANS, rows)],
  ["copyText", () => copyText(SPANS, rows)],
  ["validate", () => validateBatch(batch)],
  ["utf8", () => new TextEncoder().encode(copyText(SPANS, rows))],
] as const) {
  for (let i = 0; i < 200; i++) (fn as () => unknown)();
  const t0 = performance.now();
  for (let i = 0; i < 500; i++) (fn as () => unknown)();
  console.log(name, ((performance.now() - t0) / 500).toFixed(3), "ms per 1000 spans");
}
