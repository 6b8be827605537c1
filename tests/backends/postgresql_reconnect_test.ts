import assert from "node:assert/strict";
import postgresLib from "postgres";
import type postgres from "postgres";
import { BackendError, type Batch, TelemetryConfig, TelemetryManager } from "../../mod.ts";
import { PostgresqlBackend } from "../../src/backends/postgresql/mod.ts";
import { makeBatch } from "../../bench/_pg_fixtures.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";
import { TcpProxy } from "./_tcp_proxy.ts";
import { isConnectionError } from "../../src/backends/postgresql/_errors.ts";
import type { QueryPlan } from "../../query/plan.ts";

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

// ---- Outages: a TCP proxy between the backend and the server ----------------
//
// The proxy (tests/backends/_tcp_proxy.ts) is stopped to cut the network: its listener
// closes (new connections are refused) and every piped connection is closed
// mid-stream. Records keep coming during the outage. After the proxy starts
// again writing must resume within RESUME_LIMIT_MS: the promise is 2 s, plus
// a margin for this loaded 2-core machine and the 25 ms polling below. Every
// wait is bounded, so a client that never recovers fails the test instead of
// hanging the suite.

/** 2 s promised + 1 s margin (machine load, polling). */
const RESUME_LIMIT_MS = 3_000;
/** How long a call may take before the test calls it a hang. */
const HANG_MS = 15_000;

/** `promise`, or a failure naming `what` when it has not settled within `ms`. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not settle within ${ms} ms (it hangs)`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A proxy to the test server, and the URL that goes through it. */
function proxyToServer(): { proxy: TcpProxy; url: string } {
  const direct = new URL(pgUrl());
  const proxy = TcpProxy.create({
    hostname: direct.hostname,
    port: Number(direct.port || 5432),
  });
  const url = new URL(direct.href);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return { proxy, url: url.href };
}

/** Rows in `schema.spans` (0 while the table does not exist yet). */
async function spanRows(admin: postgres.Sql, schema: string): Promise<number> {
  const [exists] = await admin`select to_regclass(${schema + ".spans"}) is not null as ok`;
  if (!exists!.ok) return 0;
  const [row] = await admin.unsafe<{ n: number }[]>(
    `select count(*)::int as n from ${schema}.spans`,
  );
  return row!.n;
}

/**
 * Milliseconds from now until `schema.spans` holds more than `before` rows
 * (writing resumed); fails after `limitMs`.
 */
async function msUntilStored(
  admin: postgres.Sql,
  schema: string,
  before: number,
  limitMs: number,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const elapsed = performance.now() - started;
    if ((await spanRows(admin, schema)) > before) return elapsed;
    if (elapsed > limitMs) {
      throw new Error(`writing did not resume within ${limitMs} ms of the server coming back`);
    }
    await sleepMs(25);
  }
}

/** Every span recorded (attribute `n` = 0..count-1) is stored exactly once. */
async function assertSpansOnce(admin: postgres.Sql, schema: string, count: number): Promise<void> {
  const [row] = await admin.unsafe<{ rows: number; ids: number; ns: number }[]>(
    `select count(*)::int as rows, count(distinct span_id)::int as ids,
       count(distinct attributes->>'n')::int as ns from ${schema}.spans`,
  );
  assert.deepEqual({ ...row }, { rows: count, ids: count, ns: count });
}

/** Records spans numbered by attribute `n`, `perTick` every `tickMs`, until stopped. */
class Producer {
  count = 0;
  #timer: ReturnType<typeof setInterval> | null = null;
  constructor(private manager: TelemetryManager, private traceId: string) {}
  record(spans: number): void {
    for (let i = 0; i < spans; i++) {
      this.manager.startSpan("step", { traceId: this.traceId, attributes: { n: this.count++ } })
        .end("ok");
    }
  }
  start(perTick: number, tickMs: number): void {
    this.#timer ??= setInterval(() => this.record(perTick), tickMs);
  }
  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }
}

function proxiedManager(url: string, schema: string): TelemetryManager {
  return new TelemetryManager(TelemetryConfig.createPostgresql({
    url,
    exportInterval: 0.05,
    bufferSize: 1000,
    shutdownTimeoutMs: 5_000,
    backendConfig: { schema, connectTimeoutSeconds: 5 },
  }));
}

