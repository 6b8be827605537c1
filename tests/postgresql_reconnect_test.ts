import assert from "node:assert/strict";
import type postgres from "postgres";
import { BackendError, type Batch, TelemetryConfig, TelemetryManager } from "../mod.ts";
import { PostgresqlBackend } from "../src/backends/postgresql.ts";
import { makeBatch } from "../bench/_pg_fixtures.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "./_pg_test_env.ts";

/**
 * What the flusher worker does with a batch: keep it and retry with backoff
 * until the backend stores it. Returns the connection errors seen.
 */
async function writeWithRetry(backend: PostgresqlBackend, batch: Batch): Promise<BackendError[]> {
  const errors: BackendError[] = [];
  for (let attempt = 0; attempt < 200; attempt++) {
    try {
      await backend.write(batch);
      return errors;
    } catch (error) {
      assert.ok(error instanceof BackendError, String(error));
      assert.equal(error.code, "CONNECTION", error.message);
      errors.push(error);
      await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 500)));
    }
  }
  throw new Error("Cannot write: still failing after 200 attempts");
}

async function assertExactlyOnce(admin: postgres.Sql, schema: string, batches: Batch[]) {
  for (
    const [table, id, field, key] of [
      ["traces", "trace_id", "traces", "traceId"],
      ["spans", "span_id", "spans", "spanId"],
      ["events", "event_id", "events", "eventId"],
      ["metrics", "metric_id", "metrics", "metricId"],
    ] as const
  ) {
    const expected = new Set(
      batches.flatMap((b) => (b[field] as unknown as Record<string, string>[]).map((r) => r[key]!)),
    );
    const rows = await admin.unsafe<{ id: string }[]>(`select ${id} as id from ${schema}.${table}`);
    const stored = rows.map((r) => r.id);
    assert.equal(
      stored.length,
      expected.size,
      `${table}: ${stored.length} rows, expected ${expected.size}`,
    );
    assert.deepEqual(new Set(stored), expected, `${table}: stored ids differ`);
  }
}

Deno.test({
  name:
    "PostgresqlBackend.write() survives pg_terminate_backend mid-ingest: every record exactly once",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("reconnect");
    await withAdmin(schema, async (admin) => {
      const backend = await PostgresqlBackend.open({ url: pgUrl(), schema, maxConnections: 1 });
      const batches = Array.from({ length: 60 }, (_, i) => makeBatch(200, 1_700_000_000 + i));
      let done = false;
      let kills = 0;
      // Ten terminations, spread so the backend gets to reconnect and write between them.
      const killer = (async () => {
        while (!done && kills < 10) {
          await new Promise((r) => setTimeout(r, 20 + Math.random() * 40));
          const killed = await admin`
            select pg_terminate_backend(pid) as ok from pg_stat_activity
            where application_name = ${"spark_telemetry:" + schema}`;
          kills += killed.length;
        }
      })();
      const errors: BackendError[] = [];
      try {
        for (const batch of batches) errors.push(...(await writeWithRetry(backend, batch)));
        // Replaying every batch (as after a worker restart) stores nothing twice.
        for (const batch of batches.slice(0, 5)) await writeWithRetry(backend, batch);
      } finally {
        done = true;
        await killer;
      }
      await assertExactlyOnce(admin, schema, batches);
      assert.ok(kills > 0, "the test never terminated a connection");
      assert.ok(errors.length > 0, `no write failed (${kills} connections terminated)`);
      for (const error of errors) {
        assert.match(error.message, /^Cannot write a batch: connection to PostgreSQL at postgres@/);
      }
      await backend.close();
    });
  },
});

Deno.test({
  name:
    "PostgresqlBackend: connections terminated with two pipelined writes in flight fail cleanly; a retry in order stores all",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("pipekill");
    await withAdmin(schema, async (admin) => {
      const backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const batches = Array.from({ length: 40 }, (_, i) => makeBatch(300, 1_700_000_000 + i));
      let failures = 0;
      for (let i = 0; i < batches.length; i += 2) {
        const pair = [batches[i]!, batches[i + 1]!];
        // Two writes in flight on the write connection, as the flusher keeps them.
        const outcomes = Promise.allSettled(pair.map((b) => backend.write(b)));
        await new Promise((r) => setTimeout(r, Math.random() * 15));
        await admin`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = ${"spark_telemetry:" + schema}`;
        for (const outcome of await outcomes) {
          if (outcome.status === "fulfilled") continue;
          failures++;
          assert.ok(outcome.reason instanceof BackendError, String(outcome.reason));
          assert.equal(outcome.reason.code, "CONNECTION", outcome.reason.message);
        }
        // What the flusher does after a failure: everything again, in order.
        for (const b of pair) await writeWithRetry(backend, b);
      }
      await assertExactlyOnce(admin, schema, batches);
      assert.ok(failures > 0, "no pipelined write failed");
      await backend.close();
    });
  },
});

