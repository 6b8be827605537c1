/**
 * Helpers that record on a `TelemetryManager` what applications
 * usually want traced: graph runs and node executions
 * (`instrumentation.ts`), LLM and tool calls (`llm.ts`), retries with backoff
 * (`retry.ts`), and trace context carried over HTTP by a traced `fetch` and a
 * traced `Deno.serve` handler (`propagation.ts`). They only call the
 * manager's public methods: anything they record, an application could
 * record by hand.
 *
 * @module
 */
export * from "./instrumentation.ts";
export * from "./llm.ts";
export * from "./retry.ts";
export * from "./propagation.ts";
