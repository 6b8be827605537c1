/**
 * Differential test: seeded random data and hundreds of random queries
 * (selects and aggregates), run by every backend in `QUERY_BACKENDS`; all
 * must return identical rows. A failure prints the seed, the query, its plan
 * and the first differing row, which is usually enough to shrink by hand.
 */
import assert from "node:assert/strict";
import { parseQuery, type QueryPlan, type QueryRow } from "../../mod.ts";
import { openEmpty, QUERY_BACKENDS as BACKENDS } from "../_query_backends.ts";
import { Random, randomBatch, randomQuery } from "../_random_telemetry.ts";

const SEEDS = [1, 2, 3, 4, 5];
const QUERIES_PER_SEED = 200;

/** Finds the first place two results differ, for a readable failure. */
function firstDifference(a: QueryRow[], b: QueryRow[]): string | null {
  if (a.length !== b.length) return `row count ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    try {
      assert.deepStrictEqual(b[i], a[i]);
    } catch {
      return `row ${i}:\n  ${JSON.stringify(a[i])}\n  ${JSON.stringify(b[i])}`;
    }
  }
  return null;
}

Deno.test({
  name: `every backend returns identical rows for ${
    SEEDS.length * QUERIES_PER_SEED
  } random queries over random data`,
  sanitizeResources: false,
  fn: async () => {
    const failures: string[] = [];
    let aggregates = 0;
    let bucketed = 0;
    let nonEmpty = 0;
    for (const seed of SEEDS) {
      const batch = randomBatch(seed);
      const backends = await Promise.all(BACKENDS.map(openEmpty));
      try {
        for (const backend of backends) await backend.write(batch);
        const random = new Random(seed * 7919);
        for (let q = 0; q < QUERIES_PER_SEED; q++) {
          const text = randomQuery(random);
          let plan: QueryPlan;
          try {
            plan = parseQuery(text, { now: 1_700_000_005 });
          } catch (e) {
            failures.push(`seed ${seed}: generated query does not parse: ${text}\n${e}`);
            continue;
          }
          if (plan.type === "aggregate") aggregates++;
          if (plan.type === "aggregate" && plan.groupBy.some((g) => g.bucket !== undefined)) {
            bucketed++;
          }
          const results: QueryRow[][] = [];
          for (const [i, backend] of backends.entries()) {
            try {
              results.push(await backend.query(plan));
            } catch (e) {
              failures.push(`seed ${seed} ${BACKENDS[i]!.name} threw on: ${text}\n  ${e}`);
              results.push([]);
            }
          }
          if (results[0]!.length > 0) nonEmpty++;
          for (let i = 1; i < results.length; i++) {
            const diff = firstDifference(results[0]!, results[i]!);
            if (diff) {
              failures.push(
                `seed ${seed}: ${BACKENDS[0]!.name} vs ${BACKENDS[i]!.name} on: ${text}\n  plan: ${
                  JSON.stringify(plan)
                }\n  ${diff}`,
              );
            }
          }
        }
      } finally {
        for (const backend of backends) await backend.close();
      }
    }
    assert.deepEqual(failures, [], `${failures.length} disagreements:\n\n${failures.join("\n\n")}`);
    // The generator must exercise both kinds of plan and mostly return rows.
    assert.ok(aggregates > SEEDS.length * QUERIES_PER_SEED * 0.2, `only ${aggregates} aggregates`);
    assert.ok(bucketed > SEEDS.length * QUERIES_PER_SEED * 0.1, `only ${bucketed} bucketed`);
    assert.ok(
      nonEmpty > SEEDS.length * QUERIES_PER_SEED * 0.4,
      `only ${nonEmpty} non-empty results`,
    );
  },
});
