/**
 * One writer process of `postgresql_writers_test.ts`: opens the backend
 * (racing the other process to create the schema), writes `batches`
 * batches tagged with its writer number, plus updates of traces shared with
 * the other writer, retrying failed writes as the flusher worker does.
 *
 * Usage: deno run -A tests/backends/_pg_writer_process.ts <url> <schema> <writer> <batches> <sharedTraceIds>
 *
 * @module
 */
import { makeBatch } from "../../bench/_pg_fixtures.ts";
import { PostgresqlBackend } from "../../src/backends/postgresql/mod.ts";

const [url, schema, writerArg, batchesArg, sharedArg] = Deno.args;
const writer = Number(writerArg);
const shared = (sharedArg ?? "").split(",").filter((id) => id !== "");
const backend = await PostgresqlBackend.open({ url: url!, schema: schema! });
let retries = 0;
for (let i = 0; i < Number(batchesArg); i++) {
  const batch = makeBatch(250, 1_700_000_000 + writer * 1000 + i);
  for (const span of batch.spans) span.attributes.writer = writer;
  // Both writers keep rewriting the same traces: concurrent conflicting upserts.
  for (const traceId of shared) {
    batch.traces.push({
      traceId,
      name: `shared by ${writer}`,
      startTime: 1_700_000_000,
      endTime: null,
      status: "unset",
      attributes: { writer },
      resource: {},
    });
  }
  for (let attempt = 0;; attempt++) {
    try {
      await backend.write(batch);
      break;
    } catch (error) {
      if (attempt >= 20) throw error;
      retries++;
      await new Promise((r) => setTimeout(r, 10 * 2 ** Math.min(attempt, 6)));
    }
  }
}
await backend.close();
console.log(JSON.stringify({ writer, retries }));
