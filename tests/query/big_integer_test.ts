/**
 * Integers beyond ±2^53 (nanosecond timestamps, 64-bit ids) in attributes:
 * every aggregate answers on every backend, with the values as doubles
 * (README, "Numbers"), and the backends agree. On SQLite, `p95(attr.ns)`
 * used to hang the writer forever (node:sqlite never returned from a
 * JavaScript function handed such an integer) and `max(attr.ns)` threw
 * "Value is too large to be represented as a JavaScript number".
 */
import assert from "node:assert/strict";
import { type Backend, parseQuery, type QueryRow } from "../../mod.ts";
import type { Batch, SpanRecord } from "../../src/model/types.ts";
import { openEmpty, QUERY_BACKENDS } from "../_query_backends.ts";

/** As recorded from JavaScript: each is the nearest double (2^53 + 1 is 2^53). */
const VALUES = [2 ** 53 + 1, 2 ** 62, -(2 ** 63), 1700000000123456789, 1700000000123456999];

function span(i: number, ns: number): SpanRecord {
  return {
    spanId: i.toString(16).padStart(16, "0"),
    traceId: "b".repeat(32),
    parentSpanId: null,
    name: `op${i % 2}`,
    kind: "internal",
    startTime: 1_700_000_000 + i,
    endTime: 1_700_000_001 + i,
    status: "ok",
    attributes: { ns },
    error: null,
    droppedEvents: 0,
  };
}

const BATCH: Batch = {
  traces: [],
  spans: VALUES.map((v, i) => span(i, v)),
  events: [],
  metrics: [],
};

/** The exact sum of the doubles, rounded once. */
function exactSum(values: readonly number[]): number {
  return Number(values.reduce((s, v) => s + BigInt(v), 0n));
}

/** Linear interpolation between closest ranks, in exact arithmetic where it can be. */
function percentile(values: readonly number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const low = sorted[lower]!;
  const high = sorted[Math.ceil(position)]!;
  return low + (high - low) * (position - lower);
}

const QUERY = "spans | count(), count(attr.ns), sum(attr.ns), avg(attr.ns), min(attr.ns), " +
  "max(attr.ns), p50(attr.ns), p95(attr.ns)";

/** Relative difference, for the documented float64 precision. */
function close(actual: unknown, expected: number): boolean {
  if (typeof actual !== "number") return false;
  return actual === expected || Math.abs(actual - expected) <= Math.abs(expected) * 2 ** -50;
}

/** Equal within the documented rounding of sum and avg: 12 significant digits. */
function rounded(actual: unknown, expected: number): boolean {
  if (typeof actual !== "number") return false;
  return actual === expected || Math.abs(actual - expected) <= Math.abs(expected) * 5e-12;
}

for (const b of QUERY_BACKENDS) {
  Deno.test({
    name: `${b.name}: every aggregate answers over integers beyond ±2^53, as doubles`,
    sanitizeResources: false,
    async fn() {
      const backend: Backend = await openEmpty(b);
      try {
        await backend.write(BATCH);
        const [row] = await backend.query(parseQuery(QUERY));
        const r = row as QueryRow;
        assert.equal(r["count()"], VALUES.length);
        assert.equal(r["count(attr.ns)"], VALUES.length);
        // min and max are exact: the stored doubles themselves.
        assert.equal(r["min(attr.ns)"], -(2 ** 63));
        assert.equal(r["max(attr.ns)"], 2 ** 62);
        const sum = exactSum(VALUES);
        assert.ok(rounded(r["sum(attr.ns)"], sum), `sum ${r["sum(attr.ns)"]} vs ${sum}`);
        assert.ok(
          rounded(r["avg(attr.ns)"], sum / VALUES.length),
          `avg ${r["avg(attr.ns)"]} vs ${sum / VALUES.length}`,
        );
        assert.ok(close(r["p50(attr.ns)"], percentile(VALUES, 0.5)), `p50 ${r["p50(attr.ns)"]}`);
        assert.ok(close(r["p95(attr.ns)"], percentile(VALUES, 0.95)), `p95 ${r["p95(attr.ns)"]}`);

        // Grouped, ordered by a big aggregate, and filtered by a big literal.
        const grouped = await backend.query(
          parseQuery("spans | max(attr.ns) by name order by max(attr.ns) desc"),
        );
        assert.deepEqual(grouped, [
          { name: "op1", "max(attr.ns)": 2 ** 62 },
          { name: "op0", "max(attr.ns)": 1700000000123456999 },
        ]);
        const equal = await backend.query(parseQuery("spans where attr.ns = 1700000000123456789"));
        assert.deepEqual(equal.map((s) => s.spanId), [span(3, 0).spanId]);
        const above = await backend.query(
          parseQuery("spans where attr.ns > 1700000000123456789 | count()"),
        );
        assert.deepEqual(above, [{ "count()": 2 }]);
        const inList = await backend.query(
          parseQuery("spans where attr.ns in (4611686018427387904, 9007199254740993) | count()"),
        );
        assert.deepEqual(inList, [{ "count()": 2 }]);
      } finally {
        await backend.close();
      }
    },
  });
}

Deno.test({
  name: "every backend gives the same aggregates over integers beyond ±2^53",
  sanitizeResources: false,
  async fn() {
    const results: QueryRow[][] = [];
    for (const b of QUERY_BACKENDS) {
      const backend = await openEmpty(b);
      try {
        await backend.write(BATCH);
        results.push(await backend.query(parseQuery(QUERY + " by name")));
      } finally {
        await backend.close();
      }
    }
    // Sums and means agree within the documented precision (PostgreSQL
    // rounds the exact sum once; memory and SQLite sum with compensation, so
    // they agree to the bit); everything else exactly.
    const inexact = new Set(["sum(attr.ns)", "avg(attr.ns)"]);
    for (let i = 1; i < results.length; i++) {
      const name = QUERY_BACKENDS[i]!.name;
      assert.equal(results[i]!.length, results[0]!.length, name);
      results[0]!.forEach((expected, g) => {
        const actual = results[i]![g]!;
        assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort(), name);
        for (const [key, value] of Object.entries(expected)) {
          if (inexact.has(key) && name === "postgresql") {
            assert.ok(close(actual[key], value as number), `${name} ${key}: ${actual[key]}`);
          } else {
            assert.equal(actual[key], value, `${name} ${key}`);
          }
        }
      });
    }
  },
});
