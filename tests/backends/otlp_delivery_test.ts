/**
 * OtlpHttpBackend delivery: retries, Retry-After, refused and partial
 * batches, error bodies, time-outs, unreachable collectors and replays.
 *
 * @module
 */
import assert from "node:assert/strict";
import protobuf from "protobufjs";
import type { BackendError } from "../../mod.ts";
import { OtlpHttpBackend } from "../../src/backends/otlp/mod.ts";
import { parseRetryAfter } from "../../src/backends/otlp/_sender.ts";
import { FAST, fixtureBatch, withReceiver } from "./_otlp_fixtures.ts";

Deno.test("OtlpHttpBackend retries 503 after the collector's Retry-After, then delivers once", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(new Response("busy", { status: 503, headers: { "retry-after": "1" } }));
    await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    const batch = fixtureBatch();
    const started = Date.now();
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.ok(Date.now() - started >= 950, "waited for Retry-After: 1");
    assert.equal(receiver.requests.length, 2);
    const stats = backend.stats();
    assert.equal(stats.retries, 1);
    assert.equal(stats.exported, 3);
    assert.equal(stats.dropped, 0);
  });
});

Deno.test("OtlpHttpBackend gives up at once when Retry-After exceeds its budget, and waits it out before sending again", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(new Response("later", { status: 429, headers: { "retry-after": "30" } }));
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      maxRetryTimeMs: 200,
    });
    const batch = { ...fixtureBatch(), events: [], metrics: [] };
    const started = Date.now();
    await assert.rejects(backend.write(batch), /HTTP 429: later/);
    await assert.rejects(backend.write(batch), /asked to wait 30 s \(Retry-After\)/);
    assert.ok(Date.now() - started < 1000, "no waiting past the budget");
    assert.equal(
      receiver.requests.length,
      1,
      "the collector was not asked again before Retry-After",
    );
    assert.equal(backend.stats().dropped, 0);
  });
});

Deno.test("OtlpHttpBackend drops a batch the collector refuses with 400, counting it and keeping the message", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ code: 3, message: "span 00f067aa0ba902b7 has no name" }, { status: 400 }),
    );
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    const batch = fixtureBatch();
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.equal(receiver.requests.length, 1, "a 400 is not retried");
    const stats = backend.stats();
    assert.equal(stats.dropped, 3);
    assert.equal(stats.exported, 0);
    assert.match(stats.lastError!, /HTTP 400: span 00f067aa0ba902b7 has no name/);
    assert.ok(stats.lastErrorTime! > 0);
  });
});

Deno.test("OtlpHttpBackend reads at most 4 MiB of a response: a larger body is a final failure, counted", async () => {
  await withReceiver(async (receiver) => {
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    // A 5 MiB body without content-length (streamed), then one that announces its length.
    const streamed = () => {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (sent >= 5 * 1024 * 1024) return controller.close();
            sent += chunk.length;
            controller.enqueue(chunk);
          },
        }),
        { headers: { "content-type": "application/json" } },
      );
    };
    receiver.replies.push(streamed, () => Response.json({ pad: " ".repeat(5 * 1024 * 1024) }));
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    const batch = fixtureBatch();
    await backend.write({ ...batch, events: [], metrics: [] });
    await backend.write({ ...batch, events: [], metrics: [] });
    assert.equal(receiver.requests.length, 2, "an oversized response is not retried");
    const stats = backend.stats();
    assert.equal(stats.exported, 0);
    assert.equal(stats.dropped, 6);
    assert.match(stats.lastError!, /the response body exceeds 4194304 bytes/);
  });
});

Deno.test("OtlpHttpBackend reads the message of a protobuf google.rpc.Status error body", async () => {
  const Status = protobuf.parse(
    'syntax = "proto3"; package google.rpc; message Status { int32 code = 1; string message = 2; }',
  ).root.lookupType("google.rpc.Status");
  await withReceiver(async (receiver) => {
    const bytes = Status.encode(Status.create({ code: 16, message: "missing api key" })).finish();
    receiver.replies.push(
      new Response(bytes as BodyInit, {
        status: 401,
        headers: { "content-type": "application/x-protobuf" },
      }),
    );
    await using backend = new OtlpHttpBackend({ ...FAST, endpoint: receiver.url });
    await backend.write({ traces: [], spans: [], events: [], metrics: fixtureBatch().metrics });
    assert.match(backend.stats().lastError!, /HTTP 401: missing api key/);
    assert.equal(backend.stats().dropped, 5);
  });
});

