/**
 * The query CLI run as a subprocess on a small SQLite file: output formats,
 * exit codes, --explain and the waterfall.
 */
import assert from "node:assert/strict";
import { openBackend } from "../../src/backends/open_backend.ts";
import { parseQuery } from "../../query/parse_query.ts";
import { DatabaseSync } from "node:sqlite";
import { agentBatch, TRACE_IDS } from "../_agent_telemetry.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

const CLI = new URL("../../src/cli/query_cli.ts", import.meta.url).pathname;
const dir = await Deno.makeTempDir();
const DB = `${dir}/telemetry.db`;
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
{
  const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: DB } });
  await backend.write(agentBatch());
  await backend.close();
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(...args: string[]): Promise<Result> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

Deno.test("cli prints an aligned table with a row count", async () => {
  const { code, stdout, stderr } = await cli(
    "--db",
    DB,
    "spans where kind=llm_call order by attr.llm.tokens desc limit 2",
  );
  assert.equal(stderr, "");
  assert.equal(code, 0);
  assert.equal(
    stdout,
    [
      "             start_time  span_id           trace_id                          name      kind      status  duration  attributes",
      '2025-11-25 10:01:00.460  aaaaaaaaaaaaaa15  0af7651916cd43dd8448eb211c80319c  llm.chat  llm_call  ok         2.19s  {"model":"gpt-4o","llm.tokens":1160,"streaming":false}',
      '2025-11-25 10:00:00.460  aaaaaaaaaaaaaa05  4bf92f3577b34da6a3ce929d0e0e4736  llm.chat  llm_call  ok         2.09s  {"model":"claude-3","llm.tokens":850,"streaming":true}',
      "(2 rows)",
      "",
    ].join("\n"),
  );
});

Deno.test("cli prints aggregates with their aliases as headers", async () => {
  const { code, stdout } = await cli(
    "--db",
    DB,
    "spans where kind=node_execution | count(), max(duration) by attr.node.id order by count() desc, attr.node.id",
  );
  assert.equal(code, 0);
  assert.equal(
    stdout,
    [
      "attr.node.id  count()  max(duration)",
      "fetch               3          500ms",
      "summarise           3          2.25s",
      "save                2          450ms",
      "(3 rows)",
      "",
    ].join("\n"),
  );
});

Deno.test("cli shows a bucket of a time column as a time, of duration as a duration", async () => {
  const { code, stdout } = await cli(
    "--db",
    DB,
    "spans where kind=llm_call | count(), max(duration) by bucket(start_time, 1m)",
  );
  assert.equal(code, 0);
  assert.equal(
    stdout,
    [
      " bucket(start_time, 1m)  count()  max(duration)",
      "2025-11-25 10:00:00.000        1          2.09s",
      "2025-11-25 10:01:00.000        1          2.19s",
      "2025-11-25 10:02:00.000        1          1.92s",
      "(3 rows)",
      "",
    ].join("\n"),
  );
  const histogram = await cli("--db", DB, "spans | count() by bucket(duration, 500ms) limit 2");
  assert.equal(
    histogram.stdout,
    [
      "bucket(duration, 500ms)  count()",
      "                     0s        7",
      "                  500ms        1",
      "(2 rows)",
      "",
    ]
      .join("\n"),
  );
  // CSV keeps the raw numbers.
  const csv = await cli(
    "--db",
    DB,
    "--format",
    "csv",
    "spans where kind=llm_call | count() by bucket(start_time, 1m) limit 1",
  );
  assert.equal(csv.stdout, '"bucket(start_time, 1m)",count()\r\n1764064800,1\r\n');
});

Deno.test("cli --format json prints the records", async () => {
  const { code, stdout } = await cli("--db", DB, "--format", "json", "traces order by start_time");
  assert.equal(code, 0);
  const rows = JSON.parse(stdout);
  assert.deepEqual(rows.map((r: { traceId: string }) => r.traceId), TRACE_IDS);
  assert.deepEqual(rows[0].resource, { "service.name": "api", "host.name": "box-1" });
});

Deno.test("cli --format csv quotes per RFC 4180", async () => {
  const { code, stdout } = await cli(
    "--db",
    DB,
    "--format",
    "csv",
    "metrics where name = 'tokens_used' order by timestamp",
  );
  assert.equal(code, 0);
  assert.equal(
    stdout,
    "timestamp,name,value,unit,kind,attributes\r\n" +
      '1764064802.55,tokens_used,850,tokens,counter,"{""model"":""claude-3""}"\r\n' +
      '1764064862.65,tokens_used,1160,tokens,counter,"{""model"":""gpt-4o""}"\r\n' +
      '1764064922.38,tokens_used,0,tokens,counter,"{""model"":""gpt-4o""}"\r\n',
  );
});

