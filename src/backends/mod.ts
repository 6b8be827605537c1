/**
 * Where records go. One contract (`backend.ts`: write a batch, run a plan,
 * apply retention, close) hosted by the flusher worker, which does not know
 * which backend it runs; one folder per storage engine (`memory/`,
 * `sqlite/`, `postgresql/`) and the OTLP exporter (`otlp/`), each with a
 * `mod.ts` and its private files; `fanout.ts` stores and exports at once;
 * `open_backend.ts` opens the backend a configuration names, importing it
 * lazily so a process never loads a client it does not use. Every storage
 * engine passes the same conformance suite
 * (`tests/backends/backend_conformance.ts`).
 *
 * @module
 */
export * from "./backend.ts";
export * from "./export_stats.ts";
export * from "./fanout.ts";
export * from "./memory/mod.ts";
export * from "./sqlite/mod.ts";
export * from "./noop.ts";