interface OutageCase {
  /** Connection state when the proxy stops. */
  during: "idle" | "write";
  outageMs: number;
}

/**
 * A manager writes through the proxy; the proxy stops (while the write
 * connection is idle, or with writes in flight) for `outageMs` while spans
 * keep coming, then starts again. Writing must resume within
 * RESUME_LIMIT_MS, a query asked during the outage must answer after it,
 * `flush()` must resolve, and every span must be stored exactly once.
 */
async function outage(c: OutageCase): Promise<void> {
  const schema = freshSchema(`outage_${c.during}`);
  await withAdmin(schema, async (admin) => {
    const { proxy, url } = proxyToServer();
    proxy.start();
    const manager = proxiedManager(url, schema);
    try {
      await within(manager.startBackgroundExport(), HANG_MS, "startBackgroundExport()");
      const trace = manager.startTrace("run");
      const producer = new Producer(manager, trace.traceId);
      producer.record(2_000);
      await within(manager.flush(), HANG_MS, "flush() before the outage");
      let flushing: Promise<void> | null = null;
      if (c.during === "write") {
        // Twenty batches queued: writes are in flight when the proxy stops.
        producer.record(20_000);
        flushing = manager.flush();
        flushing.catch(() => {}); // awaited below; a failed assertion must not leave it unhandled
        await sleepMs(30);
      }
      const errorsBefore = manager.stats().exportErrors;
      await proxy.stop();
      const cut = await spanRows(admin, schema);
      if (c.during === "write") {
        assert.ok(cut < producer.count, `the outage began after every write (${cut} rows)`);
      }
      // Spans keep coming through the outage; a long one at a tenth of the
      // rate, so what waits stays within the ring and the spill queue.
      producer.start(c.outageMs > 5_000 ? 5 : 50, 10);
      // A query asked during the outage fails with CONNECTION or, when it
      // waits for records still unstored, answers once the server is back.
      const queried = manager.query("spans | count()").then(
        (rows) => rows,
        (error: unknown) => error,
      );
      await sleepMs(c.outageMs);
      producer.stop();
      // (A statement the server had received whole may still have committed
      // just after the cut; nothing can arrive now.)
      const before = await spanRows(admin, schema);
      const errors = manager.stats().exportErrors - errorsBefore;
      assert.ok(errors > 0, "no write was attempted during the outage");
      assert.match(manager.stats().lastExportError ?? "", /^CONNECTION: /);
      proxy.start();
      const resumedMs = await msUntilStored(admin, schema, before, RESUME_LIMIT_MS);
      console.log(
        `${c.during} outage of ${c.outageMs} ms: ${errors} failed attempts, ` +
          `writing resumed ${resumedMs.toFixed(0)} ms after the proxy came back`,
      );
      const answer = await within(queried, HANG_MS, "a query asked during the outage");
      if (Array.isArray(answer)) assert.equal(answer.length, 1, JSON.stringify(answer));
      // The query ran on the reader: on its connection, or on opening one.
      else {
        assertConnectionError(
          answer,
          /^Cannot (query spans: connection to|connect to) PostgreSQL at /,
        );
      }
      producer.record(1_000);
      await within(flushing ?? Promise.resolve(), HANG_MS, "the flush() in flight");
      manager.endTrace(trace.traceId);
      await within(manager.flush(), HANG_MS, "flush() after the outage");
      // The reader answers again once the server is reachable.
      const after = await within(manager.query("spans limit 1"), HANG_MS, "a query after it");
      assert.equal((after as unknown[]).length, 1);
      assert.equal(manager.stats().dropped, 0);
      await assertSpansOnce(admin, schema, producer.count);
    } finally {
      await manager.shutdown();
      await proxy.stop();
    }
  });
}

for (
  const c of [
    { during: "idle", outageMs: 300 },
    { during: "write", outageMs: 300 },
    { during: "idle", outageMs: 3_000 },
    { during: "write", outageMs: 3_000 },
    { during: "write", outageMs: 30_000 },
  ] as const
) {
  Deno.test({
    name: `TelemetryManager into PostgreSQL: a ${c.outageMs / 1000} s network outage ${
      c.during === "idle" ? "while idle" : "during a write"
    } — writing resumes within 2 s, every span stored once`,
    ignore: PG_IGNORE,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => outage(c),
  });
}

