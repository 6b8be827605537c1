import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { SqliteBackend } from "../../src/backends/sqlite/mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import { LATEST_SCHEMA_VERSION } from "../../src/backends/sqlite/_schema.ts";
import { backendConformance } from "./backend_conformance.ts";
import { batch, event, span, trace } from "../_records.ts";
import type { SelectPlan } from "../../query/plan.ts";

// A fresh file per test, in one temp directory removed when the process ends.
const conformanceDir = Deno.makeTempDirSync({ prefix: "spark_sqlite_conformance_" });
globalThis.addEventListener("unload", () => Deno.removeSync(conformanceDir, { recursive: true }));
let conformanceFiles = 0;
backendConformance(
  "sqlite",
  () =>
    Promise.resolve(new SqliteBackend({ path: join(conformanceDir, `${conformanceFiles++}.db`) })),
);
backendConformance(
  "sqlite (:memory:)",
  () => Promise.resolve(new SqliteBackend({ path: ":memory:" })),
);

const ALL_SPANS: SelectPlan = {
  type: "select",
  entity: "spans",
  where: null,
  orderBy: [],
  limit: 100,
  offset: 0,
};

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "spark_sqlite_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("SqliteBackend keeps data and schema version in its file across reopen", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "telemetry.db");
    const first = new SqliteBackend({ path });
    assert.equal(first.schemaVersion, LATEST_SCHEMA_VERSION);
    await first.write(batch({
      traces: [trace({ traceId: "t-1" })],
      spans: [span({ spanId: "s-1", traceId: "t-1", attributes: { k: [1, { v: "é" }] } })],
      events: [event({ eventId: "e-1", spanId: "s-1" })],
    }));
    await first.close();

    // Reopening runs the migrations again: they must be no-ops on a current schema.
    const second = new SqliteBackend({ path });
    assert.equal(second.schemaVersion, LATEST_SCHEMA_VERSION);
    const [row] = await second.query(ALL_SPANS);
    assert.deepEqual(row?.attributes, { k: [1, { v: "é" }] });
    assert.deepEqual((row?.events as { eventId: string }[]).map((e) => e.eventId), ["e-1"]);
    await second.close();

    const db = new DatabaseSync(path);
    const versions = db.prepare("select version from spark_schema_version").all();
    assert.equal(versions.length, LATEST_SCHEMA_VERSION);
    assert.equal(
      (db.prepare("pragma journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    db.close();
  });
});

Deno.test("SqliteBackend refuses a database whose schema is newer than the library", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "future.db");
    await new SqliteBackend({ path }).close();
    const db = new DatabaseSync(path);
    db.prepare("insert into spark_schema_version (version, applied_at) values (?, 0)").run(
      LATEST_SCHEMA_VERSION + 1,
    );
    db.close();
    assert.throws(
      () => new SqliteBackend({ path }),
      (e: Error & { code?: string }) =>
        e.code === "BAD_CONFIG" && /schema version \d+ is newer/.test(e.message),
    );
  });
});

Deno.test("SqliteBackend reports a file it cannot open as CONNECTION", () => {
  assert.throws(
    () => new SqliteBackend({ path: "/nonexistent-dir/x/telemetry.db" }),
    (e: Error & { code?: string }) =>
      e.code === "CONNECTION" && /Cannot open SQLite/.test(e.message),
  );
});

