/**
 * The query CLI run as a subprocess on a small SQLite file: output formats,
 * exit codes, --explain and the waterfall.
 */
import assert from "node:assert/strict";
import { openBackend } from "../src/backends/open_backend.ts";
import { agentBatch, TRACE_IDS } from "./_agent_telemetry.ts";

const CLI = new URL("../query/cli.ts", import.meta.url).pathname;
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

Deno.test("cli exits 2 on bad arguments and 1 on a missing database", async () => {
  const usage = await cli("--db", DB, "--format", "xml", "spans");
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /Cannot format results as 'xml'/);
  const missing = await cli("--db", `${dir}/nope.db`, "spans");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot open .*nope\.db: no such file/);
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
