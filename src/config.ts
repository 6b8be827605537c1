/**
 * {@linkcode TelemetryConfig}: what to record, where to store it, and how the
 * pipeline buffers it.
 *
 * @module
 */
import { suggest } from "./suggest.ts";
import { checkBackendConfigKeys } from "./backends/config_keys.ts";
import type { Attributes } from "./model/types.ts";

import { type BackendName, BACKENDS } from "./backends/open_backend.ts";

export { type BackendName, BACKENDS };

/** Fields of a {@linkcode TelemetryConfig}; every one is optional. */
export interface TelemetryConfigOptions {
  /** Whether telemetry is recorded at all. @default {false} */
  enabled?: boolean;
  /** Where records go. @default {"memory"} */
  backend?: BackendName;
  /**
   * Backend-specific settings: `{ dbPath }` for SQLite, `{ url }` or
   * `{ host, port, database, user, password }` for PostgreSQL, `{ endpoint,
   * headers, ... }` for OTLP.
   * @default {{}}
   */
  backendConfig?: Record<string, unknown>;
  /** Fraction of traces recorded, 0 to 1, decided from the trace id. @default {1} */
  samplingRate?: number;
  /** Seconds between background flushes; 0 flushes only on `flush()` or a full batch. @default {10} */
  exportInterval?: number;
  /** Records per batch written to the backend. @default {1000} */
  bufferSize?: number;
  /** Events kept per span; further ones are counted in the span's `droppedEvents`. @default {100} */
  maxEventsPerSpan?: number;
  /** Days records are kept; older ones are deleted on start and periodically. @default {30} */
  retentionDays?: number;
  /** Attributes of the resource (service name, version, host) stored on every trace. @default {{}} */
  resourceAttributes?: Attributes;
  /** Whether metrics are recorded. @default {true} */
  enableMetrics?: boolean;
  /** Whether events are recorded. @default {true} */
  enableEvents?: boolean;
  /** Whether traces and spans are recorded. @default {true} */
  enableTraces?: boolean;
  /** Whether the current trace and span follow async calls and cross process boundaries. @default {true} */
  propagateContext?: boolean;
  /** Whether node instrumentation emits spans, events and metrics. @default {true} */
  autoInstrumentNodes?: boolean;
  /** Whether graph instrumentation emits traces, spans, events and metrics. @default {true} */
  autoInstrumentGraphs?: boolean;
  /** Attributes added to every trace, span, event and metric. @default {{}} */
  customAttributes?: Attributes;
  /** Size in bytes of the shared ring buffer between the application and the flusher worker. @default {8388608} */
  ringBufferBytes?: number;
  /** Records held on the application thread while the ring is full, before any is dropped. @default {100000} */
  maxSpillRecords?: number;
  /**
   * Milliseconds the application thread may wait for ring space before it
   * spills; 0 never waits. After a wait that ran out, it does not wait again
   * until the worker has stored something, so a stuck worker costs one wait.
   * The default outlasts SQLite's WAL checkpoints, which on a slow disk hold
   * the worker for a few hundred milliseconds now and then: a shorter wait
   * made a burst spill and then drop records (`bench/burst.ts`).
   * @default {1000}
   */
  maxBlockMs?: number;
  /**
   * Milliseconds `shutdown()` and process exit may spend draining. Process
   * exit includes an uncaught exception or unhandled rejection: the
   * application's records up to the crash are stored before the process
   * dies (its error is still printed and its exit code kept). What cannot
   * be stored in time is counted and said in one line on stderr. (An
   * application that keeps the process alive from its own "error" or
   * "unhandledrejection" listener by calling `preventDefault()` should add
   * that listener before creating the manager: the manager then skips the
   * drain; with the listener added later it drains, and may print the
   * line, but counts nothing as lost.)
   * @default {5000}
   */
  shutdownTimeoutMs?: number;
  /**
   * Whether SIGINT (Ctrl-C) and SIGTERM drain the pipeline (within
   * `shutdownTimeoutMs`) and then exit with the conventional code, 130 or
   * 143. Off by default because installing a signal listener replaces the
   * process's default signal behaviour for the whole application: another
   * library's or the application's own SIGINT handling would then race with
   * this exit, and with it on, the process no longer dies at once on
   * Ctrl-C. Without it, a signal kills the process and the records not yet
   * stored are lost (an application that handles signals itself can call
   * `await manager.shutdown()` in its handler instead).
   * @default {false}
   */
  drainOnSignal?: boolean;
  /**
   * Milliseconds a query may run before it is cancelled and fails with a
   * `BackendError` coded `"QUERY_TIMEOUT"` (the wait for the records
   * recorded before it to be stored is not counted). Queries run apart from
   * the writer, so a slow one never holds up storing.
   * @default {30000}
   */
  queryTimeoutMs?: number;
}

