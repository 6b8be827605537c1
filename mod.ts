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
export * from "./src/types.ts";
export * from "./src/clock.ts";
export * from "./src/ids.ts";
export * from "./src/event.ts";
export * from "./src/metric.ts";
export * from "./src/span.ts";
export * from "./src/trace.ts";
export * from "./src/config.ts";
export * from "./src/backends/backend.ts";
export * from "./query/plan.ts";
export * from "./src/version.ts";
export * from "./src/backends/export_stats.ts";
export * from "./src/backends/fanout.ts";
export * from "./src/backends/memory.ts";
export * from "./src/backends/sqlite.ts";
export * from "./src/backends/noop.ts";
export * from "./query/sql.ts";
export * from "./query/sqlite_dialect.ts";
export * from "./query/postgresql_dialect.ts";
// Types only: the class itself is reached through openBackend() or the
// "@spark/telemetry/postgresql" entry point, so importing the library never
// loads the PostgreSQL client.
export type { PostgresqlBackend, PostgresqlBackendOptions } from "./src/backends/postgresql.ts";
// Types only, likewise: the exporter is the "@spark/telemetry/otlp" entry point.
export type { OtlpHttpBackend, OtlpHttpOptions } from "./src/backends/otlp/mod.ts";
export * from "./query/memory.ts";
export * from "./src/context.ts";
export * from "./src/telemetry_stats.ts";
export { PipelineError } from "./src/pipeline.ts";
export * from "./src/manager.ts";
export * from "./query/errors.ts";
export {
  MAX_QUERY_COLUMNS,
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_TERMS,
} from "./query/limits.ts";
export * from "./query/parse_query.ts";
export * from "./query/waterfall.ts";
export * from "./src/propagation.ts";
export * from "./src/analysis.ts";
export * from "./src/instrumentation.ts";
export * from "./src/llm.ts";
