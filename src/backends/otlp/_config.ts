/**
 * Resolves an OTLP exporter's settings from `backendConfig` and the standard
 * `OTEL_EXPORTER_OTLP_*` environment variables. Precedence, highest first:
 * explicit per-signal option, explicit option, per-signal variable, general
 * variable, default — so an explicit `backendConfig` always wins.
 *
 * @module
 */
import type { Attributes } from "../../model/types.ts";
import { BackendError } from "../backend.ts";
import { BACKEND_CONFIG_KEYS } from "../config_keys.ts";

/** The three OTLP signals and their URL path suffixes. */
export const SIGNALS = ["traces", "logs", "metrics"] as const;
/** One OTLP signal. */
export type Signal = typeof SIGNALS[number];

/** Wire encodings, named as `OTEL_EXPORTER_OTLP_PROTOCOL` names them. */
export type OtlpProtocol = "http/protobuf" | "http/json";
/** Request body compression. */
export type OtlpCompression = "gzip" | "none";
/** How counter and histogram points accumulate. */
export type OtlpTemporality = "cumulative" | "delta";

/** Where and how one signal is sent. */
export interface SignalTarget {
  url: string;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: OtlpCompression;
  protocol: OtlpProtocol;
}

/** Everything the exporter needs, with every default applied. */
export interface ResolvedOtlpConfig {
  targets: Record<Signal, SignalTarget>;
  /** The signals exported; the others are skipped (neither sent nor counted). */
  signals: ReadonlySet<Signal>;
  /** Resource attributes for records whose trace resource is unknown (may be empty). */
  resource: Attributes;
  /** `service.name` to use when no resource names one. */
  serviceName: string | null;
  maxRetryTimeMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  temporality: OtlpTemporality;
  maxPendingSpanEvents: number;
}

/** Reads one environment variable; `undefined` when unset or not permitted. */
export type EnvReader = (name: string) => string | undefined;

/** Reads `Deno.env`, treating a missing `--allow-env` permission as "unset". */
export function readDenoEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

const DEFAULT_ENDPOINT = "http://localhost:4318";
const DEFAULT_TIMEOUT_MS = 10_000;

const OPTION_KEYS: ReadonlySet<string> = new Set(BACKEND_CONFIG_KEYS.otlp_http);

function bad(why: string): BackendError {
  return new BackendError("BAD_CONFIG", `Cannot configure otlp_http: ${why}`);
}

function optString(config: Record<string, unknown>, key: string): string | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value === "") {
    throw bad(`${key} must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

function optNumber(
  config: Record<string, unknown>,
  key: string,
  min: number,
): number | undefined {
  const value = config[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw bad(`${key} must be a number >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function checkUrl(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad(`${name} must be an absolute http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw bad(`${name} must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  return url;
}

/** `base` + `/v1/<signal>`, with exactly one slash between them (as the spec asks). */
function signalUrl(base: string, signal: Signal): string {
  return `${base.replace(/\/+$/, "")}/v1/${signal}`;
}

/**
 * Parses `OTEL_EXPORTER_OTLP_HEADERS`: comma-separated `key=value` pairs with
 * percent-encoded values (the W3C baggage format the spec names).
 */
export function parseHeaderList(text: string, source: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of text.split(",")) {
    if (item.trim() === "") continue;
    const eq = item.indexOf("=");
    if (eq <= 0) throw bad(`${source} has an entry without key=value: ${JSON.stringify(item)}`);
    const key = item.slice(0, eq).trim();
    let value = item.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      // Not percent-encoded after all: the raw value is what the user meant.
    }
    headers[key] = value;
  }
  return headers;
}

function parseProtocol(value: string, source: string): OtlpProtocol {
  if (value === "http/protobuf" || value === "http/json") return value;
  if (value === "grpc") {
    throw bad(
      `${source} is "grpc", which otlp_http does not speak: use "http/protobuf" or "http/json" (port 4318)`,
    );
  }
  throw bad(`${source} must be "http/protobuf" or "http/json", got ${JSON.stringify(value)}`);
}

function parseCompression(value: string, source: string): OtlpCompression {
  if (value === "gzip" || value === "none") return value;
  throw bad(`${source} must be "gzip" or "none", got ${JSON.stringify(value)}`);
}

function parseTimeout(value: string, source: string): number {
  const ms = Number(value);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw bad(`${source} must be a positive number of milliseconds, got ${JSON.stringify(value)}`);
  }
  return ms;
}

/** Parses `OTEL_RESOURCE_ATTRIBUTES` (same list format as the headers). */
function parseResourceAttributes(text: string): Attributes {
  return parseHeaderList(text, "OTEL_RESOURCE_ATTRIBUTES");
}

/**
 * Applies defaults, environment variables and validation to an OTLP
 * `backendConfig`.
 *
 * @param config The `backendConfig` object (see `OtlpHttpOptions`).
 * @param env Reads environment variables.
 * @returns The resolved configuration.
 * @throws {BackendError} With code `"BAD_CONFIG"` naming the bad setting.
 */
