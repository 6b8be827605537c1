/**
 * Opens a store together with the OTLP exporter named in its
 * `backendConfig.export` section, as a {@linkcode FanoutBackend}.
 *
 * @module
 */
import { type Backend, BackendError } from "./backend.ts";
import { FanoutBackend, type FanoutOptions } from "./fanout.ts";
import type { BackendSpec } from "./open_backend.ts";
import { EXPORT_SECTION_KEYS } from "./config_keys.ts";

/** The `export` section of a store's `backendConfig`. */
export interface ExportConfig extends FanoutOptions {
  /** OTLP exporter settings (see `OtlpHttpOptions`). */
  otlp: Record<string, unknown>;
}

/**
 * Opens the store a spec names plus the exporter of its `export` section.
 *
 * @param spec The store's spec; `backendConfig.export` holds the exporter's settings.
 * @param open Opens the store (`openBackend`, passed in to avoid an import cycle).
 * @returns The fan-out backend.
 * @throws {BackendError} With code `"BAD_CONFIG"` when the `export` section is malformed.
 */
export async function openFanout(
  spec: BackendSpec,
  open: (spec: BackendSpec) => Promise<Backend>,
): Promise<FanoutBackend> {
  const { export: section, ...storeConfig } = spec.backendConfig;
  const why = (text: string) =>
    new BackendError("BAD_CONFIG", `Cannot open ${spec.backend} with an exporter: ${text}`);
  if (spec.backend === "otlp_http") {
    throw why("otlp_http already exports; name a local store (memory, sqlite, postgresql)");
  }
  if (section === null || typeof section !== "object" || Array.isArray(section)) {
    throw why("backendConfig.export must be an object like { otlp: { endpoint } }");
  }
  const { otlp, ...options } = section as Record<string, unknown>;
  const known = new Set<string>(EXPORT_SECTION_KEYS.filter((k) => k !== "otlp"));
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw why(`unknown export option ${JSON.stringify(key)}`);
    const value = options[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw why(`export.${key} must be a number >= 0, got ${JSON.stringify(value)}`);
    }
  }
  if (otlp === null || typeof otlp !== "object" || Array.isArray(otlp)) {
    throw why("backendConfig.export.otlp must be an object of OTLP settings, e.g. { endpoint }");
  }
  const { OtlpHttpBackend } = await import("./otlp/mod.ts");
  // The exporter first: a bad OTLP setting fails before the store creates files.
  const exporter = new OtlpHttpBackend(otlp as Record<string, never>);
  const store = await open({ backend: spec.backend, backendConfig: storeConfig });
  return new FanoutBackend(store, exporter, options as FanoutOptions);
}
