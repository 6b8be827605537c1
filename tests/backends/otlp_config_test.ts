/**
 * OtlpHttpBackend configuration: OTEL_EXPORTER_OTLP_* variables, signals,
 * bad settings, and the export-only contract.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { BackendError } from "../../mod.ts";
import { OtlpHttpBackend, type OtlpHttpOptions } from "../../src/backends/otlp/mod.ts";
import { resolveOtlpConfig } from "../../src/backends/otlp/_config.ts";
import { FAST, fixtureBatch, T0, withReceiver } from "./_otlp_fixtures.ts";

Deno.test("OtlpHttpBackend.query() fails with EXPORT_ONLY and a clear message", async () => {
  await using backend = new OtlpHttpBackend();
  await assert.rejects(
    backend.query({
      type: "select",
      entity: "spans",
      where: null,
      orderBy: [],
      limit: 1,
      offset: 0,
    }),
    (error: BackendError) => {
      assert.equal(error.code, "EXPORT_ONLY");
      assert.match(error.message, /^Cannot query: the otlp_http backend only exports/);
      return true;
    },
  );
  assert.equal(await backend.applyRetention(T0), 0);
  await backend.close();
  await assert.rejects(backend.write(fixtureBatch()), (e: BackendError) => e.code === "CLOSED");
});

Deno.test("resolveOtlpConfig() honours OTEL_EXPORTER_OTLP_* variables, and explicit settings win", () => {
  const env: Record<string, string> = {
    OTEL_EXPORTER_OTLP_ENDPOINT: "https://collector.example:4318/",
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "https://logs.example/custom/path",
    OTEL_EXPORTER_OTLP_HEADERS: "api-key=s%20ecret, x-team=agents",
    OTEL_EXPORTER_OTLP_TIMEOUT: "2500",
    OTEL_EXPORTER_OTLP_COMPRESSION: "gzip",
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    OTEL_SERVICE_NAME: "from-env",
    OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=prod",
  };
  const fromEnv = resolveOtlpConfig({}, (name) => env[name]);
  assert.equal(fromEnv.targets.traces.url, "https://collector.example:4318/v1/traces");
  assert.equal(fromEnv.targets.logs.url, "https://logs.example/custom/path");
  assert.equal(fromEnv.targets.metrics.url, "https://collector.example:4318/v1/metrics");
  assert.deepEqual(fromEnv.targets.traces.headers, { "api-key": "s ecret", "x-team": "agents" });
  assert.equal(fromEnv.targets.traces.timeoutMs, 2500);
  assert.equal(fromEnv.targets.traces.compression, "gzip");
  assert.equal(fromEnv.targets.traces.protocol, "http/json");
  assert.equal(fromEnv.serviceName, "from-env");
  assert.deepEqual(fromEnv.resource, { "deployment.environment": "prod" });

  const explicit = resolveOtlpConfig({
    endpoint: "http://127.0.0.1:4318",
    metricsEndpoint: "http://metrics.local/ingest",
    headers: { "api-key": "explicit" },
    timeoutMs: 100,
    compression: "none",
    protocol: "http/protobuf",
    serviceName: "explicit-svc",
  }, (name) => env[name]);
  assert.equal(explicit.targets.traces.url, "http://127.0.0.1:4318/v1/traces");
  assert.equal(
    explicit.targets.logs.url,
    "http://127.0.0.1:4318/v1/logs",
    "explicit base beats env per-signal",
  );
  assert.equal(explicit.targets.metrics.url, "http://metrics.local/ingest");
  assert.equal(explicit.targets.traces.headers["api-key"], "explicit");
  assert.equal(explicit.targets.traces.headers["x-team"], "agents");
  assert.equal(explicit.targets.traces.timeoutMs, 100);
  assert.equal(explicit.targets.traces.compression, "none");
  assert.equal(explicit.targets.traces.protocol, "http/protobuf");
  assert.equal(explicit.serviceName, "explicit-svc");

  const defaults = resolveOtlpConfig({}, () => undefined);
  assert.equal(defaults.targets.traces.url, "http://localhost:4318/v1/traces");
  assert.equal(defaults.targets.traces.protocol, "http/protobuf");
  assert.equal(defaults.targets.traces.compression, "none");
  assert.equal(defaults.targets.traces.timeoutMs, 10_000);
});

Deno.test("OtlpHttpBackend exports only the signals asked for (e.g. traces for Jaeger)", async () => {
  await withReceiver(async (receiver) => {
    await using backend = new OtlpHttpBackend({
      ...FAST,
      endpoint: receiver.url,
      signals: ["traces"],
    });
    await backend.write(fixtureBatch());
    assert.deepEqual(receiver.requests.map((r) => r.path), ["/v1/traces"]);
    assert.equal(backend.stats().exported, 3);
    assert.equal(backend.stats().dropped, 0);
  });
  const env: Record<string, string> = { OTEL_LOGS_EXPORTER: "none", OTEL_METRICS_EXPORTER: "none" };
  assert.deepEqual([...resolveOtlpConfig({}, (name) => env[name]).signals], ["traces"]);
});

Deno.test("OtlpHttpBackend reads the real environment for its defaults", () => {
  Deno.env.set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://10.0.0.1:4318/v1/traces");
  try {
    const backend = new OtlpHttpBackend();
    assert.equal(backend.endpoints.traces, "http://10.0.0.1:4318/v1/traces");
  } finally {
    Deno.env.delete("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  }
});

Deno.test("OtlpHttpBackend rejects bad settings with BAD_CONFIG naming them", () => {
  const bad = (options: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => new OtlpHttpBackend(options as OtlpHttpOptions), (error: BackendError) => {
      assert.equal(error.code, "BAD_CONFIG");
      assert.match(error.message, pattern);
      return true;
    });
  bad({ protocol: "grpc" }, /does not speak.*http\/protobuf/);
  bad({ endpoint: "localhost:4318" }, /endpoint must be an (absolute )?http\(s\) URL/);
  bad({ compression: "br" }, /compression must be "gzip" or "none"/);
  bad({ timeoutMs: 0 }, /timeoutMs must be a number >= 1/);
  bad({ endpont: "http://x" }, /unknown option "endpont"/);
});