Deno.test("SqliteBackend has an index for every filter of the query methods", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = join(dir, "plan.db");
    void new SqliteBackend({ path }).close();
    const file = new DatabaseSync(path);
    const plan = (sql: string) =>
      (file.prepare(`explain query plan ${sql}`).all() as { detail: string }[])
        .map((r) => r.detail).join("; ");
    for (
      const [sql, index] of [
        ["select * from spans where trace_id = 'x' order by start_time desc", "spans_trace_id"],
        ["select * from spans where name = 'x' order by start_time desc", "spans_name"],
        [
          "select * from spans where kind = 'x' and status = 'y' order by start_time desc",
          "spans_kind_status",
        ],
        ["select * from spans where status = 'y' order by start_time desc", "spans_status"],
        ["select * from spans order by start_time desc, span_id desc", "spans_start_time"],
        ["select * from traces where name = 'x' order by start_time desc", "traces_name"],
        ["select * from traces where status = 'x' order by start_time desc", "traces_status"],
        ["select * from events where trace_id = 'x' order by timestamp desc", "events_trace_id"],
        [
          "select * from events where event_type = 'x' order by timestamp desc",
          "events_event_type",
        ],
        ["select * from events where span_id in ('a', 'b')", "events_span_id"],
        ["select * from metrics where name = 'x' order by timestamp desc", "metrics_name"],
        ["select * from metrics where trace_id = 'x' order by timestamp desc", "metrics_trace_id"],
      ]
    ) {
      assert.match(plan(sql!), new RegExp(`USING INDEX ${index}\\b`), sql);
    }
    file.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("SqliteBackend.write() rolls back the whole batch when SQLite fails mid-way", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "rollback.db");
    const backend = new SqliteBackend({ path });
    await backend.write(batch({ spans: [span({ spanId: "kept" })] }));
    // A trigger makes the second span's insert fail inside the transaction.
    const db = new DatabaseSync(path);
    db.exec(
      "create trigger fail_span before insert on spans when new.span_id = 'boom' begin select raise(abort, 'boom'); end",
    );
    db.close();
    const fresh = new SqliteBackend({ path });
    await backend.close();
    await assert.rejects(
      fresh.write(batch({
        traces: [trace({ traceId: "t-x" })],
        spans: [span({ spanId: "ok" }), span({ spanId: "boom" })],
      })),
      (e: Error & { code?: string }) => e.code === "WRITE_FAILED" && /boom/.test(e.message),
    );
    assert.deepEqual((await fresh.query(ALL_SPANS)).map((r) => r.spanId), ["kept"]);
    assert.deepEqual(
      await fresh.query({ ...ALL_SPANS, entity: "traces" }),
      [],
    );
    // The connection is usable after the failure.
    await fresh.write(batch({ spans: [span({ spanId: "after", startTime: 9 })] }));
    assert.deepEqual((await fresh.query(ALL_SPANS)).map((r) => r.spanId), ["after", "kept"]);
    await fresh.close();
  });
});

Deno.test("SqliteBackend writes batches larger than one multi-row statement", async () => {
  await using backend = new SqliteBackend({ path: ":memory:" });
  const spans = Array.from({ length: 1000 }, (_, i) => span({ spanId: `s-${i}`, startTime: i }));
  await backend.write(batch({ spans }));
  await backend.write(batch({ spans: spans.slice(0, 130) }));
  const rows = await backend.query({ ...ALL_SPANS, limit: 5000 });
  assert.equal(rows.length, 1000);
  assert.equal(rows[0]?.spanId, "s-999");
});

Deno.test("openBackend() opens SQLite at backendConfig.dbPath and rejects a bad path", async () => {
  const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: ":memory:" } });
  assert.equal(backend.name, "sqlite");
  await backend.close();
  await assert.rejects(
    openBackend({ backend: "sqlite", backendConfig: { dbPath: 42 } }),
    (e: Error & { code?: string }) => e.code === "BAD_CONFIG",
  );
});

Deno.test("SqliteBackend with readOnly queries an existing file and refuses writes", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "ro.db");
    const writer = new SqliteBackend({ path });
    await writer.write(batch({ spans: [span({ spanId: "s-1" })] }));
    const reader = new SqliteBackend({ path, readOnly: true });
    assert.deepEqual((await reader.query(ALL_SPANS)).map((r) => r.spanId), ["s-1"]);
    // The reader sees what the writer commits later (WAL).
    await writer.write(batch({ spans: [span({ spanId: "s-2", startTime: 5 })] }));
    assert.deepEqual((await reader.query(ALL_SPANS)).map((r) => r.spanId), ["s-2", "s-1"]);
    await assert.rejects(
      reader.write(batch({ spans: [span({ spanId: "s-3" })] })),
      (e: Error & { code?: string }) => e.code === "WRITE_FAILED" && /read-only/.test(e.message),
    );
    await assert.rejects(reader.applyRetention(1e12), /read-only/);
    await reader.close();
    await writer.close();
  });
});

Deno.test("SqliteBackend with readOnly refuses a missing file or a file without telemetry", async () => {
  await withTempDir(async (dir) => {
    assert.throws(
      () => new SqliteBackend({ path: join(dir, "missing.db"), readOnly: true }),
      (e: Error & { code?: string }) => e.code === "BAD_CONFIG" && /no such file/.test(e.message),
    );
    const other = join(dir, "other.db");
    const db = new DatabaseSync(other);
    db.exec("create table unrelated (x)");
    db.close();
    assert.throws(
      () => new SqliteBackend({ path: other, readOnly: true }),
      (e: Error & { code?: string }) =>
        e.code === "BAD_CONFIG" &&
        /: not a @spark\/telemetry store \(no spark_schema_version table\)$/.test(e.message),
    );
    await Promise.resolve();
  });
});
