/**
 * The PostgreSQL backend (`@spark/telemetry/postgresql`): records stored through postgres.js, for
 * several processes and hosts writing into one store. Its private files hold the schema and its
 * migrations, the ingest statement, queries, retention, the socket and error classification.
 *
 * @module
 */
export * from "./postgresql_backend.ts";
