/**
 * Injection corpus: SQL and JSON-path metacharacters in attribute keys, in
 * values and around the query text. Each query must return exactly the
 * expected records or raise a clear QuerySyntaxError; never a database error,
 * and the tables must be intact afterwards. Runs on every query backend.
 */
import assert from "node:assert/strict";
import { parseQuery, QuerySyntaxError, type SpanRecord } from "../../mod.ts";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";
import { stringLiteral } from "../_random_telemetry.ts";

/** Strings that break naive SQL or JSON-path building. */
const NASTY = [
  "'",
  '"',
  "''",
  "--",
  "-- comment",
  ";",
  "; DROP TABLE spans; --",
  "' OR '1'='1",
  '" OR "1"="1',
  "$",
  "$1",
  "?",
  "?1",
  ":name",
  "@x",
  "$.a",
  "$.a.b",
  "a.b",
  "a[0]",
  "[0]",
  "$[0]",
  '"]',
  '$."a"',
  "\\",
  '\\"',
  "*",
  "**",
  "%",
  "_",
  "a\nb",
  "é",
  "🙂",
  "",
  " ",
  "NULL",
  "null",
  "true",
  "1",
  "1e3",
  "attr.x",
];

const T0 = 1_700_000_000;

/** One span per nasty string, keyed and valued by it. */
function corpus(): SpanRecord[] {
  return NASTY.map((s, i) => ({
    spanId: i.toString(16).padStart(16, "0"),
    traceId: "f".repeat(32),
    parentSpanId: null,
    name: s,
    kind: "internal",
    startTime: T0 + i,
    endTime: T0 + i + 0.5,
    status: "ok",
    attributes: { [s]: i, value: s, [`k${i}`]: s },
    error: null,
    droppedEvents: 0,
  }));
}

function idsOf(rows: Record<string, unknown>[]): string[] {
  return rows.map((r) => r.spanId as string).sort();
}

function id(i: number): string {
  return i.toString(16).padStart(16, "0");
}

/** Escapes a string so that a regular expression matches it literally. */
function regexEscape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

for (const b of QUERY_BACKENDS) {
  Deno.test({
    name: `${b.name}: metacharacters in keys and values are data, never SQL or JSON path`,
    sanitizeResources: false,
    fn: async () => {
      const backend = await openEmpty(b);
      try {
        const spans = corpus();
        await backend.write({ traces: [], spans, events: [], metrics: [] });
        const run = async (text: string) => idsOf(await backend.query(parseQuery(text)));
        for (const [i, s] of NASTY.entries()) {
          const literal = stringLiteral(s);
          const what = `${b.name}: ${JSON.stringify(s)}`;
          // As a key: the attribute holds i only on span i.
          assert.deepEqual(await run(`spans where attr.${literal} = ${i}`), [id(i)], what);
          assert.deepEqual(await run(`spans where attr.${literal} exists`), [id(i)], what);
          assert.deepEqual(
            await run(`spans where attributes.${literal} in (${i}, -1)`),
            [id(i)],
            what,
          );
          // As a value, in a column and in an attribute.
          assert.deepEqual(await run(`spans where name = ${literal}`), [id(i)], what);
          assert.deepEqual(await run(`spans where attr.value = ${literal}`), [id(i)], what);
          assert.deepEqual(await run(`spans where attr.k${i} in (${literal})`), [id(i)], what);
          assert.deepEqual(
            await run(`spans where name =~ ${stringLiteral(`^${regexEscape(s)}$`)}`),
            [id(i)],
            what,
          );
          const containing = NASTY.flatMap((t, j) => (t.includes(s) ? [id(j)] : [])).sort();
          assert.deepEqual(await run(`spans where name contains ${literal}`), containing, what);
        }
        // Grouping by a nasty key returns it under its alias, and the group key is the value.
        for (const [i, s] of NASTY.entries()) {
          const rows = await backend.query(
            parseQuery(
              `spans where attr.${stringLiteral(s)} exists | count() by attr.${stringLiteral(s)}`,
            ),
          );
          assert.deepEqual(rows, [{ [`attr.${s}`]: i, "count()": 1 }], `${b.name}: group by ${s}`);
        }
        // Nothing was dropped or altered along the way.
        assert.equal((await backend.query(parseQuery("spans limit 1000"))).length, NASTY.length);
        const names = (await backend.query(parseQuery("spans order by start_time limit 1000")))
          .map((r) => r.name);
        assert.deepEqual(names, NASTY);
      } finally {
        await backend.close();
      }
    },
  });
}

/** Queries that smuggle SQL around the DSL: each must be a QuerySyntaxError. */
const SMUGGLED: [string, string][] = [
  ["spans where name = 'x'; drop table spans", "UNEXPECTED_CHARACTER"],
  ["spans where name = 'x' -- comment", "UNEXPECTED_TOKEN"],
  ["spans where name = 'x' or 1=1", "UNEXPECTED_TOKEN"],
  ["spans where name = x' or '1'='1", "UNEXPECTED_TOKEN"],
  ["spans; select * from spans", "UNEXPECTED_CHARACTER"],
  ["spans limit 1; delete from spans", "UNEXPECTED_CHARACTER"],
  ["spans limit $1", "UNEXPECTED_CHARACTER"],
  ["spans where name = ?", "UNEXPECTED_CHARACTER"],
  ["spans order by name; --", "UNEXPECTED_CHARACTER"],
  ["spans order by (select 1)", "UNEXPECTED_TOKEN"],
  ["spans where attr.$x = 1", "UNEXPECTED_CHARACTER"],
  ["spans where attr.x[0] = 1", "UNEXPECTED_CHARACTER"],
  ["spans where attr.* = 1", "UNEXPECTED_CHARACTER"],
  ["spans where json_extract(attributes, '$') = 1", "UNEXPECTED_TOKEN"],
  ["spans | count(*)", "UNEXPECTED_CHARACTER"],
  ["spans | count() by 1", "UNEXPECTED_TOKEN"],
  ["spans where name =~ '(?<=x)'", "BAD_REGEX"],
  ['spans where name = "a\\"', "UNTERMINATED_STRING"],
  ["spans where kind = node_execution' --", "UNTERMINATED_STRING"],
  ["spans where status = error) or (1 = 1", "UNEXPECTED_TOKEN"],
  // NUL cannot be stored faithfully by every backend (SQLite JSON paths are C strings).
  ['spans where attr."a\u0000b" exists', "UNEXPECTED_CHARACTER"],
  ['spans where name = "\\u0000"', "UNEXPECTED_CHARACTER"],
];

Deno.test("parseQuery() rejects SQL smuggled around the DSL with a QuerySyntaxError", () => {
  for (const [text, code] of SMUGGLED) {
    assert.throws(
      () => parseQuery(text),
      (e: unknown) => e instanceof QuerySyntaxError && e.code === code,
      text,
    );
  }
});

for (const b of QUERY_BACKENDS) {
  Deno.test({
    name: `${b.name}: extreme limits and offsets are clamped, bound and harmless`,
    sanitizeResources: false,
    fn: async () => {
      const backend = await openEmpty(b);
      try {
        await backend.write({ traces: [], spans: corpus(), events: [], metrics: [] });
        const count = async (text: string) => (await backend.query(parseQuery(text))).length;
        assert.equal(await count("spans limit 99999999999"), NASTY.length);
        assert.equal(await count("spans offset 9007199254740991"), 0);
        assert.equal(await count("spans limit 0"), 0);
        assert.equal(await count("spans | count() by name offset 40"), NASTY.length - 40);
      } finally {
        await backend.close();
      }
    },
  });
}
