import assert from "node:assert/strict";
import {
  type Condition,
  MAX_LIMIT,
  parseQuery,
  type QueryErrorCode,
  type QueryPlan,
  QuerySyntaxError,
} from "../../mod.ts";

const NOW = 1_000_000;

function plan(text: string): QueryPlan {
  return parseQuery(text, { now: NOW });
}

function where(text: string): Condition | null {
  return plan(text).where;
}

const col = (name: string) => ({ kind: "column", name }) as const;
const attr = (key: string) => ({ kind: "attribute", key }) as const;

/** Asserts the query fails with `code`, and with exactly `message` when given. */
function fails(text: string, code: QueryErrorCode, message?: string): QuerySyntaxError {
  try {
    plan(text);
  } catch (e) {
    assert.ok(e instanceof QuerySyntaxError, `not a QuerySyntaxError: ${e}`);
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.code, code, e.message);
    if (message !== undefined) assert.equal(e.message, message);
    return e;
  }
  assert.fail(`parsed: ${text}`);
}

Deno.test("parseQuery() builds a select with the default limit, no order and no filter", () => {
  for (const entity of ["traces", "spans", "events", "metrics"] as const) {
    assert.deepEqual(plan(entity), {
      type: "select",
      entity,
      where: null,
      orderBy: [],
      limit: 100,
      offset: 0,
    });
  }
});

Deno.test("parseQuery() reads bare enum words and combines conditions with and", () => {
  assert.deepEqual(plan("spans where kind=node_execution and status=error limit 20"), {
    type: "select",
    entity: "spans",
    where: {
      type: "and",
      conditions: [
        { type: "compare", field: col("kind"), operator: "=", value: "node_execution" },
        { type: "compare", field: col("status"), operator: "=", value: "error" },
      ],
    },
    orderBy: [],
    limit: 20,
    offset: 0,
  });
});

Deno.test("parseQuery() gives not > and > or precedence, and parentheses override it", () => {
  const a = { type: "compare", field: col("status"), operator: "=", value: "ok" } as const;
  const b = { type: "compare", field: col("kind"), operator: "=", value: "tool_call" } as const;
  const c = { type: "compare", field: col("name"), operator: "=", value: "x" } as const;
  assert.deepEqual(where('spans where status=ok or kind=tool_call and name="x"'), {
    type: "or",
    conditions: [a, { type: "and", conditions: [b, c] }],
  });
  assert.deepEqual(where('spans where (status=ok or kind=tool_call) and name="x"'), {
    type: "and",
    conditions: [{ type: "or", conditions: [a, b] }, c],
  });
  assert.deepEqual(where('spans where not status=ok and name="x"'), {
    type: "and",
    conditions: [{ type: "not", condition: a }, c],
  });
  assert.deepEqual(where("spans where not (status=ok or kind=tool_call)"), {
    type: "not",
    condition: { type: "or", conditions: [a, b] },
  });
});

Deno.test("parseQuery() reads every comparison operator", () => {
  for (const op of ["=", "!=", "<", "<=", ">", ">="] as const) {
    assert.deepEqual(where(`spans where duration ${op} 2`), {
      type: "compare",
      field: col("duration"),
      operator: op,
      value: 2,
    });
  }
  assert.deepEqual(where("spans where duration == 2"), {
    type: "compare",
    field: col("duration"),
    operator: "=",
    value: 2,
  });
});

Deno.test("parseQuery() reads regex, in, not in, exists, not exists and contains", () => {
  assert.deepEqual(where('spans where name =~ "^Fetch.*"'), {
    type: "regex",
    field: col("name"),
    negated: false,
    pattern: "^Fetch.*",
  });
  assert.deepEqual(where("spans where name !~ '\\d+\\.x'"), {
    type: "regex",
    field: col("name"),
    negated: true,
    pattern: "\\d+\\.x",
  });
  assert.deepEqual(where("spans where status in (ok, 'error')"), {
    type: "in",
    field: col("status"),
    negated: false,
    values: ["ok", "error"],
  });
  assert.deepEqual(where('spans where attr.x not in (1, "a", true, -2.5)'), {
    type: "in",
    field: attr("x"),
    negated: true,
    values: [1, "a", true, -2.5],
  });
  assert.deepEqual(where("spans where attr.model exists"), {
    type: "exists",
    field: attr("model"),
    negated: false,
  });
  assert.deepEqual(where("spans where end_time not exists"), {
    type: "exists",
    field: col("end_time"),
    negated: true,
  });
  assert.deepEqual(where('spans where name contains "Node"'), {
    type: "contains",
    field: col("name"),
    value: "Node",
  });
});

Deno.test("parseQuery() reads attribute and resource fields, dotted and quoted", () => {
  assert.deepEqual(where("spans where attr.node.id = 'a'"), {
    type: "compare",
    field: attr("node.id"),
    operator: "=",
    value: "a",
  });
  assert.deepEqual(where("spans where attributes.node.id = 'a'"), {
    type: "compare",
    field: attr("node.id"),
    operator: "=",
    value: "a",
  });
  assert.deepEqual(where('spans where attr."http.route" = "/a"'), {
    type: "compare",
    field: attr("http.route"),
    operator: "=",
    value: "/a",
  });
  assert.deepEqual(where('spans where attr."key with spaces" exists'), {
    type: "exists",
    field: attr("key with spaces"),
    negated: false,
  });
  assert.deepEqual(where("traces where resource.service.name = 'api'"), {
    type: "compare",
    field: { kind: "resource", key: "service.name" },
    operator: "=",
    value: "api",
  });
  // Keywords inside a dotted name are part of the key.
  assert.deepEqual(where("spans where attr.order.by exists"), {
    type: "exists",
    field: attr("order.by"),
    negated: false,
  });
});