/** The plain-object form of a {@linkcode TelemetryConfig}, as returned by `toDict()`. */
export type TelemetryConfigDict = Required<TelemetryConfigOptions>;

function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(
      `Cannot configure telemetry: ${name} must be a boolean, got ${describe(value)}`,
    );
  }
  return value;
}

function checkNumber(
  name: string,
  value: unknown,
  min: number,
  max: number,
  integer: boolean,
): number {
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw new TypeError(
      `Cannot configure telemetry: ${name} must be a number, got ${describe(value)}`,
    );
  }
  if (integer && !Number.isInteger(value)) {
    throw new RangeError(
      `Cannot configure telemetry: ${name} must be a whole number, got ${value}`,
    );
  }
  if (value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `between ${min} and ${max}`;
    throw new RangeError(`Cannot configure telemetry: ${name} must be ${range}, got ${value}`);
  }
  return value;
}

function checkObject<T>(name: string, value: unknown): T {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(
      `Cannot configure telemetry: ${name} must be an object, got ${describe(value)}`,
    );
  }
  return value as T;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return JSON.stringify(value);
  return typeof value === "object" ? "an object" : `${typeof value} ${String(value)}`;
}

/**
 * Telemetry configuration (the seed's `TelemetryConfig`), validated on
 * construction: a bad field throws a `TypeError` or `RangeError` naming it.
 *
 * @example
 * ```ts
 * import { TelemetryConfig } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const config = TelemetryConfig.createSqlite("telemetry.db", { samplingRate: 0.5 });
 * assert.equal(config.backend, "sqlite");
 * assert.equal(config.backendConfig.dbPath, "telemetry.db");
 * assert.throws(() => new TelemetryConfig({ samplingRate: 2 }), RangeError);
 * ```
 */
export class TelemetryConfig {
  /** Whether telemetry is recorded at all. */
  readonly enabled: boolean;
  /** Where records go. */
  readonly backend: BackendName;
  /** Backend-specific settings. */
  readonly backendConfig: Record<string, unknown>;
  /** Fraction of traces recorded, 0 to 1. */
  readonly samplingRate: number;
  /** Seconds between background flushes; 0 means manual flush only. */
  readonly exportInterval: number;
  /** Records per batch written to the backend. */
  readonly bufferSize: number;
  /** Events kept per span. */
  readonly maxEventsPerSpan: number;
  /** Days records are kept. */
  readonly retentionDays: number;
  /** Resource attributes stored on every trace. */
  readonly resourceAttributes: Attributes;
  /** Whether metrics are recorded. */
  readonly enableMetrics: boolean;
  /** Whether events are recorded. */
  readonly enableEvents: boolean;
  /** Whether traces and spans are recorded. */
  readonly enableTraces: boolean;
  /** Whether context follows async calls and crosses process boundaries. */
  readonly propagateContext: boolean;
  /** Whether node instrumentation is on. */
  readonly autoInstrumentNodes: boolean;
  /** Whether graph instrumentation is on. */
  readonly autoInstrumentGraphs: boolean;
  /** Attributes added to every record. */
  readonly customAttributes: Attributes;
  /** Size in bytes of the shared ring buffer. */
  readonly ringBufferBytes: number;
  /** Records held on the application thread while the ring is full. */
  readonly maxSpillRecords: number;
  /** Milliseconds the application thread may wait for ring space. */
  readonly maxBlockMs: number;
  /** Milliseconds shutdown may spend draining. */
  readonly shutdownTimeoutMs: number;
  /** Whether SIGINT and SIGTERM drain and exit with 130 or 143. */
  readonly drainOnSignal: boolean;
  /** Milliseconds a query may run before it is cancelled. */
  readonly queryTimeoutMs: number;

