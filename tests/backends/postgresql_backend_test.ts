import assert from "node:assert/strict";
import { type BackendError, TelemetryConfig } from "../../mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import { PostgresqlBackend } from "../../src/backends/postgresql/mod.ts";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/backends/postgresql/_schema.ts";
import type { Condition, Entity, FieldRef } from "../../query/plan.ts";
import { compileSql } from "../../query/sql.ts";
import { postgresqlDialect } from "../../query/postgresql_dialect.ts";
import { backendConformance } from "./backend_conformance.ts";
import { batch, noise, span, trace } from "../_records.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

// Every conformance test gets its own schema, dropped again when the backend closes.
backendConformance(
  "postgresql",
  async () => {
    const schema = freshSchema("conf");
    const backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
    const close = backend.close.bind(backend);
    backend.close = async () => {
      await close();
      await withAdmin(schema, () => Promise.resolve());
    };
    return backend;
  },
  PG_IGNORE ? { ignore: "TELEMETRY_TEST_PG_URL is not set" } : {},
);

Deno.test({
  name: "PostgresqlBackend.open() by several processes at once migrates the schema exactly once",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("migrate");
    await withAdmin(schema, async (admin) => {
      const backends = await Promise.all(
        Array.from({ length: 4 }, () => PostgresqlBackend.open({ url: pgUrl(), schema })),
      );
      await Promise.all(backends.map((b) => b.close()));
      // Opening a current schema again is a no-op.
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      const versions = await admin.unsafe(
        `select version from ${schema}.telemetry_schema_version order by version`,
      );
      assert.deepEqual(versions.map((r) => r.version), MIGRATIONS.map((m) => m.version));
      assert.equal(versions.at(-1)?.version, SCHEMA_VERSION);
      const indexes = await admin.unsafe<{ indexdef: string }[]>(
        `select indexdef from pg_indexes where schemaname = $1`,
        [schema],
      );
      const gin = indexes.filter((i) => /using gin/i.test(i.indexdef));
      assert.equal(gin.length, 5, "GIN on every attributes column and on resource");
    });
  },
});

Deno.test({
  name:
    "PostgresqlBackend.open() migrates a version-1 schema to partial indexes on free text: its rows kept, long names stored",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("v1");
    await withAdmin(schema, async (admin) => {
      // A database as the version-1 library left it, with a row in it.
      await admin.begin(async (tx) => {
        await tx.unsafe(`create schema ${schema}`);
        await tx.unsafe(`set local search_path to ${schema}`);
        await tx.unsafe(
          `create table telemetry_schema_version (
            version integer primary key,
            description text not null,
            applied_at timestamptz not null default now()
          )`,
        );
        for (const statement of MIGRATIONS[0]!.statements) await tx.unsafe(statement);
        await tx.unsafe(
          `insert into telemetry_schema_version (version, description) values (1, 'v1')`,
        );
        await tx.unsafe(
          `insert into spans (span_id, trace_id, name, kind, start_time, status)
           values ('old', 't', 'kept', 'internal', 1, 'ok')`,
        );
      });
      const long = noise(2800);
      await assert.rejects(
        admin.unsafe(
          `insert into ${schema}.spans (span_id, trace_id, name, kind, start_time, status)
           values ('s', 't', $1, 'internal', 1, 'ok')`,
          [long],
        ),
        /index row size|maximum size/,
        "the version-1 btree refuses a 2,800-character name",
      );
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const versions = await admin.unsafe(
        `select version from ${schema}.telemetry_schema_version order by version`,
      );
      assert.deepEqual(versions.map((r) => r.version), [1, SCHEMA_VERSION]);
      const indexes = await admin.unsafe<{ indexname: string; indexdef: string }[]>(
        `select indexname, indexdef from pg_indexes where schemaname = $1
         and indexname in ('traces_name_idx', 'spans_name_idx', 'spans_error_type_idx',
                           'events_name_idx', 'events_event_type_idx', 'metrics_name_idx')`,
        [schema],
      );
      assert.equal(indexes.length, 6);
      for (const i of indexes) {
        assert.match(i.indexdef, /using btree .* WHERE \(octet_length\(/i, i.indexname);
      }
      await backend.write(batch({
        spans: [
          span({ spanId: "long", name: long, error: { type: long, message: long, stack: null } }),
        ],
      }));
      const rows = await backend.query({
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [],
        limit: 10,
        offset: 0,
      });
      assert.deepEqual(rows.map((r) => [r.spanId, (r.name as string).length]).sort(), [
        ["long", 2800],
        ["old", 4],
      ]);
    });
  },
});

Deno.test({
  name: "PostgresqlBackend.open() refuses a schema newer than the library",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("future");
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      await admin.unsafe(
        `insert into ${schema}.telemetry_schema_version (version, description) values ($1, 'future')`,
        [SCHEMA_VERSION + 1],
      );
      await assert.rejects(
        PostgresqlBackend.open({ url: pgUrl(), schema }),
        (e: BackendError) => e.code === "BAD_CONFIG" && /newer than this library/.test(e.message),
      );
    });
  },
});

