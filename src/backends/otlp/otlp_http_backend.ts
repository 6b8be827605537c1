/**
 * {@linkcode OtlpHttpBackend}: exports traces, events and metrics to any
 * OpenTelemetry collector over OTLP/HTTP (protobuf or JSON).
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../../../query/plan.ts";
import { nowSeconds } from "../../model/clock.ts";
import type { Attributes, Batch } from "../../model/types.ts";
import { type Backend, BackendError } from "../backend.ts";
import type { ExportStats } from "../export_stats.ts";
import { type ResolvedOtlpConfig, resolveOtlpConfig, type Signal, SIGNALS } from "./_config.ts";
import { encodeLogsJson, encodeMetricsJson, encodeTracesJson } from "./_json_encoder.ts";
import { MetricAggregator } from "./_metric_aggregator.ts";
import { OtlpModel } from "./_sdk_model.ts";
import { encodeLogsProtobuf, encodeMetricsProtobuf, encodeTracesProtobuf } from "./_protobuf.ts";
import { OtlpSender, type SendOutcome } from "./_sender.ts";

/**
 * Settings of an {@linkcode OtlpHttpBackend} (`backendConfig` of
 * `backend: "otlp_http"`). Unset fields fall back to the standard
 * `OTEL_EXPORTER_OTLP_*` environment variables, then to the defaults below.
 */
export interface OtlpHttpOptions {
  /**
   * Base URL of the collector; `/v1/traces`, `/v1/logs` and `/v1/metrics` are
   * appended. Env: `OTEL_EXPORTER_OTLP_ENDPOINT`.
   * @default {"http://localhost:4318"}
   */
  endpoint?: string;
  /** Full URL for spans, used as given. Env: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`. @default {endpoint + "/v1/traces"} */
  tracesEndpoint?: string;
  /** Full URL for events (log records). Env: `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`. @default {endpoint + "/v1/logs"} */
  logsEndpoint?: string;
  /** Full URL for metrics. Env: `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`. @default {endpoint + "/v1/metrics"} */
  metricsEndpoint?: string;
  /** Extra request headers (e.g. authentication), over `OTEL_EXPORTER_OTLP_HEADERS`. @default {{}} */
  headers?: Record<string, string>;
  /** Milliseconds one request may take. Env: `OTEL_EXPORTER_OTLP_TIMEOUT`. @default {10000} */
  timeoutMs?: number;
  /** Request body compression. Env: `OTEL_EXPORTER_OTLP_COMPRESSION`. @default {"none"} */
  compression?: "gzip" | "none";
  /** Wire encoding. Env: `OTEL_EXPORTER_OTLP_PROTOCOL`. @default {"http/protobuf"} */
  protocol?: "http/protobuf" | "http/json";
  /**
   * `service.name` when a trace's resource names none. Env: `OTEL_SERVICE_NAME`.
   * @default {"unknown_service:deno"}
   */
  serviceName?: string;
  /**
   * Resource attributes under every trace's own `resource`, and for records
   * whose trace is unknown. Env: `OTEL_RESOURCE_ATTRIBUTES`.
   * @default {{}}
   */
  resource?: Attributes;
  /**
   * Milliseconds one batch may spend on retries before `write()` throws (the
   * worker then keeps the batch and retries it later).
   * @default {15000}
   */
  maxRetryTimeMs?: number;
  /** First retry delay in milliseconds, doubled per retry. @default {500} */
  initialBackoffMs?: number;
  /** Longest retry delay in milliseconds. @default {5000} */
  maxBackoffMs?: number;
  /** How counter and histogram points accumulate. @default {"cumulative"} */
  temporality?: "cumulative" | "delta";
  /** Events held until their span is exported, so they become span events. @default {10000} */
  maxPendingSpanEvents?: number;
  /**
   * The signals to export; records of the others are skipped (neither sent
   * nor counted). Jaeger, for one, accepts only traces: `["traces"]` (events
   * still reach it as span events). Env: `OTEL_{TRACES,LOGS,METRICS}_EXPORTER=none`.
   * @default {["traces", "logs", "metrics"]}
   */
  signals?: Array<"traces" | "logs" | "metrics">;
}

interface PartialDelivery {
  batch: Batch;
  key: string;
  delivered: Set<Signal>;
}

function fingerprint(batch: Batch): string {
  const s = batch.spans;
  const e = batch.events;
  const m = batch.metrics;
  return `${batch.traces.length}|${s.length}:${s[0]?.spanId}:${s.at(-1)?.spanId}|` +
    `${e.length}:${e[0]?.eventId}:${e.at(-1)?.eventId}|` +
    `${m.length}:${m[0]?.metricId}:${m.at(-1)?.metricId}`;
}

