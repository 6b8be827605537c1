import assert from "node:assert/strict";
import { compileSql, MAX_LIMIT, parseQuery, type QueryPlan, sqliteDialect } from "../../mod.ts";
import { postgresqlDialect } from "../../query/postgresql_dialect.ts";

Deno.test("compileSql() compiles a plan from parseQuery once per dialect", () => {
  const plan = parseQuery('spans where attr."llm.model" = "gpt-4o" limit 20');
  const first = compileSql(plan, sqliteDialect);
  assert.equal(compileSql(plan, sqliteDialect), first);
  assert.ok(Object.isFrozen(first) && Object.isFrozen(first.params));
  // The cached result is what a fresh compile of an equal, unfrozen plan gives.
  assert.deepEqual({ ...first }, { ...compileSql(structuredClone(plan), sqliteDialect) });
  const pg = compileSql(plan, postgresqlDialect);
  assert.notEqual(pg, first);
  assert.notEqual(pg.text, first.text);
  assert.equal(compileSql(plan, postgresqlDialect), pg);
});

Deno.test("compileSql() freezes what it keeps, the output columns of an aggregate too", () => {
  const compiled = compileSql(parseQuery("spans | count() by name"), sqliteDialect);
  assert.ok(Object.isFrozen(compiled.columns));
  assert.ok(compiled.columns.length > 0 && compiled.columns.every((c) => Object.isFrozen(c)));
});

Deno.test("compileSql() compiles a caller's own plan every time, so changes to it count", () => {
  const plan: QueryPlan = {
    type: "select",
    entity: "spans",
    where: {
      type: "compare",
      field: { kind: "column", name: "status" },
      operator: "=",
      value: "ok",
    },
    orderBy: [],
    limit: 5,
    offset: 0,
  };
  assert.match(compileSql(plan, sqliteDialect).text, / limit 5$/);
  assert.deepEqual(compileSql(plan, postgresqlDialect).params, ["ok", 5]);
  plan.limit = 9;
  assert.match(compileSql(plan, sqliteDialect).text, / limit 9$/);
  plan.offset = 40;
  assert.match(compileSql(plan, sqliteDialect).text, / limit 9 offset \?2$/);
  assert.deepEqual(compileSql(plan, postgresqlDialect).params, ["ok", 9, 40]);
  plan.limit = 10 ** 9;
  assert.match(
    compileSql(plan, sqliteDialect).text,
    new RegExp(` limit ${MAX_LIMIT} offset \\?2$`),
  );
  plan.limit = 2.5;
  assert.throws(() => compileSql(plan, sqliteDialect), /limit must be a whole number/);
  (plan as { entity: string }).entity = "spanz";
  assert.throws(() => compileSql(plan, sqliteDialect), /unknown entity 'spanz'/);
  assert.throws(() => compileSql(plan, sqliteDialect), /unknown entity 'spanz'/);
});

Deno.test("compileSql() binds equal values once and keeps '5' and 5 apart", () => {
  const plan = parseQuery('spans where attr.a = "5" or attr.a = 5 or attr.b = "5" limit 3');
  const { params } = compileSql(plan, sqliteDialect);
  assert.equal(params.filter((p) => p === "5").length, 1);
  assert.equal(params.filter((p) => p === 5).length, 1);
});