Deno.test("parseQuery() accepts type as an alias of event_type, with dotted bare values", () => {
  const expected = {
    type: "compare",
    field: col("event_type"),
    operator: "=",
    value: "node.failed",
  };
  assert.deepEqual(where("events where type=node.failed"), expected);
  assert.deepEqual(where("events where event_type = node.failed"), expected);
  // Event types are open: any quoted string is accepted.
  assert.deepEqual(where('events where type = "my.custom"'), { ...expected, value: "my.custom" });
});

Deno.test("parseQuery() decodes strings: both quotes, escapes, and unknown escapes kept", () => {
  const value = (text: string) => {
    const w = where(text);
    return w?.type === "compare" ? w.value : undefined;
  };
  assert.equal(value(`spans where attr.x = "a\\"b"`), 'a"b');
  assert.equal(value(`spans where attr.x = 'it\\'s'`), "it's");
  assert.equal(value(`spans where attr.x = "tab\\tnl\\nback\\\\"`), "tab\tnl\nback\\");
  assert.equal(value(`spans where attr.x = "\\u00e9"`), "é");
  assert.equal(value(`spans where attr.x = "\\d"`), "\\d");
  assert.equal(value(`spans where attr.x = "it's"`), "it's");
  assert.equal(value(`spans where attr.x = ''`), "");
});

Deno.test("parseQuery() reads numbers, booleans and durations in seconds", () => {
  const value = (literal: string) => {
    const w = where(`spans where attr.x = ${literal}`);
    return w?.type === "compare" ? w.value : undefined;
  };
  assert.equal(value("42"), 42);
  assert.equal(value("-3.5"), -3.5);
  assert.equal(value("1e3"), 1000);
  assert.equal(value("true"), true);
  assert.equal(value("FALSE"), false);
  assert.equal(value("500ms"), 0.5);
  assert.equal(value("1.5s"), 1.5);
  assert.equal(value("2m"), 120);
  assert.equal(value("1h"), 3600);
  assert.equal(value("1d"), 86400);
  assert.equal(value("250us"), 0.00025);
  assert.equal(value("100ns"), 1e-7);
  assert.equal(value("-1s"), -1);
});

Deno.test("parseQuery() resolves now and since against the given time", () => {
  assert.deepEqual(where("spans where start_time > now - 15m"), {
    type: "compare",
    field: col("start_time"),
    operator: ">",
    value: NOW - 900,
  });
  assert.deepEqual(where("spans where end_time < now + 1s"), {
    type: "compare",
    field: col("end_time"),
    operator: "<",
    value: NOW + 1,
  });
  assert.deepEqual(where("spans where since 1h"), {
    type: "compare",
    field: col("start_time"),
    operator: ">=",
    value: NOW - 3600,
  });
  assert.deepEqual(where("events where since 5m"), {
    type: "compare",
    field: col("timestamp"),
    operator: ">=",
    value: NOW - 300,
  });
  // An absolute time or a now-expression is taken as is.
  assert.deepEqual(where("metrics where since 1700000000"), {
    type: "compare",
    field: col("timestamp"),
    operator: ">=",
    value: 1700000000,
  });
  assert.deepEqual(where("traces where since now - 2d"), {
    type: "compare",
    field: col("start_time"),
    operator: ">=",
    value: NOW - 172800,
  });
});

Deno.test("parseQuery() reads has() and not has() on traces", () => {
  assert.deepEqual(
    where("traces where has(spans where status=error) and not has(events where type=node.failed)"),
    {
      type: "and",
      conditions: [
        {
          type: "has",
          negated: false,
          entity: "spans",
          where: { type: "compare", field: col("status"), operator: "=", value: "error" },
        },
        {
          type: "has",
          negated: true,
          entity: "events",
          where: { type: "compare", field: col("event_type"), operator: "=", value: "node.failed" },
        },
      ],
    },
  );
  assert.deepEqual(where("traces where has(metrics)"), {
    type: "has",
    negated: false,
    entity: "metrics",
    where: null,
  });
});

Deno.test("parseQuery() reads order by with several keys, limit and offset", () => {
  assert.deepEqual(plan("spans order by duration desc, name, start_time asc limit 5 offset 10"), {
    type: "select",
    entity: "spans",
    where: null,
    orderBy: [
      { field: col("duration"), direction: "desc" },
      { field: col("name"), direction: "asc" },
      { field: col("start_time"), direction: "asc" },
    ],
    limit: 5,
    offset: 10,
  });
  assert.deepEqual(
    plan('spans order by attr."node.id" desc').type === "select" &&
      plan('spans order by attr."node.id" desc').orderBy,
    [
      { field: attr("node.id"), direction: "desc" },
    ],
  );
});

