/**
 * DSL fuzz test: thousands of generated and mutated queries (fixed seed) and
 * the extreme inputs that once escaped as stack overflows or engine errors,
 * run through `parseQuery` and every backend of `QUERY_BACKENDS`.
 *
 * Asserts: only `QuerySyntaxError` (with a stable code and a caret excerpt)
 * or a documented `BackendError` code escapes; no query takes over 2 s on
 * any backend (the slowest is printed); memory and SQLite return identical
 * rows for every query that parses, and PostgreSQL does too on every 20th.
 */
import assert from "node:assert/strict";
import {
  type Backend,
  BackendError,
  type Condition,
  MAX_QUERY_COLUMNS,
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_TERMS,
  parseQuery,
  type QueryPlan,
  type QueryRow,
  QuerySyntaxError,
  type SpanRecord,
} from "../../mod.ts";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";
import { Random, randomBatch, randomQuery } from "../_random_telemetry.ts";

const SEED = 20261206;
const NOW = 1_700_000_005;
/** The bound of the issue's definition of done, per query and backend. */
const MAX_QUERY_MS = 2000;
/** Queries that escape no backend may fail with another code than these. */
const DOCUMENTED_BACKEND_CODES: readonly string[] = ["BAD_QUERY"];

/** Array/object group keys and floats whose sums differ in the last bits between engines. */
function valueSpans(): SpanRecord[] {
  const keys: unknown[] = [
    [1, "a"],
    [2],
    [10],
    ["b"],
    { b: 1, a: 2 },
    { a: 2, b: 1, c: 0 },
    { zz: 1 },
    { a: [1, { x: 2 }] },
    [1e21],
    [1.5e-7],
    { "é": 1, e: 2, ab: 3 },
    [true, null],
    ["\u2028", "é"],
    {},
    [],
    "text",
    7,
    false,
  ];
  const random = new Random(SEED);
  return Array.from({ length: 300 }, (_, i) => ({
    spanId: `f${i.toString(16).padStart(15, "0")}`,
    traceId: "ab".repeat(16),
    parentSpanId: null,
    name: `v${i % 7}`,
    kind: "node_execution",
    startTime: 1_700_000_000 + i / 8,
    endTime: 1_700_000_000 + i / 8 + random.next() * 3,
    status: "ok",
    attributes: {
      v: keys[i % keys.length] as never,
      x: (random.next() - 0.3) * 1000,
      y: 0.1 * (i % 13),
    },
    error: null,
    droppedEvents: 0,
  }));
}

/** Aggregates over the value spans: group-key order and rounding of sum/avg. */
function valueQuery(random: Random): string {
  const aggregates = random.pick([
    "count()",
    "sum(attr.x), avg(attr.y)",
    "avg(attr.x), sum(attr.y), avg(duration)",
    "sum(duration), count()",
  ]);
  // attr.y holds 0.1 × k (0.30000000000000004 ...): values on and beside
  // the edges of 100ms buckets; attr.x spreads over ±1000 with negatives.
  const by = random.pick([
    "attr.v",
    "name, attr.v",
    "attr.v, name",
    "bucket(attr.y, 100ms), attr.v",
    "attr.v, bucket(attr.x, 7)",
    "bucket(start_time, 0.3s), attr.v",
  ]);
  let text = `spans where name =~ "^v" | ${aggregates} by ${by}`;
  if (random.chance(0.3)) text += ` having ${aggregates.split(",")[0]} > ${random.pick([0, 2.5])}`;
  if (random.chance(0.6)) {
    text += ` order by ${random.pick(["attr.v", aggregates.split(",")[0]])} ${
      random.pick(["asc", "desc"])
    }`;
  }
  if (random.chance(0.5)) text += ` limit ${1 + random.int(20)}`;
  return text;
}

