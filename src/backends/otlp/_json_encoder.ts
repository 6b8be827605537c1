/**
 * Writes the OTLP/JSON encoding (the protobuf JSON mapping with the OTLP
 * exceptions: hex trace/span ids, integer enums, lowerCamelCase names) of
 * the SDK-shaped records built by `_sdk_model.ts` and `_metric_aggregator.ts`.
 * 64-bit integers (times, `intValue`, counts) are decimal strings, as the
 * protobuf JSON mapping writes them; non-finite doubles are the strings
 * `"NaN"`, `"Infinity"`, `"-Infinity"`.
 *
 * @module
 */
import type { Attributes, AttributeValue } from "../../model/types.ts";
import type { ModelDataPoint, ModelHistogram, ModelResourceMetrics } from "./_metric_aggregator.ts";
import { DATA_POINT_TYPE, SDK_TEMPORALITY } from "./_metric_aggregator.ts";
import type { ModelLogRecord, ModelSpan, OtlpResource, OtlpScope } from "./_sdk_model.ts";
import { hrTimeToNanos } from "./_hr_time.ts";

/** OTLP `SpanFlags`: whether the parent is remote is known (bit 8). */
const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
/** `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`: the parent span is in another process. */
const SPAN_FLAGS_IS_REMOTE = 0x200;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

const encoder = new TextEncoder();

function double(value: number): number | string {
  return Number.isFinite(value) ? value : String(value);
}

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** An attribute value as an OTLP `AnyValue`. */
export function anyValue(value: AttributeValue | undefined): Json {
  switch (typeof value) {
    case "string":
      return { stringValue: value };
    case "boolean":
      return { boolValue: value };
    case "number":
      // Same rule as the official serializers: integers in int64 range are ints.
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        return { intValue: value.toFixed(0) };
      }
      return { doubleValue: double(value) };
    case "object":
      if (value === null) return {};
      if (Array.isArray(value)) return { arrayValue: { values: value.map(anyValue) } };
      return { kvlistValue: { values: keyValues(value) } };
    default:
      return {};
  }
}

/** Attributes as repeated `KeyValue`. */
export function keyValues(attributes: Attributes): Json[] {
  const out: Json[] = [];
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    out.push({ key, value: anyValue(attributes[key]) });
  }
  return out;
}

function resourceJson(resource: OtlpResource): Json {
  return { attributes: keyValues(resource.attributes), droppedAttributesCount: 0 };
}

function scopeJson(scope: OtlpScope): Json {
  return { name: scope.name, version: scope.version };
}

function groupByResource<T extends { resource: OtlpResource }>(
  items: readonly T[],
): Map<OtlpResource, T[]> {
  const groups = new Map<OtlpResource, T[]>();
  for (const item of items) {
    const group = groups.get(item.resource);
    if (group === undefined) groups.set(item.resource, [item]);
    else group.push(item);
  }
  return groups;
}