Deno.test("parseQuery() clamps limits to MAX_LIMIT and accepts limit 0", () => {
  assert.equal(plan("spans limit 100000000").limit, MAX_LIMIT);
  assert.equal(plan("spans limit 0").limit, 0);
});

Deno.test("parseQuery() is case-insensitive for keywords and entities only", () => {
  assert.deepEqual(plan("SPANS WHERE status=ok ORDER BY start_time DESC LIMIT 3"), {
    type: "select",
    entity: "spans",
    where: { type: "compare", field: col("status"), operator: "=", value: "ok" },
    orderBy: [{ field: col("start_time"), direction: "desc" }],
    limit: 3,
    offset: 0,
  });
  fails("spans where STATUS=ok", "UNKNOWN_FIELD");
});

Deno.test("parseQuery() builds an aggregate plan with canonical aliases", () => {
  assert.deepEqual(
    plan(
      'spans where kind=node_execution | count(), avg(duration), p50(duration), p90(duration), p95(duration), p99(duration), min(duration), max(duration), sum(attr.tokens), count(end_time) by attr."node.id", name having count() > 10 order by p95(duration) desc limit 5',
    ),
    {
      type: "aggregate",
      entity: "spans",
      where: { type: "compare", field: col("kind"), operator: "=", value: "node_execution" },
      aggregates: [
        { fn: "count", field: null, alias: "count()" },
        { fn: "avg", field: col("duration"), alias: "avg(duration)" },
        { fn: "p50", field: col("duration"), alias: "p50(duration)" },
        { fn: "p90", field: col("duration"), alias: "p90(duration)" },
        { fn: "p95", field: col("duration"), alias: "p95(duration)" },
        { fn: "p99", field: col("duration"), alias: "p99(duration)" },
        { fn: "min", field: col("duration"), alias: "min(duration)" },
        { fn: "max", field: col("duration"), alias: "max(duration)" },
        { fn: "sum", field: attr("tokens"), alias: "sum(attr.tokens)" },
        { fn: "count", field: col("end_time"), alias: "count(end_time)" },
      ],
      groupBy: [
        { field: attr("node.id"), alias: "attr.node.id" },
        { field: col("name"), alias: "name" },
      ],
      having: { type: "compare", alias: "count()", operator: ">", value: 10 },
      orderBy: [{ alias: "p95(duration)", direction: "desc" }],
      limit: 5,
      offset: 0,
    },
  );
});

Deno.test("parseQuery() aggregates all groups by default and orders by group keys too", () => {
  assert.deepEqual(plan("events | count() by type order by type desc"), {
    type: "aggregate",
    entity: "events",
    where: null,
    aggregates: [{ fn: "count", field: null, alias: "count()" }],
    groupBy: [{ field: col("event_type"), alias: "event_type" }],
    having: null,
    orderBy: [{ alias: "event_type", direction: "desc" }],
    limit: MAX_LIMIT,
    offset: 0,
  });
});

Deno.test("parseQuery() reads having with and, or, not, parentheses and durations", () => {
  const p = plan(
    "spans | count(), avg(duration) by name having not (count() >= 2 and avg(duration) > 1s) or count() = 1",
  );
  assert.equal(p.type, "aggregate");
  assert.deepEqual(p.type === "aggregate" && p.having, {
    type: "or",
    conditions: [
      {
        type: "not",
        condition: {
          type: "and",
          conditions: [
            { type: "compare", alias: "count()", operator: ">=", value: 2 },
            { type: "compare", alias: "avg(duration)", operator: ">", value: 1 },
          ],
        },
      },
      { type: "compare", alias: "count()", operator: "=", value: 1 },
    ],
  });
});

Deno.test("parseQuery() reads trace <id> as that trace's spans, oldest first", () => {
  const expected = (id: string) => ({
    type: "select",
    entity: "spans",
    where: { type: "compare", field: col("trace_id"), operator: "=", value: id },
    orderBy: [{ field: col("start_time"), direction: "asc" }],
    limit: MAX_LIMIT,
    offset: 0,
  });
  assert.deepEqual(
    plan("trace 0af7651916cd43dd8448eb211c80319c"),
    expected("0af7651916cd43dd8448eb211c80319c"),
  );
  assert.deepEqual(plan("trace 'abc'"), expected("abc"));
  assert.deepEqual(plan("trace abcdef"), expected("abcdef"));
});

Deno.test("parseQuery() accepts unquoted hex ids as values of id columns", () => {
  assert.deepEqual(where("spans where trace_id = 0af7651916cd43dd8448eb211c80319c"), {
    type: "compare",
    field: col("trace_id"),
    operator: "=",
    value: "0af7651916cd43dd8448eb211c80319c",
  });
});

Deno.test("parseQuery() spans lines: errors report the line and column of the mistake", () => {
  const e = fails("spans\nwhere status = ok\n  and stauts = error", "UNKNOWN_FIELD");
  assert.equal(e.line, 3);
  assert.equal(e.column, 7);
  assert.equal(e.offset, 30);
  assert.equal(
    e.message,
    "Cannot parse query: unknown field 'stauts' — did you mean 'status'? (line 3, column 7)\n" +
      "    and stauts = error\n" +
      "        ^^^^^^",
  );
});

