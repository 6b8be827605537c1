/**
 * `--explain` for the CLI: the SQL a plan compiles to, with its parameters,
 * without running it.
 *
 * @module
 */
import type { QueryPlan } from "../../query/plan.ts";
import { compileSql, type SqlDialect } from "../../query/sql.ts";
import { postgresqlDialect } from "../../query/postgresql_dialect.ts";
import { sqliteDialect } from "../../query/sqlite_dialect.ts";

/** The dialects `--explain` can compile for. */
const DIALECTS: Readonly<Record<string, SqlDialect>> = {
  sqlite: sqliteDialect,
  postgresql: postgresqlDialect,
};

/**
 * Renders the compiled SQL of a plan and its numbered parameters.
 *
 * @param plan The plan.
 * @param dialect The name of the SQL dialect to compile for.
 * @returns The SQL text, then one `-- <placeholder> = value` line per parameter.
 * @throws {Error} When the dialect is not available.
 */
export function explain(plan: QueryPlan, dialect: string): string {
  const sql = DIALECTS[dialect];
  if (!sql) throw new Error(`Cannot explain for ${dialect}: its SQL dialect is not available`);
  const { text, params } = compileSql(plan, sql);
  const lines = [text];
  params.forEach((value, i) =>
    lines.push(`-- ${sql.placeholder(i + 1)} = ${JSON.stringify(value)}`)
  );
  return lines.join("\n");
}
