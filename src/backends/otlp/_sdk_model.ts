/**
 * Maps our records to the shapes the OpenTelemetry JS SDK hands its
 * exporters (`ReadableSpan`, `ReadableLogRecord`): the one place the OTLP
 * mapping is decided. Both encoders start from these shapes — `_protobuf.ts`
 * writes the protobuf and `_json_encoder.ts` the OTLP/JSON form of the same
 * objects — so JSON and protobuf cannot disagree on content. Keeping the
 * SDK's shapes lets the tests feed the very same objects to the official
 * `@opentelemetry/otlp-transformer` serializers and compare the bytes.
 *
 * ```
 * Batch ──► OtlpModel.spans()/logs() ──► ModelSpan[] / ModelLogRecord[]
 *                  │ (resource per trace, pending span events)
 *                  ├──► encodeTracesProtobuf (_protobuf.ts)   → application/x-protobuf
 *                  └──► encodeTracesJson (_json_encoder.ts)   → application/json
 * ```
 *
 * @module
 */
import { LIBRARY_NAME, VERSION } from "../../version.ts";
import type {
  Attributes,
  AttributeValue,
  EventRecord,
  SpanKind,
  SpanRecord,
  TraceRecord,
} from "../../model/types.ts";
import { genAiAttributes } from "./_genai_attributes.ts";
import { PARENT_REMOTE_ATTRIBUTE, TRACESTATE_ATTRIBUTE } from "../../context/w3c.ts";
import { type HrTime, toHrTime } from "./_hr_time.ts";

/** A resource: the SDK `Resource` fields the serializers read. */
export interface OtlpResource {
  readonly attributes: Attributes;
}

/** An instrumentation scope. */
export interface OtlpScope {
  readonly name: string;
  readonly version: string;
}

/** The one scope everything we export belongs to. */
export const SCOPE: OtlpScope = { name: LIBRARY_NAME, version: VERSION };

/** OpenTelemetry API span kinds (the serializers add 1 to get OTLP's enum). */
export const API_SPAN_KIND = { INTERNAL: 0, SERVER: 1, CLIENT: 2 } as const;
/** OTLP `Status.code` values. */
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;
/** OTLP `SeverityNumber` values used for events. */
export const SEVERITY = { INFO: 9, WARN: 13, ERROR: 17 } as const;
/** W3C trace flags: sampled (we only export sampled traces). */
export const TRACE_FLAGS_SAMPLED = 1;

/** The attribute that keeps our span kind next to the OTLP kind. */
export const SPAN_KIND_ATTRIBUTE = "spark.span.kind";

/** A span context, as `ReadableSpan.spanContext()` returns it. */
export interface ModelSpanContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  /** The W3C `tracestate`, as the API's `TraceState` hands it to the serializers. */
  traceState?: { serialize(): string };
}

/** A span event (`TimedEvent`). */
export interface ModelSpanEvent {
  name: string;
  time: HrTime;
  attributes: Attributes;
  droppedAttributesCount: number;
}

/** A span in the shape of the SDK's `ReadableSpan` (the fields the serializers read). */
export class ModelSpan {
  readonly #context: ModelSpanContext;
  /** The parent's context, or `undefined` for a root span. */
  readonly parentSpanContext: ModelSpanContext | undefined;
  /** Operation name. */
  readonly name: string;
  /** OpenTelemetry API span kind. */
  readonly kind: number;
  /** Start time. */
  readonly startTime: HrTime;
  /** End time. */
  readonly endTime: HrTime;
  /** Attributes, with the GenAI and `spark.*` additions. */
  readonly attributes: Attributes;
  /** Span events, oldest first. */
  readonly events: ModelSpanEvent[];
  /** Always empty: our spans have no links. */
  readonly links: never[] = [];
  /** Status. */
  readonly status: { code: number; message?: string };
  /** Always 0. */
  readonly droppedAttributesCount = 0;
  /** Events refused by `maxEventsPerSpan`. */
  readonly droppedEventsCount: number;
  /** Always 0. */
  readonly droppedLinksCount = 0;
  /** The span's resource. */
  readonly resource: OtlpResource;
  /** The instrumentation scope. */
  readonly instrumentationScope: OtlpScope = SCOPE;

  constructor(fields: {
    context: ModelSpanContext;
    parentSpanContext: ModelSpanContext | undefined;
    name: string;
    kind: number;
    startTime: HrTime;
    endTime: HrTime;
    attributes: Attributes;
    events: ModelSpanEvent[];
    status: { code: number; message?: string };
    droppedEventsCount: number;
    resource: OtlpResource;
  }) {
    this.#context = fields.context;
    this.parentSpanContext = fields.parentSpanContext;
    this.name = fields.name;
    this.kind = fields.kind;
    this.startTime = fields.startTime;
    this.endTime = fields.endTime;
    this.attributes = fields.attributes;
    this.events = fields.events;
    this.status = fields.status;
    this.droppedEventsCount = fields.droppedEventsCount;
    this.resource = fields.resource;
  }

