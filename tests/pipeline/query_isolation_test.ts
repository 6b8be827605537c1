/**
 * Queries never stall ingestion. SQLite files and PostgreSQL answer queries
 * on a reader worker with a read-only connection of its own, so records are
 * stored and flushed while a slow query runs; every query has a time limit
 * (`queryTimeoutMs`), after which it fails with `"QUERY_TIMEOUT"` — the
 * SQLite reader, which cannot interrupt a statement, is cancelled through
 * its registered functions or replaced; the memory backend, whose records
 * live in the writer, checks the limit as it goes. A query still sees every record recorded before it.
 *
 * The slow query is linear (RE2) but heavy: a 200-state pattern over
 * 20,000-character attributes, so that they take far longer than the
 * limits used here (measured idle: ~20 s for 40 texts on memory and SQLite,
 * ~10-40 s for 300 on PostgreSQL).
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { BackendError, TelemetryConfig, TelemetryManager } from "../../mod.ts";
import { PostgresqlBackend } from "../../src/backends/postgresql/mod.ts";
import { readerSpec } from "../../src/backends/open_reader.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

/** 20,000 pseudo-random `x`/`y` and a `z`: every text different, so RE2's state cache cannot help. */
function hostileName(seed: number): string {
  let state = seed + 1;
  let name = "";
  for (let i = 0; i < 20_000; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    name += (state >> 16) & 1 ? "x" : "y";
  }
  return name + "z";
}

/** Linear in RE2, but ~500 ms per text on memory and SQLite, 30-160 ms on PostgreSQL. */
const SLOW_QUERY = 'spans where attr.text =~ "x(?:x|y){200}z." | count()';
/** Hostile texts per backend: together many times the limit. */
const HOSTILE_SPANS = { memory: 80, sqlite: 40, postgresql: 300 };

function recordSpans(manager: TelemetryManager, count: number, text: (i: number) => string): void {
  const trace = manager.startTrace("load");
  for (let i = 0; i < count; i++) {
    manager.startSpan(`step ${i}`, { traceId: trace.traceId, attributes: { text: text(i) } }).end();
  }
  trace.end();
}

function isTimeout(limitMs: number): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof BackendError, String(error));
    assert.equal(error.code, "QUERY_TIMEOUT");
    assert.match(
      error.message,
      new RegExp(`^Cannot run query: it exceeded queryTimeoutMs \\(${limitMs} ms\\)`),
    );
    return true;
  };
}

/**
 * Starts the slow query, records and flushes 10,000 spans while it runs,
 * and checks that the flush finished first; returns the query's promise.
 */
async function flushWhileQuerying(
  manager: TelemetryManager,
): Promise<{ slow: Promise<unknown> }> {
  let settled = false;
  const slow = manager.query(SLOW_QUERY);
  slow.then(() => (settled = true), () => (settled = true));
  recordSpans(manager, 10_000, (i) => `short ${i}`);
  await manager.flush();
  assert.equal(settled, false, "the flush waited for the query to end");
  // Wrapped: an async function returning the promise itself would await it.
  return { slow };
}

