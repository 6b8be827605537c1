/**
 * The OTLP protobuf messages we send (`ExportTraceServiceRequest`,
 * `ExportLogsServiceRequest`, `ExportMetricsServiceRequest`) written from the
 * SDK-shaped records of `_sdk_model.ts` and `_metric_aggregator.ts`, and the
 * two we read back: `partial_success` of an `Export*ServiceResponse` and the
 * `google.rpc.Status` of an error body.
 *
 * Why our own encoder: we send three messages and read two, so a generated
 * message library (or the OpenTelemetry SDK's serializers, which pull the SDK
 * and its semantic conventions) would cost more to load than it saves to
 * write. The field choices follow the official serializers of
 * `@opentelemetry/otlp-transformer` exactly; tests/backends/otlp_protobuf_test.ts
 * checks that the bytes are identical to theirs, and decodes them with
 * descriptors generated from the official `.proto` files.
 *
 * @module
 */
import type { AttributeValue } from "../../model/types.ts";
import type { HrTime } from "./_hr_time.ts";
import {
  DATA_POINT_TYPE,
  type ModelDataPoint,
  type ModelHistogram,
  type ModelMetric,
  type ModelResourceMetrics,
  SDK_TEMPORALITY,
} from "./_metric_aggregator.ts";
import type {
  ModelLogRecord,
  ModelSpan,
  ModelSpanEvent,
  OtlpResource,
  OtlpScope,
} from "./_sdk_model.ts";
import { ProtobufWriter, readFields, readString, WIRE } from "./_protobuf_wire.ts";

const { VARINT, FIXED64, LEN, FIXED32 } = WIRE;

/** OTLP `SpanFlags`: whether the parent is remote is known (bit 8). */
const SPAN_FLAGS_HAS_IS_REMOTE = 0x100;
/** `SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK`: the parent span is in another process. */
const SPAN_FLAGS_IS_REMOTE = 0x200;

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

// One writer serves every request: an encode runs start to finish synchronously.
const writer = new ProtobufWriter();

function time(w: ProtobufWriter, field: number, value: HrTime): void {
  w.tag(field, FIXED64);
  w.hrTime(value[0], value[1]);
}

/** `AnyValue` (common.proto): integers in int64 range are `int_value`, as the SDK does. */
function anyValue(w: ProtobufWriter, value: AttributeValue | undefined): void {
  switch (typeof value) {
    case "string":
      w.tag(1, LEN);
      w.string(value);
      return;
    case "boolean":
      w.tag(2, VARINT);
      w.varint(value ? 1 : 0);
      return;
    case "number":
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.tag(3, VARINT);
        w.varint(value);
      } else {
        w.tag(4, FIXED64);
        w.double(value);
      }
      return;
    case "object": {
      if (value === null) return;
      if (Array.isArray(value)) {
        w.tag(5, LEN);
        const array = w.begin();
        for (const item of value) {
          w.tag(1, LEN);
          const start = w.begin();
          anyValue(w, item);
          w.end(start);
        }
        w.end(array);
        return;
      }
      w.tag(6, LEN);
      const list = w.begin();
      keyValues(w, value as Record<string, AttributeValue>, 1);
      w.end(list);
      return;
    }
  }
}

/** Repeated `KeyValue` in field `field`. */
function keyValues(
  w: ProtobufWriter,
  attributes: Readonly<Record<string, AttributeValue>>,
  field: number,
): void {
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    w.tag(field, LEN);
    const kv = w.begin();
    w.tag(1, LEN);
    w.string(key);
    w.tag(2, LEN);
    const value = w.begin();
    anyValue(w, attributes[key]);
    w.end(value);
    w.end(kv);
  }
}

function resource(w: ProtobufWriter, value: OtlpResource): void {
  w.tag(1, LEN);
  const start = w.begin();
  keyValues(w, value.attributes, 1);
  w.tag(2, VARINT); // dropped_attributes_count
  w.varint(0);
  w.end(start);
}

