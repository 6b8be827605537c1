/**
 * Checks a batch before any of it is stored, so that a bad record fails the
 * whole write (nothing half-written) with a message naming the record and
 * field, and so that every backend refuses exactly the same input.
 *
 * The last line of defence: the encoder makes every value storable at
 * record time (`src/model/sanitize.ts`, `docs/values.md`), so records from a
 * `TelemetryManager` pass; these checks catch records written to a backend
 * directly and anything the encoder missed.
 *
 * @module
 */
import type { Batch } from "../model/types.ts";
import { BackendError } from "./backend.ts";

function fail(what: string, id: unknown, why: string): never {
  throw new BackendError(
    "BAD_RECORD",
    `Cannot write ${what} ${typeof id === "string" ? `'${id}'` : "(no id)"}: ${why}`,
  );
}

function checkString(what: string, id: unknown, field: string, value: unknown): void {
  if (typeof value !== "string") {
    fail(what, id, `${field} must be a string, got ${describe(value)}`);
  }
}

function checkNullableString(what: string, id: unknown, field: string, value: unknown): void {
  if (value !== null) checkString(what, id, field, value);
}

function checkTime(what: string, id: unknown, field: string, value: unknown): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    fail(what, id, `${field} must be a finite number, got ${describe(value)}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (value === undefined) return "undefined";
  if (typeof value === "bigint") return `${value}n`;
  return typeof value === "string" ? JSON.stringify(value) : typeof value;
}

/** Walks a JSON value; rejects what JSON cannot store faithfully. */
function checkJson(what: string, id: unknown, path: string, value: unknown, depth: number): void {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined": // JSON drops it (null inside arrays), on every backend alike
      return;
    case "number":
      if (!Number.isFinite(value)) fail(what, id, `${path} is ${value}, which JSON cannot store`);
      return;
    case "object":
      if (value === null) return;
      if (depth > 64) fail(what, id, `${path} is nested deeper than 64 levels`);
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          checkJson(what, id, `${path}[${i}]`, value[i], depth + 1);
        }
        return;
      }
      if (
        Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null
      ) {
        fail(
          what,
          id,
          `${path} is a ${value.constructor?.name ?? "non-plain object"}, not a plain object`,
        );
      }
      for (const [k, v] of Object.entries(value)) checkJson(what, id, `${path}.${k}`, v, depth + 1);
      return;
    default:
      fail(what, id, `${path} is ${describe(value)}, which JSON cannot store`);
  }
}

/**
 * Whether `value` is something JSON stores faithfully: the same rules as
 * `checkJson`, without building a path string per key. It runs on every
 * record, so it must stay allocation-free; only a failing record pays for
 * `checkJson`'s message.
 */
function isJsonSafe(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
    case "undefined":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (value === null) return true;
      if (depth > 64) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          if (!isJsonSafe(value[i], depth + 1)) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in value) {
        if (
          Object.hasOwn(value, k) &&
          !isJsonSafe((value as Record<string, unknown>)[k], depth + 1)
        ) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function checkAttributes(what: string, id: unknown, field: string, value: unknown): void {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    fail(what, id, `${field} must be an object, got ${describe(value)}`);
  }
  if (!isJsonSafe(value, 0)) checkJson(what, id, field, value, 0);
}

/** What {@linkcode validateBatch} accepts beyond what every backend stores. */
export interface ValidateOptions {
  /**
   * Whether a metric value may be NaN (memory and PostgreSQL's double
   * precision store it; SQLite's REAL turns it into NULL, which its
   * `not null` column refuses). ±Infinity is accepted everywhere.
   * @default {false}
   */
  metricNaN?: boolean;
}

function checkMetricValue(id: unknown, value: unknown, nan: boolean): void {
  if (typeof value !== "number" || (value !== value && !nan)) {
    fail("metric", id, `value must be a number (NaN is not stored here), got ${describe(value)}`);
  }
}

/**
 * Throws a {@linkcode BackendError} with code `"BAD_RECORD"` when any record
 * of the batch has a missing or mistyped field, a non-finite number (a
 * metric value may be ±Infinity, and NaN where `options` says so), or an
 * attribute JSON cannot represent.
 */
export function validateBatch(batch: Batch, options: ValidateOptions = {}): void {
  const metricNaN = options.metricNaN ?? false;
  for (const t of batch.traces) {
    const id = t.traceId;
    checkString("trace", id, "traceId", id);
    checkString("trace", id, "name", t.name);
    checkTime("trace", id, "startTime", t.startTime);
    if (t.endTime !== null) checkTime("trace", id, "endTime", t.endTime);
    checkString("trace", id, "status", t.status);
    checkAttributes("trace", id, "attributes", t.attributes);
    checkAttributes("trace", id, "resource", t.resource);
  }
  for (const s of batch.spans) {
    const id = s.spanId;
    checkString("span", id, "spanId", id);
    checkString("span", id, "traceId", s.traceId);
    checkNullableString("span", id, "parentSpanId", s.parentSpanId);
    checkString("span", id, "name", s.name);
    checkString("span", id, "kind", s.kind);
    checkTime("span", id, "startTime", s.startTime);
    if (s.endTime !== null) checkTime("span", id, "endTime", s.endTime);
    checkString("span", id, "status", s.status);
    checkAttributes("span", id, "attributes", s.attributes);
    if (s.error !== null) {
      if (typeof s.error !== "object") fail("span", id, `error must be an object or null`);
      checkString("span", id, "error.type", s.error.type);
      checkString("span", id, "error.message", s.error.message);
      checkNullableString("span", id, "error.stack", s.error.stack);
    }
    if (!Number.isSafeInteger(s.droppedEvents) || s.droppedEvents < 0) {
      fail(
        "span",
        id,
        `droppedEvents must be a whole number >= 0, got ${describe(s.droppedEvents)}`,
      );
    }
  }
  for (const e of batch.events) {
    const id = e.eventId;
    checkString("event", id, "eventId", id);
    checkString("event", id, "eventType", e.eventType);
    checkString("event", id, "name", e.name);
    checkTime("event", id, "timestamp", e.timestamp);
    checkNullableString("event", id, "traceId", e.traceId);
    checkNullableString("event", id, "spanId", e.spanId);
    checkAttributes("event", id, "attributes", e.attributes);
  }
  for (const m of batch.metrics) {
    const id = m.metricId;
    checkString("metric", id, "metricId", id);
    checkString("metric", id, "name", m.name);
    checkMetricValue(id, m.value, metricNaN);
    checkString("metric", id, "unit", m.unit);
    checkString("metric", id, "kind", m.kind);
    checkTime("metric", id, "timestamp", m.timestamp);
    checkNullableString("metric", id, "traceId", m.traceId);
    checkAttributes("metric", id, "attributes", m.attributes);
  }
}

/** What {@linkcode splitInvalidRecords} returns. */
export interface SplitBatch {
  /** The records that pass {@linkcode validateBatch}, in their original order. */
  valid: Batch;
  /** How many records were left out. */
  rejected: number;
  /** The message of the first rejected record, for stats and logs. */
  firstError: string | null;
}

/**
 * Separates the records a backend would refuse from the rest, so a writer
 * (the flusher worker) can store the valid records of a batch that failed
 * with `"BAD_RECORD"` and count the others as dropped, instead of retrying
 * a batch that can never succeed.
 */
export function splitInvalidRecords(batch: Batch): SplitBatch {
  const valid: Batch = { traces: [], spans: [], events: [], metrics: [] };
  let rejected = 0;
  let firstError: string | null = null;
  const sort = <K extends keyof Batch>(kind: K) => {
    for (const record of batch[kind]) {
      const one: Batch = { traces: [], spans: [], events: [], metrics: [] };
      (one[kind] as unknown[]).push(record);
      try {
        validateBatch(one);
        (valid[kind] as unknown[]).push(record);
      } catch (e) {
        rejected++;
        firstError ??= (e as Error).message;
      }
    }
  };
  sort("traces");
  sort("spans");
  sort("events");
  sort("metrics");
  return { valid, rejected, firstError };
}
