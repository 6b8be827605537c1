/**
 * @spark/telemetry — traces, spans, events and metrics of agent workflows,
 * recorded off the application's thread and stored where they can be queried
 * (memory, SQLite, PostgreSQL) or exported to any OpenTelemetry collector.
 *
 * ```ts
 * import { TelemetryConfig, Trace } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const config = TelemetryConfig.createMemory();
 * assert.equal(config.enabled, true);
 * assert.match(new Trace().traceId, /^[0-9a-f]{32}$/);
 * ```
 *
 * @module
 */
export * from "./src/model/mod.ts";
export * from "./src/context/mod.ts";
export * from "./query/mod.ts";
export * from "./src/backends/mod.ts";
// Types only: the class itself is reached through openBackend() or the
// "@spark/telemetry/postgresql" entry point, so importing the library never
// loads the PostgreSQL client.
export type { PostgresqlBackend, PostgresqlBackendOptions } from "./src/backends/postgresql/mod.ts";
// Types only, likewise: the exporter is the "@spark/telemetry/otlp" entry point.
export type { OtlpHttpBackend, OtlpHttpOptions } from "./src/backends/otlp/mod.ts";
export * from "./src/config.ts";
export * from "./src/version.ts";
export * from "./src/pipeline/telemetry_stats.ts";
export { PipelineError } from "./src/pipeline/pipeline.ts";
export * from "./src/manager.ts";
export type {
  PageOptions,
  QueryEventsOptions,
  QueryMetricsOptions,
  QuerySpansOptions,
  QueryTracesOptions,
} from "./src/query_options.ts";
export * from "./src/analysis/mod.ts";
export * from "./src/instrumentation/mod.ts";
export * from "./src/cli/mod.ts";
