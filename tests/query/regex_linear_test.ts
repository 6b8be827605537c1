/**
 * `=~` and `!~` run in linear time on every backend: RE2 (re2js) on memory
 * and in SQLite's `regexp`, PostgreSQL's own engine there. A pattern that
 * backtracks exponentially in JavaScript (`^(a+)+$` against 30 `a`s and a
 * `!` took 30 s and blocked ingestion meanwhile) answers at once, and the
 * translation to RE2 matches exactly what JavaScript's RegExp matches.
 */
import assert from "node:assert/strict";
import { checkRegex, parseQuery, QuerySyntaxError } from "../../mod.ts";
import type { Batch, SpanRecord } from "../../src/model/types.ts";
import { compileRegex, toRe2Regex } from "../../query/re2_regex.ts";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";
import { Random } from "../_random_telemetry.ts";

function span(i: number, name: string): SpanRecord {
  return {
    spanId: (i + 1).toString(16).padStart(16, "0"),
    traceId: "c".repeat(32),
    parentSpanId: null,
    name,
    kind: "internal",
    startTime: 1_700_000_000 + i,
    endTime: 1_700_000_001 + i,
    status: "ok",
    attributes: { text: name },
    error: null,
    droppedEvents: 0,
  };
}

const HOSTILE = ["a".repeat(29) + "!", "a".repeat(9_999) + "!", "a".repeat(30), "b"];

/** A generous bound that only an exponential run can exceed; not a speed goal. */
const BOUND_MS = 5_000;

for (const b of QUERY_BACKENDS) {
  Deno.test({
    name: `${b.name}: '=~ "^(a+)+$"' against 30- and 10,000-character names answers at once`,
    sanitizeResources: false,
    async fn() {
      const backend = await openEmpty(b);
      try {
        const batch: Batch = {
          traces: [],
          spans: HOSTILE.map((name, i) => span(i, name)),
          events: [],
          metrics: [],
        };
        await backend.write(batch);
        const started = performance.now();
        const matched = await backend.query(parseQuery('spans where name =~ "^(a+)+$"'));
        const notMatched = await backend.query(
          parseQuery('spans where attr.text !~ "^(a|aa)+$" | count()'),
        );
        const nested = await backend.query(
          parseQuery('spans where name =~ "^(a*)*(b|c)$" or name =~ "(.*a){20}!" | count()'),
        );
        const elapsed = performance.now() - started;
        assert.deepEqual(matched.map((s) => s.name), ["a".repeat(30)]);
        assert.deepEqual(notMatched, [{ "count()": 3 }]);
        assert.deepEqual(nested, [{ "count()": 3 }]);
        assert.ok(elapsed < BOUND_MS, `${b.name} took ${elapsed.toFixed(0)} ms`);
      } finally {
        await backend.close();
      }
    },
  });
}

Deno.test("the RE2 translation matches exactly what JavaScript's RegExp matches", () => {
  const atoms = [
    "a",
    "b",
    ".",
    "\\d",
    "\\w",
    "\\s",
    "\\D",
    "\\W",
    "\\S",
    "[ab]",
    "[^a]",
    "[a-c]",
    "[\\d\\s]",
    "[^\\W]",
    "[^\\W\\d]",
    "[\\D\\S]",
    "(a|b)",
    "(?:ab)",
    "^",
    "$",
    "é",
    "😀",
    "[😀-😂]",
    "\\.",
    "\\n",
    "[]",
    "[^]",
    " ",
    "\u2028",
    "[\\]\\-]",
  ];
  const quantifiers = ["", "", "", "*", "+", "?", "{2}", "{1,3}", "*?", "+?"];
  const chars = [
    "a",
    "b",
    "c",
    "1",
    " ",
    "\n",
    "\r",
    "é",
    "😀",
    "_",
    ".",
    "\u2028",
    "\u00a0",
    "\ufeff",
    "\ud800",
    "-",
    "]",
  ];
  const random = new Random(42);
  const disagreements: string[] = [];
  let patterns = 0;
  for (let k = 0; k < 5_000; k++) {
    let pattern = "";
    for (let i = 1 + random.int(5); i > 0; i--) {
      pattern += random.pick(atoms) + random.pick(quantifiers);
    }
    if (checkRegex(pattern) !== null) continue;
    patterns++;
    const js = new RegExp(pattern, "u");
    const re2 = compileRegex(pattern);
    for (let j = 0; j < 20; j++) {
      let text = "";
      for (let i = random.int(7); i > 0; i--) text += random.pick(chars);
      if (js.test(text) !== re2.test(text)) {
        disagreements.push(
          `${JSON.stringify(pattern)} (RE2 ${toRe2Regex(pattern)}) on ${JSON.stringify(text)}`,
        );
      }
    }
  }
  assert.ok(patterns > 4_000, `only ${patterns} patterns`);
  assert.deepEqual(disagreements.slice(0, 20), []);
});

Deno.test("what cannot run in linear time is refused at parse time, with its position", () => {
  for (
    const [pattern, reason] of [
      ["(a)\\1", /backreference/],
      ["(?=a)b", /lookaround/],
      ["(?<!a)b", /lookaround/],
      ["\\bword", /escape '\\b'/],
    ] as const
  ) {
    const text = `spans where name =~ ${JSON.stringify(pattern)}`;
    assert.throws(() => parseQuery(text), (e: unknown) => {
      assert.ok(e instanceof QuerySyntaxError, String(e));
      assert.equal(e.code, "BAD_REGEX");
      assert.equal(e.offset, text.indexOf('"'));
      assert.match(e.reason, reason);
      return true;
    });
  }
});
