/**
 * The query language: a Chevrotain lexer and parser (`lexer.ts`,
 * `parser.ts`), the analysis of the syntax tree into a typed, checked
 * `QueryPlan` (`parse_query.ts`, `plan.ts`), and the two ways a
 * plan runs — compiled to one parameterised SQL statement per dialect
 * (`sql.ts`, `sqlite_dialect.ts`, `postgresql_dialect.ts`) or to predicates
 * over records in memory (`predicates.ts`). The seed's query methods build
 * the same plans, so every backend answers one language with one meaning.
 * Nothing here knows a backend; errors backends share come from
 * `src/backend_error.ts`.
 *
 * @module
 */
export * from "./plan.ts";
export * from "./sql.ts";
export * from "./sqlite_dialect.ts";
export * from "./postgresql_dialect.ts";
export * from "./predicates.ts";
export * from "./errors.ts";
export { MAX_QUERY_COLUMNS, MAX_QUERY_DEPTH, MAX_QUERY_LENGTH, MAX_QUERY_TERMS } from "./limits.ts";
export * from "./parse_query.ts";
