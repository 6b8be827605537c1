/**
 * The application thread's side of the frame format: {@linkcode RecordEncoder}
 * appends each record, the moment it is recorded, as a tuple (see
 * `format.ts`) to a {@linkcode FrameWriter}. Encoding at once makes a
 * record a snapshot: later mutation of an attributes object does not leak
 * into it.
 *
 * The encoder remembers a few fields of the previous record of each kind in
 * the frame (trace id, attribute keys, a span's parent, name, kind and
 * status, ...) and writes a one-byte reference instead when a record repeats
 * them: consecutive records of one trace from one code path, the common
 * case, then cost about half the bytes and time on both threads. The fixed
 * fields of the common record (short ASCII strings) are written with one
 * bounds check and no per-field dispatch; anything else takes the general
 * path, with the same meaning on the wire.
 *
 * @module
 */
import { FrameWriter, putAscii, putIdCodes } from "./frame_writer.ts";
import {
  EVENT,
  MAX_REFERABLE_KEYS,
  METRIC,
  type RecordKind,
  SAME_AS_PREVIOUS,
  SAME_TRACE_ID,
  SPAN,
  TRACE,
} from "./format.ts";
import type { EventRecord, MetricRecord, SpanRecord, TraceRecord } from "../model/types.ts";

/** The fields of a trace that are encoded. */
export type TraceFields = Pick<
  TraceRecord,
  "traceId" | "name" | "startTime" | "endTime" | "status" | "attributes" | "resource"
>;

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

/** The fields of an event that are encoded. */
export type EventFields = Pick<
  EventRecord,
  "eventId" | "eventType" | "name" | "timestamp" | "traceId" | "spanId" | "attributes"
>;

/** The fields of a metric point that are encoded. */
export type MetricFields = Pick<
  MetricRecord,
  "metricId" | "name" | "value" | "unit" | "kind" | "timestamp" | "traceId" | "attributes"
>;

/** The fields each kind of record is encoded from, by tag. */
export interface FieldsOf {
  /** A trace. */
  0: TraceFields;
  /** A span. */
  1: SpanFields;
  /** An event. */
  2: EventFields;
  /** A metric point. */
  3: MetricFields;
}

/**
 * Appends records to a frame as tuples, referring back to the previous
 * record of the frame where fields repeat.
 */
export class RecordEncoder {
  /** Where the bytes go; valid up to `writer.pos`. */
  readonly writer: FrameWriter;
  // The trace id last written in full in this frame (SAME_TRACE_ID).
  #lastTraceId: string | null = null;
  // Fields of the last span, event and metric point written in this frame
  // (SAME_AS_PREVIOUS).
  #spanParent: string | null = null;
  #spanName: string | null = null;
  #spanKind: string | null = null;
  #spanStatus: string | null = null;
  #eventType: string | null = null;
  #eventName: string | null = null;
  #eventSpanId: string | null = null;
  #metricName: string | null = null;
  #metricUnit: string | null = null;
  #metricKind: string | null = null;
  // Keys of the last attributes map written in full in this frame, in
  // order (`#keyCount` of them; -1: none to refer back to).
  #keys: string[] = [];
  #keyCount = -1;

  /**
   * Creates the encoder.
   *
   * @param writer Where the bytes go.
   */
  constructor(writer: FrameWriter = new FrameWriter()) {
    this.writer = writer;
  }

  /**
   * Forgets what later records could refer back to: needed whenever bytes
   * are taken back out of the frame (a record rolled back), since they may
   * be what a reference would point at, and when a new frame starts. Later
   * records are then written in full until they set up new references.
   */
  forgetReferences(): void {
    this.#lastTraceId = null;
    this.#spanParent = null;
    this.#spanName = null;
    this.#spanKind = null;
    this.#spanStatus = null;
    this.#eventType = null;
    this.#eventName = null;
    this.#eventSpanId = null;
    this.#metricName = null;
    this.#metricUnit = null;
    this.#metricKind = null;
    this.#keyCount = -1;
  }