  /**
   * Creates a configuration; omitted fields take the seed's defaults.
   *
   * @param options The fields to set.
   * @throws {TypeError} When a field has the wrong type or an unknown name,
   * or `backendConfig` has a key its backend does not know (a Python name
   * such as `db_path` is answered with ours, `dbPath`).
   * @throws {RangeError} When a number is out of range or the backend is unknown.
   */
  constructor(options: TelemetryConfigOptions = {}) {
    checkObject("options", options);
    for (const key of Object.keys(options)) {
      if (!(key in DEFAULTS)) {
        const hint = suggest(key, Object.keys(DEFAULTS));
        throw new TypeError(
          `Cannot configure telemetry: unknown option '${key}'${
            hint ? ` — did you mean '${hint}'?` : ""
          }`,
        );
      }
    }
    const o = { ...DEFAULTS, ...stripUndefined(options) };
    this.enabled = checkBoolean("enabled", o.enabled);
    if (!(BACKENDS as readonly unknown[]).includes(o.backend)) {
      throw new RangeError(
        `Cannot configure telemetry: backend must be one of ${BACKENDS.join(" | ")}, got ${
          describe(o.backend)
        }`,
      );
    }
    this.backend = o.backend;
    this.backendConfig = {
      ...checkObject<Record<string, unknown>>("backendConfig", o.backendConfig),
    };
    checkBackendConfigKeys(this.backend, this.backendConfig);
    this.samplingRate = checkNumber("samplingRate", o.samplingRate, 0, 1, false);
    this.exportInterval = checkNumber("exportInterval", o.exportInterval, 0, Infinity, false);
    this.bufferSize = checkNumber("bufferSize", o.bufferSize, 1, Infinity, true);
    this.maxEventsPerSpan = checkNumber("maxEventsPerSpan", o.maxEventsPerSpan, 0, Infinity, true);
    this.retentionDays = checkNumber("retentionDays", o.retentionDays, 1, Infinity, false);
    this.resourceAttributes = {
      ...checkObject<Attributes>("resourceAttributes", o.resourceAttributes),
    };
    this.enableMetrics = checkBoolean("enableMetrics", o.enableMetrics);
    this.enableEvents = checkBoolean("enableEvents", o.enableEvents);
    this.enableTraces = checkBoolean("enableTraces", o.enableTraces);
    this.propagateContext = checkBoolean("propagateContext", o.propagateContext);
    this.autoInstrumentNodes = checkBoolean("autoInstrumentNodes", o.autoInstrumentNodes);
    this.autoInstrumentGraphs = checkBoolean("autoInstrumentGraphs", o.autoInstrumentGraphs);
    this.customAttributes = { ...checkObject<Attributes>("customAttributes", o.customAttributes) };
    this.ringBufferBytes = checkNumber("ringBufferBytes", o.ringBufferBytes, 65536, 2 ** 30, true);
    this.maxSpillRecords = checkNumber("maxSpillRecords", o.maxSpillRecords, 0, Infinity, true);
    this.maxBlockMs = checkNumber("maxBlockMs", o.maxBlockMs, 0, 60_000, false);
    this.shutdownTimeoutMs = checkNumber(
      "shutdownTimeoutMs",
      o.shutdownTimeoutMs,
      0,
      Infinity,
      false,
    );
    this.drainOnSignal = checkBoolean("drainOnSignal", o.drainOnSignal);
    // setTimeout's limit: a longer delay fires at once.
    this.queryTimeoutMs = checkNumber("queryTimeoutMs", o.queryTimeoutMs, 1, 2 ** 31 - 1, true);
  }

  /**
   * A configuration for the embedded SQLite backend, enabled.
   *
   * @param dbPath Path of the database file.
   * @param options Further fields.
   * @returns The configuration.
   */
  static createSqlite(
    dbPath: string = "spark_telemetry.db",
    options: TelemetryConfigOptions = {},
  ): TelemetryConfig {
    return new TelemetryConfig({
      enabled: true,
      ...options,
      backend: "sqlite",
      backendConfig: { ...options.backendConfig, dbPath },
    });
  }

  /**
   * A configuration for PostgreSQL, enabled. Give either `url` or the
   * connection fields.
   *
   * @param options Connection fields and further configuration fields.
   * @returns The configuration.
   */
  static createPostgresql(options: PostgresqlConfigOptions = {}): TelemetryConfig {
    const { host, port, database, user, password, url, ...rest } = options;
    const connection: Record<string, unknown> = url !== undefined ? { url } : {
      host: host ?? "localhost",
      port: port ?? 5432,
      database: database ?? "spark_telemetry",
      ...(user !== undefined ? { user } : {}),
      ...(password !== undefined ? { password } : {}),
    };
    return new TelemetryConfig({
      enabled: true,
      ...rest,
      backend: "postgresql",
      backendConfig: { ...rest.backendConfig, ...connection },
    });
  }

  /**
   * A configuration for the in-memory backend (tests and development), enabled.
   *
   * @param options Further fields.
   * @returns The configuration.
   */
  static createMemory(options: TelemetryConfigOptions = {}): TelemetryConfig {
    return new TelemetryConfig({ enabled: true, ...options, backend: "memory" });
  }