  /** The span's own context. */
  spanContext(): ModelSpanContext {
    return this.#context;
  }
}

/** A log record in the shape of the SDK's `ReadableLogRecord`. */
export interface ModelLogRecord {
  hrTime: HrTime;
  hrTimeObserved: HrTime;
  severityNumber: number;
  severityText: string;
  body: AttributeValue;
  eventName: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  spanContext: ModelSpanContext | undefined;
  resource: OtlpResource;
  instrumentationScope: OtlpScope;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_SPAN_ID = "0".repeat(16);

/** A valid OTLP trace id (lowercased), or `null`. */
export function otlpTraceId(id: string | null): string | null {
  if (id === null) return null;
  const lower = id.toLowerCase();
  return TRACE_ID.test(lower) && lower !== ZERO_TRACE_ID ? lower : null;
}

/** A valid OTLP span id (lowercased), or `null`. */
export function otlpSpanId(id: string | null): string | null {
  if (id === null) return null;
  const lower = id.toLowerCase();
  return SPAN_ID.test(lower) && lower !== ZERO_SPAN_ID ? lower : null;
}

/** Maps our span kinds to OpenTelemetry API kinds: calls out of the process are CLIENT. */
export function apiSpanKind(kind: SpanKind): number {
  return kind === "tool_call" || kind === "llm_call"
    ? API_SPAN_KIND.CLIENT
    : API_SPAN_KIND.INTERNAL;
}

/** Severity of an event type: failures are ERROR, retries WARN, the rest INFO. */
export function eventSeverity(eventType: string): { number: number; text: string } {
  if (eventType.endsWith(".failed") || eventType === "error.occurred") {
    return { number: SEVERITY.ERROR, text: "ERROR" };
  }
  if (eventType === "retry.attempted") return { number: SEVERITY.WARN, text: "WARN" };
  return { number: SEVERITY.INFO, text: "INFO" };
}

function defaultResourceAttributes(): Attributes {
  const attributes: Attributes = {
    "telemetry.sdk.name": LIBRARY_NAME,
    "telemetry.sdk.version": VERSION,
  };
  if (typeof Deno !== "undefined") {
    attributes["process.runtime.name"] = "deno";
    attributes["process.runtime.version"] = Deno.version.deno;
  }
  return attributes;
}

/** Resource attributes, bounded caches, and the `service.name` rule. */
interface TraceInfo {
  resource: OtlpResource;
  name: string;
  attributes: Attributes;
}

const MAX_TRACES = 10_000;
const MAX_RESOURCES = 1_000;
const MAX_EXPORTED_SPANS = 10_000;

/** Options of an {@linkcode OtlpModel}. */
export interface OtlpModelOptions {
  /** Resource attributes from `backendConfig.resource` and `OTEL_RESOURCE_ATTRIBUTES`. */
  resource: Attributes;
  /** `service.name` from `backendConfig.serviceName` or `OTEL_SERVICE_NAME`. */
  serviceName: string | null;
  /** Events held for spans not yet seen. */
  maxPendingSpanEvents: number;
}

/** What building spans consumed, applied once the spans are delivered. */
export interface SpanBuild {
  /** The spans, ready for an encoder. */
  spans: ModelSpan[];
  /** Span records skipped because their ids are not valid OTLP ids. */
  invalid: number;
  /** Releases the pending events the spans took; call once the spans are delivered. */
  commit(): void;
}

/**
 * Turns batches into SDK-shaped spans and log records. It remembers, in
 * bounded maps, each trace's resource and name (spans do not carry them) and
 * the events of spans not yet exported, so an event recorded before its span
 * ended still becomes a span event of that span.
 */
export class OtlpModel {
  readonly #traces = new Map<string, TraceInfo>();
  readonly #resources = new Map<string, OtlpResource>();
  readonly #pending = new Map<string, Map<string, ModelSpanEvent>>();
  #pendingCount = 0;
  // Spans already exported: their late events can only be log records.
  readonly #exported = new Set<string>();
  readonly #maxPending: number;
  readonly #configured: Attributes;
  readonly #serviceName: string | null;
  readonly #hasConfiguredResource: boolean;
  #lastSeen: OtlpResource | null = null;