function scope(w: ProtobufWriter, value: OtlpScope): void {
  w.tag(1, LEN);
  const start = w.begin();
  w.tag(1, LEN);
  w.string(value.name);
  if (value.version !== "") {
    w.tag(2, LEN);
    w.string(value.version);
  }
  w.end(start);
}

/** Groups records by resource, then scope, by identity (the model shares both objects). */
function group<T extends { resource: OtlpResource; instrumentationScope: OtlpScope }>(
  records: readonly T[],
): Map<OtlpResource, Map<OtlpScope, T[]>> {
  const groups = new Map<OtlpResource, Map<OtlpScope, T[]>>();
  for (const record of records) {
    let scopes = groups.get(record.resource);
    if (scopes === undefined) {
      scopes = new Map();
      groups.set(record.resource, scopes);
    }
    const list = scopes.get(record.instrumentationScope);
    if (list === undefined) scopes.set(record.instrumentationScope, [record]);
    else list.push(record);
  }
  return groups;
}

function spanEvent(w: ProtobufWriter, event: ModelSpanEvent): void {
  const start = w.begin();
  time(w, 1, event.time);
  w.tag(2, LEN);
  w.string(event.name);
  keyValues(w, event.attributes, 3);
  w.tag(4, VARINT);
  w.varint(event.droppedAttributesCount);
  w.end(start);
}

/** `Span` (trace.proto). */
function span(w: ProtobufWriter, value: ModelSpan): void {
  const start = w.begin();
  const context = value.spanContext();
  const parent = value.parentSpanContext;
  w.tag(1, LEN);
  w.hexBytes(context.traceId);
  w.tag(2, LEN);
  w.hexBytes(context.spanId);
  const traceState = context.traceState?.serialize();
  if (traceState) {
    w.tag(3, LEN);
    w.string(traceState);
  }
  if (parent?.spanId) {
    w.tag(4, LEN);
    w.hexBytes(parent.spanId);
  }
  w.tag(5, LEN);
  w.string(value.name);
  // The API's kinds start at INTERNAL = 0; OTLP's at UNSPECIFIED = 0.
  w.tag(6, VARINT);
  w.varint(value.kind + 1);
  time(w, 7, value.startTime);
  time(w, 8, value.endTime);
  keyValues(w, value.attributes, 9);
  w.tag(10, VARINT);
  w.varint(value.droppedAttributesCount);
  for (const event of value.events) {
    w.tag(11, LEN);
    spanEvent(w, event);
  }
  w.tag(12, VARINT);
  w.varint(value.droppedEventsCount);
  // Field 13 (links): our spans have none.
  w.tag(14, VARINT);
  w.varint(value.droppedLinksCount);
  w.tag(15, LEN);
  const status = w.begin();
  if (value.status.message) {
    w.tag(2, LEN);
    w.string(value.status.message);
  }
  w.tag(3, VARINT);
  w.varint(value.status.code);
  w.end(status);
  w.tag(16, FIXED32);
  w.fixed32(
    (context.traceFlags & 0xff) | SPAN_FLAGS_HAS_IS_REMOTE |
      (parent?.isRemote === true ? SPAN_FLAGS_IS_REMOTE : 0),
  );
  w.end(start);
}

/** An `ExportTraceServiceRequest` as protobuf bytes. */
export function encodeTracesProtobuf(spans: readonly ModelSpan[]): Uint8Array {
  const w = writer;
  w.reset();
  for (const [res, scopes] of group(spans)) {
    w.tag(1, LEN); // resource_spans
    const resourceSpans = w.begin();
    resource(w, res);
    for (const [sc, list] of scopes) {
      w.tag(2, LEN); // scope_spans
      const scopeSpans = w.begin();
      scope(w, sc);
      for (const s of list) {
        w.tag(2, LEN);
        span(w, s);
      }
      w.end(scopeSpans);
    }
    w.end(resourceSpans);
  }
  return w.finish();
}