const RESTART = Deno.env.get("TELEMETRY_TEST_PG_RESTART");

Deno.test({
  name: "PostgresqlBackend.write() survives a server restart mid-ingest: every record exactly once",
  // Restarting the server disturbs anyone else using it, so it runs only on request:
  // TELEMETRY_TEST_PG_RESTART="pg_ctlcluster --skip-systemctl-redirect 15 main restart".
  ignore: PG_IGNORE || !RESTART,
  async fn() {
    const schema = freshSchema("restart");
    await withAdmin(schema, async (admin) => {
      const backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const batches = Array.from({ length: 40 }, (_, i) => makeBatch(200, 1_700_000_000 + i));
      const errors: BackendError[] = [];
      let restarted: Promise<void> | null = null;
      for (const [i, batch] of batches.entries()) {
        if (i === 10) {
          const [cmd, ...args] = RESTART!.split(" ");
          restarted = new Deno.Command(cmd!, { args, stdout: "null", stderr: "piped" }).output()
            .then((out) => {
              assert.ok(out.success, new TextDecoder().decode(out.stderr));
            });
        }
        errors.push(...(await writeWithRetry(backend, batch)));
      }
      await restarted;
      // The admin connection died with the server too; postgres.js reconnects it.
      await assertExactlyOnce(admin, schema, batches);
      assert.ok(errors.length > 0, "no write failed during the restart");
      await backend.close();
    });
  },
});

Deno.test({
  name: "PostgresqlBackend.open() names user@host:port/database and the reason, never the password",
  ignore: PG_IGNORE,
  async fn() {
    const url = new URL(pgUrl());
    url.password = "s3cret-pw";
    url.port = "1"; // nothing listens on port 1
    const error = await PostgresqlBackend.open({ url: url.href, connectTimeoutSeconds: 2 }).then(
      () => assert.fail("open succeeded"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BackendError);
    assert.equal(error.code, "CONNECTION");
    assert.match(
      error.message,
      /^Cannot connect to PostgreSQL at \S+@[^:]+:1\/\S+: .*ECONNREFUSED/,
    );
    assert.ok(!error.message.includes("s3cret-pw"), error.message);
  },
});

Deno.test({
  name: "PostgresqlBackend calls after close() fail with code CLOSED",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("closed");
    await withAdmin(schema, async () => {
      const backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      await backend.close();
      await assert.rejects(backend.write(makeBatch(1)), { name: "BackendError", code: "CLOSED" });
      await assert.rejects(backend.applyRetention(0), { code: "CLOSED" });
      await backend.close(); // idempotent
    });
  },
});

Deno.test("PostgresqlBackend.open() does not echo the password of a malformed URL", async () => {
  const error = await PostgresqlBackend.open({ url: "postgres://bob:s3cret-pw@[bad/db" }).then(
    () => assert.fail("open succeeded"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BackendError);
  assert.equal(error.code, "BAD_CONFIG");
  assert.match(error.message, /postgres:\/\/bob:\*\*\*@\[bad\/db/);
  assert.ok(!error.message.includes("s3cret-pw"), error.message);
});

Deno.test({
  name:
    "TelemetryManager into PostgreSQL: terminated connections show in stats() and every span arrives once",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = freshSchema("pipeline");
    await withAdmin(schema, async (admin) => {
      const manager = new TelemetryManager(TelemetryConfig.createPostgresql({
        url: pgUrl(),
        exportInterval: 0,
        bufferSize: 500,
        backendConfig: { schema },
      }));
      try {
        await manager.startBackgroundExport();
        const trace = manager.startTrace("run");
        let done = false;
        let kills = 0;
        const killer = (async () => {
          while (!done && kills < 5) {
            await new Promise((r) => setTimeout(r, 30 + Math.random() * 40));
            const killed = await admin`
              select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = ${"spark_telemetry:" + schema}`;
            kills += killed.length;
          }
        })();
        for (let round = 0; round < 20; round++) {
          for (let i = 0; i < 500; i++) {
            manager.startSpan("step", { traceId: trace.traceId, attributes: { round, i } }).end(
              "ok",
            );
          }
          await manager.flush();
        }
        done = true;
        await killer;
        manager.endTrace(trace.traceId);
        await manager.flush();
        const stats = manager.stats();
        assert.ok(kills > 0, "no connection was terminated");
        assert.ok(stats.exportErrors > 0, `no export error seen after ${kills} terminations`);
        assert.match(stats.lastExportError ?? "", /CONNECTION/);
        assert.equal(stats.dropped, 0);
        const [row] = await admin.unsafe<{ n: number; distinct: number }[]>(
          `select count(*)::int as n, count(distinct (attributes->>'round', attributes->>'i'))::int as distinct
           from ${schema}.spans`,
        );
        assert.deepEqual({ ...row }, { n: 10_000, distinct: 10_000 });
      } finally {
        await manager.shutdown();
      }
    });
  },
});