// ---- errors: one test per kind, with exact messages ----

Deno.test("QuerySyntaxError: unexpected character", () => {
  const e = fails(
    "spans where name @ 1",
    "UNEXPECTED_CHARACTER",
    'Cannot parse query: unexpected character "@" (line 1, column 18)\n' +
      "  spans where name @ 1\n" +
      "                   ^",
  );
  assert.equal(e.offset, 17);
});

Deno.test("QuerySyntaxError: unterminated string", () => {
  fails(
    'spans where name = "abc',
    "UNTERMINATED_STRING",
    'Cannot parse query: unterminated string: no closing " (line 1, column 20)\n' +
      '  spans where name = "abc\n' +
      "                     ^",
  );
});

Deno.test("QuerySyntaxError: malformed number or unknown duration unit", () => {
  fails(
    "spans where duration > 5min",
    "BAD_NUMBER",
    "Cannot parse query: '5min' is not a number or a duration (units: ns us ms s m h d) (line 1, column 24)\n" +
      "  spans where duration > 5min\n" +
      "                         ^^^^",
  );
});

Deno.test("QuerySyntaxError: numbers too large for a double", () => {
  assert.match(fails("spans where attr.x = 1e400", "BAD_NUMBER").reason, /1e400 is too large/);
  fails("spans where duration < 1e999ms", "BAD_NUMBER");
});

Deno.test("QuerySyntaxError: unexpected token lists what was expected and suggests keywords", () => {
  const e = fails(
    "spans where status = error ordr by name",
    "UNEXPECTED_TOKEN",
    "Cannot parse query: unexpected 'ordr'; expected '|', 'and', 'or', 'order', 'limit', 'offset' or end of query — did you mean 'order'? (line 1, column 28)\n" +
      "  spans where status = error ordr by name\n" +
      "                             ^^^^",
  );
  assert.deepEqual(e.expected, [
    "'|'",
    "'and'",
    "'or'",
    "'order'",
    "'limit'",
    "'offset'",
    "end of query",
  ]);
  fails(
    "spans wher status=error",
    "UNEXPECTED_TOKEN",
    "Cannot parse query: unexpected 'wher'; expected '|', 'where', 'order', 'limit', 'offset' or end of query — did you mean 'where'? (line 1, column 7)\n" +
      "  spans wher status=error\n" +
      "        ^^^^",
  );
  fails("spans where status = = ok", "UNEXPECTED_TOKEN");
  fails("spans limit 1 order by name", "UNEXPECTED_TOKEN");
  fails("spans | count() by", "UNEXPECTED_END");
});

Deno.test("QuerySyntaxError: the query ends too early", () => {
  const e = fails(
    "spans where (status = ok",
    "UNEXPECTED_END",
    "Cannot parse query: the query ends too early; expected ')', 'and' or 'or' (line 1, column 25)\n" +
      "  spans where (status = ok\n" +
      "                          ^",
  );
  assert.equal(e.offset, 24);
  fails(
    "",
    "UNEXPECTED_END",
    "Cannot parse query: the query ends too early; expected 'trace' or a name (line 1, column 1)\n  \n  ^",
  );
});

Deno.test("QuerySyntaxError: unknown entity, with did-you-mean even before later mistakes", () => {
  fails(
    "spnas wher status=error",
    "UNKNOWN_ENTITY",
    "Cannot parse query: unknown entity 'spnas' — did you mean 'spans'? (line 1, column 1)\n" +
      "  spnas wher status=error\n" +
      "  ^^^^^",
  );
  fails(
    "logs",
    "UNKNOWN_ENTITY",
    "Cannot parse query: unknown entity 'logs'; queries start with traces, spans, events, metrics or trace (line 1, column 1)\n" +
      "  logs\n" +
      "  ^^^^",
  );
  fails("traces where has(trace)", "UNEXPECTED_TOKEN");
  fails("traces where has(spams)", "UNKNOWN_ENTITY");
});

Deno.test("QuerySyntaxError: unknown field, with did-you-mean or the list of fields", () => {
  fails(
    "spans where stauts=error",
    "UNKNOWN_FIELD",
    "Cannot parse query: unknown field 'stauts' — did you mean 'status'? (line 1, column 13)\n" +
      "  spans where stauts=error\n" +
      "              ^^^^^^",
  );
  fails(
    "metrics where zzz = 1",
    "UNKNOWN_FIELD",
    "Cannot parse query: unknown field 'zzz' on metrics; fields are metric_id, name, value, unit, kind, timestamp, trace_id and attr.<key> (line 1, column 15)\n" +
      "  metrics where zzz = 1\n" +
      "                ^^^",
  );
  fails("spans where atr.node = 1", "UNKNOWN_FIELD", undefined);
  assert.match(
    fails("spans where atr.node = 1", "UNKNOWN_FIELD").reason,
    /did you mean 'attr\.node'\?/,
  );
  assert.match(fails("spans where attr = 1", "UNKNOWN_FIELD").reason, /'attr' needs a key/);
  assert.match(
    fails('spans where name."x" = 1', "UNKNOWN_FIELD").reason,
    /quoted key follows attr\./,
  );
  // `type` is an alias on events only.
  fails("spans where type = 1", "UNKNOWN_FIELD");
  fails("spans order by nmae", "UNKNOWN_FIELD");
});

