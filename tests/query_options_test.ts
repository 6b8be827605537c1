import assert from "node:assert/strict";
import { parseQuery } from "../mod.ts";
import { eventsPlan, metricsPlan, spansPlan, tracesPlan } from "../src/query_options.ts";

Deno.test("spansPlan() builds the plan the query language builds for the same filters", () => {
  const plan = spansPlan({ traceId: "t1", kind: "tool_call", status: "error", limit: 7 });
  const dsl = parseQuery(
    "spans where trace_id = 't1' and kind = tool_call and status = error limit 7",
  );
  assert.deepEqual(plan.where, dsl.type === "select" ? dsl.where : null);
  assert.equal(plan.entity, "spans");
  assert.equal(plan.limit, 7);
  assert.equal(plan.offset, 0);
});

Deno.test("tracesPlan() bounds start_time from both sides and pages by default", () => {
  const plan = tracesPlan({ traceName: "run", startTime: 10, endTime: 20 });
  assert.deepEqual(plan.where, {
    type: "and",
    conditions: [
      { type: "compare", field: { kind: "column", name: "name" }, operator: "=", value: "run" },
      { type: "compare", field: { kind: "column", name: "start_time" }, operator: ">=", value: 10 },
      { type: "compare", field: { kind: "column", name: "start_time" }, operator: "<=", value: 20 },
    ],
  });
  assert.equal(plan.limit, 100);
  assert.equal(tracesPlan({}).where, null);
});

Deno.test("eventsPlan() and metricsPlan() filter by one condition without an 'and'", () => {
  assert.deepEqual(eventsPlan({ eventType: "custom" }).where, {
    type: "compare",
    field: { kind: "column", name: "event_type" },
    operator: "=",
    value: "custom",
  });
  assert.equal(metricsPlan({ metricName: "tokens", offset: 5 }).offset, 5);
});

Deno.test("the query option plans refuse unknown keys, bad enums and bad offsets", () => {
  // deno-lint-ignore no-explicit-any
  const any = (o: unknown): any => o;
  assert.throws(() => tracesPlan(any({ trace_name: "a" })), {
    name: "TypeError",
    message: /Cannot queryTraces: unknown option 'trace_name'.*use 'traceName'/,
  });
  assert.throws(() => spansPlan(any({ status: "ERROR" })), {
    name: "RangeError",
    message: /Cannot querySpans: status must be one of .* did you mean 'error'\?/,
  });
  assert.throws(() => spansPlan(any({ kind: "llm" })), RangeError);
  assert.throws(() => eventsPlan(any(null)), /Cannot queryEvents: options must be an object/);
  assert.throws(() => metricsPlan({ offset: -1 }), /offset must be a whole number >= 0/);
});
