/**
 * Plans that `parseQuery` returns are deeply frozen and remembered here, so
 * that work derived from one (its compiled SQL) can be kept with it: such a
 * plan can never change after it was checked and compiled.
 *
 * @module
 */
import type { QueryPlan } from "./plan.ts";

const frozenPlans = new WeakSet<QueryPlan>();

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const inner of Object.values(value)) deepFreeze(inner);
}

/**
 * Freezes `plan` and everything in it, and remembers it as frozen by us.
 *
 * @param plan A plan nothing else holds yet.
 * @returns The same plan.
 */
export function freezePlan(plan: QueryPlan): QueryPlan {
  deepFreeze(plan);
  frozenPlans.add(plan);
  return plan;
}

/** Whether `plan` came from {@linkcode freezePlan}: it cannot have changed since. */
export function isFrozenPlan(plan: QueryPlan): boolean {
  return frozenPlans.has(plan);
}