function spanJson(span: ModelSpan): Json {
  const context = span.spanContext();
  const status: { [key: string]: Json } = { code: span.status.code };
  if (span.status.message !== undefined) status.message = span.status.message;
  return {
    traceId: context.traceId,
    spanId: context.spanId,
    traceState: context.traceState?.serialize() ?? "",
    parentSpanId: span.parentSpanContext?.spanId ?? "",
    flags: (context.traceFlags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE |
      (span.parentSpanContext?.isRemote === true ? SPAN_FLAGS_IS_REMOTE : 0),
    name: span.name,
    // The API's kinds start at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
    kind: span.kind + 1,
    startTimeUnixNano: hrTimeToNanos(span.startTime),
    endTimeUnixNano: hrTimeToNanos(span.endTime),
    attributes: keyValues(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((event) => ({
      timeUnixNano: hrTimeToNanos(event.time),
      name: event.name,
      attributes: keyValues(event.attributes),
      droppedAttributesCount: event.droppedAttributesCount,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: [],
    droppedLinksCount: span.droppedLinksCount,
    status,
  };
}

/** An `ExportTraceServiceRequest` as OTLP/JSON bytes. */
export function encodeTracesJson(spans: readonly ModelSpan[]): Uint8Array {
  const resourceSpans: Json[] = [];
  for (const [resource, group] of groupByResource(spans)) {
    resourceSpans.push({
      resource: resourceJson(resource),
      scopeSpans: [{
        scope: scopeJson(group[0]!.instrumentationScope),
        spans: group.map(spanJson),
      }],
    });
  }
  return encoder.encode(JSON.stringify({ resourceSpans }));
}

function logJson(log: ModelLogRecord): Json {
  const out: { [key: string]: Json } = {
    timeUnixNano: hrTimeToNanos(log.hrTime),
    observedTimeUnixNano: hrTimeToNanos(log.hrTimeObserved),
    severityNumber: log.severityNumber,
    severityText: log.severityText,
    body: anyValue(log.body),
    eventName: log.eventName,
    attributes: keyValues(log.attributes),
    droppedAttributesCount: log.droppedAttributesCount,
  };
  const context = log.spanContext;
  if (context !== undefined) {
    out.flags = context.traceFlags;
    out.traceId = context.traceId;
    if (context.spanId !== "") out.spanId = context.spanId;
  }
  return out;
}

/** An `ExportLogsServiceRequest` as OTLP/JSON bytes. */
export function encodeLogsJson(logs: readonly ModelLogRecord[]): Uint8Array {
  const resourceLogs: Json[] = [];
  for (const [resource, group] of groupByResource(logs)) {
    resourceLogs.push({
      resource: resourceJson(resource),
      scopeLogs: [{
        scope: scopeJson(group[0]!.instrumentationScope),
        logRecords: group.map(logJson),
      }],
    });
  }
  return encoder.encode(JSON.stringify({ resourceLogs }));
}

function temporalityJson(sdkTemporality: number): number {
  // OTLP: DELTA = 1, CUMULATIVE = 2 (the SDK enum counts from 0).
  return sdkTemporality === SDK_TEMPORALITY.DELTA ? 1 : 2;
}

function numberPointJson(point: ModelDataPoint<number>): Json {
  const out: { [key: string]: Json } = { attributes: keyValues(point.attributes) };
  // An unset start time (gauges) is omitted, as the protobuf JSON mapping omits zeros.
  if (point.startTime[0] !== 0 || point.startTime[1] !== 0) {
    out.startTimeUnixNano = hrTimeToNanos(point.startTime);
  }
  out.timeUnixNano = hrTimeToNanos(point.endTime);
  out.asDouble = double(point.value);
  return out;
}

function histogramPointJson(point: ModelDataPoint<ModelHistogram>): Json {
  const value = point.value;
  return {
    attributes: keyValues(point.attributes),
    startTimeUnixNano: hrTimeToNanos(point.startTime),
    timeUnixNano: hrTimeToNanos(point.endTime),
    count: String(value.count),
    sum: double(value.sum),
    bucketCounts: value.buckets.counts.map(String),
    explicitBounds: value.buckets.boundaries.map(double),
    min: double(value.min),
    max: double(value.max),
  };
}

/** An `ExportMetricsServiceRequest` as OTLP/JSON bytes. */
export function encodeMetricsJson(resourceMetrics: readonly ModelResourceMetrics[]): Uint8Array {
  const out: Json[] = [];
  for (const rm of resourceMetrics) {
    out.push({
      resource: resourceJson(rm.resource),
      scopeMetrics: rm.scopeMetrics.map((sm) => ({
        scope: scopeJson(sm.scope),
        metrics: sm.metrics.map((metric) => {
          const m: { [key: string]: Json } = { name: metric.descriptor.name };
          if (metric.descriptor.unit !== "") m.unit = metric.descriptor.unit;
          if (metric.dataPointType === DATA_POINT_TYPE.GAUGE) {
            m.gauge = {
              dataPoints: (metric.dataPoints as ModelDataPoint<number>[]).map(numberPointJson),
            };
          } else if (metric.dataPointType === DATA_POINT_TYPE.SUM) {
            m.sum = {
              dataPoints: (metric.dataPoints as ModelDataPoint<number>[]).map(numberPointJson),
              aggregationTemporality: temporalityJson(metric.aggregationTemporality),
              isMonotonic: metric.isMonotonic === true,
            };
          } else {
            m.histogram = {
              dataPoints: (metric.dataPoints as ModelDataPoint<ModelHistogram>[]).map(
                histogramPointJson,
              ),
              aggregationTemporality: temporalityJson(metric.aggregationTemporality),
            };
          }
          return m;
        }),
      })),
    });
  }
  return encoder.encode(JSON.stringify({ resourceMetrics: out }));
}