const PIECES = [
  "(",
  ")",
  "not ",
  " and ",
  " or ",
  "|",
  ",",
  "=",
  "!=",
  "=~",
  "<=",
  ">",
  '"',
  "'",
  "\\",
  "attr.",
  'attr."',
  "has(spans where ",
  "since 1h",
  "now - 5m",
  "count()",
  "p95(duration)",
  " by ",
  " having ",
  " order by ",
  " limit ",
  "-",
  "1e309",
  "99999999999999999999",
  "0.5ms",
  "\u0000",
  "\ud800",
  '"\\ud800"',
  "\u{1F600}",
  "é",
  "\n",
  "$.x[0]*",
  "exists",
  " in (",
  "contains ",
  "trace ",
  "bucket(",
  "bucket(start_time, 1m)",
  ", 0s",
  ", -1m",
];

/** A generated query, then 1–4 character, token or splice mutations. */
function mutate(random: Random, text: string): string {
  let chars = text;
  for (let m = 1 + random.int(4); m > 0; m--) {
    const at = random.int(chars.length + 1);
    if (random.chance(0.02)) {
      // A piece repeated up to 3,000 times: deep nesting, long chains.
      const piece = random.pick(["(", "not ", "not (", " and a = 1", " or (", ", 1", '"']);
      chars = chars.slice(0, at) + piece.repeat(1 + random.int(3000)) + chars.slice(at);
      continue;
    }
    switch (random.int(6)) {
      case 0:
        chars = chars.slice(0, at) + chars.slice(at + 1 + random.int(6));
        break;
      case 1:
      case 2:
        chars = chars.slice(0, at) + random.pick(PIECES) + chars.slice(at);
        break;
      case 3: {
        // Duplicate a slice elsewhere.
        const from = random.int(chars.length + 1);
        const slice = chars.slice(from, from + random.int(20));
        chars = chars.slice(0, at) + slice + chars.slice(at);
        break;
      }
      case 4:
        chars = chars.slice(0, at);
        break;
      default:
        chars = `${chars.slice(0, at)}${random.pick(["not (", "("])}${chars.slice(at)}${
          random.chance(0.5) ? ")" : ""
        }`;
    }
  }
  return chars;
}

interface Outcome {
  /** Rows per backend (null where not run), or the syntax error. */
  rows: (QueryRow[] | null)[] | null;
  error: QuerySyntaxError | null;
}

class Runner {
  slowest = { ms: 0, where: "" };
  parsed = 0;
  refused = 0;
  compared = 0;
  readonly codes = new Map<string, number>();

  constructor(readonly backends: Backend[], readonly names: string[]) {}

  #time(ms: number, where: string, text: string): void {
    if (ms > this.slowest.ms) this.slowest = { ms, where: `${where}: ${text.slice(0, 120)}` };
    assert.ok(
      ms <= MAX_QUERY_MS,
      `${where} took ${ms.toFixed(0)} ms (> ${MAX_QUERY_MS}) on: ${text.slice(0, 300)}`,
    );
  }

  /** Parses and runs `text`; `all` also runs PostgreSQL. Returns what happened. */
  async run(text: string, all: boolean): Promise<Outcome> {
    let plan: QueryPlan;
    const start = performance.now();
    try {
      plan = parseQuery(text, { now: NOW });
    } catch (e) {
      this.#time(performance.now() - start, "parse", text);
      if (!(e instanceof QuerySyntaxError)) {
        throw new Error(`not a QuerySyntaxError on: ${text.slice(0, 300)}\n${e}`);
      }
      assert.ok(e.offset >= 0 && e.offset <= text.length, text.slice(0, 300));
      assert.match(
        e.message,
        /^Cannot parse query: .+\(line \d+, column \d+\)\n {2}.*\n {2} *\^+$/,
      );
      assert.ok(
        e.message.length < 2000,
        `message of ${e.message.length} characters: ${e.message.slice(0, 600)}`,
      );
      this.refused++;
      this.codes.set(e.code, (this.codes.get(e.code) ?? 0) + 1);
      return { rows: null, error: e };
    }
    this.#time(performance.now() - start, "parse", text);
    this.parsed++;
    const rows: (QueryRow[] | null)[] = [];
    for (const [i, backend] of this.backends.entries()) {
      if (i >= 2 && !all) {
        rows.push(null);
        continue;
      }
      const began = performance.now();
      try {
        rows.push(await backend.query(plan));
      } catch (e) {
        if (e instanceof BackendError && DOCUMENTED_BACKEND_CODES.includes(e.code)) {
          rows.push(null);
          continue;
        }
        throw new Error(`${this.names[i]} threw on: ${text.slice(0, 300)}\n${e}`);
      } finally {
        this.#time(performance.now() - began, this.names[i]!, text);
      }
    }
    for (let i = 1; i < rows.length; i++) {
      if (rows[i] === null || rows[0] === null) continue;
      this.compared++;
      assert.deepStrictEqual(
        rows[i],
        rows[0],
        `${this.names[0]} vs ${this.names[i]} on: ${text.slice(0, 300)}`,
      );
    }
    return { rows, error: null };
  }
}

