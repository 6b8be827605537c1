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
export * from "./src/backends/memory.ts";
export * from "./src/backends/sqlite.ts";
export * from "./src/backends/noop.ts";
export * from "./query/sql.ts";
export * from "./query/sqlite_dialect.ts";
export * from "./query/memory.ts";
export * from "./src/context.ts";
export * from "./src/telemetry_stats.ts";
export { PipelineError } from "./src/pipeline.ts";
export * from "./src/manager.ts";
