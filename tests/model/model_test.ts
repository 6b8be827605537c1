import assert from "node:assert/strict";
import {
  Event,
  Metric,
  Span,
  SpanKind,
  SpanStatus,
  TelemetryConfig,
  type TelemetryConfigOptions,
  Trace,
} from "../../mod.ts";

Deno.test("Trace() defaults match the seed and ids are W3C-sized", () => {
  const trace = new Trace();
  assert.match(trace.traceId, /^[0-9a-f]{32}$/);
  assert.equal(trace.name, "");
  assert.equal(trace.status, SpanStatus.UNSET);
  assert.equal(trace.endTime, null);
  assert.equal(trace.duration, null);
  assert.deepEqual(trace.attributes, {});
  assert.deepEqual(trace.resource, {});
});

Deno.test("Span.end() records status, a serialisable error and is idempotent", () => {
  const span = new Span({ kind: SpanKind.TOOL_CALL, startTime: 10 });
  assert.match(span.spanId, /^[0-9a-f]{16}$/);
  span.end("error", new TypeError("bad input"));
  const endTime = span.endTime;
  span.end("ok");
  assert.equal(span.endTime, endTime);
  assert.equal(span.status, "error");
  assert.equal(span.error?.type, "TypeError");
  assert.deepEqual(JSON.parse(JSON.stringify(span.toDict())).error.message, "bad input");
});

Deno.test("Span.addEvent() binds the event to the span", () => {
  const span = new Span({ traceId: "a".repeat(32) });
  const event = new Event({ name: "x" });
  span.addEvent(event);
  assert.equal(event.spanId, span.spanId);
  assert.equal(event.traceId, span.traceId);
  assert.equal(span.toDict().events.length, 1);
});

Deno.test("Metric() defaults to a gauge with value 0", () => {
  const m = new Metric();
  assert.equal(m.value, 0);
  assert.equal(m.kind, "gauge");
  assert.equal(m.unit, "");
});

Deno.test("TelemetryConfig() rejects bad fields with the field's name", () => {
  assert.throws(
    () => new TelemetryConfig({ samplingRate: -0.1 }),
    /samplingRate must be between 0 and 1/,
  );
  assert.throws(() => new TelemetryConfig({ bufferSize: 0 }), /bufferSize must be >= 1/);
  assert.throws(() => new TelemetryConfig({ exportInterval: -1 }), /exportInterval must be >= 0/);
  assert.throws(() => new TelemetryConfig({ retentionDays: 0 }), /retentionDays must be >= 1/);
  assert.throws(
    () => new TelemetryConfig({ backend: "mysql" } as unknown as TelemetryConfigOptions),
    /backend must be one of memory \| sqlite \| postgresql \| otlp_http \| noop, got "mysql"/,
  );
  assert.throws(
    () => new TelemetryConfig({ samplingrate: 1 } as unknown as TelemetryConfigOptions),
    /unknown option 'samplingrate' — did you mean 'samplingRate'\?/,
  );
});

Deno.test("TelemetryConfig.shouldSample() is deterministic and close to the rate", () => {
  const config = new TelemetryConfig({ samplingRate: 0.25 });
  let sampled = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) {
    const id = new Trace().traceId;
    const first = config.shouldSample(id);
    assert.equal(config.shouldSample(id), first);
    if (first) sampled++;
  }
  assert.ok(Math.abs(sampled / n - 0.25) < 0.02, `sampled ${sampled / n}`);
});