Deno.test("QuerySyntaxError: unknown function, with did-you-mean", () => {
  fails(
    "spans | avgg(duration)",
    "UNKNOWN_FUNCTION",
    "Cannot parse query: unknown function 'avgg' — did you mean 'avg'? (line 1, column 9)\n" +
      "  spans | avgg(duration)\n" +
      "          ^^^^",
  );
  assert.match(fails("spans | median(duration)", "UNKNOWN_FUNCTION").reason, /functions are count/);
});

Deno.test("QuerySyntaxError: unknown enum value, with did-you-mean", () => {
  fails(
    "spans where status=eror",
    "UNKNOWN_VALUE",
    "Cannot parse query: unknown status 'eror' — did you mean 'error'? (line 1, column 20)\n" +
      "  spans where status=eror\n" +
      "                     ^^^^",
  );
  assert.match(fails("spans where kind = 'tool_cal'", "UNKNOWN_VALUE").reason, /'tool_call'/);
  assert.match(fails("events where type = node.faild", "UNKNOWN_VALUE").reason, /'node.failed'/);
  assert.match(fails("metrics where kind in (gauge, countr)", "UNKNOWN_VALUE").reason, /'counter'/);
});

Deno.test("QuerySyntaxError: values of the wrong type", () => {
  fails(
    "spans where name = foo",
    "TYPE_MISMATCH",
    `Cannot parse query: 'name' is a string; quote the value ("foo") (line 1, column 20)\n` +
      "  spans where name = foo\n" +
      "                     ^^^",
  );
  fails(
    'spans where start_time > "yesterday"',
    "TYPE_MISMATCH",
    `Cannot parse query: 'start_time' is a number (or a duration like 500ms), not the string "yesterday" (line 1, column 26)\n` +
      '  spans where start_time > "yesterday"\n' +
      "                           ^^^^^^^^^^^",
  );
  assert.match(
    fails("spans where attr.model = gpt", "TYPE_MISMATCH").reason,
    /need quotes \("gpt"\)/,
  );
  assert.match(fails("spans where kind = 5", "TYPE_MISMATCH").reason, /'kind' takes one of/);
  assert.match(fails("spans where attr.ok > true", "TYPE_MISMATCH").reason, /not booleans/);
  assert.match(fails("spans where name contains 5", "TYPE_MISMATCH").reason, /quoted string/);
  assert.match(fails("spans where duration =~ 'x'", "TYPE_MISMATCH").reason, /is a number/);
  assert.match(fails("spans where name =~ foo", "TYPE_MISMATCH").reason, /quoted pattern/);
  assert.match(fails("spans where since 'x'", "TYPE_MISMATCH").reason, /since takes a duration/);
  assert.match(fails("spans | count() having count() > 'x'", "TYPE_MISMATCH").reason, /number/);
});

Deno.test("QuerySyntaxError: aggregates of non-numeric fields", () => {
  fails(
    "spans | avg(name)",
    "NOT_NUMERIC",
    "Cannot parse query: avg(name): 'name' is not numeric (line 1, column 13)\n" +
      "  spans | avg(name)\n" +
      "              ^^^^",
  );
  assert.match(fails("spans | sum()", "NOT_NUMERIC").reason, /sum\(\) needs a numeric field/);
  assert.match(fails("spans | p95(status)", "NOT_NUMERIC").reason, /'status' is not numeric/);
  // count(f) counts presence, so any field will do.
  assert.equal(plan("spans | count(name)").type, "aggregate");
});

Deno.test("QuerySyntaxError: regular expressions outside the portable subset", () => {
  fails(
    'spans where name =~ "(?=x)"',
    "BAD_REGEX",
    "Cannot parse query: lookaround and named groups are not supported; use (?: ) to group (line 1, column 21)\n" +
      '  spans where name =~ "(?=x)"\n' +
      "                      ^^^^^^^",
  );
  assert.match(fails(String.raw`spans where name =~ "(a)\1"`, "BAD_REGEX").reason, /backreference/);
  assert.match(
    fails(`spans where name =~ "${"a".repeat(600)}"`, "BAD_REGEX").reason,
    /limit is 512/,
  );
  assert.match(fails('spans where name =~ "("', "BAD_REGEX").reason, /invalid regular expression/);
});

Deno.test("QuerySyntaxError: limits and offsets must be whole numbers", () => {
  fails(
    "spans limit 2.5",
    "BAD_LIMIT",
    "Cannot parse query: limit must be a whole number, got 2.5 (line 1, column 13)\n" +
      "  spans limit 2.5\n" +
      "              ^^^",
  );
  fails("spans offset 1e400", "BAD_LIMIT");
  fails("spans limit -1", "UNEXPECTED_TOKEN");
});