Deno.test({
  name: "sqlite: 10,000 spans are stored and flushed while a slow query runs; it then times out",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await using manager = new TelemetryManager(
        TelemetryConfig.createSqlite(`${dir}/telemetry.db`, {
          queryTimeoutMs: 3000,
          exportInterval: 0,
        }),
      );
      recordSpans(manager, HOSTILE_SPANS.sqlite, hostileName);
      await manager.flush();
      const { slow } = await flushWhileQuerying(manager);
      await assert.rejects(slow, isTimeout(3000));
      // A fresh reader answers, and sees every record stored meanwhile.
      assert.deepEqual(await manager.query("spans | count()"), [
        { "count()": HOSTILE_SPANS.sqlite + 10_000 },
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "sqlite: after a timeout the reader lets go of the database long before the query would have ended",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    const path = `${dir}/telemetry.db`;
    try {
      await using manager = new TelemetryManager(
        TelemetryConfig.createSqlite(path, { queryTimeoutMs: 200, exportInterval: 0 }),
      );
      recordSpans(manager, 100, hostileName);
      await manager.flush();
      for (let i = 0; i < 3; i++) {
        await assert.rejects(manager.query(SLOW_QUERY), isTimeout(200));
      }
      // A reader still inside its statement holds its WAL snapshot (~50 s
      // here, idle), and a TRUNCATE checkpoint reports busy meanwhile. The
      // reader is told to cancel (its functions stop working; released within
      // a second) or, when it does not answer in time, terminated (its
      // connection went away ~8 s later in our runs).
      const checkpointBusy = (): number => {
        const db = new DatabaseSync(path);
        try {
          db.exec("pragma busy_timeout = 100");
          const row = db.prepare("pragma wal_checkpoint(TRUNCATE)").get() as { busy: number };
          return Number(row.busy);
        } finally {
          db.close();
        }
      };
      let busy = checkpointBusy();
      for (let waited = 0; busy !== 0 && waited < 20_000; waited += 100) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        busy = checkpointBusy();
      }
      assert.equal(busy, 0, "a cancelled or replaced reader still holds the database");
      assert.deepEqual(await manager.query("spans | count()"), [{ "count()": 100 }]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "sqlite: a query on the reader sees every record recorded before it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      await using manager = new TelemetryManager(
        TelemetryConfig.createSqlite(`${dir}/telemetry.db`, { exportInterval: 0 }),
      );
      // Before anything is stored, the reader waits for the writer to create the file.
      assert.deepEqual(await manager.query("spans | count()"), [{ "count()": 0 }]);
      for (let round = 1; round <= 3; round++) {
        recordSpans(manager, 5000, (i) => `r${round} ${i}`);
        assert.deepEqual(await manager.query("spans | count()"), [{ "count()": 5000 * round }]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "memory: a slow query stops at queryTimeoutMs, so the writer it runs on is held no longer",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using manager = new TelemetryManager(
      TelemetryConfig.createMemory({ queryTimeoutMs: 500, exportInterval: 0 }),
    );
    recordSpans(manager, HOSTILE_SPANS.memory, hostileName);
    await manager.flush();
    const started = performance.now();
    let elapsed = Infinity;
    const slow = manager.query(SLOW_QUERY);
    // It fails while the flush below is awaited; asserted after.
    slow.catch(() => (elapsed = performance.now() - started));
    recordSpans(manager, 10_000, (i) => `short ${i}`);
    await manager.flush();
    await assert.rejects(slow, isTimeout(500));
    // Unbounded, the query alone takes ~40 s idle; a generous bound, not a speed goal.
    assert.ok(elapsed < 15_000, `the query held the writer for ${elapsed.toFixed(0)} ms`);
    assert.deepEqual(await manager.query("spans | count()"), [
      { "count()": HOSTILE_SPANS.memory + 10_000 },
    ]);
  },
});

Deno.test({
  name: "postgresql: 10,000 spans are stored while a slow query runs; the server cancels it",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = freshSchema("queryiso");
    await withAdmin(schema, async () => {
      await using manager = new TelemetryManager(
        TelemetryConfig.createPostgresql({
          url: pgUrl(),
          backendConfig: { schema },
          queryTimeoutMs: 2000,
          exportInterval: 0,
        }),
      );
      recordSpans(manager, HOSTILE_SPANS.postgresql, hostileName);
      await manager.flush();
      const { slow } = await flushWhileQuerying(manager);
      await assert.rejects(slow, isTimeout(2000));
      assert.deepEqual(await manager.query("spans | count()"), [
        { "count()": HOSTILE_SPANS.postgresql + 10_000 },
      ]);
    });
  },
});

Deno.test({
  name: "postgresql: a read-only backend creates nothing and cannot write",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  async fn() {
    const schema = freshSchema("queryiso_ro");
    await withAdmin(schema, async (admin) => {
      // A schema that is not a store yet is refused, and nothing is created.
      await assert.rejects(
        PostgresqlBackend.open({ url: pgUrl(), schema, readOnly: true }),
        (e: unknown) => e instanceof BackendError && e.code === "BAD_CONFIG",
      );
      const created = await admin`select 1 from pg_namespace where nspname = ${schema}`;
      assert.equal(created.length, 0, "the read-only open created the schema");
      // Once the writer has made the store, the reader opens it and still cannot write.
      const writer = await PostgresqlBackend.open({ url: pgUrl(), schema });
      await writer.close();
      const reader = await PostgresqlBackend.open({ url: pgUrl(), schema, readOnly: true });
      try {
        await assert.rejects(
          reader.write({
            traces: [{
              traceId: "d".repeat(32),
              name: "t",
              startTime: 1,
              endTime: null,
              status: "unset",
              attributes: {},
              resource: {},
            }],
            spans: [],
            events: [],
            metrics: [],
          }),
          (e: unknown) => e instanceof BackendError,
        );
        const traces = await admin.unsafe(`select count(*)::int as n from ${schema}.traces`);
        assert.equal(traces[0]!.n, 0);
      } finally {
        await reader.close();
      }
    });
  },
});

Deno.test("queryTimeoutMs is validated like every other setting", () => {
  assert.equal(new TelemetryConfig().queryTimeoutMs, 30_000);
  assert.equal(new TelemetryConfig({ queryTimeoutMs: 5 }).toDict().queryTimeoutMs, 5);
  assert.throws(
    () => new TelemetryConfig({ queryTimeoutMs: 0 }),
    /Cannot configure telemetry: queryTimeoutMs must be between 1 and 2147483647, got 0/,
  );
  assert.throws(() => new TelemetryConfig({ queryTimeoutMs: 1.5 }), /whole number/);
  assert.throws(
    () => new TelemetryConfig({ queryTimeoutMs: "5" as unknown as number }),
    TypeError,
  );
});

Deno.test("readerSpec() gives SQLite files and PostgreSQL a reader; the rest stay on the writer", () => {
  const sqlite = (backendConfig: Record<string, unknown>) =>
    readerSpec({ backend: "sqlite", backendConfig });
  assert.deepEqual(sqlite({ dbPath: "t.db" }), {
    backend: "sqlite",
    backendConfig: { dbPath: "t.db" },
  });
  assert.deepEqual(sqlite({}), {
    backend: "sqlite",
    backendConfig: { dbPath: "spark_telemetry.db" },
  });
  // A private in-memory database has no second connection.
  assert.equal(sqlite({ dbPath: ":memory:" }), null);
  // With an exporter beside it, the reader reads the store alone.
  assert.deepEqual(sqlite({ dbPath: "t.db", export: { otlp: { endpoint: "http://x" } } }), {
    backend: "sqlite",
    backendConfig: { dbPath: "t.db" },
  });
  assert.equal(sqlite({ module: "file:///custom.ts" }), null);
  assert.deepEqual(
    readerSpec({ backend: "postgresql", backendConfig: { url: "postgres://h/db", schema: "s" } }),
    { backend: "postgresql", backendConfig: { url: "postgres://h/db", schema: "s" } },
  );
  for (const backend of ["memory", "otlp_http", "noop"] as const) {
    assert.equal(readerSpec({ backend, backendConfig: {} }), null, backend);
  }
});
