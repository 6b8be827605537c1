/**
 * The records: traces, spans, events and metric points as the application
 * sees them (classes with `toDict`/`fromDict`), the plain record shapes that
 * cross the worker boundary and every backend stores, their ids (W3C-sized,
 * from a pool of random bytes) and the clock (seconds since the epoch with
 * sub-millisecond resolution). Everything else builds on this folder; it
 * imports nothing of ours. Private here: the manager's live span
 * (`recording_span.ts`); `sanitize.ts` converts values that cannot be stored.
 *
 * @module
 */
export * from "./types.ts";
export * from "./clock.ts";
export * from "./ids.ts";
export * from "./event.ts";
export * from "./metric.ts";
export * from "./span.ts";
export * from "./trace.ts";
