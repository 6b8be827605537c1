/**
 * {@linkcode TelemetryManager}: the entry point — starts traces and spans,
 * records events and metrics, and queries what was stored.
 *
 * @module
 */
import type { QueryPlan, QueryRow } from "../query/plan.ts";
import { parseQuery, type ParseQueryOptions } from "../query/parse_query.ts";
import { TelemetryConfig } from "./config.ts";
import {
  eventsPlan,
  metricsPlan,
  type QueryEventsOptions,
  type QueryMetricsOptions,
  type QuerySpansOptions,
  type QueryTracesOptions,
  spansPlan,
  tracesPlan,
} from "./query_options.ts";
import { getCurrentContext, runWithContext, type TelemetryContext } from "./context/context.ts";
import { Event } from "./model/event.ts";
import { newTraceId } from "./model/ids.ts";
import { idCodes, idText, takeId } from "./model/id_pool.ts";
import { Metric } from "./model/metric.ts";
import { Pipeline } from "./pipeline/pipeline.ts";
import { EVENT, METRIC, SPAN, TRACE } from "./frame/format.ts";
import { mergeReadable } from "./model/sanitize.ts";
import { RecordingSpan, type SpanOwner } from "./model/recording_span.ts";
import { Span } from "./model/span.ts";
import type { TelemetryStats } from "./pipeline/telemetry_stats.ts";
import { Trace } from "./model/trace.ts";
import type {
  Attributes,
  EventRecord,
  EventType,
  MetricKind,
  MetricRecord,
  SpanKind,
  SpanStatus,
  SpanWithEvents,
  TraceRecord,
} from "./model/types.ts";

/** Options of {@linkcode TelemetryManager.startTrace}. */
export interface StartTraceOptions {
  /** The trace id, e.g. one received from another process. @default {a new random trace id} */
  traceId?: string;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
}

/** Options of {@linkcode TelemetryManager.startSpan} and {@linkcode TelemetryManager.withSpan}. */
export interface StartSpanOptions {
  /**
   * The trace. @default {the current trace from async context; with none, a
   * new trace is started implicitly, named after the span and ended with it}
   */
  traceId?: string;
  /** The span kind. @default {"internal"} */
  kind?: SpanKind;
  /**
   * The parent span; `null` for a root span. @default {the current span from
   * async context, when it belongs to the same trace}
   */
  parentSpanId?: string | null;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
}

/** Options of {@linkcode TelemetryManager.recordEvent}. */
export interface RecordEventOptions {
  /** The trace. @default {the trace of `spanId`, else the current trace} */
  traceId?: string | null;
  /** The span. @default {the current span (when in the same trace)} */
  spanId?: string | null;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
}

/** Options of {@linkcode TelemetryManager.recordMetric}. */
export interface RecordMetricOptions {
  /** Unit of measurement. @default {""} */
  unit?: string;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
  /** The trace. @default {the current trace} */
  traceId?: string | null;
  /** How values combine when exported. @default {"gauge"} */
  kind?: MetricKind;
}

/** The context a manager sets: the ids, plus the span object itself (no lookup by id needed). */
interface SpanContext extends TelemetryContext {
  readonly span: RecordingSpan | null;
}

interface ActiveTrace {
  trace: Trace;
  recorded: boolean;
}

const ZERO_STATS: TelemetryStats = {
  recorded: 0,
  exported: 0,
  dropped: 0,
  spilled: 0,
  spillQueue: 0,
  pending: 0,
  batches: 0,
  exportErrors: 0,
  lastExportError: null,
  sanitizedValues: 0,
  lastExportLatencyMs: null,
  avgExportLatencyMs: null,
  ringUsage: 0,
  workerRestarts: 0,
  export: null,
  rejected: 0,
  rejectedByReason: {},
};

/** A metric value given as something else than a number, as a number (NaN when it is none). */
function metricNumber(value: unknown): number {
  try {
    return Number(value);
  } catch {
    return NaN; // a symbol
  }
}

/** Ended traces {@linkcode TelemetryManager.getTrace} still finds, newest kept. */
const RECENT_TRACES = 1000;

let instance: TelemetryManager | null = null;

const NO_ATTRIBUTES: Attributes = Object.freeze({});

// A constructor whose instances are plain objects (their prototype is
// Object.prototype, as for `{}`), but which V8 allocates with room for
// several properties in the object itself: `{}` has room for four, and a
// fifth `setAttribute()` allocated a separate property store.
const AttributeBag = function (): void {} as unknown as new () => Attributes;
AttributeBag.prototype = Object.prototype;

