/**
 * The `backendConfig` keys each backend understands, in one place: the
 * configuration refuses any other key at construction (a misspelt or
 * Python-named key would otherwise be ignored, and SQLite would quietly
 * write to `./spark_telemetry.db`), and the backends check against the same
 * lists. To add a setting to a backend, add its key here.
 *
 * @module
 */
import { suggest } from "../suggest.ts";

/** Keys of `backendConfig`, per backend. */
export const BACKEND_CONFIG_KEYS = {
  memory: ["maxRecords"],
  sqlite: ["dbPath", "readOnly"],
  postgresql: [
    "url",
    "host",
    "port",
    "database",
    "user",
    "password",
    "schema",
    "maxConnections",
    "connectTimeoutSeconds",
    "retentionBatchSize",
    "readOnly",
    "queryTimeoutMs",
  ],
  otlp_http: [
    "endpoint",
    "tracesEndpoint",
    "logsEndpoint",
    "metricsEndpoint",
    "headers",
    "timeoutMs",
    "compression",
    "protocol",
    "serviceName",
    "resource",
    "maxRetryTimeMs",
    "initialBackoffMs",
    "maxBackoffMs",
    "temporality",
    "maxPendingSpanEvents",
    "signals",
  ],
  noop: [],
} as const satisfies Record<string, readonly string[]>;

/** Keys every backend accepts: a custom backend module, and a store's exporter section. */
export const COMMON_BACKEND_KEYS = ["module", "export"] as const;

/** Keys of a store's `backendConfig.export` section (besides the exporter's own settings). */
export const EXPORT_SECTION_KEYS = [
  "otlp",
  "maxQueueRecords",
  "retryDelayMs",
  "maxRetryDelayMs",
  "closeTimeoutMs",
] as const;

/** Names other than the snake_case form of ours that users bring (the Python API's, libpq's). */
const ALIASES: Record<string, string> = {
  path: "dbPath",
  db: "dbPath",
  database_path: "dbPath",
  filename: "dbPath",
  dsn: "url",
  connection_string: "url",
  connectionString: "url",
  database_url: "url",
  dbname: "database",
  username: "user",
  timeout: "timeoutMs",
};

function camel(name: string): string {
  return name.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/**
 * Throws a `TypeError` for the first key of `config` not in `known`, naming
 * the key meant when there is a likely one: the camelCase form of a
 * snake_case (Python) name, a known alias, or a close spelling.
 *
 * @param where What is configured, for the message, e.g. `"backendConfig of 'sqlite'"`.
 * @param config The object whose keys are checked.
 * @param known The keys allowed.
 * @throws {TypeError} On an unknown key.
 */
export function checkKeys(
  where: string,
  config: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(config)) {
    if (known.includes(key)) continue;
    const meant = [camel(key), ALIASES[key]].find((k) => k !== undefined && known.includes(k));
    let hint: string;
    if (meant !== undefined) {
      hint = ` — use '${meant}'`;
    } else {
      const close = suggest(key, known);
      hint = close !== undefined ? ` — did you mean '${close}'?` : ` (known: ${known.join(", ")})`;
    }
    throw new TypeError(`Cannot configure telemetry: unknown key '${key}' in ${where}${hint}`);
  }
}

/**
 * Checks the keys of a `backendConfig` for `backend`, and of its `export`
 * section and that section's `otlp` settings. A config naming a custom
 * `module` is that module's business and is not checked.
 *
 * @param backend The backend the configuration names.
 * @param config Its `backendConfig`.
 * @throws {TypeError} On an unknown key.
 */
export function checkBackendConfigKeys(
  backend: keyof typeof BACKEND_CONFIG_KEYS,
  config: Record<string, unknown>,
): void {
  if (config.module !== undefined) return;
  checkKeys(`backendConfig of '${backend}'`, config, [
    ...BACKEND_CONFIG_KEYS[backend],
    ...COMMON_BACKEND_KEYS,
  ]);
  const section = config.export;
  if (section === null || typeof section !== "object" || Array.isArray(section)) return;
  checkKeys("backendConfig.export", section as Record<string, unknown>, EXPORT_SECTION_KEYS);
  const otlp = (section as Record<string, unknown>).otlp;
  if (otlp !== null && typeof otlp === "object" && !Array.isArray(otlp)) {
    checkKeys(
      "backendConfig.export.otlp",
      otlp as Record<string, unknown>,
      BACKEND_CONFIG_KEYS.otlp_http,
    );
  }
}
