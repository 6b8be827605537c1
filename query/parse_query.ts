/**
 * The public entry of the query language: text in, {@linkcode QueryPlan} out.
 *
 * @module
 */
import type { QueryPlan } from "./plan.ts";
import { Identifier, tokenize } from "./lexer.ts";
import { parseTokens, type QueryNode } from "./parser.ts";
import { buildPlan, checkEntity } from "./_analyze.ts";
import { QuerySyntaxError } from "./errors.ts";
import { nowSeconds } from "../src/clock.ts";

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
 * @returns The plan.
 * @throws {QuerySyntaxError} When the query is malformed or means nothing
 * (unknown field, wrong type, ...); its message shows where, with a caret.
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
  const now = options.now ?? nowSeconds();
  // The plan is built afresh every time (relative times depend on `now`,
  // and callers may keep or change the plan); only the tree is reused.
  return buildPlan(syntaxTree(text), text, now);
}

/** Syntax trees of recently parsed queries, least recently used first. */
const trees = new Map<string, QueryNode>();
/**
 * Dashboards, the CLI and `manager.query()` callers repeat a few queries;
 * tokenizing and parsing took about 5 µs of a 75 µs query of 20 spans.
 */
const MAX_CACHED_TREES = 64;

/** The syntax tree of `text`, from the cache when it was parsed lately (`buildPlan` only reads it). */
function syntaxTree(text: string): QueryNode {
  let node = trees.get(text);
  if (node !== undefined) {
    trees.delete(text);
  } else {
    node = parse(text);
    if (trees.size >= MAX_CACHED_TREES) trees.delete(trees.keys().next().value!);
  }
  trees.set(text, node);
  return node;
}

function parse(text: string): QueryNode {
  const tokens = tokenize(text);
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
