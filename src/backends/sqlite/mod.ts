/**
 * The SQLite backend: one file through Deno's built-in `node:sqlite`, WAL journal, one
 * transaction per batch; queries compiled to SQL with the SQLite dialect. Its private files hold
 * the schema (`_schema.ts`).
 *
 * @module
 */
export * from "./sqlite_backend.ts";
