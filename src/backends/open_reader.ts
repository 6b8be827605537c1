/**
 * Which stores get a reader apart from the writer, and how it opens: the
 * reader worker (`workers/reader.ts`) runs queries on a read-only connection
 * of its own, so a slow query never stalls ingestion.
 *
 * - SQLite files: a second, read-only connection (WAL lets it read while
 *   the writer writes). Not `":memory:"`: a private in-memory database has
 *   no second connection, so its queries stay with the writer.
 * - PostgreSQL: a pool of its own, read-only sessions, `statement_timeout`.
 * - A store with an exporter beside it (`backendConfig.export`): the store.
 * - Memory (its records live in the writer worker), exporters and custom
 *   modules: no reader; the writer answers.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import type { BackendSpec } from "./open_backend.ts";

/**
 * The store a reader opens for `spec`, or `null` when queries stay with the
 * writer (see the module doc).
 *
 * @param spec The configured backend.
 * @returns The spec of the store to read, without its exporter.
 */
export function readerSpec(spec: BackendSpec): BackendSpec | null {
  const { export: _exporter, ...store } = spec.backendConfig;
  if (typeof store.module === "string") return null;
  switch (spec.backend) {
    case "postgresql":
      return { backend: "postgresql", backendConfig: store };
    case "sqlite": {
      const path = store.dbPath ?? "spark_telemetry.db";
      if (typeof path !== "string" || path === "" || path === ":memory:") return null;
      return { backend: "sqlite", backendConfig: { ...store, dbPath: path } };
    }
    default:
      return null;
  }
}

/**
 * Opens the read-only store of a reader.
 *
 * @param spec A spec from {@linkcode readerSpec}.
 * @param timeoutMs The query time limit (PostgreSQL's `statement_timeout`).
 * @param cancel SQLite's cancel words (see `SqliteBackendOptions.cancel`).
 * @returns The store, opened read-only.
 */
export async function openReader(
  spec: BackendSpec,
  timeoutMs: number,
  cancel: Int32Array,
): Promise<Backend> {
  if (spec.backend === "postgresql") {
    const { PostgresqlBackend } = await import("./postgresql/mod.ts");
    return await PostgresqlBackend.open({
      ...(spec.backendConfig as Record<string, never>),
      readOnly: true,
      queryTimeoutMs: timeoutMs,
    });
  }
  const { SqliteBackend } = await import("./sqlite/mod.ts");
  return new SqliteBackend({ path: spec.backendConfig.dbPath as string, readOnly: true, cancel });
}