  /**
   * A configuration with telemetry disabled.
   *
   * @returns The configuration.
   */
  static createNoop(): TelemetryConfig {
    return new TelemetryConfig({ enabled: false, backend: "noop" });
  }

  /**
   * Decides deterministically whether a trace is sampled: the same answer for
   * the same trace id in every process and every run. For a W3C trace id the
   * decision uses its last 56 bits (the random part under W3C Trace Context
   * level 2), compared with `samplingRate × 2^56`, as OpenTelemetry's
   * ratio-based samplers do; any other string is hashed with FNV-1a.
   *
   * @param traceId The trace id.
   * @returns Whether the trace is recorded.
   *
   * @example
   * ```ts
   * import { TelemetryConfig } from "@spark/telemetry";
   * import assert from "node:assert/strict";
   *
   * const half = new TelemetryConfig({ samplingRate: 0.5 });
   * // The last 14 hex digits decide: 0x00000000000000 / 2^56 = 0 < 0.5 ...
   * assert.equal(half.shouldSample("ffffffffffffffffff00000000000000"), true);
   * // ... and 0x80000000000000 / 2^56 = 0.5 is not below 0.5.
   * assert.equal(half.shouldSample("00000000000000000080000000000000"), false);
   * ```
   */
  shouldSample(traceId: string): boolean {
    if (this.samplingRate >= 1) return true;
    if (this.samplingRate <= 0) return false;
    return samplingValue(traceId) < this.samplingRate;
  }

  /**
   * Returns the configuration as a plain object.
   *
   * @returns Every field.
   */
  toDict(): TelemetryConfigDict {
    return {
      enabled: this.enabled,
      backend: this.backend,
      backendConfig: { ...this.backendConfig },
      samplingRate: this.samplingRate,
      exportInterval: this.exportInterval,
      bufferSize: this.bufferSize,
      maxEventsPerSpan: this.maxEventsPerSpan,
      retentionDays: this.retentionDays,
      resourceAttributes: { ...this.resourceAttributes },
      enableMetrics: this.enableMetrics,
      enableEvents: this.enableEvents,
      enableTraces: this.enableTraces,
      propagateContext: this.propagateContext,
      autoInstrumentNodes: this.autoInstrumentNodes,
      autoInstrumentGraphs: this.autoInstrumentGraphs,
      customAttributes: { ...this.customAttributes },
      ringBufferBytes: this.ringBufferBytes,
      maxSpillRecords: this.maxSpillRecords,
      maxBlockMs: this.maxBlockMs,
      shutdownTimeoutMs: this.shutdownTimeoutMs,
      drainOnSignal: this.drainOnSignal,
      queryTimeoutMs: this.queryTimeoutMs,
    };
  }
}

/** Options of {@linkcode TelemetryConfig.createPostgresql}: connection fields plus any config field. */
export interface PostgresqlConfigOptions extends TelemetryConfigOptions {
  /** A connection URL, `postgres://user:password@host:port/database`; wins over the fields below. */
  url?: string;
  /** Server host. @default {"localhost"} */
  host?: string;
  /** Server port. @default {5432} */
  port?: number;
  /** Database name. @default {"spark_telemetry"} */
  database?: string;
  /** User name. */
  user?: string;
  /** Password. */
  password?: string;
}

const DEFAULTS: TelemetryConfigDict = {
  enabled: false,
  backend: "memory",
  backendConfig: {},
  samplingRate: 1.0,
  exportInterval: 10.0,
  bufferSize: 1000,
  maxEventsPerSpan: 100,
  retentionDays: 30,
  resourceAttributes: {},
  enableMetrics: true,
  enableEvents: true,
  enableTraces: true,
  propagateContext: true,
  autoInstrumentNodes: true,
  autoInstrumentGraphs: true,
  customAttributes: {},
  ringBufferBytes: 8 * 1024 * 1024,
  maxSpillRecords: 100_000,
  maxBlockMs: 1000,
  shutdownTimeoutMs: 5000,
  drainOnSignal: false,
  queryTimeoutMs: 30_000,
};

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

const TWO_POW_56 = 2 ** 56;
const HEX_ID = /^[0-9a-fA-F]{32}$/;

function samplingValue(traceId: string): number {
  if (HEX_ID.test(traceId)) {
    // Last 14 hex digits = 56 bits; split to stay within exact doubles.
    const hi = parseInt(traceId.slice(18, 25), 16); // 28 bits
    const lo = parseInt(traceId.slice(25, 32), 16); // 28 bits
    return (hi * 2 ** 28 + lo) / TWO_POW_56;
  }
  let h = 0x811c9dc5;
  for (let i = 0; i < traceId.length; i++) {
    h ^= traceId.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}