Deno.test("cli exits 2 with the caret excerpt on a bad query", async () => {
  const { code, stdout, stderr } = await cli("--db", DB, "spans where stauts = error");
  assert.equal(code, 2);
  assert.equal(stdout, "");
  assert.equal(
    stderr,
    "Cannot parse query: unknown field 'stauts' — did you mean 'status'? (line 1, column 13)\n" +
      "  spans where stauts = error\n" +
      "              ^^^^^^\n",
  );
});

Deno.test("cli exits 2 on bad arguments and on a missing database, creating no file", async () => {
  const usage = await cli("--db", DB, "--format", "xml", "spans");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Cannot format results as 'xml'/);
  const missing = await cli("--db", `${dir}/nope.db`, "spans");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /Cannot open .*nope\.db: no such file/);
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    await assert.rejects(Deno.stat(`${dir}/nope.db${suffix}`), Deno.errors.NotFound);
  }
});

// (An argument cannot hold 10 MB: Linux limits one to 128 KiB; the fuzz test parses 10 MB.)
Deno.test("cli exits 2, not 1, on a query nested 10,000 deep or beyond the length limit", async () => {
  const deep = await cli("--db", DB, `spans where ${"(".repeat(10_000)}`);
  assert.equal(deep.code, 2);
  assert.match(
    deep.stderr,
    /^Cannot parse query: the query nests more than 64 levels .*MAX_QUERY_DEPTH/,
  );
  const long = await cli("--db", DB, `spans where name = "${"x".repeat(120_000)}"`);
  assert.equal(long.code, 2);
  assert.match(
    long.stderr,
    /^Cannot parse query: the query is 120021 characters long; the limit is 100000/,
  );
  assert.ok(long.stderr.length < 1000, `${long.stderr.length} characters on stderr`);
});

/** The bytes of a file and of its -wal, -shm and -journal companions (null when absent). */
async function snapshot(path: string): Promise<(Uint8Array | null)[]> {
  return await Promise.all(
    ["", "-wal", "-shm", "-journal"].map((suffix) =>
      Deno.readFile(path + suffix).catch((e) => {
        if (e instanceof Deno.errors.NotFound) return null;
        throw e;
      })
    ),
  );
}

Deno.test("cli refuses a foreign SQLite file with exit 2 and leaves it byte-identical", async () => {
  const foreign = `${dir}/foreign.db`;
  const db = new DatabaseSync(foreign);
  db.exec("create table customers (id integer primary key, name text)");
  db.exec("insert into customers (name) values ('ada'), ('grace')");
  db.close();
  const before = await snapshot(foreign);
  assert.deepEqual(before.slice(1), [null, null, null]);
  for (const query of ["spans", "traces | count()", "spans where stauts = error"]) {
    const { code, stdout, stderr } = await cli("--db", foreign, query);
    if (query.includes("stauts")) {
      // A bad query is reported before the database is opened.
      assert.equal(code, 2);
      assert.match(stderr, /unknown field 'stauts'/);
      continue;
    }
    assert.equal(stdout, "");
    assert.equal(
      stderr,
      `Cannot open ${foreign}: not a @spark/telemetry store (no spark_schema_version table)\n`,
    );
    assert.equal(code, 2);
  }
  assert.deepEqual(await snapshot(foreign), before);
});

Deno.test("cli refuses a SQLite store of another schema version, writing nothing", async () => {
  const copy = `${dir}/old_version.db`;
  {
    const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: copy } });
    await backend.close();
  }
  const db = new DatabaseSync(copy);
  db.exec("pragma journal_mode = delete");
  db.exec("update spark_schema_version set version = version + 100");
  db.close();
  const before = await snapshot(copy);
  const { code, stderr } = await cli("--db", copy, "spans");
  assert.equal(code, 2);
  assert.match(
    stderr,
    /^Cannot open .*old_version\.db: not a @spark\/telemetry store \(schema version 10\d; this library reads \d+\)\n$/,
  );
  assert.deepEqual(await snapshot(copy), before);
});

Deno.test("cli reads a store without writing to it", async () => {
  const copy = `${dir}/read_only.db`;
  {
    const backend = await openBackend({ backend: "sqlite", backendConfig: { dbPath: copy } });
    await backend.write(agentBatch());
    await backend.close();
  }
  // A store at rest (checkpointed, rollback journal) must stay exactly as it is.
  const db = new DatabaseSync(copy);
  db.exec("pragma journal_mode = delete");
  db.close();
  const before = await snapshot(copy);
  const { code, stdout } = await cli("--db", copy, "--format", "json", "spans | count()");
  assert.equal(code, 0);
  assert.deepEqual(JSON.parse(stdout), [{ "count()": agentBatch().spans.length }]);
  assert.deepEqual(await snapshot(copy), before);
});