const NOUN: Record<Signal, string> = { traces: "spans", logs: "events", metrics: "metric points" };

/**
 * Exports batches to an OpenTelemetry collector over OTLP/HTTP: spans to
 * `/v1/traces`, events as log records to `/v1/logs` (span-attached events
 * also as span events), metrics to `/v1/metrics`. It stores nothing: queries
 * fail with `EXPORT_ONLY` (name a local store with an `export` section to
 * export and query at once).
 *
 * `write()` resolves when the collector accepted the batch or refused it for
 * good (dropped and counted in {@linkcode OtlpHttpBackend.stats}); it throws
 * when retriable failures outlast `maxRetryTimeMs`, so the worker keeps the
 * batch. Signals already delivered are not sent again when that batch is
 * written again.
 *
 * @example Export-only: queries are refused
 * ```ts
 * import type { BackendError } from "@spark/telemetry";
 * import { OtlpHttpBackend } from "@spark/telemetry/otlp";
 * import assert from "node:assert/strict";
 *
 * await using backend = new OtlpHttpBackend({ endpoint: "http://127.0.0.1:4318" });
 * assert.equal(backend.name, "otlp_http");
 * await assert.rejects(
 *   backend.query({ type: "select", entity: "spans", where: null, orderBy: [], limit: 10, offset: 0 }),
 *   (error: BackendError) => error.code === "EXPORT_ONLY",
 * );
 * assert.equal(backend.stats().exported, 0);
 * ```
 */