async function withBackends(fn: (runner: Runner) => Promise<void>): Promise<void> {
  const backends = await Promise.all(QUERY_BACKENDS.map(openEmpty));
  try {
    const batch = randomBatch(SEED, 30);
    batch.spans.push(...valueSpans());
    for (const backend of backends) await backend.write(batch);
    await fn(new Runner(backends, QUERY_BACKENDS.map((b) => b.name)));
  } finally {
    for (const backend of backends) await backend.close();
  }
}

Deno.test({
  name: "DSL fuzz: 5,500 generated and mutated queries; only documented errors, none over 2 s, " +
    "memory = SQLite (PostgreSQL every 20th)",
  sanitizeResources: false,
  fn: async () => {
    await withBackends(async (runner) => {
      const random = new Random(SEED);
      let n = 0;
      for (let i = 0; i < 5500; i++) {
        const base = random.chance(0.15) ? valueQuery(random) : randomQuery(random);
        const text = i % 5 < 2 ? base : mutate(random, base);
        const outcome = await runner.run(text, n % 20 === 0);
        if (outcome.error === null) n++;
      }
      console.log(
        `fuzz: ${runner.parsed} ran, ${runner.refused} refused (${
          [...runner.codes].map(([c, k]) => `${c} ${k}`).join(", ")
        }), ${runner.compared} comparisons; slowest ${
          runner.slowest.ms.toFixed(0)
        } ms (${runner.slowest.where})`,
      );
      // Both kinds must be well represented for the test to mean anything.
      assert.ok(runner.parsed > 2000, `only ${runner.parsed} queries ran`);
      assert.ok(runner.refused > 1500, `only ${runner.refused} queries were refused`);
    });
  },
});

const terms = (n: number, term: (i: number) => string, op: string) =>
  Array.from({ length: n }, (_, i) => term(i)).join(` ${op} `);

