import assert from "node:assert/strict";
import { MIGRATIONS } from "../../src/backends/postgresql/_schema.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

Deno.test({
  name: "PostgresqlBackend: two processes writing concurrently into one database lose nothing",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("writers");
    await withAdmin(schema, async (admin) => {
      const batches = 40;
      const shared = Array.from({ length: 20 }, () => crypto.randomUUID().replaceAll("-", ""));
      const script = new URL("./_pg_writer_process.ts", import.meta.url).pathname;
      const run = (writer: number) =>
        new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-A",
            script,
            pgUrl(),
            schema,
            String(writer),
            String(batches),
            shared.join(","),
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
      // Both start at once, so they also race to create the schema.
      const outputs = await Promise.all([run(1), run(2)]);
      for (const out of outputs) {
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
      }
      const perWriter = await admin.unsafe<{ writer: number; n: number }[]>(
        `select (attributes->>'writer')::int as writer, count(*)::int as n
         from ${schema}.spans group by 1 order by 1`,
      );
      assert.deepEqual([...perWriter], [{ writer: 1, n: batches * 250 }, {
        writer: 2,
        n: batches * 250,
      }]);
      const [counts] = await admin.unsafe<{ traces: number; events: number; metrics: number }[]>(
        `select (select count(*)::int from ${schema}.traces) as traces,
                (select count(*)::int from ${schema}.events) as events,
                (select count(*)::int from ${schema}.metrics) as metrics`,
      );
      // makeBatch(250): 13 traces, 63 events, 63 metrics per batch; plus the shared traces.
      assert.deepEqual({ ...counts }, {
        traces: 2 * batches * 13 + shared.length,
        events: 2 * batches * 63,
        metrics: 2 * batches * 63,
      });
      const versions = await admin.unsafe(`select version from ${schema}.telemetry_schema_version`);
      assert.equal(versions.length, MIGRATIONS.length, "a migration ran twice");
    });
  },
});
