import assert from "node:assert/strict";
import {
  type Backend,
  BackendError,
  type Batch,
  FanoutBackend,
  type SpanRecord,
} from "../../mod.ts";
import { OtlpHttpBackend } from "../../src/backends/otlp/mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import type { SelectPlan } from "../../query/plan.ts";
import { MemoryBackend } from "../../src/backends/memory/mod.ts";
import {
  bodyOf,
  checkTraces,
  FAST,
  fixtureBatch,
  type Obj,
  only,
  spanRecord,
  T0,
  TOOL,
  waitFor,
  withReceiver,
} from "./_otlp_fixtures.ts";
import { backendConformance } from "./backend_conformance.ts";

// A store behind a fan-out must behave exactly as the store alone. The
// exporter points at a port nothing listens on: every export fails, which
// must change nothing the store does.
backendConformance("memory+otlp_http (failing exporter)", () =>
  Promise.resolve(
    new FanoutBackend(
      new MemoryBackend(),
      new OtlpHttpBackend({ endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 }),
      { retryDelayMs: 60_000, closeTimeoutMs: 0 },
    ),
  ));

backendConformance("sqlite+otlp_http via openBackend (failing exporter)", () =>
  openBackend({
    backend: "sqlite",
    backendConfig: {
      dbPath: ":memory:",
      export: {
        otlp: { endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 },
        retryDelayMs: 60_000,
        closeTimeoutMs: 0,
      },
    },
  }));

/** A tiny store fixture that records what it was given. */
class FixtureStore implements Backend {
  readonly name = "fixture";
  readonly spans = new Map<string, SpanRecord>();
  writes = 0;
  failNext = false;
  closed = false;
  write(batch: Batch): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      return Promise.reject(new BackendError("WRITE_FAILED", "Cannot write: disk full"));
    }
    this.writes++;
    for (const span of batch.spans) this.spans.set(span.spanId, span);
    return Promise.resolve();
  }
  query(): Promise<never[]> {
    return Promise.resolve([]);
  }
  applyRetention(): Promise<number> {
    return Promise.resolve(7);
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

const SELECT_SPANS: SelectPlan = {
  type: "select",
  entity: "spans",
  where: null,
  orderBy: [],
  limit: 100,
  offset: 0,
};

Deno.test("FanoutBackend keeps storing while the exporter fails, then exports everything once", async () => {
  await withReceiver(async (receiver) => {
    let down = true;
    receiver.replies.push(
      ...Array.from(
        { length: 200 },
        () => () => down ? new Response("down", { status: 503 }) : Response.json({}),
      ),
    );
    const store = new MemoryBackend();
    const exporter = new OtlpHttpBackend({
      endpoint: receiver.url,
      maxRetryTimeMs: 30,
      initialBackoffMs: 5,
      maxBackoffMs: 10,
    });
    await using backend = new FanoutBackend(store, exporter, {
      retryDelayMs: 10,
      maxRetryDelayMs: 20,
    });
    const ids = ["a", "b", "c"].map((c) => c.repeat(16));
    for (const spanId of ids) {
      const started = Date.now();
      await backend.write({ traces: [], spans: [spanRecord({ spanId })], events: [], metrics: [] });
      assert.ok(Date.now() - started < 25, "a failing exporter does not slow the store write");
    }
    const stored = await backend.query(SELECT_SPANS);
    assert.deepEqual(stored.map((row) => row.spanId).sort(), ids, "queries see the store");
    await waitFor(() => backend.stats().retries > 0);
    assert.equal(backend.stats().queued, 3);
    assert.match(backend.stats().lastError!, /HTTP 503/);
    down = false;
    await waitFor(() => backend.stats().queued === 0);
    const exported = receiver.requests
      .filter((r) => r.headers && r.path === "/v1/traces")
      .slice(-3)
      .map((r) => (only<Obj>(only<Obj>(only<Obj>(r.body.resourceSpans).scopeSpans).spans)).spanId);
    assert.deepEqual(exported, ids, "exported in order");
    assert.equal(backend.stats().exported, 3);
    assert.equal(backend.stats().dropped, 0);
    assert.equal(await backend.applyRetention(T0 + 10), 3, "retention goes to the store");
  });
});

Deno.test("FanoutBackend drops the oldest queued batches beyond maxQueueRecords and counts them", async () => {
  const store = new FixtureStore();
  const exporter = new OtlpHttpBackend({ endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 });
  const backend = new FanoutBackend(store, exporter, {
    maxQueueRecords: 2,
    retryDelayMs: 1000,
    closeTimeoutMs: 0,
  });
  for (const c of ["a", "b", "c", "d"]) {
    await backend.write({
      traces: [],
      spans: [spanRecord({ spanId: c.repeat(16) })],
      events: [],
      metrics: [],
    });
  }
  assert.equal(store.spans.size, 4, "the store has everything");
  const stats = backend.stats();
  assert.equal(stats.queued, 2);
  assert.equal(stats.dropped, 2);
  assert.match(stats.lastError ?? "", /export queue is full|network error/);
  await backend.close();
  assert.equal(backend.stats().dropped, 4, "records still queued at close are counted as dropped");
  assert.ok(store.closed);
});

Deno.test("FanoutBackend.close() waits closeTimeoutMs for a hanging collector, then counts what is left", async () => {
  await withReceiver(async (receiver) => {
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 1500));
    receiver.replies.push(hang);
    const store = new MemoryBackend();
    const exporter = new OtlpHttpBackend({ endpoint: receiver.url, timeoutMs: 10_000 });
    const backend = new FanoutBackend(store, exporter, { closeTimeoutMs: 100 });
    await backend.write({
      traces: [],
      spans: [spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    });
    await waitFor(() => receiver.requests.length === 1);
    const started = Date.now();
    await backend.close();
    assert.ok(Date.now() - started < 1000, `close took ${Date.now() - started} ms`);
    assert.equal(backend.stats().dropped, 1);
    assert.equal(backend.stats().queued, 0);
    assert.match(backend.stats().lastError!, /closed before the exporter caught up/);
    await assert.rejects(backend.write(fixtureBatch()), (e: BackendError) => e.code === "CLOSED");
  });
});

