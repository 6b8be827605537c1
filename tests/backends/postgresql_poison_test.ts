/**
 * No record blocks a real PostgreSQL: text longer than an index entry is
 * stored, and a record the database refuses is isolated and counted while
 * everything around it is stored — through a real TelemetryManager.
 *
 * @module
 */
import assert from "node:assert/strict";
import { TelemetryConfig, TelemetryManager } from "../../mod.ts";
import { PostgresqlBackend } from "../../src/backends/postgresql/mod.ts";
import type { QueryPlan } from "../../query/plan.ts";
import { noise } from "../_records.ts";
import { freshSchema, PG_IGNORE, pgUrl, withAdmin } from "../_pg_test_env.ts";

/** Generous; the old code never finished at all. */
const BOUND_MS = 30_000;

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function allSpans(): QueryPlan {
  return {
    type: "select",
    entity: "spans",
    where: null,
    orderBy: [],
    limit: 100_000,
    offset: 0,
  };
}

function manager(schema: string): TelemetryManager {
  return new TelemetryManager(TelemetryConfig.createPostgresql({
    url: pgUrl(),
    exportInterval: 0,
    bufferSize: 100,
    shutdownTimeoutMs: 2000,
    backendConfig: { schema },
  }));
}

async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const original = console.warn;
  console.warn = () => {};
  try {
    return await fn();
  } finally {
    console.warn = original;
  }
}

Deno.test({
  name:
    "TelemetryManager into PostgreSQL stores 2,800-character and 1 MB span names and error types, and every span after them",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("longtext");
    await withAdmin(schema, async () => {
      const m = manager(schema);
      try {
        const trace = m.startTrace("run");
        const MB = 1024 * 1024;
        // Name, error type and error message; one record must stay under half
        // the ring (4 MB by default), and the stack repeats type and message.
        const cases = [
          [noise(2800, 1), noise(2800, 2), noise(2800, 3)],
          [noise(MB, 4), noise(100, 5), noise(100, 6)],
          [noise(100, 7), noise(MB, 8), noise(100, 9)],
          [noise(100, 10), noise(100, 11), noise(MB, 12)],
        ];
        for (const [name, type, message] of cases) {
          const error = new Error(message);
          error.name = type!;
          m.startSpan(name!, { traceId: trace.traceId }).end("error", error);
        }
        for (let i = 0; i < 250; i++) m.startSpan(`after-${i}`, { traceId: trace.traceId }).end();
        m.endTrace(trace.traceId);
        await within(m.flush(), BOUND_MS, "flush()");
        const spans = await m.runPlan(allSpans());
        assert.equal(spans.length, 254, JSON.stringify(m.stats()));
        for (const [name, type, message] of cases) {
          const stored = spans.find((s) => s.name === name);
          assert.ok(stored !== undefined, `span named ${name!.length} characters stored`);
          const error = stored.error as { type: string; message: string };
          assert.equal(error.type, type);
          assert.equal(error.message, message);
        }
        // Equality on the long name finds it through the query path.
        const found = await m.runPlan({
          ...allSpans(),
          where: {
            type: "compare",
            field: { kind: "column", name: "name" },
            operator: "=",
            value: cases[1]![0]!,
          },
        });
        assert.equal(found.length, 1);
        const stats = m.stats();
        assert.equal(stats.dropped, 0);
        assert.equal(stats.exported, stats.recorded);
      } finally {
        await m.shutdown();
      }
    });
  },
});

Deno.test({
  name:
    "TelemetryManager into PostgreSQL: a record the database refuses is isolated, dropped and counted; the rest is stored in order",
  ignore: PG_IGNORE,
  async fn() {
    const schema = freshSchema("refused");
    await withAdmin(schema, async (admin) => {
      // The schema as the backend creates it, plus a rule one record breaks
      // (SQLSTATE 23514): a real, deterministic refusal by the database.
      await (await PostgresqlBackend.open({ url: pgUrl(), schema })).close();
      await admin.unsafe(
        `alter table ${schema}.spans add constraint no_poison check (name <> 'poison')`,
      );
      await quietly(async () => {
        const m = manager(schema);
        try {
          // The trace's start and end ride in the batch that holds the poison:
          // isolating it must not put the start back over the end.
          const trace = m.startTrace("run");
          for (let i = 0; i < 40; i++) m.startSpan(`s-${i}`, { traceId: trace.traceId }).end();
          m.startSpan("poison", { traceId: trace.traceId }).end();
          for (let i = 40; i < 80; i++) m.startSpan(`s-${i}`, { traceId: trace.traceId }).end();
          m.endTrace(trace.traceId);
          for (let i = 80; i < 1000; i++) m.startSpan(`s-${i}`, { traceId: trace.traceId }).end();
          m.startSpan("poison", { traceId: trace.traceId }).end();
          for (let i = 1000; i < 1200; i++) m.startSpan(`s-${i}`, { traceId: trace.traceId }).end();
          await within(m.flush(), BOUND_MS, "flush()");
          const names = (await m.runPlan(allSpans())).map((s) => s.name as string);
          assert.equal(names.length, 1200);
          assert.ok(!names.includes("poison"));
          const [stored] = await m.runPlan({ ...allSpans(), entity: "traces" });
          assert.notEqual(stored?.endTime, null, "the trace ends with its last version");
          const stats = m.stats();
          assert.equal(stats.rejected, 2);
          assert.deepEqual(stats.rejectedByReason, { "backend refused (23514)": 2 });
          assert.equal(stats.dropped, 2);
          assert.equal(stats.exported, stats.recorded - 2);
          assert.match(stats.lastExportError ?? "", /no_poison/);
        } finally {
          await m.shutdown();
        }
      });
    });
  },
});
