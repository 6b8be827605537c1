/**
 * The frame codec: how records travel through the ring buffer.
 *
 * A record is a tuple `[kind, ...fields]` in a fixed field order (the
 * `*Tuple` types below); a frame is one MessagePack array of tuples. The
 * application thread appends each record to the current frame the moment it
 * is recorded, with {@linkcode FrameWriter} (the `write*` functions); the
 * worker decodes whole frames with msgpackr.
 *
 * How we got here (span-shaped records with 5 attributes, msgpackr 2.1.4,
 * Deno 2.9.6, this machine class; "best of" runs of 20k–200k records):
 *
 * | encoding                                                     | ns/record | bytes/record |
 * | ------------------------------------------------------------ | --------- | ------------ |
 * | record as object, one `pack()` each, shared fixed structure  | 604       | 123          |
 * | record as tuple, one `pack()` each                           | 348       | 123          |
 * | frame of 1000 objects, one `pack()`, per-frame structures    | 353       | 110          |
 * | frame of 1000 tuples, one `pack()`, per-frame structures     | 284       | 111          |
 * | frame of 512 tuples, one `pack()`, tuple building included   | ~300      | 122          |
 * | FrameWriter, first version                                   | ~190      | 121          |
 * | FrameWriter, one pass over attributes (map16 header)         | ~157      | 122          |
 * | FrameWriter, ASCII fast path for strings                     | ~150      | 121          |
 * | + span head in one bounds check, trace-id back-references    | ~110 (†)  | 90           |
 * | + attribute keys as back-references                          | ~95 (†)   | 80           |
 * | + parent, name, kind, status as back-references              | ~84 (†)   | 67           |
 *
 * († same micro-benchmark: ~198 → ~111 → ~95 → ~84 ns; consecutive
 * records of one trace with the same attribute keys, name and kind, the
 * common case, where the back-references apply.)
 *
 * Second pass, on a later (slower, busier) state of the same machine, a
 * similar micro-benchmark in one process, fastest of 35 repetitions: ~215 ns
 * before → ~180 ns with attribute values written inline (`#values` in
 * `_frame_writer.ts`) → ~120 ns when the span id's bytes are copied from
 * the id pool rather than read from its string (`_id_pool.ts`). Same bytes
 * on the wire.
 *
 * Tuples beat objects because the layout is fixed by position: no keys, and
 * no msgpackr structure list that both threads would have to keep in step
 * (msgpackr grows a shared list in place). The writer emits plain
 * MessagePack with no msgpackr extensions, so every frame is
 * self-contained: a restarted worker decodes any frame without state from
 * earlier ones. Within a frame, a record whose trace id equals the last one
 * written in full carries the integer `SAME_TRACE_ID` instead, and a record
 * whose attributes have the keys of the last attributes map written in full
 * (same order) carries an array of the values alone, and a span whose
 * parent, name, kind or status equals the previous span's carries the
 * integer 0 in that field; {@linkcode decodeFrame} resolves all of them. Decoding a frame costs ~245 ns per span record (5 attributes) in the worker, ~205 of it in msgpackr (was ~325 before attributes objects were built by a function made per key list; same run).
 *
 * @module
 */
import { Packr, Unpackr } from "msgpackr";
import {
  type FrameWriter,
  PROTO_KEY_ESCAPED,
  putAscii,
  putIdCodes,
  SAME_TRACE_ID,
} from "./_frame_writer.ts";
import type {
  Attributes,
  Batch,
  EventRecord,
  MetricKind,
  MetricRecord,
  SpanError,
  SpanKind,
  SpanRecord,
  SpanStatus,
  TraceRecord,
} from "../model/types.ts";

/** Tag of a trace tuple. */
export const TRACE = 0;
/** Tag of a span tuple. */
export const SPAN = 1;
/** Tag of an event tuple. */
export const EVENT = 2;
/** Tag of a metric tuple. */
export const METRIC = 3;

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

// Both threads build their codec from this one options object. The writer
// below emits plain MessagePack (no msgpackr records/structures), so every
// frame is self-contained and a restarted worker can decode any of them.
const OPTIONS = { useRecords: false, mapsAsObjects: true };
const packr = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);

