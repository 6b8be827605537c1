/**
 * Performance analysis of recorded graph runs (the seed's "RSI" consumer):
 * run success and latency, per-node statistics, bottlenecks and failure
 * patterns, each computed by the backend as an aggregate query plan
 * (`_performance_plans.ts`), so the analysis reads groups, never raw rows.
 *
 * @module
 */
export * from "./analysis.ts";