Deno.test("QuerySyntaxError: having and order by must name selected columns", () => {
  fails(
    "spans | avg(duration) having count() > 1",
    "NOT_SELECTED",
    "Cannot parse query: having count(): add count() after '|' (output columns: avg(duration)) (line 1, column 30)\n" +
      "  spans | avg(duration) having count() > 1\n" +
      "                               ^^^^^^^",
  );
  fails(
    "spans | count() order by attr.node.id",
    "NOT_SELECTED",
    "Cannot parse query: order by attr.node.id: add attr.node.id after 'by' (output columns: count()) (line 1, column 26)\n" +
      "  spans | count() order by attr.node.id\n" +
      "                           ^^^^^^^^^^^^",
  );
  fails("spans | count() by name order by p95(duration)", "NOT_SELECTED");
});

Deno.test("QuerySyntaxError: constructs in the wrong place", () => {
  fails(
    "spans where resource.service = 'x'",
    "MISPLACED",
    "Cannot parse query: resource attributes belong to traces, not spans; use attr.service, or query traces (line 1, column 13)\n" +
      "  spans where resource.service = 'x'\n" +
      "              ^^^^^^^^^^^^^^^^",
  );
  assert.match(fails("spans where has(events)", "MISPLACED").reason, /use it in 'traces where/);
  fails("traces where has(spans where has(events))", "MISPLACED");
  fails("traces where has(traces)", "MISPLACED");
  assert.match(fails("spans order by count()", "MISPLACED").reason, /aggregate first/);
  assert.match(
    fails("spans | count() by name having name > 1", "MISPLACED").reason,
    /filter keys with where/,
  );
});

Deno.test("QuerySyntaxError: duplicates in the aggregation", () => {
  fails(
    "spans | count(), count()",
    "DUPLICATE",
    "Cannot parse query: count() is computed twice (line 1, column 18)\n" +
      "  spans | count(), count()\n" +
      "                   ^^^^^^^",
  );
  fails("spans | count() by name, name", "DUPLICATE");
  fails("spans | avg(attr.x), avg(attributes.x)", "DUPLICATE");
});

Deno.test("parseQuery() reads bucket(<field>, <width>) as a group key with a canonical alias", () => {
  assert.deepEqual(
    plan("spans where kind = llm_call | count(), p95(duration) by bucket(start_time, 1m)"),
    {
      type: "aggregate",
      entity: "spans",
      where: { type: "compare", field: col("kind"), operator: "=", value: "llm_call" },
      aggregates: [
        { fn: "count", field: null, alias: "count()" },
        { fn: "p95", field: col("duration"), alias: "p95(duration)" },
      ],
      groupBy: [{ field: col("start_time"), alias: "bucket(start_time, 1m)", bucket: 60 }],
      having: null,
      orderBy: [],
      limit: MAX_LIMIT,
      offset: 0,
    },
  );
  const keys = (text: string) => {
    const p = plan(text);
    return p.type === "aggregate" ? p.groupBy : [];
  };
  assert.deepEqual(keys("spans | count() by bucket(start_time, 5m), status"), [
    { field: col("start_time"), alias: "bucket(start_time, 5m)", bucket: 300 },
    { field: col("status"), alias: "status" },
  ]);
  // One canonical spelling per width: the largest unit that writes it whole.
  const widths: [string, number, string][] = [
    ["60s", 60, "1m"],
    ["1m", 60, "1m"],
    ["90s", 90, "90s"],
    ["1.5m", 90, "90s"],
    ["0.5s", 0.5, "500ms"],
    ["3600s", 3600, "1h"],
    ["1d", 86400, "1d"],
    ["1.5s", 1.5, "1500ms"],
    ["100ms", 0.1, "100ms"],
    ["250us", 0.00025, "250us"],
    ["250µs", 0.00025, "250us"],
    ["1ns", 1e-9, "1ns"],
    ["7", 7, "7s"],
  ];
  for (const [written, seconds, canonical] of widths) {
    const [key] = keys(`events | count() by bucket(timestamp, ${written})`);
    assert.deepEqual(key, {
      field: col("timestamp"),
      alias: `bucket(timestamp, ${canonical})`,
      bucket: seconds,
    }, written);
    // The alias is itself a query that means the same key.
    assert.deepEqual(keys(`events | count() by ${key!.alias}`), [key], written);
  }
  // Attributes (their numeric values), durations and resource attributes of traces.
  assert.deepEqual(
    keys('spans | count() by bucket(attr."llm.tokens", 100), bucket(duration, 100ms)'),
    [
      { field: attr("llm.tokens"), alias: "bucket(attr.llm.tokens, 100s)", bucket: 100 },
      { field: col("duration"), alias: "bucket(duration, 100ms)", bucket: 0.1 },
    ],
  );
  assert.deepEqual(keys("traces | count() by bucket(resource.uptime, 1h)"), [
    {
      field: { kind: "resource", key: "uptime" },
      alias: "bucket(resource.uptime, 1h)",
      bucket: 3600,
    },
  ]);
  // order by and having name the key by any spelling of its width.
  const ordered = plan(
    "spans | count() by bucket(start_time, 1m) having bucket(start_time, 60s) >= 5 " +
      "order by bucket(start_time, 60000ms) desc",
  );
  assert.ok(ordered.type === "aggregate");
  assert.deepEqual(ordered.having, {
    type: "compare",
    alias: "bucket(start_time, 1m)",
    operator: ">=",
    value: 5,
  });
  assert.deepEqual(ordered.orderBy, [{ alias: "bucket(start_time, 1m)", direction: "desc" }]);
  // bucket stays an ordinary name everywhere else.
  assert.deepEqual(where('spans where attr.bucket = 1 and attr."bucket" exists'), {
    type: "and",
    conditions: [
      { type: "compare", field: attr("bucket"), operator: "=", value: 1 },
      { type: "exists", field: attr("bucket"), negated: false },
    ],
  });
  assert.deepEqual(keys("spans | count() by attr.bucket"), [
    { field: attr("bucket"), alias: "attr.bucket" },
  ]);
});

Deno.test("parseQuery() names a bucket by a width text that reads back as the same width", () => {
  // 5,000 widths as a user might write them: whole and decimal counts of every unit.
  let state = 7;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
  const units = ["ns", "us", "µs", "ms", "s", "m", "h", "d", ""];
  for (let i = 0; i < 5000; i++) {
    const whole = String(1 + random(10 ** (1 + random(9))));
    const count = random(3) === 0 ? `${whole}.${random(1000)}` : whole;
    const written = `${count}${units[random(units.length)]}`;
    const first = plan(`spans | count() by bucket(start_time, ${written})`);
    assert.ok(first.type === "aggregate");
    const [key] = first.groupBy;
    assert.match(key!.alias, /^bucket\(start_time, \d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d)\)$/, written);
    const again = plan(`spans | count() by ${key!.alias}`);
    assert.ok(again.type === "aggregate");
    assert.deepEqual(again.groupBy, [key], written);
  }
});