/**
 * Encodes a frame of record tuples with the generic msgpackr encoder (tests
 * and tools; the pipeline uses {@linkcode FrameWriter} and the `write*`
 * functions below, which produce the same bytes' meaning faster).
 *
 * @param records The tuples.
 * @returns A view into msgpackr's reused buffer: copy it before the next call.
 */
export function encodeFrame(records: RecordTuple[]): Uint8Array {
  return packr.pack(records);
}

/**
 * Decodes a frame (a MessagePack array of record tuples).
 *
 * @param payload The frame's bytes, already copied out of shared memory.
 * @returns The tuples.
 */
export function decodeFrame(payload: Uint8Array): RecordTuple[] {
  const tuples = unpackr.unpack(payload) as RecordTuple[];
  // Resolve what FrameWriter wrote as references to earlier records in the
  // frame: trace ids written as SAME_TRACE_ID, attributes written as an
  // array of values under the keys of the last attributes map.
  let last: string | null = null;
  let build: BuildAttributes = buildNone;
  let previousSpan: SpanTuple | null = null;
  let previousEvent: EventTuple | null = null;
  let previousMetric: MetricTuple | null = null;
  for (let i = 0; i < tuples.length; i++) {
    const t = tuples[i]!;
    const kind = t[0];
    if (kind === SPAN) {
      if (previousSpan !== null) {
        for (let k = 0; k < SPAN_REFERABLE.length; k++) {
          const at = SPAN_REFERABLE[k]!;
          if (t[at] === SAME_AS_PREVIOUS) t[at] = previousSpan[at] as never;
        }
      }
      previousSpan = t;
    } else if (kind === EVENT) {
      if (previousEvent !== null) {
        for (let k = 0; k < EVENT_REFERABLE.length; k++) {
          const at = EVENT_REFERABLE[k]!;
          if (t[at] === SAME_AS_PREVIOUS) t[at] = previousEvent[at] as never;
        }
      }
      previousEvent = t;
    } else if (kind === METRIC) {
      if (previousMetric !== null) {
        for (let k = 0; k < METRIC_REFERABLE.length; k++) {
          const at = METRIC_REFERABLE[k]!;
          if (t[at] === SAME_AS_PREVIOUS) t[at] = previousMetric[at] as never;
        }
      }
      previousMetric = t;
    }
    const at = TRACE_ID_AT[kind]!;
    const id = t[at];
    if (typeof id === "string") last = id;
    else if (id === SAME_TRACE_ID) t[at] = last!;
    const attributesAt = ATTRIBUTES_AT[kind]!;
    const attributes = t[attributesAt] as Attributes | unknown[];
    if (Array.isArray(attributes)) {
      t[attributesAt] = build(attributes);
    } else {
      build = builderFor(Object.keys(attributes));
    }
    if (t.length > TUPLE_LENGTH[kind]!) {
      // Flagged: holds "__proto__" keys, escaped (see `flagProtoKeys`).
      t.length--;
      t[attributesAt] = restoreProtoKeys(t[attributesAt]) as never;
      if (kind === TRACE) t[7] = restoreProtoKeys(t[7]) as Attributes;
    }
  }
  return tuples;
}

/** Elements of each kind of tuple. */
const TUPLE_LENGTH: readonly number[] = [8, 12, 8, 9];

/**
 * `value` with every key {@linkcode PROTO_KEY_ESCAPED} turned back into an
 * own `"__proto__"` key (objects holding one are rebuilt, in key order).
 */
