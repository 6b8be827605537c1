/**
 * The public entry of the query language: text in, {@linkcode QueryPlan} out.
 *
 * @module
 */
import type { QueryPlan } from "./plan.ts";
import { Identifier, tokenize } from "./lexer.ts";
import { parseTokens, type QueryNode } from "./parser.ts";
import { analyzePlan, checkEntity } from "./_analyze.ts";
import { freezePlan } from "./_frozen.ts";
import { QuerySyntaxError } from "./errors.ts";
import { checkQueryLength, checkQueryShape } from "./_limit_check.ts";
import { nowSeconds } from "../src/model/clock.ts";

/** Options of {@linkcode parseQuery}. */
export interface ParseQueryOptions {
  /**
   * The current time in seconds since the epoch, which `now` and `since`
   * resolve against (relative times become absolute at parse time).
   *
   * @default {nowSeconds()}
   */
  now?: number;
}

/**
 * Parses a query of the DSL into the plan every backend runs.
 *
 * @param text The query, e.g. `"spans where kind=node_execution and status=error limit 20"`.
 * @param options The current time.
 * @returns The plan, deeply frozen: it may be shared and kept, and a copy
 * (`structuredClone(plan)`) is what to change. A query that does not read
 * the clock (no `now`, no `since`) gives the same plan object every time
 * it is parsed while among the 64 most recent texts, and so its compiled
 * SQL is reused too.
 * @throws {QuerySyntaxError} When the query is malformed or means nothing
 * (unknown field, wrong type, ...), or exceeds a limit
 * (`MAX_QUERY_LENGTH`, `MAX_QUERY_DEPTH`, `MAX_QUERY_TERMS`,
 * `MAX_QUERY_COLUMNS`); its message
 * shows where, with a caret.
 *
 * @example Select
 * ```ts
 * import { parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const plan = parseQuery("spans where status=error and duration > 500ms limit 20");
 * assert.deepEqual(plan, {
 *   type: "select",
 *   entity: "spans",
 *   where: {
 *     type: "and",
 *     conditions: [
 *       { type: "compare", field: { kind: "column", name: "status" }, operator: "=", value: "error" },
 *       { type: "compare", field: { kind: "column", name: "duration" }, operator: ">", value: 0.5 },
 *     ],
 *   },
 *   orderBy: [],
 *   limit: 20,
 *   offset: 0,
 * });
 * ```
 *
 * @example Aggregate, with relative time resolved against `now`
 * ```ts
 * import { parseQuery } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const plan = parseQuery("spans where since 1h | p95(duration) by attr.node.id", { now: 7200 });
 * assert.equal(plan.type, "aggregate");
 * assert.ok(Object.isFrozen(plan));
 * assert.deepEqual(plan.where, {
 *   type: "compare",
 *   field: { kind: "column", name: "start_time" },
 *   operator: ">=",
 *   value: 3600,
 * });
 * assert.deepEqual(plan.type === "aggregate" && plan.groupBy, [
 *   { field: { kind: "attribute", key: "node.id" }, alias: "attr.node.id" },
 * ]);
 * ```
 */
export function parseQuery(text: string, options: ParseQueryOptions = {}): QueryPlan {
  const entry = cached(text);
  if (entry.plan !== null) return entry.plan;
  const { plan, usesNow } = analyzePlan(entry.node, text, () => options.now ?? nowSeconds());
  freezePlan(plan);
  // A plan that does not read the clock is the same for every `now`: keep it.
  if (!usesNow) entry.plan = plan;
  return plan;
}

interface CacheEntry {
  node: QueryNode;
  /** The frozen plan, when it does not depend on the current time. */
  plan: QueryPlan | null;
}

/** Recently parsed queries, least recently used first. */
const entries = new Map<string, CacheEntry>();
/**
 * Dashboards, the CLI and `manager.query()` callers repeat a few queries;
 * tokenizing and parsing is the largest part of the main thread's share of a
 * small query.
 */
const MAX_CACHED = 64;

/** The cache entry of `text`, parsing it when it was not parsed lately. */
function cached(text: string): CacheEntry {
  let entry = entries.get(text);
  if (entry !== undefined) {
    entries.delete(text);
  } else {
    entry = { node: parse(text), plan: null };
    if (entries.size >= MAX_CACHED) entries.delete(entries.keys().next().value!);
  }
  entries.set(text, entry);
  return entry;
}

function parse(text: string): QueryNode {
  // The limits come first: the lexer and the parser recurse and backtrack
  // on what they are given, and a query beyond them overflowed the stack.
  checkQueryLength(text);
  const tokens = tokenize(text);
  checkQueryShape(tokens, text);
  let node;
  try {
    node = parseTokens(tokens, text);
  } catch (error) {
    // A misspelt entity derails the grammar later on ("spnas wher ..."); name
    // the first mistake, not the one the parser tripped on.
    const first = tokens[0];
    if (error instanceof QuerySyntaxError && first?.tokenType === Identifier && error.offset > 0) {
      checkEntity(first, text);
    }
    throw error;
  }
  return node;
}