Deno.test({
  name:
    "PostgresqlBackend queries during a network outage fail with CONNECTION (never hang) and work again after it",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = freshSchema("outage_query");
    await withAdmin(schema, async () => {
      const { proxy, url } = proxyToServer();
      proxy.start();
      // Three query connections, one write connection.
      const backend = await PostgresqlBackend.open({ url, schema, maxConnections: 4 });
      const plan: QueryPlan = {
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [],
        limit: 100_000,
        offset: 0,
      };
      try {
        const batches = Array.from({ length: 10 }, (_, i) => makeBatch(500, 1_700_000_000 + i));
        for (const batch of batches) await backend.write(batch);
        // One query in flight when the proxy stops: it answers or fails cleanly.
        const inFlight = backend.query(plan).then(
          (rows) => rows.length,
          (error: unknown) => error,
        );
        await sleepMs(2);
        await proxy.stop();
        const first = await within(inFlight, HANG_MS, "the query in flight");
        if (typeof first === "number") assert.equal(first, 5_000);
        else assertConnectionError(first, /^Cannot query spans: connection to PostgreSQL at /);
        // More queries than the pool has connections, one after the other.
        for (let i = 0; i < 8; i++) {
          const error = await within(
            backend.query(plan).then(() => null, (e: unknown) => e),
            HANG_MS,
            `query ${i + 1} during the outage`,
          );
          assertConnectionError(error, /^Cannot query spans: connection to PostgreSQL at /);
        }
        // And several at once, and a write.
        const failed = await within(
          Promise.allSettled([
            ...Array.from({ length: 6 }, () => backend.query(plan)),
            backend.write(makeBatch(10)),
          ]),
          HANG_MS,
          "six queries and a write during the outage",
        );
        for (const outcome of failed) {
          assert.equal(outcome.status, "rejected");
          assertConnectionError(outcome.reason, /^Cannot (query spans|write a batch): connection/);
        }
        proxy.start();
        const back = performance.now();
        const rows = await within(backend.query(plan), RESUME_LIMIT_MS, "a query after the outage");
        assert.equal(rows.length, 5_000);
        await within(backend.write(makeBatch(10)), RESUME_LIMIT_MS, "a write after the outage");
        console.log(`query and write answered ${(performance.now() - back).toFixed(0)} ms after`);
      } finally {
        await backend.close();
        await proxy.stop();
      }
    });
  },
});

function assertConnectionError(error: unknown, message: RegExp): void {
  // BackendError in the worker, PipelineError once it crossed to the application.
  assert.ok(error instanceof Error && "code" in error, String(error));
  assert.equal((error as BackendError).code, "CONNECTION", error.message);
  assert.match(error.message, message);
}

Deno.test({
  name:
    "TelemetryManager into PostgreSQL not up yet at start-up: records kept, errors counted, stored once it comes",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const schema = freshSchema("outage_start");
    await withAdmin(schema, async (admin) => {
      const { proxy, url } = proxyToServer(); // not listening yet
      const manager = proxiedManager(url, schema);
      try {
        // Start-up does not wait for the server.
        await within(manager.startBackgroundExport(), HANG_MS, "startBackgroundExport()");
        // A query with no record to wait for fails with the connection error.
        const early = await within(
          manager.query("spans | count()").then(() => null, (e: unknown) => e),
          HANG_MS,
          "a query while the server is down",
        );
        assertConnectionError(early, /^Cannot connect to PostgreSQL at /);
        const trace = manager.startTrace("run");
        const producer = new Producer(manager, trace.traceId);
        producer.record(3_000);
        // One waiting for records answers once they are stored.
        const later = manager.query("spans | count()");
        later.catch(() => {}); // awaited below
        let flushed = false;
        const flushing = manager.flush().then(() => (flushed = true));
        flushing.catch(() => {}); // awaited below
        await sleepMs(1_500);
        const stats = manager.stats();
        assert.ok(stats.exportErrors >= 2, `${stats.exportErrors} export errors`);
        assert.match(
          stats.lastExportError ?? "",
          /^CONNECTION: Cannot connect to PostgreSQL at postgres@127\.0\.0\.1:\d+\/\S+: .*ECONNREFUSED/,
        );
        assert.equal(flushed, false, "flush() resolved with the server down");
        assert.equal(stats.dropped, 0);
        proxy.start();
        const back = performance.now();
        await within(flushing, RESUME_LIMIT_MS, "flush() once the server is up");
        const [counted] = await within(later, HANG_MS, "the query waiting for records");
        assert.equal(Object.values(counted!)[0], 3_000, JSON.stringify(counted));
        console.log(`start-up: stored ${(performance.now() - back).toFixed(0)} ms after it came`);
        producer.record(500);
        manager.endTrace(trace.traceId);
        await within(manager.flush(), HANG_MS, "flush()");
        assert.equal(manager.stats().dropped, 0);
        await assertSpansOnce(admin, schema, producer.count);
      } finally {
        await manager.shutdown();
        await proxy.stop();
      }
    });
  },
});

