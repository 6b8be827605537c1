/**
 * Record builders for tests: a trace, span, event, metric or batch with a
 * default for every field but its id, and {@linkcode noise} (text that does
 * not compress). Shared by the conformance suite, the backend tests and the
 * query tests.
 *
 * @module
 */
import type {
  Batch,
  EventRecord,
  MetricRecord,
  SpanRecord,
  TraceRecord,
} from "../src/model/types.ts";

/** A trace with defaults for every field. */
export function trace(o: Partial<TraceRecord> & { traceId: string }): TraceRecord {
  return {
    name: "run",
    startTime: 1,
    endTime: 2,
    status: "ok",
    attributes: {},
    resource: {},
    ...o,
  };
}

/** A span with defaults for every field. */
export function span(o: Partial<SpanRecord> & { spanId: string }): SpanRecord {
  return {
    traceId: "t-1",
    parentSpanId: null,
    name: "node",
    kind: "node_execution",
    startTime: 1,
    endTime: 2,
    status: "ok",
    attributes: {},
    error: null,
    droppedEvents: 0,
    ...o,
  };
}

/** An event with defaults for every field. */
export function event(o: Partial<EventRecord> & { eventId: string }): EventRecord {
  return {
    eventType: "custom",
    name: "event",
    timestamp: 1,
    traceId: null,
    spanId: null,
    attributes: {},
    ...o,
  };
}

/** A metric with defaults for every field. */
export function metric(o: Partial<MetricRecord> & { metricId: string }): MetricRecord {
  return {
    name: "metric",
    value: 1,
    unit: "",
    kind: "gauge",
    timestamp: 1,
    traceId: null,
    attributes: {},
    ...o,
  };
}

/** A batch from any records. */
export function batch(o: Partial<Batch>): Batch {
  return { traces: [], spans: [], events: [], metrics: [], ...o };
}

/**
 * `length` UTF-16 units of text that does not compress (an index entry
 * TOAST-compresses its value first: repeated text would fit), mostly
 * printable ASCII with some multi-byte characters, the same for a seed.
 */
export function noise(length: number, seed = 1): string {
  let x = (seed * 2654435761) >>> 0 || 1;
  const units: number[] = [];
  while (units.length < length) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const r = x % 100;
    // Never a lone surrogate: astral characters only when both units fit.
    if (r === 0 && units.length + 2 <= length) units.push(0xd83c, 0xdf89); // 🎉
    else if (r < 5) units.push(0xe9); // é
    else units.push(0x21 + (x >>> 8) % 94);
  }
  let text = "";
  for (let i = 0; i < units.length; i += 8192) {
    text += String.fromCharCode(...units.slice(i, i + 8192));
  }
  return text;
}
