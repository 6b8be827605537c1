import assert from "node:assert/strict";
import {
  type EventRecord,
  type MetricRecord,
  type SpanWithEvents,
  TelemetryConfig,
  TelemetryManager,
  withLlmCall,
  withToolCall,
} from "../../mod.ts";
import { RateLimitError, stored } from "./_stored.ts";

Deno.test("withLlmCall() records an llm_call span with model, provider, tokens and cost", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await manager.withSpan(
    "node",
    {},
    () =>
      withLlmCall(manager, { model: "m-1", provider: "acme" }, (call) => {
        call.setUsage({ promptTokens: 100, completionTokens: 20, cost: 0.5, finishReason: "stop" });
        return Promise.resolve("text");
      }),
  );
  const spans = await stored<SpanWithEvents>(manager, "spans");
  const llm = spans.find((s) => s.kind === "llm_call")!;
  assert.equal(llm.name, "chat m-1");
  assert.equal(llm.parentSpanId, spans.find((s) => s.name === "node")!.spanId);
  assert.deepEqual(llm.attributes, {
    "llm.model": "m-1",
    "llm.operation": "chat",
    "llm.provider": "acme",
    "llm.prompt_tokens": 100,
    "llm.completion_tokens": 20,
    "llm.total_tokens": 120,
    "llm.cost": 0.5,
    "llm.cost_unit": "USD",
    "llm.finish_reason": "stop",
  });
});

Deno.test("withLlmCall() records llm.request then llm.response on its span", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await withLlmCall(manager, { model: "m-1" }, (call) => {
    call.setUsage({ promptTokens: 7 });
    return Promise.resolve();
  });
  const events = await stored<EventRecord>(manager, "events");
  const [span] = await stored<SpanWithEvents>(manager, "spans");
  assert.deepEqual(events.map((e) => e.eventType), ["llm.request", "llm.response"]);
  assert.ok(events.every((e) => e.spanId === span!.spanId));
  assert.equal(events[0]!.attributes["llm.model"], "m-1");
  assert.equal(events[1]!.attributes["llm.prompt_tokens"], 7);
  assert.equal(events[1]!.attributes["llm.total_tokens"], 7);
  assert.equal(typeof events[1]!.attributes.duration, "number");
});

Deno.test("withLlmCall() records llm_prompt_tokens, llm_completion_tokens, llm_total_tokens, llm_cost and llm_duration", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await withLlmCall(manager, { model: "m-2" }, (call) => {
    call.setUsage({ promptTokens: 3, completionTokens: 4, cost: 0.01, costUnit: "EUR" });
    return Promise.resolve();
  });
  const metrics = await stored<MetricRecord>(manager, "metrics");
  const byName = Object.fromEntries(metrics.map((m) => [m.name, m]));
  assert.deepEqual(
    Object.keys(byName).sort(),
    ["llm_completion_tokens", "llm_cost", "llm_duration", "llm_prompt_tokens", "llm_total_tokens"],
  );
  assert.equal(byName.llm_prompt_tokens!.value, 3);
  assert.equal(byName.llm_completion_tokens!.value, 4);
  assert.equal(byName.llm_total_tokens!.value, 7);
  assert.equal(byName.llm_cost!.value, 0.01);
  assert.equal(byName.llm_cost!.unit, "EUR");
  assert.equal(byName.llm_duration!.unit, "s");
  assert.equal(byName.llm_prompt_tokens!.attributes["llm.model"], "m-2");
});

Deno.test("withLlmCall() without usage records only llm_duration; a failure records error.occurred and rethrows", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await assert.rejects(
    withLlmCall(manager, { model: "m-3" }, () => Promise.reject(new RateLimitError("429"))),
    RateLimitError,
  );
  const metrics = await stored<MetricRecord>(manager, "metrics");
  assert.deepEqual(metrics.map((m) => m.name), ["llm_duration"]);
  const events = await stored<EventRecord>(manager, "events");
  assert.deepEqual(events.map((e) => e.eventType), ["llm.request", "error.occurred"]);
  assert.equal(events[1]!.attributes.error_type, "RateLimitError");
  const [span] = await stored<SpanWithEvents>(manager, "spans");
  assert.equal(span!.status, "error");
});

Deno.test("withToolCall() records a tool_call span, tool.executed and tool_duration", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  await withToolCall(
    manager,
    { name: "search", attributes: { query: "deno" } },
    () => Promise.resolve(1),
  );
  await assert.rejects(
    withToolCall(manager, { name: "search" }, () => Promise.reject(new TypeError("bad"))),
  );
  const spans = await stored<SpanWithEvents>(manager, "spans");
  assert.deepEqual(spans.map((s) => [s.name, s.kind, s.status]), [
    ["tool search", "tool_call", "ok"],
    ["tool search", "tool_call", "error"],
  ]);
  assert.equal(spans[0]!.attributes.query, "deno");
  const events = await stored<EventRecord>(manager, "events");
  assert.deepEqual(events.map((e) => [e.eventType, e.attributes.tool_name, e.attributes.success]), [
    ["tool.executed", "search", true],
    ["tool.executed", "search", false],
  ]);
  assert.equal(events[1]!.attributes.error_type, "TypeError");
  assert.equal(events[0]!.spanId, spans[0]!.spanId);
  const metrics = await stored<MetricRecord>(manager, "metrics");
  assert.deepEqual(metrics.map((m) => m.name).sort(), [
    "tool_duration",
    "tool_duration",
    "tool_error_count",
  ]);
});
