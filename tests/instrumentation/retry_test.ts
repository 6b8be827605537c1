import assert from "node:assert/strict";
import {
  type EventRecord,
  type MetricRecord,
  type SpanWithEvents,
  TelemetryConfig,
  TelemetryManager,
  withRetry,
} from "../../mod.ts";
import { RateLimitError, stored } from "./_stored.ts";

Deno.test("withRetry() records retry.attempted per retry with attempt, max_attempts, delay_ms, error_type", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const delays: number[] = [];
  const result = await manager.withSpan("node", {}, () =>
    withRetry(manager, (attempt) => {
      if (attempt < 3) return Promise.reject(new RateLimitError(`try ${attempt}`));
      return Promise.resolve(attempt);
    }, { operation: "call_model", attempts: 5, baseDelayMs: 1, factor: 3, random: () => 0.5 }));
  assert.equal(result, 3);
  const events = await stored<EventRecord>(manager, "events");
  const [node] = await stored<SpanWithEvents>(manager, "spans");
  for (const e of events) delays.push(e.attributes.delay_ms as number);
  assert.deepEqual(
    events.map((e) => [e.eventType, e.attributes.attempt, e.attributes.max_attempts]),
    [
      ["retry.attempted", 1, 5],
      ["retry.attempted", 2, 5],
    ],
  );
  assert.deepEqual(delays, [0.5, 1.5], "base × factor^(attempt-1) × jitter");
  assert.ok(
    events.every((e) => e.spanId === node!.spanId && e.attributes.operation === "call_model"),
  );
  assert.equal(events[0]!.attributes.error_type, "RateLimitError");
  const metrics = await stored<MetricRecord>(manager, "metrics");
  assert.equal(metrics.filter((m) => m.name === "retry_count").length, 2);
});

Deno.test("withRetry() rethrows the last error, and stops early when retryOn says no", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  let calls = 0;
  await assert.rejects(
    withRetry(manager, () => {
      calls++;
      return Promise.reject(new RateLimitError(`call ${calls}`));
    }, { attempts: 2, baseDelayMs: 0 }),
    /call 2/,
  );
  assert.equal(calls, 2);
  calls = 0;
  await assert.rejects(
    withRetry(manager, () => {
      calls++;
      return Promise.reject(new TypeError("fatal"));
    }, { attempts: 4, baseDelayMs: 0, retryOn: (e) => e instanceof RateLimitError }),
    TypeError,
  );
  assert.equal(calls, 1);
  const events = await stored<EventRecord>(manager, "events");
  assert.equal(events.length, 1);
  await assert.rejects(withRetry(manager, () => Promise.resolve(), { attempts: 0 }), RangeError);
});