function newAttributes(): Attributes {
  return new AttributeBag();
}

// One options object reused for every span a manager starts (the Span
// constructor copies its fields and keeps none but `attributes`): a fresh
// literal per span was ~80 bytes of garbage that escape analysis did not remove.
const SPAN_OPTIONS: {
  spanId: string;
  traceId: string;
  parentSpanId: string | null;
  name: string;
  kind: SpanKind;
  attributes: Attributes;
} = {
  spanId: "",
  traceId: "",
  parentSpanId: null,
  name: "",
  kind: "internal",
  attributes: NO_ATTRIBUTES,
};

/**
 * Central coordinator of telemetry (the seed's `TelemetryManager`). Records
 * are encoded on the calling thread and written to the backend by a worker
 * thread in batches, so recording is cheap and never waits on storage.
 *
 * A manager built from a disabled configuration (the default) records
 * nothing and starts no worker. Several managers may run in one process,
 * each with its own worker and backend.
 *
 * @example
 * ```ts
 * import { SpanKind, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(
 *   TelemetryConfig.createMemory({ resourceAttributes: { "service.name": "docs" } }),
 * );
 * await manager.withTrace("graph_run", {}, async (trace) => {
 *   await manager.withSpan("fetch", { kind: SpanKind.NODE_EXECUTION }, async (span) => {
 *     span.setAttribute("node.id", "fetch");
 *     manager.recordEvent("node.finished", "fetched");
 *   });
 *   manager.recordMetric("latency", 0.25, { unit: "s" });
 *   assert.match(trace.traceId, /^[0-9a-f]{32}$/);
 * });
 * const [span] = await manager.querySpans({ kind: SpanKind.NODE_EXECUTION });
 * assert.equal(span?.attributes["node.id"], "fetch");
 * assert.equal(span?.events[0]?.name, "fetched");
 * assert.equal(manager.stats().dropped, 0);
 * ```
 */
export class TelemetryManager {
  /** The configuration the manager was built with. */
  readonly config: TelemetryConfig;

  #pipeline: Pipeline | null;
  #recording: boolean;
  #traces: boolean;
  #events: boolean;
  #metrics: boolean;
  #propagate: boolean;
  #sampleAll: boolean;
  #custom: Attributes | null;
  #resource: Attributes;
  #activeTraces = new Map<string, ActiveTrace>();
  /** The last {@linkcode RECENT_TRACES} ended traces, oldest first, for `getTrace`. */
  #recentTraces = new Map<string, Trace>();
  // Active spans by slot, with a free list of slots: a Map<number> cost ~30
  // ns and ~150 bytes of garbage per span for its set + delete.
  #activeSpans: (RecordingSpan | undefined)[] = [];
  #freeSlots: number[] = [];
  #activeSpanCount = 0;
  #owner: SpanOwner;