/** Extreme inputs: the code they must fail with, or null when they must run on every backend. */
const EXTREMES: [string, () => string, string | null][] = [
  [
    "10,000 nested '('",
    () => `spans where ${"(".repeat(10_000)}name = "a"${")".repeat(10_000)}`,
    "TOO_DEEP",
  ],
  ["10,000 unclosed '('", () => `spans where ${"(".repeat(10_000)}`, "TOO_DEEP"],
  ["10,000 chained not", () => `spans where ${"not ".repeat(10_000)}name = "a"`, "TOO_DEEP"],
  ["1,000 chained not", () => `spans where ${"not ".repeat(1_000)}name = "a"`, "TOO_DEEP"],
  ["10,000 'not (' ", () => `spans where ${"not (".repeat(10_000)}name = "a"`, "TOO_DEEP"],
  [
    "10 MB string literal",
    () => `spans where name = "${"x".repeat(10_000_000)}"`,
    "QUERY_TOO_LONG",
  ],
  [
    "10 MB unterminated string",
    () => `spans where name = "${"x".repeat(10_000_000)}`,
    "QUERY_TOO_LONG",
  ],
  [
    "10,000 and terms",
    () => `spans where ${terms(10_000, (i) => `attr.n != ${i}`, "and")}`,
    "QUERY_TOO_LONG",
  ],
  [
    "5,000 and terms",
    () => `spans where ${terms(5_000, (i) => `a=${i}`, "and")}`,
    "TOO_MANY_TERMS",
  ],
  [
    "5,000 values in a list",
    () => `spans where name in (${terms(5_000, (i) => `"${i}"`, ",")})`,
    "TOO_MANY_TERMS",
  ],
  [
    "1,001 having terms",
    () => `spans | count() having ${terms(1_001, (i) => `count() != ${i}`, "and")}`,
    "TOO_MANY_TERMS",
  ],
  [
    "1,000 order keys",
    () => `spans order by ${terms(1_000, (i) => `attr.k${i}`, ",")}`,
    "TOO_MANY_COLUMNS",
  ],
  [
    "1,000 group keys",
    () => `spans | count() by ${terms(1_000, (i) => `attr.k${i}`, ",")}`,
    "TOO_MANY_COLUMNS",
  ],
  // At the limits: valid, and every backend must answer alike.
  [
    `${MAX_QUERY_DEPTH} nested '(a or b and ('`,
    () =>
      `spans where ${"(attr.n = 1 or attr.y > 0.5 and ".repeat(MAX_QUERY_DEPTH)}name = "v1"${
        ")".repeat(MAX_QUERY_DEPTH)
      }`,
    null,
  ],
  [
    `${MAX_QUERY_COLUMNS} order keys`,
    () => `spans order by ${terms(MAX_QUERY_COLUMNS, (i) => `attr.k${i} desc`, ",")}`,
    null,
  ],
  [
    `${MAX_QUERY_COLUMNS} sums and means`,
    () =>
      `spans | ${
        terms(MAX_QUERY_COLUMNS / 2, (i) => `sum(attr.k${i}), avg(attr.k${i})`, ",")
      } having sum(attr.k0) > 0 or avg(attr.k1) >= 0`,
    null,
  ],
  [
    `${MAX_QUERY_COLUMNS / 2} group keys and ${MAX_QUERY_COLUMNS / 2 - 1} order keys`,
    () =>
      `spans | count() by ${terms(MAX_QUERY_COLUMNS / 2, (i) => `attr.k${i}`, ",")} order by ${
        terms(MAX_QUERY_COLUMNS / 2 - 1, (i) => `attr.k${i} desc`, ",")
      }`,
    null,
  ],
  [
    `${MAX_QUERY_DEPTH} chained not`,
    () => `spans where ${"not ".repeat(MAX_QUERY_DEPTH)}name = "v1"`,
    null,
  ],
  [
    `${MAX_QUERY_DEPTH} nested '('`,
    () => `spans where ${"(".repeat(MAX_QUERY_DEPTH)}name = "v1"${")".repeat(MAX_QUERY_DEPTH)}`,
    null,
  ],
  [
    `${MAX_QUERY_DEPTH / 2} nested 'not (... and' with ${
      MAX_QUERY_TERMS - MAX_QUERY_DEPTH / 2
    } terms`,
    () =>
      `spans where ${"not (attr.y > 0.2 and ".repeat(MAX_QUERY_DEPTH / 2)}${
        terms(MAX_QUERY_TERMS - MAX_QUERY_DEPTH / 2, (i) => `attr.n != ${i}`, "and")
      }${")".repeat(MAX_QUERY_DEPTH / 2)}`,
    null,
  ],
  [
    `${MAX_QUERY_TERMS} and terms`,
    () => `spans where ${terms(MAX_QUERY_TERMS, (i) => `attr.n != ${i}`, "and")}`,
    null,
  ],
  [
    `${MAX_QUERY_TERMS} or terms on distinct keys`,
    () => `spans where ${terms(MAX_QUERY_TERMS, (i) => `attr.k${i} = "${i}"`, "or")}`,
    null,
  ],
  [
    `${MAX_QUERY_TERMS - 1} having terms`,
    () =>
      `spans | count() by name having ${
        terms(MAX_QUERY_TERMS - 1, (i) => `count() != ${i}`, "and")
      }`,
    null,
  ],
  [
    `${MAX_QUERY_TERMS} values in a list`,
    () => `spans where span_id in (${terms(MAX_QUERY_TERMS, (i) => `"s${i}"`, ",")})`,
    null,
  ],
  [
    "a string literal just under the length limit",
    () => `spans where name = "${"é".repeat(MAX_QUERY_LENGTH - 25)}"`,
    null,
  ],
  ["lone surrogates in literals", () => `spans where name = "\ud800" or name = "\\udc00x"`, null],
  ["a NUL in a literal", () => `spans where name = "a\\u0000"`, "UNEXPECTED_CHARACTER"],
];