Deno.test({
  name: "PostgresqlBackend uses its indexes for the filters of the query methods",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("plans");
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      const plan = async (sql: string) => {
        await admin.unsafe(`set search_path to ${schema}`);
        // Tiny tables would be scanned whatever the indexes; ask what it would do at scale.
        await admin.unsafe("set enable_seqscan = off");
        const rows = await admin.unsafe<{ "QUERY PLAN": string }[]>(`explain ${sql}`);
        return rows.map((r) => r["QUERY PLAN"]).join("\n");
      };
      for (
        const [sql, index] of [
          ["select * from spans where trace_id = 'x'", "spans_trace_id_idx"],
          // Free-text indexes are partial (schema v2): the compiler adds their condition.
          ["select * from spans where name = 'x' and octet_length(name) <= 2000", "spans_name_idx"],
          ["select * from spans where kind = 'x' order by start_time desc", "spans_kind_idx"],
          ["select * from spans where status = 'x' order by start_time desc", "spans_status_idx"],
          [
            "select * from spans order by start_time desc, span_id desc limit 5",
            "spans_start_time_idx",
          ],
          ["select * from spans where attributes ? 'node.id'", "spans_attributes_idx"],
          [`select * from spans where attributes @> '{"node.id": "x"}'`, "spans_attributes_idx"],
          [
            "select * from traces where name = 'x' and octet_length(name) <= 2000",
            "traces_name_idx",
          ],
          ["select * from traces where resource ? 'service.name'", "traces_resource_idx"],
          ["select * from events where span_id = any('{a,b}')", "events_span_id_idx"],
          [
            "select * from events where event_type = 'x' and octet_length(event_type) <= 2000",
            "events_event_type_idx",
          ],
          [
            "select * from metrics where name = 'x' and octet_length(name) <= 2000 order by timestamp desc",
            "metrics_name_idx",
          ],
          ["select * from metrics where trace_id = 'x'", "metrics_trace_id_idx"],
          ["select * from metrics where timestamp < 5 limit 10", "metrics_timestamp_idx"],
        ]
      ) {
        assert.match(await plan(sql!), new RegExp(`\\b${index}\\b`), sql);
      }
    });
  },
});

Deno.test({
  name:
    "PostgresqlBackend: compiled = and in on names, error type and event type use their partial indexes",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("textplans");
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      const name = (n: string): FieldRef => ({ kind: "column", name: n });
      const where = (field: string, values: string[]): Condition =>
        values.length === 1
          ? { type: "compare", field: name(field), operator: "=", value: values[0]! }
          : { type: "in", field: name(field), negated: false, values };
      const cases: [Entity, string, string[], string][] = [
        ["traces", "name", ["x"], "traces_name_idx"],
        ["spans", "name", ["x"], "spans_name_idx"],
        ["spans", "name", ["x", "y"], "spans_name_idx"],
        ["spans", "error_type", ["TypeError"], "spans_error_type_idx"],
        ["events", "name", ["x"], "events_name_idx"],
        ["events", "event_type", ["custom", "my.type"], "events_event_type_idx"],
        ["metrics", "name", ["x"], "metrics_name_idx"],
      ];
      await admin.begin(async (tx) => {
        await tx.unsafe(`set local search_path to ${schema}`);
        await tx.unsafe("set local enable_seqscan = off");
        for (const [entity, field, values, index] of cases) {
          const compiled = compileSql({
            type: "aggregate",
            entity,
            where: where(field, values),
            aggregates: [{ fn: "count", field: null, alias: "n" }],
            groupBy: [],
            having: null,
            orderBy: [],
            limit: 1,
            offset: 0,
          }, postgresqlDialect);
          const rows = await tx.unsafe<{ "QUERY PLAN": string }[]>(
            `explain ${compiled.text}`,
            compiled.params as string[],
          );
          const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
          assert.match(plan, new RegExp(`\\b${index}\\b`), `${entity}.${field}: ${plan}`);
        }
      });
      // A value the partial index cannot hold gets no such condition (it would be false).
      const long = compileSql({
        type: "select",
        entity: "spans",
        where: where("name", ["é".repeat(1001)]),
        orderBy: [],
        limit: 1,
        offset: 0,
      }, postgresqlDialect);
      assert.doesNotMatch(long.text, /octet_length/);
      const short = compileSql({
        type: "select",
        entity: "spans",
        where: where("name", ["é".repeat(1000)]),
        orderBy: [],
        limit: 1,
        offset: 0,
      }, postgresqlDialect);
      assert.match(short.text, /octet_length\(t\.name\) <= 2000/);
    });
  },
});

