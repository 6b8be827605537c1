/**
 * The current trace and span of an async flow, carried with
 * `AsyncLocalStorage` so that concurrent runs never mix their parents, and the
 * W3C `traceparent`/`tracestate`/`baggage` header formats (`w3c.ts`: pure
 * string functions). Carrying a context over HTTP is instrumentation
 * (`src/instrumentation/propagation.ts`), which builds on this folder.
 *
 * @module
 */
export * from "./context.ts";
