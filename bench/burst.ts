/**
 * Burst: 1,000,000 spans recorded as fast as possible (one synchronous loop,
 * no yielding) into SQLite with the default configuration, then `flush()`.
 * Prints one JSON object:
 *
 * - `recordMs`: the recording loop; `storedMs`: from the first span until
 *   `flush()` resolved (everything durable);
 * - `rssBeforeBytes`, `rssPeakBytes`, `rssGrowthBytes`: process RSS sampled
 *   every 5 ms by a timer in a sampler worker (a timer on the main thread
 *   would not fire during the loop);
 * - `boundBytes`: what the default configuration allows to be held — the
 *   ring, a full spill queue at the frames' measured bytes per record, and
 *   SQLite's page cache (`pragma cache_size` of a connection set up as the
 *   backend's writer, read from SQLite) — plus
 *   `HEAP_SLACK_BYTES` for the two V8 heaps (main thread and worker). The
 *   worker's heap is most of the growth: decoded batches that live across a
 *   scavenge are promoted and stay until the next full GC (after a forced GC
 *   its live heap was ~6 MiB). A burst of 2M spans grew RSS by about as much
 *   as 1M, so the growth is a constant, not proportional to the burst;
 * - `spilled`, `dropped` from `stats()` (must be 0 with the default
 *   config), `rowsInDatabase` counted with a separate connection;
 * - `ok`: no loss, every row stored, growth within the bound.
 *
 *   deno run -A bench/burst.ts [--spans 1000000]
 *
 * Exits 1 when `ok` is false.
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { TelemetryConfig } from "../src/config.ts";
import { TelemetryManager } from "../src/manager.ts";
import { RecordEncoder } from "../src/frame/encoder.ts";
import { WRITER_PRAGMAS } from "../src/backends/sqlite/_schema.ts";
import { recordSpan, spanRows } from "./_rows.ts";

/** The two V8 heaps' working set and promoted garbage (see the module doc). */
const HEAP_SLACK_BYTES = 128 * 1024 * 1024;
/**
 * The page cache of a connection configured as the backend's writer
 * (`WRITER_PRAGMAS`), in bytes: read from SQLite, not assumed.
 */
function sqliteCacheBytes(path: string): number {
  const db = new DatabaseSync(path);
  try {
    for (const pragma of WRITER_PRAGMAS) db.exec(pragma);
    const size = (db.prepare("pragma cache_size").get() as { cache_size: number }).cache_size;
    // Negative: KiB; positive: pages.
    if (size < 0) return -size * 1024;
    return size * (db.prepare("pragma page_size").get() as { page_size: number }).page_size;
  } finally {
    db.close();
  }
}

function argument(name: string, fallback: number): number {
  const at = Deno.args.indexOf(name);
  return at >= 0 ? Number(Deno.args[at + 1]) : fallback;
}

/** Bytes a span of this shape takes in a ring frame (and so in the spill queue). */
function frameBytesPerSpan(traceId: string): number {
  const encoder = new RecordEncoder();
  const rows = spanRows(traceId, 1000);
  for (const row of rows) encoder.writeSpan(row);
  return Math.ceil(encoder.writer.pos / rows.length);
}

const SPANS = argument("--spans", 1_000_000);
const dir = Deno.makeTempDirSync({ prefix: "spark_burst_" });
const path = join(dir, "burst.db");

const sampler = new Worker(new URL("./_rss_sampler.ts", import.meta.url));
sampler.unref();
await new Promise<void>((resolve) => sampler.once("message", () => resolve()));

const config = TelemetryConfig.createSqlite(path);
const manager = new TelemetryManager(config);
await manager.startBackgroundExport();
const traceId = manager.startTrace("burst").traceId;
await manager.flush();

// Let the sampler see the steady state before the burst.
await new Promise((resolve) => setTimeout(resolve, 50));
const rssBeforeBytes = Deno.memoryUsage().rss;
sampler.postMessage("reset");

const t0 = performance.now();
for (let i = 0; i < SPANS; i++) {
  recordSpan(manager, traceId, i);
}
const recordMs = performance.now() - t0;
await manager.flush();
const storedMs = performance.now() - t0;

const rssPeakBytes = await new Promise<number>((resolve) => {
  sampler.once("message", (peak: number) => resolve(peak));
  sampler.postMessage("peak");
});
const stats = manager.stats();
await manager.shutdown();
await sampler.terminate();

const cacheBytes = sqliteCacheBytes(path);
const db = new DatabaseSync(path, { readOnly: true });
const rowsInDatabase = (db.prepare("select count(*) as n from spans").get() as { n: number }).n;
db.close();
Deno.removeSync(dir, { recursive: true });

const bytesPerRecord = frameBytesPerSpan(traceId);
const boundBytes = config.ringBufferBytes + config.maxSpillRecords * bytesPerRecord +
  cacheBytes + HEAP_SLACK_BYTES;
const rssGrowthBytes = rssPeakBytes - rssBeforeBytes;
const result = {
  spans: SPANS,
  recordMs: Math.round(recordMs),
  storedMs: Math.round(storedMs),
  spansPerSecond: Math.round(SPANS / (storedMs / 1000)),
  rssBeforeBytes,
  rssPeakBytes,
  rssGrowthBytes,
  boundBytes,
  ringBufferBytes: config.ringBufferBytes,
  maxSpillRecords: config.maxSpillRecords,
  bytesPerRecord,
  sqliteCacheBytes: cacheBytes,
  heapSlackBytes: HEAP_SLACK_BYTES,
  spilled: stats.spilled,
  dropped: stats.dropped,
  exported: stats.exported,
  rowsInDatabase,
  ok: stats.dropped === 0 && stats.spilled === 0 && rowsInDatabase === SPANS &&
    rssGrowthBytes <= boundBytes,
};
console.log(JSON.stringify(result));
if (!result.ok) Deno.exit(1);
