/**
 * Plans that `parseQuery` returns are deeply frozen: `parseQuery` keeps the
 * plans of recent texts and hands the same object to every caller, so no
 * caller can change a plan another one holds.
 *
 * @module
 */
import type { QueryPlan } from "./plan.ts";

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}

/**
 * Freezes `plan` and everything in it.
 *
 * @param plan A plan nothing else holds yet.
 * @returns The same plan.
 */
export function freezePlan(plan: QueryPlan): QueryPlan {
  deepFreeze(plan);
  return plan;
}
