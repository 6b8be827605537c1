/**
 * The command line: `deno task query` (`query_cli.ts`) runs a query or draws
 * a trace against a store it opens read-only, and formats the answer as a
 * table, JSON or CSV (`_format.ts`), with the compiled SQL on `--explain`
 * (`_explain.ts`). The waterfall drawing of one trace is also part of the
 * library's API, for tools that print traces themselves.
 *
 * @module
 */
export * from "./waterfall.ts";