/** `LogRecord` (logs.proto). */
function logRecord(w: ProtobufWriter, log: ModelLogRecord): void {
  const start = w.begin();
  time(w, 1, log.hrTime);
  if (log.severityNumber !== 0) {
    w.tag(2, VARINT);
    w.varint(log.severityNumber);
  }
  if (log.severityText) {
    w.tag(3, LEN);
    w.string(log.severityText);
  }
  w.tag(5, LEN);
  const body = w.begin();
  anyValue(w, log.body);
  w.end(body);
  keyValues(w, log.attributes, 6);
  w.tag(7, VARINT);
  w.varint(log.droppedAttributesCount);
  const context = log.spanContext;
  if (context?.traceFlags) {
    w.tag(8, FIXED32);
    w.fixed32(context.traceFlags);
  }
  if (context?.traceId) {
    w.tag(9, LEN);
    w.hexBytes(context.traceId);
  }
  if (context?.spanId) {
    w.tag(10, LEN);
    w.hexBytes(context.spanId);
  }
  time(w, 11, log.hrTimeObserved);
  if (log.eventName) {
    w.tag(12, LEN);
    w.string(log.eventName);
  }
  w.end(start);
}

/** An `ExportLogsServiceRequest` as protobuf bytes. */
export function encodeLogsProtobuf(logs: readonly ModelLogRecord[]): Uint8Array {
  const w = writer;
  w.reset();
  for (const [res, scopes] of group(logs)) {
    w.tag(1, LEN); // resource_logs
    const resourceLogs = w.begin();
    resource(w, res);
    for (const [sc, list] of scopes) {
      w.tag(2, LEN); // scope_logs
      const scopeLogs = w.begin();
      scope(w, sc);
      for (const log of list) {
        w.tag(2, LEN);
        logRecord(w, log);
      }
      w.end(scopeLogs);
    }
    w.end(resourceLogs);
  }
  return w.finish();
}

/** `NumberDataPoint`: our values are doubles (`as_double`). */
function numberPoint(w: ProtobufWriter, point: ModelDataPoint<number>): void {
  const start = w.begin();
  time(w, 2, point.startTime);
  time(w, 3, point.endTime);
  w.tag(4, FIXED64);
  w.double(point.value);
  keyValues(w, point.attributes, 7);
  w.end(start);
}

/** `HistogramDataPoint` with explicit buckets. */
function histogramPoint(w: ProtobufWriter, point: ModelDataPoint<ModelHistogram>): void {
  const start = w.begin();
  const value = point.value;
  time(w, 2, point.startTime);
  time(w, 3, point.endTime);
  w.tag(4, FIXED64);
  w.fixed64Number(value.count);
  w.tag(5, FIXED64);
  w.double(value.sum);
  const counts = value.buckets.counts;
  if (counts.length > 0) {
    w.tag(6, LEN); // packed fixed64
    w.varint(counts.length * 8);
    for (const count of counts) w.fixed64Number(count);
  }
  const bounds = value.buckets.boundaries;
  if (bounds.length > 0) {
    w.tag(7, LEN); // packed double
    w.varint(bounds.length * 8);
    for (const bound of bounds) w.double(bound);
  }
  keyValues(w, point.attributes, 9);
  w.tag(11, FIXED64);
  w.double(value.min);
  w.tag(12, FIXED64);
  w.double(value.max);
  w.end(start);
}

/** OTLP `AggregationTemporality`: DELTA = 1, CUMULATIVE = 2 (the SDK's enum counts from 0). */
function temporality(sdkTemporality: number): number {
  return sdkTemporality === SDK_TEMPORALITY.DELTA ? 1 : 2;
}