Deno.test({
  name: "PostgresqlBackend: writes that overlap are applied in call order (the last version wins)",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("order");
    await withAdmin(schema, async () => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      assert.equal(backend.writePipelineDepth, 2);
      // Each trace's start rides in a heavy batch, its end in a light one
      // right behind it: on a pool of connections the end could land first.
      const writes: Promise<void>[] = [];
      for (let t = 0; t < 20; t++) {
        const traceId = `trace-${t}`;
        const spans = Array.from(
          { length: 300 },
          (_, i) => span({ spanId: `s-${t}-${i}`, traceId }),
        );
        writes.push(backend.write(batch({
          traces: [
            trace({ traceId, endTime: null, status: "running" as "ok", attributes: { v: 1 } }),
          ],
          spans,
        })));
        writes.push(backend.write(batch({ traces: [trace({ traceId, attributes: { v: 2 } })] })));
      }
      await Promise.all(writes);
      const rows = await backend.query({
        type: "select",
        entity: "traces",
        where: null,
        orderBy: [],
        limit: 100,
        offset: 0,
      });
      assert.equal(rows.length, 20);
      for (const row of rows) {
        assert.deepEqual([row.endTime, row.attributes], [2, { v: 2 }], String(row.traceId));
      }
    });
  },
});

Deno.test({
  name:
    "PostgresqlBackend: a replayed batch is upserted — at once when alone, after the writes behind it otherwise",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("replay");
    await withAdmin(schema, async (admin) => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const a = batch({
        traces: [trace({ traceId: "t", endTime: null, attributes: { v: 1 } })],
        spans: [span({ spanId: "s1", traceId: "t", attributes: { v: 1 } })],
      });
      const b = batch({
        traces: [trace({ traceId: "t", attributes: { v: 2 } })],
        spans: [span({ spanId: "s2", traceId: "t" })],
      });
      await backend.write(a);
      // Alone: the plain insert of s1 fails and is repeated as an upsert.
      await backend.write(batch({ spans: [span({ spanId: "s1", attributes: { v: 2 } })] }));
      // With b sent behind it, repeating a at once would put the trace back to v1.
      const [again, next] = await Promise.allSettled([backend.write(a), backend.write(b)]);
      assert.equal(next.status, "fulfilled");
      assert.equal(again.status, "rejected");
      assert.equal((again.reason as BackendError).code, "WRITE_FAILED");
      assert.match((again.reason as BackendError).message, /already stored \(a replay\)/);
      // What the flusher does next: a, then b again, in order.
      await backend.write(a);
      await backend.write(b);
      const [t] = await admin.unsafe(`select end_time, attributes from ${schema}.traces`);
      assert.deepEqual({ ...t }, { end_time: 2, attributes: { v: 2 } });
      const spans = await admin.unsafe(
        `select span_id, attributes from ${schema}.spans order by span_id`,
      );
      assert.deepEqual(spans.map((r) => [r.span_id, r.attributes]), [["s1", { v: 1 }], ["s2", {}]]);
    });
  },
});