function restoreProtoKeys(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = restoreProtoKeys(value[i]);
    return value;
  }
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (!keys.includes(PROTO_KEY_ESCAPED)) {
    for (const key of keys) o[key] = restoreProtoKeys(o[key]);
    return o;
  }
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    Object.defineProperty(out, key === PROTO_KEY_ESCAPED ? "__proto__" : key, {
      value: restoreProtoKeys(o[key]),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Builds an attributes object from the values of a record that referred back to a map's keys. */
type BuildAttributes = (values: unknown[]) => Attributes;

const buildNone: BuildAttributes = () => ({});
const builders = new Map<string, BuildAttributes>();

/**
 * The builder of attributes objects with `keys`, cached across frames (a
 * frame's records share one key list, and so do frames from one code path).
 * A builder is a function made for the keys, returning an object literal:
 * objects of one shape, built without a property lookup per key (measured
 * on decoding spans with 5 attributes: ~100 → ~35 ns per record, against
 * assigning the keys one by one to `{}`).
 */
function builderFor(keys: string[]): BuildAttributes {
  const id = JSON.stringify(keys);
  let build = builders.get(id);
  if (build === undefined) {
    build = compileBuilder(keys);
    // Bounded: key lists are few in practice, but they come from the data.
    if (builders.size >= 256) builders.clear();
    builders.set(id, build);
  }
  return build;
}

function compileBuilder(keys: string[]): BuildAttributes {
  // "__proto__" in a literal would set the prototype (FrameWriter never
  // refers back to such keys anyway); many keys make a long literal.
  if (keys.length <= 64 && !keys.includes("__proto__")) {
    // Each key as a JSON string literal: valid, inert JavaScript whatever it holds.
    const fields = keys.map((key, i) => `${JSON.stringify(key)}: v[${i}]`).join(", ");
    try {
      return new Function("v", `return { ${fields} };`) as BuildAttributes;
    } catch {
      // Code generation disallowed: assign the keys one by one.
    }
  }
  return (values) => {
    const o: Attributes = {};
    for (let k = 0; k < values.length; k++) {
      Object.defineProperty(o, keys[k]!, {
        value: values[k],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  };
}

/** Span fields that may refer back to the previous span: parent, name, kind, status. */
const SPAN_REFERABLE: readonly number[] = [3, 4, 5, 8];
/** Event fields that may refer back to the previous event: type, name, span. */
const EVENT_REFERABLE: readonly number[] = [2, 3, 6];
/** Metric fields that may refer back to the previous point: name, unit, kind (never the value). */
const METRIC_REFERABLE: readonly number[] = [2, 4, 5];
/**
 * What a span carries in place of its parent, name, kind or status (an
 * event in place of its type, name or span, a metric point in place of its
 * name, unit or kind) when it equals the previous record's of its kind in
 * the same frame: the integer 0, which none of those
 * fields (strings, or `null`) ever is.
 */
const SAME_AS_PREVIOUS = 0;

/** Index of the trace id in each kind of tuple. */
const TRACE_ID_AT: readonly number[] = [1, 2, 5, 7];
/** Index of the attributes in each kind of tuple. */
const ATTRIBUTES_AT: readonly number[] = [6, 9, 7, 8];

/**
 * Writes `s` as {@linkcode putAscii} does, or the one byte
 * `SAME_AS_PREVIOUS` when it equals `previous` (the same field of the
 * previous record of its kind in the frame).
 *
 * @returns The position after it, or -1 when `s` does not qualify.
 */
function putAsciiOrSame(buf: Uint8Array, at: number, s: string, previous: string | null): number {
  if (s === previous) {
    buf[at] = SAME_AS_PREVIOUS;
    return at + 1;
  }
  return putAscii(buf, at, s);
}

/**
 * Writes an id of `length` characters: copied from the id pool's codes when
 * the caller knows where it lies there (`idCodes`), else as
 * {@linkcode putAscii} does.
 *
 * @returns The position after it, or -1 when it does not qualify.
 */
function putId(
  w: FrameWriter,
  at: number,
  id: string,
  idCodes: DataView | null,
  idAt: number,
  length: 16 | 32,
): number {
  if (idCodes !== null && id.length === length) return putIdCodes(w, at, idCodes, idAt, length);
  return putAscii(w.buf, at, id);
}

/** The fields of a trace that are encoded. */
export type TraceFields = Pick<
  TraceRecord,
  "traceId" | "name" | "startTime" | "endTime" | "status" | "attributes" | "resource"
>;

/** Appends a trace tuple. */
export function writeTrace(w: FrameWriter, t: TraceFields): void {
  const start = w.pos;
  w.protoKeys = false;
  w.arrayHeader(8);
  w.num(TRACE);
  w.traceId(t.traceId);
  w.str(t.name);
  w.num(t.startTime);
  w.numOrNil(t.endTime);
  w.str(t.status);
  w.attributes(t.attributes);
  w.map(t.resource);
  if (w.protoKeys) flagProtoKeys(w, start);
}

/**
 * Marks the record written from `start` as holding escaped `"__proto__"`
 * keys (see `PROTO_KEY_ESCAPED`): one more element, `true`, at its end
 * (every record's array header is a fixarray, so it is one byte to bump).
 * Rare, so the common record pays one flag test.
 */
function flagProtoKeys(w: FrameWriter, start: number): void {
  w.buf[start]!++;
  w.bool(true);
}

/** The fields of a span that are encoded. */
export type SpanFields = Pick<
  SpanRecord,
  | "spanId"
  | "traceId"
  | "parentSpanId"
  | "name"
  | "kind"
  | "startTime"
  | "endTime"
  | "status"
  | "attributes"
  | "error"
  | "droppedEvents"
>;

/**
 * Appends a span tuple.
 *
 * @param w The frame.
 * @param s The span.
 * @param idCodes When not `null`: `s.spanId` is the id whose character
 * codes are bytes `idAt .. idAt + 16` of `idCodes` (an id from `_id_pool.ts`), copied
 * from there rather than read from the string.
 * @param idAt See `idCodes`.
 */
export function writeSpan(
  w: FrameWriter,
  s: SpanFields,
  idCodes: DataView | null = null,
  idAt = 0,
): void {
  const start = w.pos;
  w.protoKeys = false;
  if (!writeSpanHeadAscii(w, s, idCodes, idAt)) {
    w.arrayHeader(12);
    w.num(SPAN);
    w.str(s.spanId);
    w.traceId(s.traceId);
    w.strOrNil(s.parentSpanId);
    w.str(s.name);
    w.str(s.kind);
    w.f64(s.startTime);
    if (s.endTime === null) w.nil();
    else w.f64(s.endTime);
    w.str(s.status);
    w.spanParent = s.parentSpanId;
    w.spanName = s.name;
    w.spanKind = s.kind;
    w.spanStatus = s.status;
  }
  w.attributes(s.attributes);
  const e = s.error;
  const dropped = s.droppedEvents;
  if (e === null && (dropped | 0) === dropped && dropped >= 0 && dropped < 128) {
    // The common tail, no error and few dropped events: two bytes.
    w.ensure(2);
    w.buf[w.pos] = 0xc0;
    w.buf[w.pos + 1] = dropped;
    w.pos += 2;
  } else {
    if (e === null) {
      w.nil();
    } else {
      w.map({ type: e.type, message: e.message, stack: e.stack });
    }
    w.num(dropped);
  }
  if (w.protoKeys) flagProtoKeys(w, start);
}

/**
 * The common case of a span's fixed fields (everything before the
 * attributes): short ASCII strings, written with one bounds check and no
 * per-field dispatch — about half the cost of the general path. Returns
 * `false`, with `w` unchanged, when a string does not qualify.
 */
function writeSpanHeadAscii(
  w: FrameWriter,
  s: SpanFields,
  idCodes: DataView | null,
  idAt: number,
): boolean {
  const spanId = s.spanId;
  const traceId = s.traceId;
  const parent = s.parentSpanId;
  const name = s.name;
  const kind = s.kind;
  const status = s.status;
  const endTime = s.endTime;
  // 2 (array header, tag) + 6 × 2 (string headers) + 2 × 9 (times).
  w.ensure(
    32 + spanId.length + traceId.length + (parent === null ? 0 : parent.length) + name.length +
      kind.length + status.length,
  );
  const buf = w.buf;
  const view = w.view;
  let at = w.pos;
  buf[at++] = 0x9c;
  buf[at++] = SPAN;
  at = putId(w, at, spanId, idCodes, idAt, 16);
  if (at < 0) return false;
  const sameTrace = traceId === w.lastTraceId;
  if (sameTrace) {
    buf[at++] = SAME_TRACE_ID;
  } else {
    at = putAscii(buf, at, traceId);
    if (at < 0) return false;
  }
  // Siblings share their parent, and spans from one code path their name,
  // kind and status: refer back to the previous span's (SAME_AS_PREVIOUS).
  if (parent === null) {
    buf[at++] = 0xc0;
  } else {
    at = putAsciiOrSame(buf, at, parent, w.spanParent);
    if (at < 0) return false;
  }
  at = putAsciiOrSame(buf, at, name, w.spanName);
  if (at < 0) return false;
  at = putAsciiOrSame(buf, at, kind, w.spanKind);
  if (at < 0) return false;
  buf[at] = 0xcb;
  view.setFloat64(at + 1, s.startTime);
  at += 9;
  if (endTime === null) {
    buf[at++] = 0xc0;
  } else {
    buf[at] = 0xcb;
    view.setFloat64(at + 1, endTime);
    at += 9;
  }
  at = putAsciiOrSame(buf, at, status, w.spanStatus);
  if (at < 0) return false;
  w.pos = at;
  if (!sameTrace) w.lastTraceId = traceId;
  w.spanParent = parent;
  w.spanName = name;
  w.spanKind = kind;
  w.spanStatus = status;
  return true;
}

/**
 * Appends an event tuple.
 *
 * @param idCodes When not `null`: `eventId`'s character codes are
 * bytes `idAt .. idAt + 32` of `idCodes` (as for {@linkcode writeSpan}).
 */
export function writeEvent(
  w: FrameWriter,
  eventId: string,
  eventType: string,
  name: string,
  timestamp: number,
  traceId: string | null,
  spanId: string | null,
  attributes: Attributes,
  idCodes: DataView | null = null,
  idAt = 0,
): void {
  const start = w.pos;
  w.protoKeys = false;
  if (
    !writeEventHeadAscii(w, eventId, eventType, name, timestamp, traceId, spanId, idCodes, idAt)
  ) {
    w.arrayHeader(8);
    w.num(EVENT);
    w.str(eventId);
    w.str(eventType);
    w.str(name);
    w.f64(timestamp);
    w.traceId(traceId);
    w.strOrNil(spanId);
    w.eventType = eventType;
    w.eventName = name;
    w.eventSpanId = spanId;
  }
  w.attributes(attributes);
  if (w.protoKeys) flagProtoKeys(w, start);
}

/**
 * The common case of an event's fields before its attributes, as
 * {@linkcode writeSpanHeadAscii} for spans: the type, name and span refer
 * back to the previous event's in the frame when equal.
 */
function writeEventHeadAscii(
  w: FrameWriter,
  eventId: string,
  eventType: string,
  name: string,
  timestamp: number,
  traceId: string | null,
  spanId: string | null,
  idCodes: DataView | null,
  idAt: number,
): boolean {
  // 2 (array header, tag) + 5 × 2 (string headers) + 9 (time).
  w.ensure(
    21 + eventId.length + eventType.length + name.length +
      (traceId === null ? 0 : traceId.length) + (spanId === null ? 0 : spanId.length),
  );
  const buf = w.buf;
  let at = w.pos;
  buf[at++] = 0x98;
  buf[at++] = EVENT;
  at = putId(w, at, eventId, idCodes, idAt, 32);
  if (at < 0) return false;
  at = putAsciiOrSame(buf, at, eventType, w.eventType);
  if (at < 0) return false;
  at = putAsciiOrSame(buf, at, name, w.eventName);
  if (at < 0) return false;
  buf[at] = 0xcb;
  w.view.setFloat64(at + 1, timestamp);
  at += 9;
  const sameTrace = traceId !== null && traceId === w.lastTraceId;
  if (traceId === null) {
    buf[at++] = 0xc0;
  } else if (sameTrace) {
    buf[at++] = SAME_TRACE_ID;
  } else {
    at = putAscii(buf, at, traceId);
    if (at < 0) return false;
  }
  if (spanId === null) {
    buf[at++] = 0xc0;
  } else {
    at = putAsciiOrSame(buf, at, spanId, w.eventSpanId);
    if (at < 0) return false;
  }
  w.pos = at;
  if (traceId !== null && !sameTrace) w.lastTraceId = traceId;
  w.eventType = eventType;
  w.eventName = name;
  w.eventSpanId = spanId;
  return true;
}

/** The fields of a metric point that are encoded. */
export type MetricFields = Pick<
  MetricRecord,
  "metricId" | "name" | "value" | "unit" | "kind" | "timestamp" | "traceId" | "attributes"
>;

/**
 * Appends a metric tuple.
 *
 * @param idCodes When not `null`: `m.metricId`'s character codes are
 * bytes `idAt .. idAt + 32` of `idCodes` (as for {@linkcode writeSpan}).
 */
export function writeMetric(
  w: FrameWriter,
  m: MetricFields,
  idCodes: DataView | null = null,
  idAt = 0,
): void {
  const start = w.pos;
  w.protoKeys = false;
  if (!writeMetricHeadAscii(w, m, idCodes, idAt)) {
    w.arrayHeader(9);
    w.num(METRIC);
    w.str(m.metricId);
    w.str(m.name);
    w.num(m.value);
    w.str(m.unit);
    w.str(m.kind);
    w.f64(m.timestamp);
    w.traceId(m.traceId);
    w.metricName = m.name;
    w.metricUnit = m.unit;
    w.metricKind = m.kind;
  }
  w.attributes(m.attributes);
  if (w.protoKeys) flagProtoKeys(w, start);
}

/**
 * The common case of a metric point's fields before its attributes, as
 * {@linkcode writeSpanHeadAscii} for spans: the name, unit and kind refer
 * back to the previous point's in the frame when equal.
 */
function writeMetricHeadAscii(
  w: FrameWriter,
  m: MetricFields,
  idCodes: DataView | null,
  idAt: number,
): boolean {
  const metricId = m.metricId;
  const name = m.name;
  const unit = m.unit;
  const kind = m.kind;
  const traceId = m.traceId;
  // 2 (array header, tag) + 5 × 2 (string headers) + 2 × 9 (value, time).
  w.ensure(
    30 + metricId.length + name.length + unit.length + kind.length +
      (traceId === null ? 0 : traceId.length),
  );
  const buf = w.buf;
  const view = w.view;
  let at = w.pos;
  buf[at++] = 0x99;
  buf[at++] = METRIC;
  at = putId(w, at, metricId, idCodes, idAt, 32);
  if (at < 0) return false;
  at = putAsciiOrSame(buf, at, name, w.metricName);
  if (at < 0) return false;
  // The value as float64 whatever it is: it decodes to the same number.
  buf[at] = 0xcb;
  view.setFloat64(at + 1, m.value);
  at += 9;
  at = putAsciiOrSame(buf, at, unit, w.metricUnit);
  if (at < 0) return false;
  at = putAsciiOrSame(buf, at, kind, w.metricKind);
  if (at < 0) return false;
  buf[at] = 0xcb;
  view.setFloat64(at + 1, m.timestamp);
  at += 9;
  const sameTrace = traceId !== null && traceId === w.lastTraceId;
  if (traceId === null) {
    buf[at++] = 0xc0;
  } else if (sameTrace) {
    buf[at++] = SAME_TRACE_ID;
  } else {
    at = putAscii(buf, at, traceId);
    if (at < 0) return false;
  }
  w.pos = at;
  if (traceId !== null && !sameTrace) w.lastTraceId = traceId;
  w.metricName = name;
  w.metricUnit = unit;
  w.metricKind = kind;
  return true;
}

/** Returns an empty batch. */
export function emptyBatch(): Batch {
  return { traces: [], spans: [], events: [], metrics: [] };
}

/**
 * Appends decoded tuples to a batch as plain records.
 *
 * @param batch The batch to fill.
 * @param tuples Decoded tuples, in recording order.
 * @param from First index to take.
 * @param to One past the last index to take.
 */
export function appendToBatch(batch: Batch, tuples: RecordTuple[], from: number, to: number): void {
  for (let i = from; i < to; i++) {
    const t = tuples[i]!;
    switch (t[0]) {
      case TRACE:
        batch.traces.push({
          traceId: t[1],
          name: t[2],
          startTime: t[3],
          endTime: t[4],
          status: t[5],
          attributes: t[6],
          resource: t[7],
        });
        break;
      case SPAN:
        batch.spans.push(
          {
            spanId: t[1],
            traceId: t[2],
            parentSpanId: t[3],
            name: t[4],
            kind: t[5],
            startTime: t[6],
            endTime: t[7],
            status: t[8],
            attributes: t[9],
            error: t[10],
            droppedEvents: t[11],
          } satisfies SpanRecord,
        );
        break;
      case EVENT:
        batch.events.push(
          {
            eventId: t[1],
            eventType: t[2],
            name: t[3],
            timestamp: t[4],
            traceId: t[5],
            spanId: t[6],
            attributes: t[7],
          } satisfies EventRecord,
        );
        break;
      case METRIC:
        batch.metrics.push(
          {
            metricId: t[1],
            name: t[2],
            value: t[3],
            unit: t[4],
            kind: t[5],
            timestamp: t[6],
            traceId: t[7],
            attributes: t[8],
          } satisfies MetricRecord,
        );
        break;
    }
  }
}