Deno.test({
  name:
    "DSL extreme inputs fail with positioned QuerySyntaxErrors naming the limit, or run alike everywhere",
  sanitizeResources: false,
  fn: async () => {
    await withBackends(async (runner) => {
      for (const [label, make, code] of EXTREMES) {
        const text = make();
        const outcome = await runner.run(text, true);
        if (code === null) {
          assert.equal(outcome.error, null, `${label}: ${outcome.error?.message}`);
          assert.ok(outcome.rows!.every((r) => r !== null), label);
        } else {
          assert.equal(outcome.error?.code, code, `${label}: ${outcome.error?.message ?? "ran"}`);
          if (code !== "UNEXPECTED_CHARACTER") assert.match(outcome.error!.reason, /MAX_QUERY_/);
        }
      }
      console.log(
        `extremes: slowest ${runner.slowest.ms.toFixed(0)} ms (${
          runner.slowest.where.slice(0, 80)
        })`,
      );
    });
  },
});

Deno.test({
  name: "a lone surrogate in a literal means U+FFFD, as in recorded strings, on every backend",
  sanitizeResources: false,
  fn: async () => {
    const plan = parseQuery('spans where name = "\\ud800" or attr."\udc00" exists');
    assert.deepEqual(plan.where, {
      type: "or",
      conditions: [
        {
          type: "compare",
          field: { kind: "column", name: "name" },
          operator: "=",
          value: "\ufffd",
        },
        { type: "exists", field: { kind: "attribute", key: "\ufffd" }, negated: false },
      ],
    });
    await withBackends(async (runner) => {
      const spans = valueSpans().slice(0, 2).map((s, i) => ({
        ...s,
        spanId: `e${i.toString(16).padStart(15, "0")}`,
        name: i === 0 ? "\ufffd" : "ok",
        attributes: i === 1 ? { "\ufffd": 1 } : {},
      }));
      for (const backend of runner.backends) {
        await backend.write({ traces: [], spans, events: [], metrics: [] });
      }
      const outcome = await runner.run(
        'spans where name = "\\ud800" or attr."\udc00" exists | count()',
        true,
      );
      for (const rows of outcome.rows!) assert.deepEqual(rows, [{ "count()": 2 }]);
    });
  },
});

Deno.test({
  name:
    "backends agree on the order of array and object group keys and on sum/avg to the last digit",
  sanitizeResources: false,
  fn: async () => {
    await withBackends(async (runner) => {
      for (
        const text of [
          'spans where name =~ "^v" | count() by attr.v',
          'spans where name =~ "^v" | count() by attr.v order by attr.v desc limit 9',
          'spans where name =~ "^v" | avg(attr.x), sum(attr.x), avg(attr.y), sum(attr.y), avg(duration), sum(duration) by name',
          'spans where name =~ "^v" | sum(attr.y) by attr.v having sum(attr.y) > 1 order by sum(attr.y)',
        ]
      ) {
        const { rows } = await runner.run(text, true);
        assert.ok(rows![0]!.length > 0, text);
      }
      // The documented rounding: 12 significant digits, whole sums exact.
      const { rows } = await runner.run(
        'spans where name = "v0" | avg(attr.y), sum(attr.y), count()',
        true,
      );
      const [row] = rows![0]!;
      for (const v of [row!["avg(attr.y)"], row!["sum(attr.y)"]] as number[]) {
        assert.equal(v, Number(v.toPrecision(12)));
      }
    });
  },
});

