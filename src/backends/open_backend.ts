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
    case "memory":
      return import("./memory.ts").then((m) => {
        const max = spec.backendConfig.maxRecords;
        return new m.MemoryBackend(typeof max === "number" ? { maxRecords: max } : {});
      });
    case "sqlite":
      return import("./sqlite.ts").then((m) => {
        const path = spec.backendConfig.dbPath ?? "spark_telemetry.db";
        if (typeof path !== "string" || path === "") {
          throw new BackendError(
            "BAD_CONFIG",
            `Cannot open backend 'sqlite': dbPath must be a file path or ":memory:"`,
          );
        }
        return new m.SqliteBackend({ path });
      });
    case "noop":
      return import("./noop.ts").then((m) => new m.NoopBackend());
    default:
      return Promise.reject(
        new BackendError("BAD_CONFIG", `Cannot open backend '${spec.backend}': not available`),
      );
  }
}
