/**
 * Opens the backend a configuration names. Backends are imported lazily so
 * that a process using SQLite never loads the PostgreSQL client.
 *
 * @module
 */
import { type Backend, BackendError } from "./backend.ts";

/** The storage or export backends a configuration can name. */
export const BACKENDS = ["memory", "sqlite", "postgresql", "otlp_http", "noop"] as const;
/** One of {@linkcode BACKENDS}. */
export type BackendName = typeof BACKENDS[number];

/** What a backend needs to open: its name and its `backendConfig`. */
export interface BackendSpec {
  /** The backend to open. */
  backend: BackendName;
  /** Backend-specific settings from `TelemetryConfig.backendConfig`. */
  backendConfig: Record<string, unknown>;
}

/**
 * A custom backend module: its default export opens a {@linkcode Backend}
 * from the `backendConfig` it is given. Name the module with
 * `backendConfig.module` (an absolute URL, e.g. `new URL("./my_backend.ts",
 * import.meta.url).href`); it then replaces the named backend. The flusher
 * worker imports it, so it must not depend on state of the application thread.
 */
export type BackendModuleFactory = (
  backendConfig: Record<string, unknown>,
) => Backend | Promise<Backend>;

async function openModule(url: string, backendConfig: Record<string, unknown>): Promise<Backend> {
  let factory: unknown;
  try {
    factory = (await import(url)).default;
  } catch (error) {
    throw new BackendError("BAD_CONFIG", `Cannot open backend module '${url}': ${error}`, {
      cause: error,
    });
  }
  if (typeof factory !== "function") {
    throw new BackendError(
      "BAD_CONFIG",
      `Cannot open backend module '${url}': its default export is not a function`,
    );
  }
  return await (factory as BackendModuleFactory)(backendConfig);
}

/**
 * Opens (and for stores, creates or migrates) the backend named by `spec`,
 * or the custom module named by `spec.backendConfig.module` (see
 * {@linkcode BackendModuleFactory}). A store whose `backendConfig` has an
 * `export` section (e.g. `{ dbPath, export: { otlp: { endpoint } } }`) is
 * opened behind a `FanoutBackend` that also exports every batch over OTLP/HTTP.
 *
 * @param spec Backend name and settings.
 * @returns The open backend.
 * @throws {BackendError} With code `"BAD_CONFIG"` when the backend is not available.
 */
export function openBackend(spec: BackendSpec): Promise<Backend> {
  if (spec.backendConfig.export !== undefined) {
    return import("./_open_fanout.ts").then((m) => m.openFanout(spec, openBackend));
  }
  if (typeof spec.backendConfig.module === "string") {
    return openModule(spec.backendConfig.module, spec.backendConfig);
  }
  switch (spec.backend) {
    case "otlp_http":
      return import("./otlp/mod.ts").then((m) => new m.OtlpHttpBackend(spec.backendConfig));
    case "postgresql":
      return import("./postgresql/mod.ts").then(({ PostgresqlBackend }) =>
        PostgresqlBackend.open(spec.backendConfig)
      );
    case "memory":
      return import("./memory/mod.ts").then((m) => {
        const max = spec.backendConfig.maxRecords;
        return new m.MemoryBackend(typeof max === "number" ? { maxRecords: max } : {});
      });
    case "sqlite":
      return import("./sqlite/mod.ts").then((m) => {
        const path = spec.backendConfig.dbPath ?? "spark_telemetry.db";
        if (typeof path !== "string" || path === "") {
          throw new BackendError(
            "BAD_CONFIG",
            `Cannot open backend 'sqlite': dbPath must be a file path or ":memory:"`,
          );
        }
        return new m.SqliteBackend({ path, readOnly: spec.backendConfig.readOnly === true });
      });
    case "noop":
      return import("./noop.ts").then((m) => new m.NoopBackend());
    default:
      return Promise.reject(
        new BackendError("BAD_CONFIG", `Cannot open backend '${spec.backend}': not available`),
      );
  }
}