  constructor(options: OtlpModelOptions) {
    this.#configured = options.resource;
    this.#serviceName = options.serviceName;
    this.#maxPending = options.maxPendingSpanEvents;
    this.#hasConfiguredResource = Object.keys(options.resource).length > 0 ||
      options.serviceName !== null;
  }

  /**
   * The resource for a set of resource attributes: defaults, then the
   * configured resource, then `serviceName`, then the trace's own attributes.
   * Equal attribute sets give the same object, so encoders group by identity.
   */
  resourceFor(attributes: Attributes): OtlpResource {
    const key = JSON.stringify(attributes);
    let resource = this.#resources.get(key);
    if (resource !== undefined) return resource;
    const merged: Attributes = {
      ...defaultResourceAttributes(),
      ...this.#configured,
      ...(this.#serviceName !== null ? { "service.name": this.#serviceName } : {}),
      ...attributes,
    };
    if (typeof merged["service.name"] !== "string" || merged["service.name"] === "") {
      // The resource semantic conventions' fallback when no name was given.
      merged["service.name"] = "unknown_service:deno";
    }
    resource = { attributes: merged };
    if (this.#resources.size >= MAX_RESOURCES) {
      this.#resources.delete(this.#resources.keys().next().value!);
    }
    this.#resources.set(key, resource);
    return resource;
  }

  /**
   * The resource for records of a trace: the trace's own when its record
   * was seen, else the configured one, else the most recent trace resource
   * (a process has one resource in practice), else the defaults.
   */
  resourceForTrace(traceId: string | null): OtlpResource {
    if (traceId !== null) {
      const info = this.#traces.get(traceId);
      if (info !== undefined) return info.resource;
    }
    if (!this.#hasConfiguredResource && this.#lastSeen !== null) return this.#lastSeen;
    return this.resourceFor({});
  }

  /** Remembers the traces of a batch (their resource and name). */
  observeTraces(traces: readonly TraceRecord[]): void {
    for (const trace of traces) {
      const resource = this.resourceFor(trace.resource);
      this.#lastSeen = resource;
      if (!this.#traces.has(trace.traceId) && this.#traces.size >= MAX_TRACES) {
        this.#traces.delete(this.#traces.keys().next().value!);
      }
      this.#traces.set(trace.traceId, { resource, name: trace.name, attributes: trace.attributes });
    }
  }

  /** Holds span-attached events until their span is exported (bounded; oldest go first). */
  holdSpanEvents(events: readonly EventRecord[]): void {
    if (this.#maxPending === 0) return;
    for (const event of events) {
      const spanId = event.spanId === null ? null : otlpSpanId(event.spanId);
      if (spanId === null || this.#exported.has(spanId)) continue;
      let forSpan = this.#pending.get(spanId);
      if (forSpan === undefined) {
        forSpan = new Map();
        this.#pending.set(spanId, forSpan);
      }
      // Keyed by event id, so a batch replayed after a failed write adds nothing twice.
      if (forSpan.has(event.eventId)) continue;
      forSpan.set(event.eventId, toSpanEvent(event));
      this.#pendingCount++;
      while (this.#pendingCount > this.#maxPending) this.#evictOldestPending();
    }
  }

  #evictOldestPending(): void {
    const first = this.#pending.entries().next().value;
    if (first === undefined) {
      this.#pendingCount = 0;
      return;
    }
    const [spanId, forSpan] = first;
    const oldest = forSpan.keys().next().value!;
    forSpan.delete(oldest);
    this.#pendingCount--;
    if (forSpan.size === 0) this.#pending.delete(spanId);
  }

  /** Events waiting for their span. */
  get pendingSpanEvents(): number {
    return this.#pendingCount;
  }

  /** Builds the spans of a batch (call {@linkcode holdSpanEvents} with the batch's events first). */
  spans(records: readonly SpanRecord[]): SpanBuild {
    const spans: ModelSpan[] = [];
    const built: string[] = [];
    let invalid = 0;
    for (const record of records) {
      const traceId = otlpTraceId(record.traceId);
      const spanId = otlpSpanId(record.spanId);
      if (traceId === null || spanId === null) {
        invalid++;
        continue;
      }
      const parentId = otlpSpanId(record.parentSpanId);
      const info = this.#traces.get(record.traceId);
      const isRoot = parentId === null;
      // OTLP has no trace entity: a trace's attributes (graph.type, task.type,
      // ...) travel on its root spans, under the span's own.
      const attributes: Attributes = isRoot && info !== undefined
        ? { ...info.attributes, ...record.attributes }
        : { ...record.attributes };
      const genAi = genAiAttributes(record.kind, record.attributes);
      if (genAi !== null) Object.assign(attributes, genAi);
      attributes[SPAN_KIND_ATTRIBUTE] = record.kind;
      // What traceHandler() kept of a remote parent travels in OTLP's own fields.
      const parentIsRemote = attributes[PARENT_REMOTE_ATTRIBUTE] === true;
      delete attributes[PARENT_REMOTE_ATTRIBUTE];
      const tracestate = attributes[TRACESTATE_ATTRIBUTE];
      delete attributes[TRACESTATE_ATTRIBUTE];
      if (isRoot && info !== undefined && info.name !== "") {
        attributes["spark.trace.name"] = info.name;
      }
      const endSeconds = record.endTime ?? record.startTime;
      const events: ModelSpanEvent[] = [];
      const pending = this.#pending.get(spanId);
      if (pending !== undefined) {
        for (const event of pending.values()) events.push(event);
        events.sort(byTime);
      }
      built.push(spanId);
      if (record.error !== null) {
        const exception: Attributes = {
          "exception.type": record.error.type,
          "exception.message": record.error.message,
        };
        if (record.error.stack !== null) exception["exception.stacktrace"] = record.error.stack;
        events.push({
          name: "exception",
          time: toHrTime(endSeconds),
          attributes: exception,
          droppedAttributesCount: 0,
        });
      }
      const status: { code: number; message?: string } = record.status === "error"
        ? { code: STATUS_CODE.ERROR }
        : { code: record.status === "ok" ? STATUS_CODE.OK : STATUS_CODE.UNSET };
      if (record.status === "error" && record.error !== null && record.error.message !== "") {
        status.message = record.error.message;
      }
      spans.push(
        new ModelSpan({
          context: typeof tracestate === "string" && tracestate !== ""
            ? {
              traceId,
              spanId,
              traceFlags: TRACE_FLAGS_SAMPLED,
              traceState: { serialize: () => tracestate },
            }
            : { traceId, spanId, traceFlags: TRACE_FLAGS_SAMPLED },
          parentSpanContext: parentId === null ? undefined : {
            traceId,
            spanId: parentId,
            traceFlags: TRACE_FLAGS_SAMPLED,
            isRemote: parentIsRemote,
          },
          name: record.name,
          kind: apiSpanKind(record.kind),
          startTime: toHrTime(record.startTime),
          endTime: toHrTime(endSeconds),
          attributes,
          events,
          status,
          droppedEventsCount: record.droppedEvents,
          resource: info?.resource ?? this.resourceForTrace(null),
        }),
      );
    }
    return {
      spans,
      invalid,
      commit: () => {
        for (const spanId of built) {
          if (this.#exported.size >= MAX_EXPORTED_SPANS) {
            this.#exported.delete(this.#exported.values().next().value!);
          }
          this.#exported.add(spanId);
          const forSpan = this.#pending.get(spanId);
          if (forSpan === undefined) continue;
          this.#pendingCount -= forSpan.size;
          this.#pending.delete(spanId);
        }
      },
    };
  }

  /** Builds one log record per event, carrying its trace and span ids. */
  logs(events: readonly EventRecord[]): ModelLogRecord[] {
    const logs: ModelLogRecord[] = [];
    for (const event of events) {
      const traceId = otlpTraceId(event.traceId);
      const spanId = traceId === null ? null : otlpSpanId(event.spanId);
      const severity = eventSeverity(event.eventType);
      const attributes: Attributes = { ...event.attributes };
      if (!("event.name" in attributes)) attributes["event.name"] = event.eventType;
      attributes["spark.event.id"] = event.eventId;
      const time = toHrTime(event.timestamp);
      logs.push({
        hrTime: time,
        hrTimeObserved: time,
        severityNumber: severity.number,
        severityText: severity.text,
        body: event.name !== "" ? event.name : event.eventType,
        eventName: event.eventType,
        attributes,
        droppedAttributesCount: 0,
        spanContext: traceId === null
          ? undefined
          : { traceId, spanId: spanId ?? "", traceFlags: TRACE_FLAGS_SAMPLED },
        resource: this.resourceForTrace(traceId),
        instrumentationScope: SCOPE,
      });
    }
    return logs;
  }
}

function byTime(a: ModelSpanEvent, b: ModelSpanEvent): number {
  return a.time[0] - b.time[0] || a.time[1] - b.time[1];
}

function toSpanEvent(event: EventRecord): ModelSpanEvent {
  const attributes: Attributes = { ...event.attributes };
  if (!("event.type" in attributes)) attributes["event.type"] = event.eventType;
  return {
    name: event.name !== "" ? event.name : event.eventType,
    time: toHrTime(event.timestamp),
    attributes,
    droppedAttributesCount: 0,
  };
}