function metric(w: ProtobufWriter, value: ModelMetric): void {
  const start = w.begin();
  w.tag(1, LEN);
  w.string(value.descriptor.name);
  if (value.descriptor.description) {
    w.tag(2, LEN);
    w.string(value.descriptor.description);
  }
  if (value.descriptor.unit) {
    w.tag(3, LEN);
    w.string(value.descriptor.unit);
  }
  if (value.dataPointType === DATA_POINT_TYPE.HISTOGRAM) {
    w.tag(9, LEN);
    const histogram = w.begin();
    for (const point of value.dataPoints as ModelDataPoint<ModelHistogram>[]) {
      w.tag(1, LEN);
      histogramPoint(w, point);
    }
    w.tag(2, VARINT);
    w.varint(temporality(value.aggregationTemporality));
    w.end(histogram);
  } else {
    const isSum = value.dataPointType === DATA_POINT_TYPE.SUM;
    w.tag(isSum ? 7 : 5, LEN); // sum : gauge
    const data = w.begin();
    for (const point of value.dataPoints as ModelDataPoint<number>[]) {
      w.tag(1, LEN);
      numberPoint(w, point);
    }
    if (isSum) {
      w.tag(2, VARINT);
      w.varint(temporality(value.aggregationTemporality));
      if (value.isMonotonic === true) {
        w.tag(3, VARINT);
        w.varint(1);
      }
    }
    w.end(data);
  }
  w.end(start);
}

/** An `ExportMetricsServiceRequest` as protobuf bytes. */
export function encodeMetricsProtobuf(
  resourceMetrics: readonly ModelResourceMetrics[],
): Uint8Array {
  const w = writer;
  w.reset();
  for (const rm of resourceMetrics) {
    w.tag(1, LEN); // resource_metrics
    const start = w.begin();
    resource(w, rm.resource);
    for (const sm of rm.scopeMetrics) {
      w.tag(2, LEN); // scope_metrics
      const scopeMetrics = w.begin();
      scope(w, sm.scope);
      for (const m of sm.metrics) {
        w.tag(2, LEN);
        metric(w, m);
      }
      w.end(scopeMetrics);
    }
    w.end(start);
  }
  return w.finish();
}

/** What a successful export response said about refused records. */
export interface PartialSuccess {
  rejected: number;
  message: string | null;
}

const NO_PARTIAL_SUCCESS: PartialSuccess = { rejected: 0, message: null };

/**
 * Reads `partial_success` (field 1) of a protobuf `Export*ServiceResponse`:
 * its `rejected_spans` / `rejected_log_records` / `rejected_data_points`
 * (field 1 of every signal) and `error_message` (field 2).
 *
 * @throws Error when the bytes are not a response message.
 */
export function decodePartialSuccessProtobuf(bytes: Uint8Array): PartialSuccess {
  if (bytes.length === 0) return NO_PARTIAL_SUCCESS;
  const fields = readFields(bytes);
  if (fields === null) throw new Error("Cannot decode the export response: malformed protobuf");
  let result = NO_PARTIAL_SUCCESS;
  for (const outer of fields) {
    if (outer.field !== 1 || outer.bytes === null) continue;
    const inner = readFields(outer.bytes);
    if (inner === null) throw new Error("Cannot decode partial_success: malformed protobuf");
    // Protobuf merges repeated occurrences of a message field: later values win.
    let { rejected, message } = result;
    for (const field of inner) {
      if (field.field === 1 && field.wireType === VARINT) rejected = field.number;
      if (field.field === 2 && field.bytes !== null) {
        const text = readString(field.bytes);
        if (text === null) throw new Error("Cannot decode error_message: invalid UTF-8");
        message = text === "" ? null : text;
      }
    }
    result = { rejected, message };
  }
  return result;
}

/**
 * The `message` (field 2) of a protobuf `google.rpc.Status`, the body of
 * OTLP/HTTP error responses; `null` when the bytes are not one or it is empty.
 */
export function decodeStatusMessage(bytes: Uint8Array): string | null {
  const fields = readFields(bytes);
  if (fields === null) return null;
  let message: string | null = null;
  for (const field of fields) {
    if (field.field === 1 && field.wireType !== VARINT) return null; // code: int32
    if (field.field === 2) {
      if (field.bytes === null) return null;
      const text = readString(field.bytes);
      if (text === null) return null;
      message = text;
    }
  }
  return message === "" ? null : message;
}
