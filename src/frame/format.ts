/**
 * The frame format, shared by both threads: the tag and field order of each
 * kind of record tuple, and the few integer markers the encoder writes in
 * place of a field that repeats an earlier record's in the same frame.
 *
 * A frame is one plain MessagePack array of record tuples
 * `[kind, ...fields]`. Tuples, not objects, because the layout is fixed by
 * position: no keys on the wire and no structure list that both threads
 * would have to keep in step. No MessagePack extensions either, so every
 * frame is self-contained: a restarted worker decodes any frame without state
 * from earlier ones.
 *
 * @module
 */
import type { Attributes, MetricKind, SpanError, SpanKind, SpanStatus } from "../model/types.ts";

/** Tag of a trace tuple. */
export const TRACE = 0;
/** Tag of a span tuple. */
export const SPAN = 1;
/** Tag of an event tuple. */
export const EVENT = 2;
/** Tag of a metric tuple. */
export const METRIC = 3;
/** A record tag. */
export type RecordKind = typeof TRACE | typeof SPAN | typeof EVENT | typeof METRIC;

/** `[TRACE, traceId, name, startTime, endTime, status, attributes, resource]` */
export type TraceTuple = [
  typeof TRACE,
  string,
  string,
  number,
  number | null,
  SpanStatus,
  Attributes,
  Attributes,
];
/**
 * `[SPAN, spanId, traceId, parentSpanId, name, kind, startTime, endTime,
 * status, attributes, error, droppedEvents]`
 */
export type SpanTuple = [
  typeof SPAN,
  string,
  string,
  string | null,
  string,
  SpanKind,
  number,
  number | null,
  SpanStatus,
  Attributes,
  SpanError | null,
  number,
];
/** `[EVENT, eventId, eventType, name, timestamp, traceId, spanId, attributes]` */
export type EventTuple = [
  typeof EVENT,
  string,
  string,
  string,
  number,
  string | null,
  string | null,
  Attributes,
];
/** `[METRIC, metricId, name, value, unit, kind, timestamp, traceId, attributes]` */
export type MetricTuple = [
  typeof METRIC,
  string,
  string,
  number,
  string,
  MetricKind,
  number,
  string | null,
  Attributes,
];
/** Any record tuple. */
export type RecordTuple = TraceTuple | SpanTuple | EventTuple | MetricTuple;

/** Elements of each kind of tuple (one more: the record holds escaped `"__proto__"` keys). */
export const TUPLE_LENGTH: readonly number[] = [8, 12, 8, 9];
/** Index of the trace id in each kind of tuple. */
export const TRACE_ID_AT: readonly number[] = [1, 2, 5, 7];
/** Index of the attributes in each kind of tuple. */
export const ATTRIBUTES_AT: readonly number[] = [6, 9, 7, 8];

/**
 * What a record carries in place of its trace id when the id equals the
 * last one written in full earlier in the same frame: the MessagePack
 * integer 0, which a trace id (a string or `null`) never is. Spans of one
 * trace usually follow each other, so this saves a 32-character string per
 * record on both threads.
 */
export const SAME_TRACE_ID = 0;

/**
 * What a span carries in place of its parent, name, kind or status (an
 * event in place of its type, name or span, a metric point in place of its
 * name, unit or kind) when it equals the previous record's of its kind in
 * the same frame: the integer 0, which none of those fields (strings, or
 * `null`) ever is.
 */
export const SAME_AS_PREVIOUS = 0;
/** Span fields that may refer back to the previous span: parent, name, kind, status. */
export const SPAN_REFERABLE: readonly number[] = [3, 4, 5, 8];
/** Event fields that may refer back to the previous event: type, name, span. */
export const EVENT_REFERABLE: readonly number[] = [2, 3, 6];
/** Metric fields that may refer back to the previous point: name, unit, kind (never the value). */
export const METRIC_REFERABLE: readonly number[] = [2, 4, 5];

/**
 * Attributes that repeat the keys of the last attributes map written in full
 * in the frame (same order, fewer than 16) are written as an array of the
 * values alone; the decoder puts the keys back.
 */
export const MAX_REFERABLE_KEYS = 15;

/**
 * What a map key `"__proto__"` is written as: the reader decodes that key
 * as `"__proto_"`, as msgpackr does (so that decoding never sets a
 * prototype), so the encoder
 * escapes it with a NUL, which no other key holds (NULs are replaced), and
 * flags the record (one more tuple element, `true`) for the decoder to
 * restore it as an own key.
 */
export const PROTO_KEY_ESCAPED = "\0__proto__";
