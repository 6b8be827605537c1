/**
 * The worker's side of the frame format: decodes a frame with our own
 * MessagePack reader (`msgpack_reader.ts`; no run-time dependency),
 * resolves the references the encoder wrote to earlier records of the same
 * frame (`SAME_TRACE_ID`, `SAME_AS_PREVIOUS`, attributes as values alone)
 * and restores escaped `"__proto__"` keys, then turns tuples into records.
 *
 * Attributes objects written as values alone are rebuilt by a function made
 * once per key list, returning an object literal: objects of one shape,
 * built without a property lookup per key.
 *
 * @module
 */
import { decodeMessagePack } from "./msgpack_reader.ts";
import {
  ATTRIBUTES_AT,
  EVENT,
  EVENT_REFERABLE,
  type EventTuple,
  METRIC,
  METRIC_REFERABLE,
  type MetricTuple,
  PROTO_KEY_ESCAPED,
  type RecordTuple,
  SAME_AS_PREVIOUS,
  SAME_TRACE_ID,
  SPAN,
  SPAN_REFERABLE,
  type SpanTuple,
  TRACE,
  TRACE_ID_AT,
  TUPLE_LENGTH,
} from "./format.ts";
import type { Attributes, Batch, EventRecord, MetricRecord, SpanRecord } from "../model/types.ts";

/**
 * Decodes a frame (a MessagePack array of record tuples).
 *
 * @param payload The frame's bytes, already copied out of shared memory.
 * @returns The tuples.
 */
export function decodeFrame(payload: Uint8Array): RecordTuple[] {
  const tuples = decodeMessagePack(payload) as RecordTuple[];
  // Resolve what the encoder wrote as references to earlier records in the
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
 * objects of one shape, built without a property lookup per key .
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
  // "__proto__" in a literal would set the prototype (the encoder never
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