Deno.test("QuerySyntaxError: bad buckets, each positioned with a stable code", () => {
  fails(
    "spans | count() by bucket(status, 1m)",
    "NOT_NUMERIC",
    "Cannot parse query: bucket(status, ...): 'status' is not numeric; bucket takes start_time, end_time, duration, dropped_events or attr.<key> (line 1, column 27)\n" +
      "  spans | count() by bucket(status, 1m)\n" +
      "                            ^^^^^^",
  );
  fails(
    "spans | count() by bucket(start_time)",
    "BAD_BUCKET",
    "Cannot parse query: bucket(start_time) needs a width: bucket(start_time, 1m) (line 1, column 20)\n" +
      "  spans | count() by bucket(start_time)\n" +
      "                     ^^^^^^^^^^^^^^^^^^",
  );
  fails(
    "spans | count() by bucket(start_time, 0s)",
    "BAD_BUCKET",
    "Cannot parse query: the width of a bucket must be greater than 0, got 0s (line 1, column 39)\n" +
      "  spans | count() by bucket(start_time, 0s)\n" +
      "                                        ^^",
  );
  assert.match(
    fails("spans | count() by bucket(start_time, -1m)", "BAD_BUCKET").reason,
    /must be greater than 0, got -1m/,
  );
  assert.equal(fails("spans | count() by bucket(start_time, -1m)", "BAD_BUCKET").column, 39);
  assert.match(
    fails("spans | count() by bucket(start_time, 0.5ns)", "BAD_BUCKET").reason,
    /at least 1ns/,
  );
  assert.match(
    fails("spans | count() by bucket(start_time, '1m')", "BAD_BUCKET").reason,
    /a duration such as 1m or 500ms, not the string '1m'/,
  );
  assert.match(
    fails("spans | count() by bucket(start_time, now)", "BAD_BUCKET").reason,
    /duration/,
  );
  assert.match(fails("spans | count() by bucket()", "BAD_BUCKET").reason, /needs a numeric field/);
  assert.match(fails("spans | count() by bucket", "BAD_BUCKET").reason, /bucket\(start_time, 1m\)/);
  fails("spans | count() by bucket(strat_time, 1m)", "UNKNOWN_FIELD", undefined);
  assert.match(
    fails("spans | count() by bucket(strat_time, 1m)", "UNKNOWN_FIELD").reason,
    /did you mean 'start_time'/,
  );
  assert.match(
    fails("spans | count() by bukcet(start_time, 1m)", "UNKNOWN_FUNCTION").reason,
    /did you mean 'bucket'/,
  );
  assert.match(
    fails("spans | count() by p95(duration)", "MISPLACED").reason,
    /is an aggregate: write it after '\|'/,
  );
  assert.match(fails("spans | count() by bucket(start_time, 2x)", "BAD_NUMBER").reason, /units/);
  // In where, in the aggregate list, and ordering records: it groups aggregates.
  const inWhere = fails("spans where bucket(start_time, 1m) > 5", "MISPLACED");
  assert.equal(inWhere.column, 13);
  assert.match(inWhere.reason, /write it after 'by'/);
  fails("traces where has(spans where bucket(start_time, 1m) > 5)", "MISPLACED");
  assert.match(
    fails("spans | bucket(start_time, 1m)", "MISPLACED").reason,
    /is a group key, not an aggregate/,
  );
  assert.equal(fails("spans | p95(duration, 1m)", "UNEXPECTED_TOKEN").column, 23);
  assert.equal(
    fails("spans order by bucket(start_time, 1m)", "MISPLACED").reason,
    "cannot order records by a bucket; aggregate first: 'spans | count() by bucket(start_time, 1m)'",
  );
  assert.match(
    fails("spans | count() by status order by bucket(start_time, 1m)", "NOT_SELECTED").reason,
    /add bucket\(start_time, 1m\) after 'by'/,
  );
  fails("spans | count() by bucket(start_time, 1m), bucket(start_time, 60s)", "DUPLICATE");
});

