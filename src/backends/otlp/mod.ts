/**
 * The OTLP/HTTP exporter, `"@spark/telemetry/otlp"`: sends traces, events
 * and metrics to any OpenTelemetry collector, in protobuf or JSON. It is an
 * entry point of its own so that `import "@spark/telemetry"` loads no
 * exporter code: `backend: "otlp_http"` or an `export.otlp` section loads it
 * when the flusher worker opens the backend. Import it directly to build an
 * {@linkcode OtlpHttpBackend} yourself (e.g. inside a `FanoutBackend`).
 *
 * ```ts
 * import { OtlpHttpBackend } from "@spark/telemetry/otlp";
 * import assert from "node:assert/strict";
 *
 * await using backend = new OtlpHttpBackend({ endpoint: "http://127.0.0.1:4318" });
 * assert.equal(backend.name, "otlp_http");
 * ```
 *
 * @module
 */
export * from "./otlp_http_backend.ts";
