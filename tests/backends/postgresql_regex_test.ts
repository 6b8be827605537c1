import assert from "node:assert/strict";
import postgres from "postgres";
import { checkRegex } from "../../mod.ts";
import { toPostgresRegex } from "../../query/_postgres_regex.ts";
import { PG_IGNORE, pgUrl } from "../_pg_test_env.ts";

/** Patterns where JavaScript and PostgreSQL differ unless translated, and some where they never did. */
const PATTERNS = [
  ".",
  "^a.c$",
  "^.$",
  "\\d",
  "^\\d+$",
  "\\D",
  "^\\w+$",
  "\\W",
  "\\s",
  "^\\S+$",
  "[^a]",
  "[\\W]",
  "[a\\d]",
  "[^\\W]",
  "[^\\W\\d]",
  "[^a\\s]",
  "[\\D\\S]",
  "[]",
  "[^]",
  "[a-c]{2,3}",
  "a|b|^$",
  "(?:ab)+?c",
  "\\.",
  "[\\]]",
  "[\\-x]",
  "[[]",
  "[.]",
  "[:a:]",
  "é",
  "😀",
  "[😀-😂]",
  "^[^😀]$",
  "\\n",
  "[\\t\\r]",
  "x*?y",
  "^(?:a|b)*c{0,2}$",
  "\\$\\^\\(\\)\\{\\}\\|\\*\\+\\?\\/",
];

const SUBJECTS = [
  "",
  "abc",
  "a\nc",
  "a\rc",
  "a\u2028c",
  "é",
  "ü1",
  "\u00a0",
  "\ufeff",
  "x y",
  "x\ty",
  "😀",
  "😁x",
  "a-b",
  "a]b",
  "[",
  "_",
  "٣",
  "ab",
  "abab c",
  ".",
  ":",
  "$^(){}|*+?/",
  "xxy",
  "aabcc",
];

Deno.test({
  name: "toPostgresRegex() patterns match in PostgreSQL exactly what they match in JavaScript",
  ignore: PG_IGNORE,
  async fn() {
    const sql = postgres(pgUrl(), { onnotice: () => {}, max: 1 });
    try {
      const disagreements: string[] = [];
      for (const pattern of PATTERNS) {
        assert.equal(checkRegex(pattern), null, pattern);
        const js = new RegExp(pattern, "u");
        const translated = toPostgresRegex(pattern);
        const rows = await sql`
          select s, s ~ ${translated} as m from unnest(${SUBJECTS}::text[]) as s`;
        for (const { s, m } of rows) {
          if (js.test(s) !== m) {
            disagreements.push(
              `${JSON.stringify(pattern)} (${translated}) on ${
                JSON.stringify(s)
              }: JS ${!m}, PG ${m}`,
            );
          }
        }
      }
      assert.deepEqual(disagreements, []);
    } finally {
      await sql.end();
    }
  },
});

Deno.test("checkRegex() refuses repetition counts PostgreSQL cannot run", () => {
  assert.match(checkRegex("a{256}")!, /repetition count 256 is above 255/);
  assert.match(checkRegex("a{1,300}")!, /300/);
  assert.equal(checkRegex("a{255}"), null);
  assert.equal(checkRegex("[{300}]"), null);
});