Deno.test("OtlpHttpBackend counts records refused in partial_success", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ partialSuccess: { rejectedSpans: "1", errorMessage: "span too old" } }),
    );
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      protocol: "http/json",
    });
    await backend.write({ ...fixtureBatch(), events: [], metrics: [] });
    const stats = backend.stats();
    assert.equal(stats.rejected, 1);
    assert.equal(stats.exported, 2);
    assert.match(stats.lastError!, /refused 1 of 3 spans: span too old/);
  });
});

Deno.test("OtlpHttpBackend times out a hanging collector, throws for the worker, and a replay delivers once", async () => {
  await withReceiver(async (receiver) => {
    // Answers long after the client's 100 ms timeout (but soon enough for the server to shut down).
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 600));
    receiver.replies.push(hang, hang, hang, hang, hang, hang, hang, hang);
    await using backend = new OtlpHttpBackend({
      endpoint: receiver.url,
      timeoutMs: 100,
      maxRetryTimeMs: 250,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const batch = { ...fixtureBatch(), events: [], metrics: [] };
    await assert.rejects(backend.write(batch), (error: BackendError) => {
      assert.equal(error.code, "CONNECTION");
      assert.match(error.message, /no response within 100 ms/);
      return true;
    });
    const attempts = receiver.requests.length;
    assert.ok(attempts >= 2, `retried after a timeout (${attempts} attempts)`);
    assert.equal(backend.stats().retries, attempts - 1);
    assert.equal(backend.stats().dropped, 0, "nothing dropped: the worker keeps the batch");
    receiver.replies.length = 0;
    await backend.write(batch);
    assert.equal(receiver.requests.length, attempts + 1);
    assert.equal(backend.stats().exported, 3);
  });
});

Deno.test("OtlpHttpBackend treats connection refused as retriable and throws CONNECTION", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await using backend = new OtlpHttpBackend({
    endpoint: `http://127.0.0.1:${port}`,
    maxRetryTimeMs: 100,
    initialBackoffMs: 10,
    maxBackoffMs: 20,
  });
  await assert.rejects(backend.write(fixtureBatch()), (error: BackendError) => {
    assert.equal(error.code, "CONNECTION");
    assert.match(error.message, /network error/);
    return true;
  });
  const stats = backend.stats();
  assert.ok(stats.retries >= 1);
  assert.equal(stats.dropped, 0);
  assert.match(stats.lastError!, /network error/);
});

Deno.test("OtlpHttpBackend resends only the signals that failed when the worker replays a batch", async () => {
  await withReceiver(async (receiver) => {
    const unavailable = () => new Response("down", { status: 503 });
    // Logs fail for every attempt of the first write; traces and metrics succeed.
    const realReplies = receiver.replies;
    let logsDown = true;
    realReplies.push(
      ...Array.from(
        { length: 50 },
        () => (request: Request) =>
          new URL(request.url).pathname === "/v1/logs" && logsDown
            ? unavailable()
            : Response.json({}),
      ),
    );
    await using backend = new OtlpHttpBackend({
      endpoint: receiver.url,
      maxRetryTimeMs: 60,
      initialBackoffMs: 10,
      maxBackoffMs: 20,
    });
    const batch = fixtureBatch();
    await assert.rejects(backend.write(batch), /Cannot export logs/);
    logsDown = false;
    await backend.write(batch);
    const count = (path: string) => receiver.requests.filter((r) => r.path === path).length;
    assert.equal(count("/v1/traces"), 1, "spans were not sent twice");
    assert.equal(count("/v1/metrics"), 1, "metrics were not sent twice");
    assert.ok(count("/v1/logs") >= 2);
    assert.equal(backend.stats().exported, 11);
  });
});

Deno.test("parseRetryAfter() reads delay-seconds and HTTP dates", () => {
  const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:05 GMT", now), 5000);
  assert.equal(parseRetryAfter("soon", now), null);
  assert.equal(parseRetryAfter(null, now), null);
});