Deno.test({
  name:
    "buckets: every backend puts values on, beside and far from bucket edges in the same bucket",
  sanitizeResources: false,
  fn: async () => {
    await withBackends(async (runner) => {
      const widths = ["1ns", "100ms", "0.1s", "300ms", "1s", "7", "1m", "1d"];
      for (const width of widths) {
        for (const field of ["attr.y", "attr.x", "start_time", "duration", "attr.v"]) {
          const text = `spans where name =~ "^v" | count(), min(${
            field === "attr.v" ? "attr.y" : field
          }) by bucket(${field}, ${width}) order by bucket(${field}, ${width}) desc`;
          const { rows } = await runner.run(text, true);
          assert.ok(rows![0]!.length > 0, text);
        }
      }
    });
  },
});

Deno.test({
  name: "sums beyond the float range are ±Infinity on every backend, not an engine error",
  sanitizeResources: false,
  fn: async () => {
    await withBackends(async (runner) => {
      const metrics = [1.7e308, 1.7e308, -1e308, 5].map((value, i) => ({
        metricId: `${"b".repeat(31)}${i}`,
        name: "big",
        value,
        unit: "",
        kind: "gauge" as const,
        timestamp: 1_700_000_000 + i,
        traceId: null,
        attributes: { v: value, w: -value },
      }));
      for (const backend of runner.backends) {
        await backend.write({ traces: [], spans: [], events: [], metrics });
      }
      const { rows } = await runner.run(
        'metrics where name = "big" | sum(value), avg(value), sum(attr.w), avg(attr.w), max(value) ' +
          "by name having sum(value) > 0",
        true,
      );
      for (const result of rows!) {
        assert.deepEqual(result, [{
          name: "big",
          "sum(value)": Infinity,
          "avg(value)": Infinity,
          "sum(attr.w)": -Infinity,
          "avg(attr.w)": -Infinity,
          "max(value)": 1.7e308,
        }]);
      }
    });
  },
});

Deno.test({
  name:
    "plans built by hand beyond the limits fail with BAD_QUERY on every backend, not a stack overflow",
  sanitizeResources: false,
  fn: async () => {
    const leaf: Condition = {
      type: "compare",
      field: { kind: "column", name: "name" },
      operator: "=",
      value: "v1",
    };
    let deep: Condition = leaf;
    for (let i = 0; i < 10_000; i++) deep = { type: "not", condition: deep };
    const wide: Condition = {
      type: "and",
      conditions: Array.from({ length: 10_000 }, () => leaf),
    };
    const many: Condition = {
      type: "in",
      field: { kind: "column", name: "name" },
      negated: false,
      values: Array.from({ length: 50_000 }, (_, i) => `v${i}`),
    };
    const plans: QueryPlan[] = [deep, wide, many].map((where) => ({
      type: "select",
      entity: "spans",
      where,
      orderBy: [],
      limit: 10,
      offset: 0,
    }));
    plans.push({
      type: "select",
      entity: "spans",
      where: null,
      orderBy: Array.from({ length: 1_000 }, (_, i) => ({
        field: { kind: "attribute", key: `k${i}` },
        direction: "asc",
      })),
      limit: 10,
      offset: 0,
    });
    await withBackends(async (runner) => {
      for (const [p, plan] of plans.entries()) {
        for (const [i, backend] of runner.backends.entries()) {
          await assert.rejects(
            backend.query(plan),
            (e: Error & { code?: string }) =>
              e instanceof BackendError && e.code === "BAD_QUERY" && /MAX_QUERY_/.test(e.message),
            `plan ${p} on ${runner.names[i]}`,
          );
        }
      }
    });
  },
});