Deno.test({
  name: "PostgresqlBackend.write() round-trips quotes, backslashes, braces and control characters",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("chars");
    await withAdmin(schema, async () => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      const nasty = 'a"b\\c{d},e NULL\x1ef\x1fg\th\ni';
      const names = [nasty, "NULL", "", " ", "\x1f", "\x1e", '"', "\\"];
      await backend.write(batch({
        spans: names.map((name, i) =>
          span({
            spanId: `s${i}`,
            name,
            parentSpanId: i % 2 === 0 ? null : name,
            attributes: { [name]: name, list: [name, null, 1.5], nested: { [nasty]: { x: name } } },
          })
        ),
      }));
      const rows = await backend.query({
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [{ field: { kind: "column", name: "span_id" }, direction: "asc" }],
        limit: 100,
        offset: 0,
      });
      assert.deepEqual(
        rows.map((r) => [r.name, r.parentSpanId, r.attributes]),
        names.map((name, i) => [
          name,
          i % 2 === 0 ? null : name,
          { [name]: name, list: [name, null, 1.5], nested: { [nasty]: { x: name } } },
        ]),
      );
    });
  },
});

Deno.test({
  name:
    "PostgresqlBackend.write() stores U+0000 and lone surrogates as U+FFFD instead of failing forever",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("nul");
    await withAdmin(schema, async () => {
      await using backend = await PostgresqlBackend.open({ url: pgUrl(), schema });
      await backend.write(batch({
        spans: [span({
          spanId: "s\0",
          name: "a\0b",
          attributes: { "k\0": "v\0", lone: "x\ud800", nested: ["\0"] },
        })],
      }));
      const [row] = await backend.query({
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [],
        limit: 10,
        offset: 0,
      });
      assert.equal(row?.spanId, "s\uFFFD");
      assert.equal(row?.name, "a\uFFFDb");
      assert.deepEqual(row?.attributes, {
        "k\uFFFD": "v\uFFFD",
        lone: "x\uFFFD",
        nested: ["\uFFFD"],
      });
    });
  },
});

Deno.test({
  name: "openBackend() opens PostgreSQL from TelemetryConfig.createPostgresql() settings",
  ignore: PG_IGNORE,
  async fn() {
    const url = new URL(pgUrl());
    const schema = freshSchema("config");
    await withAdmin(schema, async () => {
      const config = TelemetryConfig.createPostgresql({
        host: url.hostname,
        port: Number(url.port || 5432),
        database: url.pathname.slice(1),
        user: decodeURIComponent(url.username),
        backendConfig: { schema },
      });
      const backend = await openBackend(config);
      assert.equal(backend.name, "postgresql");
      await backend.write(batch({ traces: [trace({ traceId: "t-1" })] }));
      await backend.close();
    });
  },
});

Deno.test("PostgresqlBackend.open() rejects bad settings before connecting", async () => {
  for (
    const [options, message] of [
      [{ schema: "Robert'); drop table x;--" }, /schema must be lowercase letters/],
      [{ port: 0 }, /port must be a whole number >= 1/],
      [{ hots: "db" }, /unknown option 'hots' — did you mean 'host'\?/],
      [{ url: 5 }, /url must be a string/],
    ] as const
  ) {
    await assert.rejects(
      PostgresqlBackend.open(options as Record<string, unknown>),
      (e: BackendError) => e.code === "BAD_CONFIG" && message.test(e.message),
    );
  }
});

Deno.test({
  name: "PostgresqlBackend.open() works for a role that may read and write but not create",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("rw");
    const role = `${schema}_writer`;
    await withAdmin(schema, async (admin) => {
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      await admin.unsafe(`create role ${role} login`);
      try {
        await admin.unsafe(`grant usage on schema ${schema} to ${role}`);
        await admin.unsafe(
          `grant select, insert, update, delete on all tables in schema ${schema} to ${role}`,
        );
        const url = new URL(pgUrl());
        url.username = role;
        url.password = "";
        await using backend = await PostgresqlBackend.open({ url: url.href, schema });
        await backend.write(batch({ spans: [span({ spanId: "s-1" })] }));
        const rows = await backend.query({
          type: "select",
          entity: "spans",
          where: null,
          orderBy: [],
          limit: 10,
          offset: 0,
        });
        assert.deepEqual(rows.map((r) => r.spanId), ["s-1"]);
        assert.equal(await backend.applyRetention(Number.MAX_SAFE_INTEGER), 1);
      } finally {
        await admin.unsafe(`drop owned by ${role} cascade`);
        await admin.unsafe(`drop role ${role}`);
      }
    });
  },
});