  /**
   * Appends a record of any kind.
   *
   * @param kind Its tag.
   * @param record Its fields.
   * @param idCodes When not `null`: the record's id (span, event or metric
   * id) is the one whose character codes are bytes `idAt ..` of `idCodes`
   * (an id from `../model/id_pool.ts`), copied from there rather than read
   * from the string.
   * @param idAt See `idCodes`.
   */
  write<K extends RecordKind>(
    kind: K,
    record: FieldsOf[K],
    idCodes: DataView | null = null,
    idAt = 0,
  ): void {
    switch (kind) {
      case SPAN:
        this.writeSpan(record as SpanFields, idCodes, idAt);
        break;
      case EVENT:
        this.writeEvent(record as EventFields, idCodes, idAt);
        break;
      case METRIC:
        this.writeMetric(record as MetricFields, idCodes, idAt);
        break;
      case TRACE:
        this.writeTrace(record as TraceFields);
        break;
    }
  }

  /** Appends a trace tuple. */
  writeTrace(t: TraceFields): void {
    const w = this.writer;
    const start = w.pos;
    w.protoKeys = false;
    w.arrayHeader(8);
    w.num(TRACE);
    this.#traceId(t.traceId);
    w.str(t.name);
    w.num(t.startTime);
    w.numOrNil(t.endTime);
    w.str(t.status);
    this.#attributes(t.attributes);
    w.map(t.resource);
    if (w.protoKeys) flagProtoKeys(w, start);
  }

