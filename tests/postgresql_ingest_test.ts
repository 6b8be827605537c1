import assert from "node:assert/strict";
import postgres from "postgres";
import { BackendError } from "../mod.ts";
import { PostgresqlBackend } from "../src/backends/postgresql.ts";
import { PgWriter } from "../src/backends/_pg_ingest.ts";
import { makeBatch } from "../bench/_pg_fixtures.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "./_pg_test_env.ts";

Deno.test({
  name: "PostgresqlBackend.write() stores COPY's special characters as plain text",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("copychars");
    await withAdmin(schema, async () => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const nasty = "a\tb\nc\rd\\e\\.\n\\.\n\\N'\"{}";
      const batch = makeBatch(3);
      batch.spans[0]!.name = nasty;
      batch.spans[0]!.attributes = { [nasty]: nasty, n: null, list: [nasty, 1.5] };
      batch.spans[1]!.error = { type: "\\N", message: "\\", stack: "\t" };
      batch.spans[2]!.name = "\\N";
      await backend.write(batch);
      // Written again, as after a retry: upserted, nothing twice.
      await backend.write(batch);
      const rows = await backend.query({
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [],
        limit: 10,
        offset: 0,
      });
      assert.equal(rows.length, 3);
      const byId = new Map(rows.map((r) => [r.spanId, r]));
      const first = byId.get(batch.spans[0]!.spanId)!;
      assert.equal(first.name, nasty);
      assert.deepEqual(first.attributes, batch.spans[0]!.attributes);
      assert.deepEqual(byId.get(batch.spans[1]!.spanId)!.error, batch.spans[1]!.error);
      assert.equal(byId.get(batch.spans[2]!.spanId)!.name, "\\N");
    });
  },
});

Deno.test({
  name: "PgWriter fails fast with CONNECTION when its connection is terminated mid-COPY",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("copykill");
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      const app = `copykill_${schema}`;
      const connect = (onclose: () => void) =>
        postgres(pgUrl(), {
          max: 1,
          onclose,
          onnotice: () => {},
          fetch_types: false,
          connection: { application_name: app, search_path: schema },
        });
      const writer = new PgWriter(connect, 60_000);
      await writer.write(makeBatch(10)); // creates the staging tables
      const batch = makeBatch(40_000);
      const started = performance.now();
      const write = writer.write(batch);
      let killed = 0;
      for (let i = 0; i < 2000 && killed === 0; i++) {
        const rows = await admin`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = ${app} and query like 'copy%' and state = 'active'`;
        killed = rows.length;
      }
      if (killed > 0) {
        await assert.rejects(write, (e: Error & { code?: string }) => {
          assert.ok(!(e instanceof BackendError) || e.code === "CONNECTION", String(e));
          return true;
        });
        assert.ok(performance.now() - started < 30_000, "the failed COPY was not noticed at once");
      } else {
        await write; // the COPY finished before the killer saw it
      }
      // The retry stores the batch exactly once.
      await writer.write(batch);
      const [row] = await admin.unsafe(`select count(*)::int as n from ${schema}.spans`);
      assert.equal(row!.n, 40_010);
      await writer.close(1);
    });
  },
});

Deno.test({
  name: "PgWriter does not hang when the server answers a COPY with an error",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("copyerr");
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      let timeout = 0;
      const connect = (onclose: () => void) =>
        postgres(pgUrl(), {
          max: 1,
          onclose,
          onnotice: () => {},
          fetch_types: false,
          connection: { search_path: schema, statement_timeout: timeout },
        });
      const writer = new PgWriter(connect, 2_000);
      await writer.write(makeBatch(10)); // creates the staging tables
      // A statement timeout of 10 ms cancels a COPY of 20,000 spans while
      // its data streams in (the short statements around it get through):
      // the server answers with an error, which postgres.js never delivers
      // to the stream. The direct COPY's refusal shows at COMMIT; the upsert
      // retry's staging COPY is cancelled the same way and waited for, so
      // only the 2 s guard ends it. New connections keep the setting until
      // it is reset below.
      await writer.close(1);
      timeout = 10;
      const full = makeBatch(20_000);
      const batch = { ...full, traces: [], events: [], metrics: [] };
      const started = performance.now();
      await assert.rejects(writer.write(batch));
      assert.ok(performance.now() - started < 20_000, "write() hung");
      timeout = 0;
      await writer.close(1);
      await writer.write(batch);
      const [row] = await admin.unsafe(`select count(*)::int as n from ${schema}.spans`);
      assert.equal(row!.n, 20_010);
      await writer.close(1);
    });
  },
});

Deno.test({
  name: "PostgresqlBackend.write() of ids already stored upserts them: none twice, later wins",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("replay");
    await withAdmin(schema, async (admin) => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const full = makeBatch(50);
      // Only spans (refused at COMMIT), spans then events (refused at the next
      // COPY), everything; each written twice, the second time changed.
      const shapes = [
        { ...full, traces: [], events: [], metrics: [] },
        { ...full, traces: [], metrics: [] },
        full,
      ];
      for (const shape of shapes) {
        await backend.write(shape);
        const again = structuredClone(shape);
        for (const span of again.spans) span.name = "renamed";
        for (const event of again.events) event.name = "renamed";
        await backend.write(again);
      }
      const [spans] = await admin.unsafe(
        `select count(*)::int as n, count(*) filter (where name = 'renamed')::int as renamed
         from ${schema}.spans`,
      );
      assert.deepEqual({ ...spans }, { n: 50, renamed: 50 });
      const [events] = await admin.unsafe(
        `select count(*)::int as n, count(*) filter (where name = 'renamed')::int as renamed
         from ${schema}.events`,
      );
      assert.deepEqual({ ...events }, { n: full.events.length, renamed: full.events.length });
      // A fresh batch after all that still goes through.
      await backend.write(makeBatch(5));
      const [n] = await admin.unsafe(`select count(*)::int as n from ${schema}.spans`);
      assert.equal(n!.n, 55);
    });
  },
});