Deno.test("FanoutBackend queues nothing when the store write fails", async () => {
  await withReceiver(async (receiver) => {
    const store = new FixtureStore();
    const exporter = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    await using backend = new FanoutBackend(store, exporter);
    store.failNext = true;
    const batch: Batch = {
      traces: [],
      spans: [spanRecord({ spanId: TOOL })],
      events: [],
      metrics: [],
    };
    await assert.rejects(backend.write(batch), /disk full/);
    assert.equal(backend.stats().queued, 0);
    await backend.write(batch);
    await waitFor(() => backend.stats().exported === 1);
    assert.equal(receiver.requests.length, 1, "exported once, after the store took it");
  });
});

Deno.test("openBackend() opens otlp_http, and a store with an export section as a fan-out", async () => {
  const otlp = await openBackend({
    backend: "otlp_http",
    backendConfig: { endpoint: "http://127.0.0.1:4318" },
  });
  assert.ok(otlp instanceof OtlpHttpBackend);
  await otlp.close();
  await assert.rejects(
    openBackend({ backend: "otlp_http", backendConfig: { export: { otlp: {} } } }),
    (error: BackendError) => error.code === "BAD_CONFIG" && /already exports/.test(error.message),
  );
  await assert.rejects(
    openBackend({ backend: "noop", backendConfig: { export: { otlp: { protocol: "grpc" } } } }),
    (error: BackendError) => error.code === "BAD_CONFIG" && /grpc/.test(error.message),
  );
  await assert.rejects(
    openBackend({ backend: "noop", backendConfig: { export: { otlp: {}, maxQueue: 3 } } }),
    (error: BackendError) =>
      error.code === "BAD_CONFIG" && /unknown export option "maxQueue"/.test(error.message),
  );
});

Deno.test("openBackend() with an export section stores in SQLite and exports at once", async () => {
  await withReceiver(async (receiver) => {
    const backend = await openBackend({
      backend: "sqlite",
      backendConfig: { dbPath: ":memory:", export: { otlp: { ...FAST, endpoint: receiver.url } } },
    });
    try {
      assert.ok(backend instanceof FanoutBackend);
      assert.equal(backend.name, "sqlite+otlp_http");
      await backend.write(fixtureBatch());
      assert.equal((await backend.query(SELECT_SPANS)).length, 3);
      await waitFor(() => backend.stats!().exported === 11);
      checkTraces(bodyOf(receiver, "/v1/traces"));
    } finally {
      await backend.close();
    }
  });
});