Deno.test({
  name: "cli refuses an empty PostgreSQL schema with exit 2 and creates nothing",
  ignore: PG_IGNORE,
  fn: async () => {
    const schema = freshSchema("cli_empty");
    await withAdmin(schema, async (admin) => {
      const tablesIn = async (name: string) =>
        (await admin`select count(*)::int as n from pg_class c join pg_namespace n
          on n.oid = c.relnamespace where n.nspname = ${name}`)[0]!.n as number;
      // A schema that does not exist, then one that exists but is empty.
      for (const create of [false, true]) {
        if (create) await admin.unsafe(`create schema ${schema}`);
        const { code, stdout, stderr } = await cli("--url", pgUrl(), "--schema", schema, "spans");
        assert.equal(stdout, "");
        assert.match(
          stderr,
          new RegExp(
            `^Cannot open schema '${schema}' at .*: not a @spark/telemetry store \\(no telemetry_schema_version table\\)\n$`,
          ),
        );
        assert.equal(code, 2);
        const [exists] =
          await admin`select count(*)::int as n from pg_namespace where nspname = ${schema}`;
        assert.equal(exists!.n, create ? 1 : 0);
        assert.equal(await tablesIn(schema), 0);
      }
    });
  },
});

Deno.test("cli --explain prints parameterised SQL without running it", async () => {
  const { code, stdout } = await cli(
    "--explain",
    'spans where attr."node.id" = "fe\'tch" limit 7',
  );
  assert.equal(code, 0);
  const [sql, ...params] = stdout.trimEnd().split("\n");
  // Values are bound; the limit, a validated whole number, is written into the text.
  assert.match(sql!, /^select .* from spans .*limit 7$/);
  assert.doesNotMatch(sql!, /fe'tch|node\.id/);
  assert.ok(params.includes('-- ?2 = "fe\'tch"'), params.join("\n"));
  assert.ok(!params.some((p) => p.endsWith("= 7")), params.join("\n"));
});

const WATERFALL = [
  "span                 kind            status  duration  2.40s from 2025-11-25T10:02:00.000Z",
  "research_graph       graph_run       error      2.40s  |████████████████████████████████████████|",
  "├─ FetchNode.do      node_execution  ok         500ms  |█████████                               |",
  "│  └─ http.get       tool_call       ok         460ms  |████████                                |",
  "└─ SummariseNode.do  node_execution  error      1.94s  |       █████████████████████████████████|",
  "   └─ llm.chat       llm_call        error      1.92s  |       █████████████████████████████████|",
  "",
].join("\n");

Deno.test("cli --tree draws the trace as a waterfall", async () => {
  const { code, stdout } = await cli("--db", DB, "--tree", TRACE_IDS[2]!);
  assert.equal(code, 0);
  assert.equal(stdout, WATERFALL);
});

Deno.test("cli draws the same waterfall for the 'trace <id>' query form", async () => {
  const { code, stdout } = await cli("--db", DB, `trace ${TRACE_IDS[2]}`);
  assert.equal(code, 0);
  assert.equal(stdout, WATERFALL);
});

Deno.test("cli --tree of an unknown trace exits 1", async () => {
  const { code, stderr } = await cli("--db", DB, "--tree", "f".repeat(32));
  assert.equal(code, 1);
  assert.match(stderr, /Cannot draw trace f{32}: it has no spans/);
});

Deno.test({
  name: "cli reads a PostgreSQL store read-only; a read-only backend refuses writes",
  ignore: PG_IGNORE,
  fn: async () => {
    const schema = freshSchema("cli_ro");
    await withAdmin(schema, async () => {
      const writer = await openBackend({
        backend: "postgresql",
        backendConfig: { url: pgUrl(), schema },
      });
      await writer.write(agentBatch());
      await writer.close();
      const { code, stdout } = await cli(
        "--url",
        pgUrl(),
        "--schema",
        schema,
        "--format",
        "json",
        "spans | count()",
      );
      assert.equal(code, 0);
      assert.deepEqual(JSON.parse(stdout), [{ "count()": agentBatch().spans.length }]);
      const reader = await openBackend({
        backend: "postgresql",
        backendConfig: { url: pgUrl(), schema, readOnly: true },
      });
      try {
        await assert.rejects(reader.write(agentBatch()), { code: "WRITE_FAILED" });
        await assert.rejects(reader.applyRetention(1e12), { code: "WRITE_FAILED" });
        assert.equal(
          (await reader.query(parseQuery("spans | count()")))[0]!["count()"],
          agentBatch().spans.length,
        );
      } finally {
        await reader.close();
      }
    });
  },
});