  /**
   * Appends a span tuple.
   *
   * @param s The span.
   * @param idCodes See {@linkcode RecordEncoder.write}.
   * @param idAt See {@linkcode RecordEncoder.write}.
   */
  writeSpan(s: SpanFields, idCodes: DataView | null = null, idAt = 0): void {
    const w = this.writer;
    const start = w.pos;
    w.protoKeys = false;
    if (!this.#spanHeadAscii(s, idCodes, idAt)) {
      w.arrayHeader(12);
      w.num(SPAN);
      w.str(s.spanId);
      this.#traceId(s.traceId);
      w.strOrNil(s.parentSpanId);
      w.str(s.name);
      w.str(s.kind);
      w.f64(s.startTime);
      if (s.endTime === null) w.nil();
      else w.f64(s.endTime);
      w.str(s.status);
      this.#spanParent = s.parentSpanId;
      this.#spanName = s.name;
      this.#spanKind = s.kind;
      this.#spanStatus = s.status;
    }
    this.#attributes(s.attributes);
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
   * per-field dispatch. Returns `false`, with nothing committed, when a
   * string does not qualify.
   */
  #spanHeadAscii(s: SpanFields, idCodes: DataView | null, idAt: number): boolean {
    const w = this.writer;
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
    const sameTrace = traceId === this.#lastTraceId;
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
      at = putAsciiOrSame(buf, at, parent, this.#spanParent);
      if (at < 0) return false;
    }
    at = putAsciiOrSame(buf, at, name, this.#spanName);
    if (at < 0) return false;
    at = putAsciiOrSame(buf, at, kind, this.#spanKind);
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
    at = putAsciiOrSame(buf, at, status, this.#spanStatus);
    if (at < 0) return false;
    w.pos = at;
    if (!sameTrace) this.#lastTraceId = traceId;
    this.#spanParent = parent;
    this.#spanName = name;
    this.#spanKind = kind;
    this.#spanStatus = status;
    return true;
  }

  /**
   * Appends an event tuple.
   *
   * @param e The event.
   * @param idCodes See {@linkcode RecordEncoder.write}.
   * @param idAt See {@linkcode RecordEncoder.write}.
   */
  writeEvent(e: EventFields, idCodes: DataView | null = null, idAt = 0): void {
    const w = this.writer;
    const start = w.pos;
    w.protoKeys = false;
    if (!this.#eventHeadAscii(e, idCodes, idAt)) {
      w.arrayHeader(8);
      w.num(EVENT);
      w.str(e.eventId);
      w.str(e.eventType);
      w.str(e.name);
      w.f64(e.timestamp);
      this.#traceId(e.traceId);
      w.strOrNil(e.spanId);
      this.#eventType = e.eventType;
      this.#eventName = e.name;
      this.#eventSpanId = e.spanId;
    }
    this.#attributes(e.attributes);
    if (w.protoKeys) flagProtoKeys(w, start);
  }

  /**
   * The common case of an event's fields before its attributes, as
   * `#spanHeadAscii` for spans: the type, name and span refer back to the
   * previous event's in the frame when equal.
   */
  #eventHeadAscii(e: EventFields, idCodes: DataView | null, idAt: number): boolean {
    const w = this.writer;
    const eventId = e.eventId;
    const eventType = e.eventType;
    const name = e.name;
    const traceId = e.traceId;
    const spanId = e.spanId;
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
    at = putAsciiOrSame(buf, at, eventType, this.#eventType);
    if (at < 0) return false;
    at = putAsciiOrSame(buf, at, name, this.#eventName);
    if (at < 0) return false;
    buf[at] = 0xcb;
    w.view.setFloat64(at + 1, e.timestamp);
    at += 9;
    const sameTrace = traceId !== null && traceId === this.#lastTraceId;
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
      at = putAsciiOrSame(buf, at, spanId, this.#eventSpanId);
      if (at < 0) return false;
    }
    w.pos = at;
    if (traceId !== null && !sameTrace) this.#lastTraceId = traceId;
    this.#eventType = eventType;
    this.#eventName = name;
    this.#eventSpanId = spanId;
    return true;
  }

  /**
   * Appends a metric tuple.
   *
   * @param m The metric point.
   * @param idCodes See {@linkcode RecordEncoder.write}.
   * @param idAt See {@linkcode RecordEncoder.write}.
   */
  writeMetric(m: MetricFields, idCodes: DataView | null = null, idAt = 0): void {
    const w = this.writer;
    const start = w.pos;
    w.protoKeys = false;
    if (!this.#metricHeadAscii(m, idCodes, idAt)) {
      w.arrayHeader(9);
      w.num(METRIC);
      w.str(m.metricId);
      w.str(m.name);
      w.num(m.value);
      w.str(m.unit);
      w.str(m.kind);
      w.f64(m.timestamp);
      this.#traceId(m.traceId);
      this.#metricName = m.name;
      this.#metricUnit = m.unit;
      this.#metricKind = m.kind;
    }
    this.#attributes(m.attributes);
    if (w.protoKeys) flagProtoKeys(w, start);
  }

  /**
   * The common case of a metric point's fields before its attributes, as
   * `#spanHeadAscii` for spans: the name, unit and kind refer back to the
   * previous point's in the frame when equal.
   */
  #metricHeadAscii(m: MetricFields, idCodes: DataView | null, idAt: number): boolean {
    const w = this.writer;
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
    at = putAsciiOrSame(buf, at, name, this.#metricName);
    if (at < 0) return false;
    // The value as float64 whatever it is: it decodes to the same number.
    buf[at] = 0xcb;
    view.setFloat64(at + 1, m.value);
    at += 9;
    at = putAsciiOrSame(buf, at, unit, this.#metricUnit);
    if (at < 0) return false;
    at = putAsciiOrSame(buf, at, kind, this.#metricKind);
    if (at < 0) return false;
    buf[at] = 0xcb;
    view.setFloat64(at + 1, m.timestamp);
    at += 9;
    const sameTrace = traceId !== null && traceId === this.#lastTraceId;
    if (traceId === null) {
      buf[at++] = 0xc0;
    } else if (sameTrace) {
      buf[at++] = SAME_TRACE_ID;
    } else {
      at = putAscii(buf, at, traceId);
      if (at < 0) return false;
    }
    w.pos = at;
    if (traceId !== null && !sameTrace) this.#lastTraceId = traceId;
    this.#metricName = name;
    this.#metricUnit = unit;
    this.#metricKind = kind;
    return true;
  }

  /**
   * Writes a record's trace id: `SAME_TRACE_ID` when it equals the last one
   * written in full in this frame, else the string.
   */
  #traceId(s: string | null): void {
    const w = this.writer;
    if (s === null) {
      w.nil();
    } else if (s === this.#lastTraceId) {
      w.ensure(1);
      w.buf[w.pos++] = SAME_TRACE_ID;
    } else {
      w.str(s);
      this.#lastTraceId = s;
    }
  }

  /**
   * Writes a record's attributes: as an array of the values alone when the
   * keys are those of the last attributes map written in full in this
   * frame, in the same order (see `decodeFrame` in `decoder.ts`); else as a map.
   * Records from one code path carry the same keys, so the keys are
   * written once per frame rather than once per record.
   */
  #attributes(obj: Record<string, unknown>): void {
    const w = this.writer;
    const count = this.#keyCount;
    if (count >= 0) {
      const start = w.pos;
      const sanitized = w.sanitized;
      const protoKeys = w.protoKeys;
      if (this.#values(obj, count)) return;
      w.pos = start;
      w.sanitized = sanitized;
      w.protoKeys = protoKeys;
    }
    this.#attributesMap(obj);
  }

  /**
   * The array-of-values form of `#attributes`: `false`
   * (with garbage written after `pos`) when the keys differ. Short ASCII
   * strings, booleans, int32s and other non-integers are written inline, into
   * room made once for the whole array (9 bytes a value), with the position
   * in a local: half the cost of a `value()` call per value. Anything else goes through `value()`.
   */
  #values(obj: Record<string, unknown>, count: number): boolean {
    const w = this.writer;
    const keys = this.#keys;
    w.ensure(1 + count * 9);
    let buf = w.buf;
    let view = w.view;
    let at = w.pos;
    buf[at++] = 0x90 | count;
    let n = 0;
    for (const key in obj) {
      const v = obj[key];
      // `typeof v === "…"` in place: TurboFan turns each into a type check
      // (a `typeof` result kept in a variable is a string to compare).
      if (typeof v === "number") {
        if (n === count || key !== keys[n++]) return false;
        if ((v | 0) === v) {
          // int32: the encodings of num().
          if (v >= 0) {
            if (v < 128) {
              buf[at++] = v;
            } else if (v < 65536) {
              buf[at] = 0xcd;
              buf[at + 1] = v >> 8;
              buf[at + 2] = v & 0xff;
              at += 3;
            } else {
              buf[at] = 0xce;
              view.setUint32(at + 1, v);
              at += 5;
            }
          } else if (v >= -32) {
            buf[at++] = v & 0xff;
          } else {
            buf[at] = 0xd2;
            view.setInt32(at + 1, v);
            at += 5;
          }
          continue;
        }
        // Finite non-integers (NaN and ±Infinity take the general path).
        if (v - v === 0 && !Number.isInteger(v)) {
          buf[at] = 0xcb;
          view.setFloat64(at + 1, v);
          at += 9;
          continue;
        }
      } else if (typeof v === "string") {
        if (n === count || key !== keys[n++]) return false;
        const len = v.length;
        if (len < 9) {
          // Fits the room reserved for this value (fixstr header + 8).
          const header = at++;
          let i = 0;
          for (; i < len; i++) {
            const c = v.charCodeAt(i);
            if ((c - 1) >>> 0 >= 0x7f) break;
            buf[at++] = c;
          }
          if (i === len) {
            buf[header] = 0xa0 | len;
            continue;
          }
          at = header;
        }
      } else if (typeof v === "boolean") {
        if (n === count || key !== keys[n++]) return false;
        buf[at++] = v ? 0xc3 : 0xc2;
        continue;
      } else if (v === undefined || typeof v === "function" || typeof v === "symbol") {
        continue;
      } else if (n === count || key !== keys[n++]) {
        return false;
      }
      // The general path, then room again for the values still to come.
      w.pos = at;
      w.value(v);
      w.ensure((count - n) * 9);
      buf = w.buf;
      view = w.view;
      at = w.pos;
    }
    if (n !== count) return false;
    w.pos = at;
    return true;
  }

  /** `FrameWriter.map`, remembering the keys for `#attributes`. */
  #attributesMap(obj: Record<string, unknown>): void {
    const w = this.writer;
    w.ensure(3);
    const header = w.pos;
    w.pos += 3;
    const keys = this.#keys;
    let n = 0;
    let referable = true;
    for (const key in obj) {
      const v = obj[key];
      if (v === undefined || typeof v === "function" || typeof v === "symbol") continue;
      if (key === "__proto__") {
        // Assigning "__proto__" while rebuilding an object would set its prototype.
        referable = false;
        w.protoKey();
      } else {
        w.str(key);
      }
      w.value(v, 1);
      keys[n++] = key;
    }
    if (n >= 65536) {
      throw new RangeError(`Cannot encode attributes: ${n} keys exceed the limit of 65535`);
    }
    w.buf[header] = 0xde;
    w.buf[header + 1] = n >> 8;
    w.buf[header + 2] = n & 0xff;
    // Values alone go in a fixarray, which holds up to 15.
    this.#keyCount = referable && n <= MAX_REFERABLE_KEYS ? n : -1;
  }
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
