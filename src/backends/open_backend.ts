/**
 * Opens the backend a configuration names. Backends are imported lazily so
 * that a process using SQLite never loads the PostgreSQL client.
 *
 * @module
 */
import type { BackendName } from "../config.ts";
import { type Backend, BackendError } from "./backend.ts";

/** What a backend needs to open: its name and its `backendConfig`. */
export interface BackendSpec {
  /** The backend to open. */
  backend: BackendName;
  /** Backend-specific settings from `TelemetryConfig.backendConfig`. */
  backendConfig: Record<string, unknown>;
}

/**
 * Opens (and for stores, creates or migrates) the backend named by `spec`.
 *
 * @param spec Backend name and settings.
 * @returns The open backend.
 * @throws {BackendError} With code `"BAD_CONFIG"` when the backend is not available.
 */
export function openBackend(spec: BackendSpec): Promise<Backend> {
  switch (spec.backend) {
    case "postgresql":
      return import("./postgresql.ts").then(({ PostgresqlBackend }) =>
        PostgresqlBackend.open(spec.backendConfig)
      );
    default:
      return Promise.reject(
        new BackendError("BAD_CONFIG", `Cannot open backend '${spec.backend}': not available`),
      );
  }
}
