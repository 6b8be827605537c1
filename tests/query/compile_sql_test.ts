import assert from "node:assert/strict";
import { compileSql, MAX_LIMIT, parseQuery, type QueryPlan, sqliteDialect } from "../../mod.ts";
import { postgresqlDialect } from "../../query/postgresql_dialect.ts";

Deno.test("compileSql() compiles a plan that crossed to the worker (a clone) to the same SQL", () => {
  // There is no compile cache: manager.query() posts the plan to the reader
  // worker, so the worker only ever sees structured clones, and compiling costs
  // a few microseconds. The backends keep prepared statements by their text,
  // which a clone reproduces exactly.
  const plan = parseQuery('spans where attr."llm.model" = "gpt-4o" limit 20');
  const first = compileSql(plan, sqliteDialect);
  const cloned = compileSql(structuredClone(plan), sqliteDialect);
  assert.equal(cloned.text, first.text);
  assert.deepEqual(cloned.params, first.params);
  assert.deepEqual(cloned.columns, first.columns);
  const pg = compileSql(structuredClone(plan), postgresqlDialect);
  assert.notEqual(pg.text, first.text);
  assert.equal(compileSql(plan, postgresqlDialect).text, pg.text);
});

Deno.test("compileSql() of an aggregate gives a clone the same output columns", () => {
  const plan = parseQuery("spans | count() by name");
  assert.deepEqual(
    compileSql(structuredClone(plan), sqliteDialect),
    compileSql(plan, sqliteDialect),
  );
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