Deno.test({
  name: "TelemetryManager into PostgreSQL: a configuration error at start-up is still fatal",
  ignore: PG_IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const url = new URL(pgUrl());
    url.pathname = "/no_such_database_spark";
    await using manager = new TelemetryManager(TelemetryConfig.createPostgresql({
      url: url.href,
      backendConfig: { schema: "spark_missing_db" },
    }));
    const error = await within(
      manager.startBackgroundExport().then(() => null, (e: unknown) => e),
      HANG_MS,
      "startBackgroundExport()",
    );
    assert.equal((error as { code?: string }).code, "BAD_CONFIG", String(error));
    assert.match((error as Error).message, /does not exist/);
  },
});

// ---- A real server restart, on a throw-away cluster of the test's own ----------

/** The bin directory of the newest PostgreSQL install with `initdb`, or null. */
function findPgBin(): string | null {
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync("/usr/lib/postgresql")) {
      const bin = `/usr/lib/postgresql/${entry.name}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        found.push(bin);
      } catch {
        // no server binaries in this version
      }
    }
  } catch {
    // no Debian-style install
  }
  found.sort((a, b) => parseFloat(a.split("/")[3]!) - parseFloat(b.split("/")[3]!));
  if (found.length > 0) return found.at(-1)!;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    try {
      Deno.statSync(`${dir}/initdb`);
      return dir;
    } catch {
      // not here
    }
  }
  return null;
}

const PG_BIN = findPgBin();
const IN_CI = Deno.env.get("CI") === "true";
if (PG_BIN === null && !IN_CI) {
  console.warn(
    "PostgreSQL server-restart test skipped: no initdb (in /usr/lib/postgresql/*/bin or PATH).",
  );
}

/** A PostgreSQL cluster in a temporary directory, on a free port, run as the `postgres` user when root. */
class ThrowAwayCluster {
  readonly port: number;
  readonly dir: string;
  readonly #bin: string;
  readonly #asPostgres: boolean;

  private constructor(bin: string, dir: string, port: number) {
    this.#bin = bin;
    this.dir = dir;
    this.port = port;
    // initdb refuses to run as root.
    this.#asPostgres = Deno.uid() === 0;
  }

  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async create(bin: string): Promise<ThrowAwayCluster> {
    const dir = await Deno.makeTempDir({ prefix: "spark_pg_restart_" });
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const cluster = new ThrowAwayCluster(bin, dir, port);
    if (cluster.#asPostgres) await cluster.#run("chown", ["postgres:postgres", dir], false);
    await cluster.#run(`${bin}/initdb`, [
      "-D",
      `${dir}/data`,
      "-U",
      "postgres",
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    await cluster.pgCtl("start");
    return cluster;
  }

  async #run(cmd: string, args: string[], asPostgres = this.#asPostgres): Promise<void> {
    const [command, argv] = asPostgres ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [
      cmd,
      args,
    ];
    const out = await new Deno.Command(command, { args: argv, stdout: "piped", stderr: "piped" })
      .output();
    if (!out.success) {
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      throw new Error(`Cannot run ${cmd} ${args.join(" ")}: ${text.trim()}`);
    }
  }

  /** `pg_ctl start`, `restart -m fast|immediate` or `stop -m immediate`, waiting until done. */
  pgCtl(action: "start" | "restart" | "stop", mode?: "fast" | "immediate"): Promise<void> {
    return this.#run(`${this.#bin}/pg_ctl`, [
      action,
      "-D",
      `${this.dir}/data`,
      "-w",
      "-l",
      `${this.dir}/server.log`,
      ...(mode ? ["-m", mode] : []),
      "-o",
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    ]);
  }

  async remove(): Promise<void> {
    await this.pgCtl("stop", "immediate").catch(() => {});
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }
}

