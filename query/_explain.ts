/**
 * `--explain` for the CLI: the SQL a plan compiles to, with its parameters,
 * without running it.
 *
 * @module
 */
import type { QueryPlan } from "./plan.ts";
import { compileSql } from "./sql.ts";
import { sqliteDialect } from "./sqlite_dialect.ts";

/**
 * Renders the compiled SQL of a plan and its numbered parameters.
 *
 * @param plan The plan.
 * @param dialect The SQL dialect to compile for.
 * @returns The SQL text, then one `-- ?n = value` line per parameter.
 * @throws {Error} When the dialect is not available.
 */
export function explain(plan: QueryPlan, dialect: "sqlite" | "postgresql"): string {
  if (dialect !== "sqlite") {
    throw new Error(`Cannot explain for ${dialect}: its SQL dialect is not available`);
  }
  const { text, params } = compileSql(plan, sqliteDialect);
  const lines = [text];
  params.forEach((value, i) => lines.push(`-- ?${i + 1} = ${JSON.stringify(value)}`));
  return lines.join("\n");
}
