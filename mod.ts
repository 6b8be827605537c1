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
export * from "./src/model/types.ts";
export * from "./src/model/clock.ts";
export * from "./src/model/ids.ts";
export * from "./src/model/event.ts";
export * from "./src/model/metric.ts";
export * from "./src/model/span.ts";
export * from "./src/model/trace.ts";
export * from "./src/config.ts";
export * from "./src/backends/backend.ts";
export * from "./query/plan.ts";
export * from "./src/version.ts";
export * from "./src/backends/export_stats.ts";
export * from "./src/backends/fanout.ts";
export * from "./src/backends/memory/mod.ts";
export * from "./src/backends/sqlite/mod.ts";
export * from "./src/backends/noop.ts";
export * from "./query/sql.ts";
export * from "./query/sqlite_dialect.ts";
export * from "./query/postgresql_dialect.ts";
// Types only: the class itself is reached through openBackend() or the
// "@spark/telemetry/postgresql" entry point, so importing the library never
// loads the PostgreSQL client.
export type { PostgresqlBackend, PostgresqlBackendOptions } from "./src/backends/postgresql/mod.ts";
// Types only, likewise: the exporter is the "@spark/telemetry/otlp" entry point.
export type { OtlpHttpBackend, OtlpHttpOptions } from "./src/backends/otlp/mod.ts";
export * from "./query/predicates.ts";
export * from "./src/context/context.ts";
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
export * from "./query/errors.ts";
export {
  MAX_QUERY_COLUMNS,
  MAX_QUERY_DEPTH,
  MAX_QUERY_LENGTH,
  MAX_QUERY_TERMS,
} from "./query/limits.ts";
export * from "./query/parse_query.ts";
export * from "./src/cli/waterfall.ts";
export * from "./src/instrumentation/propagation.ts";
export * from "./src/analysis/analysis.ts";
export * from "./src/instrumentation/instrumentation.ts";
export * from "./src/instrumentation/llm.ts";
export * from "./src/instrumentation/retry.ts";