  /**
   * Creates a manager. With an enabled configuration it starts its worker,
   * which opens the backend.
   *
   * @param config The configuration. @default {new TelemetryConfig() (disabled)}
   */
  constructor(config: TelemetryConfig = new TelemetryConfig()) {
    this.config = config;
    this.#recording = config.enabled;
    this.#traces = config.enableTraces;
    this.#events = config.enableEvents;
    this.#metrics = config.enableMetrics;
    this.#propagate = config.propagateContext;
    this.#sampleAll = config.samplingRate >= 1;
    this.#custom = Object.keys(config.customAttributes).length > 0 ? config.customAttributes : null;
    this.#resource = config.resourceAttributes;
    this.#pipeline = config.enabled ? new Pipeline(config) : null;
    const spanEnded = (span: RecordingSpan): void => this.#spanEnded(span);
    this.#owner = {
      spanEnded,
      maxEvents: config.maxEventsPerSpan,
      countSanitized: (n) => this.#countSanitized(n),
    };
  }

  /**
   * Returns the process-wide manager, creating it from `config` on first use
   * (later calls ignore `config`, as in the seed).
   *
   * @param config Configuration for the first call.
   * @returns The shared manager.
   *
   * @example
   * ```ts
   * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
   * import assert from "node:assert/strict";
   *
   * const manager = TelemetryManager.getInstance(TelemetryConfig.createMemory());
   * assert.equal(TelemetryManager.getInstance(), manager);
   * await TelemetryManager.resetInstance();
   * assert.notEqual(TelemetryManager.getInstance(), manager);
   * await TelemetryManager.resetInstance();
   * ```
   */
  static getInstance(config?: TelemetryConfig): TelemetryManager {
    instance ??= new TelemetryManager(config);
    return instance;
  }

  /**
   * Flushes and shuts down the process-wide manager (nothing recorded is
   * lost) and forgets it; the next {@linkcode TelemetryManager.getInstance}
   * creates a new one.
   *
   * @returns Resolves when the old manager is closed.
   */
  static async resetInstance(): Promise<void> {
    const old = instance;
    instance = null;
    await old?.shutdown();
  }

  // ---- traces ----------------------------------------------------------------

  /**
   * Starts a trace. It is written at once (so a running trace is visible to
   * queries) and again when it ends. Never throws: a value that cannot be stored as given is converted (see
   * `docs/values.md`, counted in `stats().sanitizedValues`) and the record kept.
   *
   * @param name Trace name, e.g. `"graph_run"`.
   * @param options Trace id and attributes.
   * @returns The trace.
   */
  startTrace(name: string, options: StartTraceOptions = {}): Trace {
    const trace = new Trace({
      traceId: options.traceId ?? newTraceId(),
      name,
      attributes: this.#attributes(options.attributes),
      resource: this.#resource,
    });
    if (!this.#recording) return trace;
    const recorded = this.#traces && this.#sampled(trace.traceId);
    this.#activeTraces.set(trace.traceId, { trace, recorded });
    if (recorded) this.#pushTrace(trace);
    return trace;
  }

  /**
   * Ends an active trace and records it. Never throws: a value that cannot be stored as given is converted (see
   * `docs/values.md`, counted in `stats().sanitizedValues`) and the record kept.
   *
   * @param traceId The trace.
   * @param status The final status.
   * @returns The ended trace, or `null` when no such trace is active.
   */
  endTrace(traceId: string, status: SpanStatus = "ok"): Trace | null {
    const active = this.#activeTraces.get(traceId);
    if (active === undefined) return null;
    this.#activeTraces.delete(traceId);
    active.trace.end(status);
    if (active.recorded) this.#pushTrace(active.trace);
    const recent = this.#recentTraces;
    recent.set(traceId, active.trace);
    if (recent.size > RECENT_TRACES) recent.delete(recent.keys().next().value!);
    return active.trace;
  }

  /**
   * Returns a trace this manager started: an active one, or one of the
   * last 1,000 it ended (kept in memory, oldest forgotten first). For any
   * other stored trace, ask the store: `queryTraces()` or
   * `query("traces where trace_id = '…'")`.
   *
   * @param traceId The trace.
   * @returns The trace, or `null` when it is neither active nor recently ended.
   *
   * @example
   * ```ts
   * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
   * import assert from "node:assert/strict";
   *
   * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
   * const trace = manager.startTrace("graph_run");
   * manager.endTrace(trace.traceId, "error");
   * assert.equal(manager.getTrace(trace.traceId)?.status, "error");
   * ```
   */
  getTrace(traceId: string): Trace | null {
    return this.#activeTraces.get(traceId)?.trace ?? this.#recentTraces.get(traceId) ?? null;
  }

  /**
   * Runs `fn` inside a new trace, which is the current trace for everything
   * `fn` starts (also across `await`). The trace ends `"ok"`, or `"error"`
   * when `fn` throws (the error is rethrown unchanged). A telemetry failure
   * never throws from here nor replaces what `fn` returns; the trace is
   * always ended.
   *
   * @param name Trace name.
   * @param options Trace id and attributes.
   * @param fn The work.
   * @returns What `fn` returns.
   */
  async withTrace<T>(
    name: string,
    options: StartTraceOptions,
    fn: (trace: Trace) => T | Promise<T>,
  ): Promise<T> {
    const trace = this.startTrace(name, options);
    const context: SpanContext = { traceId: trace.traceId, spanId: null, span: null };
    let result: T;
    try {
      result = this.#propagate ? await runWithContext(context, () => fn(trace)) : await fn(trace);
    } catch (error) {
      this.#endTraceQuietly(trace.traceId, "error");
      throw error;
    }
    this.#endTraceQuietly(trace.traceId, "ok");
    return result;
  }

  /** `endTrace()` for `withTrace`/`withSpan`: a telemetry failure never replaces what `fn` returned or threw. */
  #endTraceQuietly(traceId: string, status: SpanStatus): void {
    try {
      this.endTrace(traceId, status);
    } catch {
      // Recording does not throw (see `Pipeline`); this is the last guard.
      this.#activeTraces.delete(traceId);
    }
  }

  // ---- spans -----------------------------------------------------------------

  /**
   * Starts a span. It is recorded when it ends — `span.end()`, or
   * automatically with `await using`. Omitted `traceId` and `parentSpanId`
   * come from the async context (the innermost `withTrace`/`withSpan`); with
   * no trace at all, a trace named after the span is started implicitly and
   * ends with it. Never throws: a value that cannot be stored as given is converted (see
   * `docs/values.md`, counted in `stats().sanitizedValues`) and the record kept. The span's `end()`,
   * `setAttribute()`, `setAttributes()` and `addEvent()` never throw either.
   *
   * @param name Span name, e.g. `"ProcessNode.do"`.
   * @param options Trace, kind, parent and attributes.
   * @returns The span.
   *
   * @example
   * ```ts
   * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
   * import assert from "node:assert/strict";
   *
   * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
   * const trace = manager.startTrace("graph_run");
   * {
   *   await using span = manager.startSpan("step", { traceId: trace.traceId });
   *   span.setAttribute("n", 1);
   * } // recorded here
   * manager.endTrace(trace.traceId);
   * const spans = await manager.querySpans({ traceId: trace.traceId });
   * assert.equal(spans.length, 1);
   * assert.equal(spans[0]?.status, "ok");
   * ```
   */
  startSpan(name: string, options: StartSpanOptions = {}): Span {
    const ctx = this.#propagate ? getCurrentContext() : undefined;
    let traceId = options.traceId;
    let endsTrace = false;
    if (traceId === undefined) {
      if (ctx !== undefined) {
        traceId = ctx.traceId;
      } else {
        traceId = newTraceId();
        endsTrace = true;
      }
    }
    let parentSpanId = options.parentSpanId;
    if (parentSpanId === undefined) {
      parentSpanId = ctx !== undefined && ctx.traceId === traceId ? ctx.spanId : null;
    }
    let recorded = false;
    if (this.#recording) {
      if (endsTrace) {
        this.startTrace(name, { traceId });
        recorded = this.#activeTraces.get(traceId)!.recorded;
      } else {
        recorded = this.#traces && this.#sampled(traceId);
      }
    }
    // Everything that may run user code (getters, spreads) comes before a
    // slot is taken and the shared options object is filled: a nested
    // startSpan() would take the same slot and refill the object.
    const kind = options.kind ?? "internal";
    const attributes = this.#attributes(options.attributes);
    const slot = this.#recording ? this.#takeSlot() : -1;
    const idAt = takeId(1);
    const o = SPAN_OPTIONS;
    o.spanId = idText(idAt, 1);
    o.traceId = traceId;
    o.parentSpanId = parentSpanId;
    o.name = name;
    o.kind = kind;
    o.attributes = attributes;
    const span = new RecordingSpan(o, this.#owner, slot, recorded, endsTrace, idCodes, idAt);
    o.attributes = NO_ATTRIBUTES;
    if (slot >= 0) {
      this.#activeSpans[slot] = span;
      this.#activeSpanCount++;
    }
    return span;
  }

  /**
   * Runs `fn` inside a new span, which is the current span for everything
   * `fn` starts (also across `await`). The span ends `"ok"` (or with the
   * status `fn` set); when `fn` throws it ends `"error"` with the error, and
   * the error is rethrown unchanged. A telemetry failure never throws from
   * here nor replaces what `fn` returns, and a trace started implicitly for
   * the span is always ended.
   *
   * @param name Span name.
   * @param options Trace, kind, parent and attributes.
   * @param fn The work.
   * @returns What `fn` returns.
   */
  async withSpan<T>(
    name: string,
    options: StartSpanOptions,
    fn: (span: Span) => T | Promise<T>,
  ): Promise<T> {
    const span = this.startSpan(name, options) as RecordingSpan;
    const context: SpanContext = { traceId: span.traceId, spanId: span.spanId, span };
    let result: T;
    try {
      result = this.#propagate ? await runWithContext(context, () => fn(span)) : await fn(span);
    } catch (error) {
      this.#endSpanQuietly(span, "error", error);
      throw error;
    }
    this.#endSpanQuietly(span, span.status === "unset" ? "ok" : span.status);
    return result;
  }

  /**
   * `span.end()` for `withSpan`: a telemetry failure never replaces what
   * `fn` returned or threw, and a trace started for the span is ended.
   */
  #endSpanQuietly(span: RecordingSpan, status: SpanStatus, error?: unknown): void {
    try {
      span.end(status, error);
    } catch {
      // Recording does not throw (see `Pipeline`); this is the last guard.
      if (span.endsTrace) this.#endTraceQuietly(span.traceId, status === "error" ? "error" : "ok");
    }
  }

  #takeSlot(): number {
    const free = this.#freeSlots;
    return free.length > 0 ? free.pop()! : this.#activeSpans.length;
  }

  #spanEnded(span: RecordingSpan): void {
    const slot = span.slot;
    // The check also covers spans that outlived a shutdown (slots cleared).
    if (slot >= 0 && this.#activeSpans[slot] === span) {
      this.#activeSpans[slot] = undefined;
      if (--this.#activeSpanCount === 0 && this.#activeSpans.length > 1024) {
        // Give back the memory of a past burst of concurrent spans.
        this.#activeSpans = [];
        this.#freeSlots = [];
      } else {
        this.#freeSlots.push(slot);
      }
    }
    if (span.recorded) {
      const pipeline = this.#pipeline!;
      pipeline.append(SPAN, span, span.idCodes, span.idAt);
      const events = span.events;
      if (events.length > 0 && this.#events) {
        for (const e of events) {
          pipeline.append(EVENT, {
            eventId: e.eventId,
            eventType: e.eventType,
            name: e.name,
            timestamp: e.timestamp,
            traceId: span.traceId,
            spanId: span.spanId,
            attributes: this.#merged(e.attributes),
          });
        }
      }
    }
    if (span.endsTrace) this.endTrace(span.traceId, span.status === "error" ? "error" : "ok");
  }

  // ---- events and metrics ----------------------------------------------------

  /**
   * Records a discrete event. It counts toward the `maxEventsPerSpan` of the
   * active span it names (beyond the limit it is not stored and the span's
   * `droppedEvents` grows). Never throws: a value that cannot be stored as given is converted (see
   * `docs/values.md`, counted in `stats().sanitizedValues`) and the record kept.
   *
   * @param eventType An {@linkcode EventType} value or any string.
   * @param name Event name.
   * @param options Trace, span and attributes.
   * @returns The event.
   */
  recordEvent(
    eventType: EventType | string,
    name: string,
    options: RecordEventOptions = {},
  ): Event {
    const ctx = this.#propagate ? getCurrentContext() as SpanContext | undefined : undefined;
    let spanId = options.spanId;
    let traceId = options.traceId;
    let owner: RecordingSpan | undefined;
    if (spanId === undefined) {
      if (ctx !== undefined && (traceId === undefined || traceId === ctx.traceId)) {
        spanId = ctx.spanId;
        owner = ctx.span ?? undefined;
      } else {
        spanId = null;
      }
    } else if (spanId !== null) {
      owner = ctx?.span?.spanId === spanId ? ctx.span : this.#findActiveSpan(spanId);
    }
    if (owner !== undefined && owner.owner !== this.#owner) owner = undefined;
    if (traceId === undefined) traceId = owner?.traceId ?? ctx?.traceId ?? null;
    // The id from the pool, whose bytes the encoder copies (see `id_pool.ts`).
    const idAt = takeId(2);
    const codes = idCodes;
    const event = new Event({
      eventId: idText(idAt, 2),
      eventType,
      name,
      traceId,
      spanId,
      attributes: this.#merged(options.attributes),
    });
    if (!this.#recording || !this.#events) return event;
    if (traceId !== null && !this.#sampled(traceId)) return event;
    if (owner !== undefined) {
      if (!owner.takeEventSlot()) return event;
      owner.linkedEvents++;
    }
    this.#pipeline!.append(EVENT, event, codes, idAt);
    return event;
  }

  /**
   * Records a numerical measurement. Never throws: `NaN` and `±Infinity`
   * are recorded as they are (SQLite cannot store `NaN`: there the point is
   * dropped and counted in `stats().dropped`); attributes are converted as
   * `docs/values.md` lists.
   *
   * @param name Metric name.
   * @param value The value.
   * @param options Unit, attributes, trace (default: the current trace) and kind.
   * @returns The metric point.
   */
  recordMetric(name: string, value: number, options: RecordMetricOptions = {}): Metric {
    if (typeof value !== "number") {
      // From JavaScript, a bigint or a numeric string: its number (else NaN).
      value = metricNumber(value);
      this.#countSanitized(1);
    }
    let traceId = options.traceId;
    if (traceId === undefined) {
      traceId = this.#propagate ? getCurrentContext()?.traceId ?? null : null;
    }
    const idAt = takeId(2);
    const codes = idCodes;
    const metric = new Metric({
      metricId: idText(idAt, 2),
      name,
      value,
      unit: options.unit ?? "",
      kind: options.kind ?? "gauge",
      traceId,
      attributes: this.#merged(options.attributes),
    });
    if (!this.#recording || !this.#metrics) return metric;
    if (traceId !== null && !this.#sampled(traceId)) return metric;
    this.#pipeline!.append(METRIC, metric, codes, idAt);
    return metric;
  }

  // ---- export ------------------------------------------------------------------

  /**
   * Resolves when everything recorded before the call is stored. While the
   * backend keeps failing, the worker keeps retrying and this keeps waiting
   * (records are not lost); `shutdown()` is the bounded way out.
   *
   * @returns Resolves when stored.
   * @throws {PipelineError} When the backend could not be opened.
   */
  async flush(): Promise<void> {
    await this.#pipeline?.flush();
  }

  /**
   * Makes sure periodic export runs. Export always happens in the worker
   * (every `exportInterval` seconds, or per full batch); this starts the
   * worker's timer if it was not running, and resolves once the backend is
   * open, so a bad configuration surfaces here rather than at the first
   * flush. A server that cannot be reached yet is not a bad configuration:
   * it resolves after the first failed attempt, and the worker keeps the
   * records and keeps trying (each failure counted in
   * `stats().exportErrors`). With `exportInterval: 0` batches are written
   * only when full or on `flush()`.
   *
   * @returns Resolves when the worker is ready.
   * @throws {PipelineError} When the backend could not be opened.
   */
  async startBackgroundExport(): Promise<void> {
    await this.#pipeline?.startBackgroundExport();
  }

  /**
   * Stores everything recorded, closes the backend and stops the worker,
   * within `config.shutdownTimeoutMs` (what cannot be stored in time is
   * counted in `stats().dropped`). Records made afterwards are dropped,
   * counted in `stats().dropped` and said once on stderr (recording never
   * throws). Spans and traces still active are not ended.
   *
   * @returns Resolves when closed.
   */
  async shutdown(): Promise<void> {
    this.#activeSpans = [];
    this.#freeSlots = [];
    this.#activeSpanCount = 0;
    await this.#pipeline?.shutdown();
  }

  /** Same as {@linkcode TelemetryManager.shutdown}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /**
   * Returns the pipeline's counters.
   *
   * @returns Counters; all zero for a disabled manager.
   */
  stats(): TelemetryStats {
    return this.#pipeline?.stats() ?? { ...ZERO_STATS, rejectedByReason: {} };
  }

  /** Traces and spans started but not yet ended (what the manager holds in memory). */
  get activeCount(): { traces: number; spans: number } {
    return { traces: this.#activeTraces.size, spans: this.#activeSpanCount };
  }

  // ---- queries -----------------------------------------------------------------

  /**
   * Runs a query plan in the worker's backend, after everything recorded
   * before the call is stored. The DSL's `query(text)` and the `query*`
   * methods use it.
   *
   * @param plan The plan.
   * @returns The rows; `[]` for a disabled manager.
   * @throws {PipelineError} With the backend's code, e.g. `"EXPORT_ONLY"`.
   * @throws {BackendError} Coded `"QUERY_TIMEOUT"` when it ran longer than `queryTimeoutMs`.
   */
  async runPlan(plan: QueryPlan): Promise<QueryRow[]> {
    if (this.#pipeline === null) return [];
    return await this.#pipeline.query(plan);
  }

  /**
   * Runs a query written in the query language (see the README's DSL
   * reference) and returns its rows: stored records for a selection, one
   * object per group for an aggregation. A query sees every record recorded
   * before it was issued.
   *
   * @param text The query, e.g. `spans where status=error limit 20`.
   * @param options `now` (seconds since the epoch) for relative times.
   * @returns The rows; `[]` for a disabled manager.
   * @throws {QuerySyntaxError} When the query is malformed, with line, column and a caret excerpt.
   * @throws {PipelineError} When the backend cannot run it, e.g. `"EXPORT_ONLY"`.
   * @throws {BackendError} Coded `"QUERY_TIMEOUT"` when it ran longer than `queryTimeoutMs`
   * (it runs apart from the writer, so recording and flushing go on meanwhile).
   *
   * @example
   * ```ts
   * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
   * import assert from "node:assert/strict";
   *
   * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
   * await manager.withSpan("fetch", { kind: "tool_call" }, () => {});
   * const rows = await manager.query("spans where kind=tool_call | count()");
   * assert.deepEqual(rows, [{ "count()": 1 }]);
   * ```
   */
  async query(text: string, options: ParseQueryOptions = {}): Promise<QueryRow[]> {
    return await this.runPlan(parseQuery(text, options));
  }

  /**
   * Queries stored traces, newest first.
   *
   * @param options Filters and paging.
   * @returns The traces.
   */
  async queryTraces(options: QueryTracesOptions = {}): Promise<Trace[]> {
    const rows = await this.runPlan(tracesPlan(options));
    return rows.map((r) => Trace.fromDict(r as unknown as TraceRecord));
  }

  /**
   * Queries stored spans, newest first, each with its events.
   *
   * @param options Filters and paging.
   * @returns The spans.
   */
  async querySpans(options: QuerySpansOptions = {}): Promise<Span[]> {
    const rows = await this.runPlan(spansPlan(options));
    return rows.map((r) => Span.fromDict(r as unknown as SpanWithEvents));
  }

  /**
   * Queries stored events, newest first.
   *
   * @param options Filters and paging.
   * @returns The events.
   */
  async queryEvents(options: QueryEventsOptions = {}): Promise<Event[]> {
    const rows = await this.runPlan(eventsPlan(options));
    return rows.map((r) => Event.fromDict(r as unknown as EventRecord));
  }

  /**
   * Queries stored metric points, newest first.
   *
   * @param options Filters and paging.
   * @returns The metric points.
   */
  async queryMetrics(options: QueryMetricsOptions = {}): Promise<Metric[]> {
    const rows = await this.runPlan(metricsPlan(options));
    return rows.map((r) => Metric.fromDict(r as unknown as MetricRecord));
  }

  // ---- helpers -----------------------------------------------------------------

  /** Finds an active span by id: a scan, but only for events naming a span outside the current context. */
  #findActiveSpan(spanId: string): RecordingSpan | undefined {
    const spans = this.#activeSpans;
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i];
      if (span !== undefined && span.spanId === spanId) return span;
    }
    return undefined;
  }

  /**
   * Whether records of the trace are kept: a pure function of the trace id
   * (so the same answer an active trace got at its start, without looking
   * it up: the map lookup cost more than the decision).
   */
  #sampled(traceId: string): boolean {
    return this.#sampleAll || this.config.shouldSample(traceId);
  }

  /** Copies attributes (the caller may reuse its object) with the custom ones merged under them. */
  #attributes(attributes: Attributes | undefined): Attributes {
    try {
      if (this.#custom === null) {
        return attributes === undefined ? newAttributes() : { ...attributes };
      }
      return attributes === undefined ? { ...this.#custom } : { ...this.#custom, ...attributes };
    } catch {
      // A getter or a Proxy trap threw: copy what can be read.
      return this.#readable(attributes) as Attributes;
    }
  }

  /**
   * The custom attributes merged under `attributes` without ever throwing:
   * a value whose getter throws becomes a marker (see `readableCopy`),
   * counted in `stats().sanitizedValues`.
   */
  #readable(attributes: unknown): Record<string, unknown> {
    return mergeReadable(this.#countSanitized, this.#custom ?? undefined, attributes);
  }

  #countSanitized = (n: number): void => {
    this.#pipeline?.countSanitized(n);
  };

  /**
   * The custom attributes merged under `attributes`, without a copy when
   * there are none (events and metrics are encoded at once, so the caller's
   * object may be used as is).
   */
  #merged(attributes: Attributes | undefined): Attributes {
    if (this.#custom === null) return attributes ?? {};
    try {
      return attributes === undefined ? { ...this.#custom } : { ...this.#custom, ...attributes };
    } catch {
      return this.#readable(attributes) as Attributes;
    }
  }

  #pushTrace(trace: Trace): void {
    this.#pipeline!.append(TRACE, trace);
  }
}
