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
 * A store whose `backendConfig` has an `export` section (e.g. `{ dbPath,
 * export: { otlp: { endpoint } } }`) is opened behind a `FanoutBackend` that
 * also exports every batch over OTLP/HTTP.
 *
 * @param spec Backend name and settings.
 * @returns The open backend.
 * @throws {BackendError} With code `"BAD_CONFIG"` when the backend is not available.
 */
export function openBackend(spec: BackendSpec): Promise<Backend> {
  if (spec.backendConfig.export !== undefined) {
    return import("./_open_fanout.ts").then((m) => m.openFanout(spec, openBackend));
  }
  switch (spec.backend) {
    case "otlp_http":
      return import("./otlp_http.ts").then((m) => new m.OtlpHttpBackend(spec.backendConfig));
    default:
      return Promise.reject(
        new BackendError("BAD_CONFIG", `Cannot open backend '${spec.backend}': not available`),
      );
  }
}
