/**
 * Runs query plans in PostgreSQL.
 *
 * @module
 */
import type { Sql } from "postgres";
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import { BackendError } from "./backend.ts";

/** Runs `plan` and returns rows shaped like every other backend's. */
export function runQuery(_sql: Sql, plan: QueryPlan): Promise<QueryRow[]> {
  return Promise.reject(
    new BackendError(
      "QUERY_FAILED",
      `Cannot query ${plan.entity}: the SQL compiler has not landed yet`,
    ),
  );
}