Deno.test("QuerySyntaxError: an unexpected long token is quoted cut short, not whole", () => {
  const long = `"${"1, ".repeat(2000)}"`;
  const e = fails(`spans where name = "a" ${long}`, "UNEXPECTED_TOKEN");
  assert.equal(e.length, long.length);
  assert.ok(e.reason.startsWith(`unexpected '${long.slice(0, 39)}…'; expected `), e.reason);
  assert.ok(e.message.length < 1000, `message of ${e.message.length} characters`);
});

Deno.test("QuerySyntaxError carries a stable code and the expected tokens", () => {
  const e = fails("spans where", "UNEXPECTED_END");
  assert.equal(e.name, "QuerySyntaxError");
  assert.deepEqual(e.expected, ["'('", "'not'", "'has'", "'since'", "a name"]);
  // No Chevrotain wording leaks through.
  assert.doesNotMatch(e.message, /Expecting|NoViableAlt|MismatchedToken|-->/);
});

Deno.test("parseQuery() throws only QuerySyntaxError on thousands of mutated queries", () => {
  const seeds = [
    'spans where kind=node_execution and status=error and attr."node.id" =~ "^f" limit 20',
    "traces where has(spans where duration > 500ms) and not has(events where type=node.failed)",
    "spans | count(), p95(duration) by attr.node.id having count() > 1 order by p95(duration) desc",
    "events where since 1h and attr.x in (1, 'a', true) order by timestamp desc offset 5",
    'metrics where value >= now - 15m or not (unit contains "s") | sum(value) by name',
    "trace 0af7651916cd43dd8448eb211c80319c",
    "spans where kind = llm_call | count(), p95(duration) by bucket(start_time, 1m), status",
  ];
  const alphabet = ` ()|,.=!<>~"'\\-+$;?*[]abcdefhilmnorstuwy0123456789_\n`;
  let state = 12345;
  const random = (n: number) => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.floor((state / 2147483648) * n);
  };
  let parsed = 0;
  for (let i = 0; i < 3000; i++) {
    const chars = [...seeds[random(seeds.length)]!];
    for (let m = 1 + random(3); m > 0; m--) {
      const at = random(chars.length + 1);
      const roll = random(3);
      if (roll === 0) chars.splice(at, 1);
      else if (roll === 1) chars.splice(at, 0, alphabet[random(alphabet.length)]!);
      else chars.splice(at, random(6));
    }
    const text = chars.join("");
    try {
      parseQuery(text, { now: NOW });
      parsed++;
    } catch (e) {
      if (!(e instanceof QuerySyntaxError)) throw new Error(`${text}\n${e}`);
      assert.ok(e.offset >= 0 && e.offset <= text.length, text);
      assert.match(
        e.message,
        /^Cannot parse query: .+\(line \d+, column \d+\)\n {2}.*\n {2} *\^+$/,
      );
    }
  }
  // Some mutations keep the query valid; most do not.
  assert.ok(parsed > 100 && parsed < 2900, `${parsed} parsed`);
});

Deno.test("parseQuery() returns deeply frozen plans; a time-free text gives the same plan each time", () => {
  const text = 'spans where attr."node.id" in ("a", "b") and status = error limit 7';
  const first = parseQuery(text);
  assert.ok(Object.isFrozen(first));
  assert.ok(Object.isFrozen(first.where));
  const w = first.where as Extract<Condition, { type: "and" }>;
  assert.ok(Object.isFrozen(w.conditions));
  assert.ok(Object.isFrozen(w.conditions[0]));
  assert.throws(() => {
    (first as { limit: number }).limit = 8;
  }, TypeError);
  // The clock does not matter to it, so the cached plan is the answer.
  assert.equal(parseQuery(text, { now: 5 }), first);
  assert.equal(parseQuery(text), first);
  // A copy is what to change.
  const copy = structuredClone(first);
  copy.limit = 8;
  assert.equal(copy.limit, 8);
  assert.equal(first.limit, 7);
});

Deno.test("parseQuery() builds a time-dependent plan afresh for each now", () => {
  const text = "spans where since 1h and start_time < now - 10m";
  const a = parseQuery(text, { now: 10_000 });
  const b = parseQuery(text, { now: 20_000 });
  assert.notEqual(a, b);
  assert.ok(Object.isFrozen(a) && Object.isFrozen(b));
  const bounds = (p: QueryPlan) =>
    (p.where as Extract<Condition, { type: "and" }>).conditions.map((c) =>
      (c as Extract<Condition, { type: "compare" }>).value
    );
  assert.deepEqual(bounds(a), [10_000 - 3600, 10_000 - 600]);
  assert.deepEqual(bounds(b), [20_000 - 3600, 20_000 - 600]);
  // The default clock is read per call too.
  const before = Date.now() / 1000;
  const c = parseQuery("spans where since 1h");
  const since = (c.where as Extract<Condition, { type: "compare" }>).value as number;
  assert.ok(since >= before - 3600 - 1 && since <= Date.now() / 1000 - 3600 + 1);
});
