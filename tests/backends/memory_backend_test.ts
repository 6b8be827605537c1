import assert from "node:assert/strict";
import type { SelectPlan } from "../../query/plan.ts";
import { MemoryBackend } from "../../src/backends/memory/mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import { splitInvalidRecords } from "../../src/backends/validate_batch.ts";
import { backendConformance } from "./backend_conformance.ts";
import { batch, metric, span } from "../_records.ts";

backendConformance("memory", () => Promise.resolve(new MemoryBackend()));

Deno.test("MemoryBackend evicts the oldest written records beyond maxRecords", async () => {
  const backend = new MemoryBackend({ maxRecords: 2 });
  await backend.write(batch({ spans: ["a", "b", "c"].map((id) => span({ spanId: id })) }));
  const rows = await backend.query({
    type: "select",
    entity: "spans",
    where: null,
    orderBy: [],
    limit: 10,
    offset: 0,
  });
  assert.deepEqual(rows.map((r) => r.spanId), ["c", "b"]);
  await backend.close();
});

Deno.test("MemoryBackend returns copies: mutating a result changes nothing stored", async () => {
  const backend = new MemoryBackend();
  const attributes = { n: 1 };
  await backend.write(batch({ spans: [span({ spanId: "a", attributes })] }));
  attributes.n = 2;
  const plan: SelectPlan = {
    type: "select",
    entity: "spans",
    where: null,
    orderBy: [],
    limit: 1,
    offset: 0,
  };
  const [first] = await backend.query(plan);
  (first!.attributes as Record<string, number>).n = 3;
  const [second] = await backend.query(plan);
  assert.deepEqual(second!.attributes, { n: 1 });
  await backend.close();
});

Deno.test("openBackend() opens memory and noop backends by name", async () => {
  const memory = await openBackend({ backend: "memory", backendConfig: {} });
  assert.equal(memory.name, "memory");
  await memory.close();
  const noop = await openBackend({ backend: "noop", backendConfig: {} });
  assert.equal(noop.name, "noop");
  await noop.write(batch({ spans: [span({ spanId: "a" })] }));
  assert.deepEqual(
    await noop.query({
      type: "select",
      entity: "spans",
      where: null,
      orderBy: [],
      limit: 1,
      offset: 0,
    }),
    [],
  );
  assert.equal(await noop.applyRetention(1e12), 0);
  await noop.close();
});

Deno.test("splitInvalidRecords() keeps the valid records of a batch a backend refused", async () => {
  const bad = batch({
    spans: [
      span({ spanId: "ok-1" }),
      span({ spanId: "nan", startTime: NaN }),
      span({ spanId: "ok-2" }),
    ],
    metrics: [metric({ metricId: "inf", attributes: { x: Infinity } })],
  });
  const backend = new MemoryBackend();
  await assert.rejects(
    backend.write(bad),
    (e: Error & { code?: string }) => e.code === "BAD_RECORD",
  );
  const { valid, rejected, firstError } = splitInvalidRecords(bad);
  assert.equal(rejected, 2);
  assert.match(firstError!, /Cannot write span 'nan'/);
  await backend.write(valid);
  const rows = await backend.query({
    type: "select",
    entity: "spans",
    where: null,
    orderBy: [{ field: { kind: "column", name: "span_id" }, direction: "asc" }],
    limit: 10,
    offset: 0,
  });
  assert.deepEqual(rows.map((r) => r.spanId), ["ok-1", "ok-2"]);
  await backend.close();
});