export function resolveOtlpConfig(
  config: Record<string, unknown>,
  env: EnvReader = readDenoEnv,
): ResolvedOtlpConfig {
  for (const key of Object.keys(config)) {
    if (!OPTION_KEYS.has(key)) {
      throw bad(`unknown option ${JSON.stringify(key)}; known: ${[...OPTION_KEYS].join(", ")}`);
    }
  }
  const endpoint = optString(config, "endpoint");
  const headers = config.headers;
  if (
    headers !== undefined &&
    (headers === null || typeof headers !== "object" || Array.isArray(headers) ||
      Object.values(headers).some((v) => typeof v !== "string"))
  ) {
    throw bad("headers must be an object of string values");
  }
  const timeoutMs = optNumber(config, "timeoutMs", 1);
  const compression = optString(config, "compression");
  const protocol = optString(config, "protocol");
  const envValue = (name: string): string | undefined => {
    const value = env(name);
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  const targets = {} as Record<Signal, SignalTarget>;
  for (const signal of SIGNALS) {
    const SIGNAL = signal.toUpperCase();
    const explicitUrl = optString(config, `${signal}Endpoint`);
    const envSignalUrl = envValue(`OTEL_EXPORTER_OTLP_${SIGNAL}_ENDPOINT`);
    const envBase = envValue("OTEL_EXPORTER_OTLP_ENDPOINT");
    // Per-signal URLs are used as given; base endpoints get /v1/<signal>.
    const url = explicitUrl ??
      (endpoint !== undefined ? signalUrl(endpoint, signal) : undefined) ??
      envSignalUrl ??
      signalUrl(envBase ?? DEFAULT_ENDPOINT, signal);
    const signalHeaders = envValue(`OTEL_EXPORTER_OTLP_${SIGNAL}_HEADERS`);
    const generalHeaders = envValue("OTEL_EXPORTER_OTLP_HEADERS");
    const envTimeout = envValue(`OTEL_EXPORTER_OTLP_${SIGNAL}_TIMEOUT`) ??
      envValue("OTEL_EXPORTER_OTLP_TIMEOUT");
    const envCompression = envValue(`OTEL_EXPORTER_OTLP_${SIGNAL}_COMPRESSION`) ??
      envValue("OTEL_EXPORTER_OTLP_COMPRESSION");
    const envProtocol = envValue(`OTEL_EXPORTER_OTLP_${SIGNAL}_PROTOCOL`) ??
      envValue("OTEL_EXPORTER_OTLP_PROTOCOL");
    targets[signal] = {
      url: checkUrl(explicitUrl !== undefined ? `${signal}Endpoint` : "endpoint", url),
      headers: {
        ...(generalHeaders ? parseHeaderList(generalHeaders, "OTEL_EXPORTER_OTLP_HEADERS") : {}),
        ...(signalHeaders
          ? parseHeaderList(signalHeaders, `OTEL_EXPORTER_OTLP_${SIGNAL}_HEADERS`)
          : {}),
        ...(headers as Record<string, string> | undefined),
      },
      timeoutMs: timeoutMs ??
        (envTimeout ? parseTimeout(envTimeout, "OTEL_EXPORTER_OTLP_TIMEOUT") : DEFAULT_TIMEOUT_MS),
      compression: compression !== undefined
        ? parseCompression(compression, "compression")
        : envCompression
        ? parseCompression(envCompression, "OTEL_EXPORTER_OTLP_COMPRESSION")
        : "none",
      protocol: protocol !== undefined
        ? parseProtocol(protocol, "protocol")
        : envProtocol
        ? parseProtocol(envProtocol, "OTEL_EXPORTER_OTLP_PROTOCOL")
        : "http/protobuf",
    };
  }

  let signals: Set<Signal>;
  if (config.signals !== undefined) {
    const list = config.signals;
    if (!Array.isArray(list) || list.some((s) => !(SIGNALS as readonly unknown[]).includes(s))) {
      throw bad(
        `signals must be a list of "traces", "logs", "metrics", got ${JSON.stringify(list)}`,
      );
    }
    signals = new Set(list as Signal[]);
  } else {
    // The SDK's switches: OTEL_<SIGNAL>_EXPORTER=none turns a signal off.
    signals = new Set(
      SIGNALS.filter((signal) => envValue(`OTEL_${signal.toUpperCase()}_EXPORTER`) !== "none"),
    );
  }

  const resource = config.resource;
  if (
    resource !== undefined &&
    (resource === null || typeof resource !== "object" || Array.isArray(resource))
  ) {
    throw bad("resource must be an object of attributes");
  }
  const envResource = envValue("OTEL_RESOURCE_ATTRIBUTES");
  const temporality = optString(config, "temporality") ?? "cumulative";
  if (temporality !== "cumulative" && temporality !== "delta") {
    throw bad(`temporality must be "cumulative" or "delta", got ${JSON.stringify(temporality)}`);
  }
  const initialBackoffMs = optNumber(config, "initialBackoffMs", 0) ?? 500;
  return {
    targets,
    signals,
    resource: {
      ...(envResource ? parseResourceAttributes(envResource) : {}),
      ...(resource as Attributes | undefined),
    },
    serviceName: optString(config, "serviceName") ?? envValue("OTEL_SERVICE_NAME") ?? null,
    maxRetryTimeMs: optNumber(config, "maxRetryTimeMs", 0) ?? 15_000,
    initialBackoffMs,
    maxBackoffMs: Math.max(initialBackoffMs, optNumber(config, "maxBackoffMs", 0) ?? 5_000),
    temporality,
    maxPendingSpanEvents: optNumber(config, "maxPendingSpanEvents", 0) ?? 10_000,
  };
}