Deno.test({
  name:
    "TelemetryManager into PostgreSQL: server restarts (fast, then immediate) mid-ingest — writing resumes within 2 s, every span stored once",
  ignore: PG_BIN === null && !IN_CI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    if (PG_BIN === null) {
      throw new Error(
        "Cannot run the server-restart test: CI=true but no initdb in /usr/lib/postgresql/*/bin or PATH",
      );
    }
    const cluster = await ThrowAwayCluster.create(PG_BIN);
    const admin = postgresClient(cluster.url);
    const schema = "restart";
    const manager = new TelemetryManager(TelemetryConfig.createPostgresql({
      url: cluster.url,
      exportInterval: 0.05,
      bufferSize: 1000,
      shutdownTimeoutMs: 5_000,
      backendConfig: { schema },
    }));
    try {
      await within(manager.startBackgroundExport(), HANG_MS, "startBackgroundExport()");
      const trace = manager.startTrace("run");
      const producer = new Producer(manager, trace.traceId);
      producer.record(2_000);
      await within(manager.flush(), HANG_MS, "flush() before the restarts");
      producer.start(100, 10);
      for (const mode of ["fast", "immediate"] as const) {
        await sleepMs(500); // records flowing
        const errorsBefore = manager.stats().exportErrors;
        await cluster.pgCtl("restart", mode);
        // The admin client reconnects by itself; the first try may meet the old connection.
        const before = await retry(() => spanRows(admin, schema));
        const resumedMs = await msUntilStored(admin, schema, before, RESUME_LIMIT_MS);
        const errors = manager.stats().exportErrors - errorsBefore;
        console.log(
          `restart -m ${mode}: ${errors} failed attempts, writing resumed ${
            resumedMs.toFixed(0)
          } ms after pg_ctl returned`,
        );
      }
      await sleepMs(300);
      producer.stop();
      manager.endTrace(trace.traceId);
      await within(manager.flush(), HANG_MS, "flush() after the restarts");
      const stats = manager.stats();
      assert.equal(stats.dropped, 0);
      assert.ok(stats.exportErrors > 0, "no write failed during two restarts");
      assert.match(stats.lastExportError ?? "", /^CONNECTION: /);
      await retry(() => assertSpansOnce(admin, schema, producer.count));
    } finally {
      await manager.shutdown();
      await admin.end({ timeout: 1 }).catch(() => {});
      await cluster.remove();
    }
  },
});

function postgresClient(url: string): postgres.Sql {
  return postgresLib(url, { onnotice: () => {}, max: 1 });
}

/** `fn`, tried again for a few seconds while it fails with a connection error. */
async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0;; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 50 || error instanceof assert.AssertionError) throw error;
      await sleepMs(100);
    }
  }
}

Deno.test("isConnectionError: a socket closed under the client and an idle-session timeout are connection failures, retried", () => {
  for (
    const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "CONNECTION_CLOSED",
      "CONNECT_TIMEOUT",
      "ERR_STREAM_DESTROYED",
      "ERR_STREAM_WRITE_AFTER_END",
      "ERR_SOCKET_CLOSED",
      "57P01",
      "57P03",
      "57P05",
      "08006",
    ]
  ) {
    assert.equal(isConnectionError(Object.assign(new Error("x"), { code })), true, code);
  }
  for (const code of ["23505", "54000", "22P02", "42P01", undefined]) {
    assert.equal(isConnectionError(Object.assign(new Error("x"), { code })), false, String(code));
  }
});