export class OtlpHttpBackend implements Backend {
  /** Always `"otlp_http"`. */
  readonly name: string = "otlp_http";
  readonly #config: ResolvedOtlpConfig;
  readonly #model: OtlpModel;
  readonly #metrics: MetricAggregator;
  readonly #senders: Record<Signal, OtlpSender>;
  readonly #closing = new AbortController();
  #partial: PartialDelivery | null = null;
  #stats: ExportStats = {
    exported: 0,
    dropped: 0,
    rejected: 0,
    retries: 0,
    queued: 0,
    lastError: null,
    lastErrorTime: null,
  };

  /**
   * Creates the exporter; no connection is made until the first write.
   *
   * @param options Collector and delivery settings.
   * @throws {BackendError} With code `"BAD_CONFIG"` naming a bad setting.
   */
  constructor(options: OtlpHttpOptions = {}) {
    this.#config = resolveOtlpConfig(options as Record<string, unknown>);
    this.#model = new OtlpModel({
      resource: this.#config.resource,
      serviceName: this.#config.serviceName,
      maxPendingSpanEvents: this.#config.maxPendingSpanEvents,
    });
    this.#metrics = new MetricAggregator(this.#config.temporality);
    const senders = {} as Record<Signal, OtlpSender>;
    for (const signal of SIGNALS) {
      senders[signal] = new OtlpSender(
        signal,
        this.#config.targets[signal],
        this.#config,
        this.#closing.signal,
        (failure) => {
          this.#stats.retries++;
          this.#noteError(failure);
        },
      );
    }
    this.#senders = senders;
  }

  /** The collector URL of each signal, after defaults and environment variables. */
  get endpoints(): Record<"traces" | "logs" | "metrics", string> {
    return {
      traces: this.#config.targets.traces.url,
      logs: this.#config.targets.logs.url,
      metrics: this.#config.targets.metrics.url,
    };
  }

  /**
   * Exports a batch: spans, events and metrics in parallel requests.
   *
   * @param batch The records.
   * @throws {BackendError} `"CONNECTION"` when the collector stayed unreachable
   * past `maxRetryTimeMs`; `"CLOSED"` after {@linkcode OtlpHttpBackend.close}.
   */
  async write(batch: Batch): Promise<void> {
    if (this.#closing.signal.aborted) {
      throw new BackendError("CLOSED", "Cannot write: the otlp_http backend is closed");
    }
    const key = fingerprint(batch);
    const replay = this.#partial !== null &&
      (this.#partial.batch === batch || this.#partial.key === key);
    const delivered = replay ? this.#partial!.delivered : new Set<Signal>();
    this.#model.observeTraces(batch.traces);
    const signals = this.#config.signals;
    // Events first, so the spans of this batch pick up their events.
    if (signals.has("traces")) this.#model.holdSpanEvents(batch.events);

    const tasks: Promise<void>[] = [];
    if (batch.spans.length > 0 && signals.has("traces") && !delivered.has("traces")) {
      tasks.push(this.#exportSpans(batch).then(() => void delivered.add("traces")));
    }
    if (batch.events.length > 0 && signals.has("logs") && !delivered.has("logs")) {
      tasks.push(this.#exportLogs(batch).then(() => void delivered.add("logs")));
    }
    if (batch.metrics.length > 0 && signals.has("metrics") && !delivered.has("metrics")) {
      tasks.push(this.#exportMetrics(batch).then(() => void delivered.add("metrics")));
    }
    const results = await Promise.allSettled(tasks);
    const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failure === undefined) {
      this.#partial = null;
      return;
    }
    this.#partial = { batch, key, delivered };
    const error = failure.reason;
    this.#noteError(error instanceof Error ? error.message : String(error));
    throw error;
  }

  async #exportSpans(batch: Batch): Promise<void> {
    const build = this.#model.spans(batch.spans);
    if (build.invalid > 0) {
      this.#stats.dropped += build.invalid;
      this.#noteError(
        `Cannot export ${build.invalid} spans: their trace or span ids are not W3C ids ` +
          `(32 and 16 lowercase hex characters, not all zeros)`,
      );
    }
    if (build.spans.length === 0) return;
    const json = this.#config.targets.traces.protocol === "http/json";
    const body = json ? encodeTracesJson(build.spans) : encodeTracesProtobuf(build.spans);
    this.#account("traces", build.spans.length, await this.#senders.traces.send(body));
    build.commit();
  }

  async #exportLogs(batch: Batch): Promise<void> {
    const logs = this.#model.logs(batch.events);
    const json = this.#config.targets.logs.protocol === "http/json";
    const body = json ? encodeLogsJson(logs) : encodeLogsProtobuf(logs);
    this.#account("logs", logs.length, await this.#senders.logs.send(body));
  }

  async #exportMetrics(batch: Batch): Promise<void> {
    const build = this.#metrics.build(batch.metrics, this.#model);
    const json = this.#config.targets.metrics.protocol === "http/json";
    const body = json
      ? encodeMetricsJson(build.resourceMetrics)
      : encodeMetricsProtobuf(build.resourceMetrics);
    this.#account("metrics", build.records, await this.#senders.metrics.send(body));
    build.commit();
  }

  #account(signal: Signal, count: number, outcome: SendOutcome): void {
    if (outcome.delivered) {
      const rejected = Math.min(count, outcome.partial.rejected);
      this.#stats.exported += count - rejected;
      this.#stats.rejected += rejected;
      if (rejected > 0 || outcome.partial.message !== null) {
        this.#noteError(
          `Collector at ${this.#senders[signal].url} refused ${rejected} of ${count} ${
            NOUN[signal]
          }: ${outcome.partial.message ?? "(no message)"}`,
        );
      }
      return;
    }
    this.#stats.dropped += count;
    this.#noteError(
      `Cannot export ${NOUN[signal]} to ${this.#senders[signal].url}: HTTP ${outcome.status}: ` +
        `${outcome.message} (${count} dropped; this status is not retried)`,
    );
  }

  #noteError(message: string): void {
    this.#stats.lastError = message;
    this.#stats.lastErrorTime = nowSeconds();
  }

  /**
   * Always fails: this backend stores nothing.
   *
   * @param _plan Ignored.
   * @throws {BackendError} With code `"EXPORT_ONLY"`.
   */
  query(_plan: QueryPlan): Promise<QueryRow[]> {
    return Promise.reject(
      new BackendError(
        "EXPORT_ONLY",
        "Cannot query: the otlp_http backend only exports to a collector and stores nothing; " +
          'to query locally too, name a store with an exporter, e.g. backend: "sqlite", ' +
          "backendConfig: { dbPath, export: { otlp: { endpoint } } }",
      ),
    );
  }

  /**
   * Does nothing: retention is the collector's business.
   *
   * @param _cutoff Ignored.
   * @returns 0.
   */
  applyRetention(_cutoff: number): Promise<number> {
    return Promise.resolve(0);
  }

  /**
   * What was exported, dropped and refused so far.
   *
   * @returns A copy of the counters.
   */
  stats(): ExportStats {
    return { ...this.#stats };
  }

  /** Aborts requests and retry waits in flight; further writes fail with `"CLOSED"`. */
  close(): Promise<void> {
    this.#closing.abort();
    return Promise.resolve();
  }

  /** Closes the backend, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
