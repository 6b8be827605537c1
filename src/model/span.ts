/**
 * The {@linkcode Span} model: one operation within a trace.
 *
 * @module
 */
import { nowSeconds } from "./clock.ts";
import { Event } from "./event.ts";
import { newSpanId } from "./ids.ts";
import { textOf, unreadable } from "./sanitize.ts";
import type {
  Attributes,
  AttributeValue,
  SpanError,
  SpanKind,
  SpanStatus,
  SpanWithEvents,
} from "./types.ts";

/** Fields of a {@linkcode Span}; every one is optional. */
export interface SpanOptions {
  /** 16 lowercase hex characters. @default {a new random span id} */
  spanId?: string;
  /** The trace the span belongs to. @default {""} */
  traceId?: string;
  /** Parent span. @default {null} */
  parentSpanId?: string | null;
  /** Operation name. @default {""} */
  name?: string;
  /** Span kind. @default {"internal"} */
  kind?: SpanKind;
  /** Seconds since the epoch. @default {now} */
  startTime?: number;
  /** Seconds since the epoch. @default {null} */
  endTime?: number | null;
  /** Status. @default {"unset"} */
  status?: SpanStatus;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
  /** Events that occurred during the span. @default {[]} */
  events?: Event[];
  /** The error that failed the span. @default {null} */
  error?: SpanError | null;
  /** Events refused by the `maxEventsPerSpan` limit. @default {0} */
  droppedEvents?: number;
}

/**
 * Converts anything thrown into a plain, serialisable {@linkcode SpanError}.
 *
 * @param error What was thrown.
 * @returns `{ type, message, stack }`.
 *
 * @example
 * ```ts
 * import { toSpanError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const error = toSpanError(new RangeError("too big"));
 * assert.equal(error.type, "RangeError");
 * assert.equal(error.message, "too big");
 * assert.equal(toSpanError("plain string").type, "string");
 * ```
 */
export function toSpanError(error: unknown): SpanError {
  try {
    if (error instanceof Error) {
      const stack = error.stack;
      return {
        type: textOf(error.name || error.constructor?.name || "Error"),
        message: textOf(error.message),
        stack: typeof stack === "string" ? stack : null,
      };
    }
    if (error !== null && typeof error === "object") {
      const e = error as { name?: unknown; message?: unknown; stack?: unknown };
      return {
        type: typeof e.name === "string" ? e.name : "object",
        message: typeof e.message === "string" ? e.message : textOf(error),
        stack: typeof e.stack === "string" ? e.stack : null,
      };
    }
    return { type: typeof error, message: textOf(error), stack: null };
  } catch (thrown) {
    // Reading the error threw (a getter, a Proxy): never from recording.
    return { type: typeof error, message: unreadable(thrown), stack: null };
  }
}

/**
 * One operation within a trace (the seed's `Span` dataclass). Spans form a
 * tree through `parentSpanId`. Spans started by a {@linkcode TelemetryManager}
 * are recorded when they end; a plain `new Span()` is only data.
 *
 * @example
 * ```ts
 * import { Span, SpanKind } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const span = new Span({ name: "ProcessNode.do", kind: SpanKind.NODE_EXECUTION });
 * span.setAttribute("node.id", "process_data");
 * span.end("error", new Error("boom"));
 * assert.equal(span.status, "error");
 * assert.equal(span.error?.message, "boom");
 * assert.equal(span.toDict().attributes["node.id"], "process_data");
 * ```
 */
export class Span {
  // Fields are `declare`d and assigned in the constructor only: a plain
  // field declaration is also a [[Define]] of `undefined` before the
  // constructor runs, i.e. every field written twice per span.
  /** 16 lowercase hex characters. */
  declare spanId: string;
  /** The trace the span belongs to. */
  declare traceId: string;
  /** Parent span, or `null` for a root span. */
  declare parentSpanId: string | null;
  /** Operation name. */
  declare name: string;
  /** Span kind. */
  declare kind: SpanKind;
  /** Seconds since the epoch. */
  declare startTime: number;
  /** Seconds since the epoch; `null` while active. */
  declare endTime: number | null;
  /** Status. */
  declare status: SpanStatus;
  /** Key-value metadata. */
  declare attributes: Attributes;
  /** Events that occurred during the span. */
  declare events: Event[];
  /** The error that failed the span, if any. */
  declare error: SpanError | null;
  /** Events refused by the `maxEventsPerSpan` limit. */
  declare droppedEvents: number;

  /**
   * Creates a span from its fields, each defaulting as in the seed.
   *
   * @param options The span's fields.
   */
  constructor(options: SpanOptions = {}) {
    this.spanId = options.spanId ?? newSpanId();
    this.traceId = options.traceId ?? "";
    this.parentSpanId = options.parentSpanId ?? null;
    this.name = options.name ?? "";
    this.kind = options.kind ?? "internal";
    this.startTime = options.startTime ?? nowSeconds();
    this.endTime = options.endTime ?? null;
    this.status = options.status ?? "unset";
    this.attributes = options.attributes ?? {};
    this.events = options.events ?? [];
    this.error = options.error ?? null;
    this.droppedEvents = options.droppedEvents ?? 0;
  }

  /** Duration in seconds, or `null` while the span is active. */
  get duration(): number | null {
    return this.endTime === null ? null : this.endTime - this.startTime;
  }

  /** Whether the span is still active (not ended). */
  get isActive(): boolean {
    return this.endTime === null;
  }

  /**
   * Marks the span as ended. Ending an ended span changes nothing.
   *
   * @param status The final status.
   * @param error What failed the span; stored as `{ type, message, stack }`.
   */
  end(status: SpanStatus = "ok", error?: unknown): void {
    if (this.endTime !== null) return;
    this.endTime = nowSeconds();
    this.status = status;
    if (error !== undefined) this.error = toSpanError(error);
  }

  /**
   * Adds an event to this span.
   *
   * @param event The event; its `traceId` and `spanId` are set to this span's.
   */
  addEvent(event: Event): void {
    event.traceId = this.traceId;
    event.spanId = this.spanId;
    this.events.push(event);
  }

  /**
   * Sets one attribute.
   *
   * @param key The attribute key.
   * @param value The value.
   */
  setAttribute(key: string, value: AttributeValue): void {
    this.attributes[key] = value;
  }

  /**
   * Sets several attributes at once.
   *
   * @param attributes The attributes to set.
   */
  setAttributes(attributes: Attributes): void {
    Object.assign(this.attributes, attributes);
  }

  /**
   * Returns the span, with its events, as a plain, serialisable record.
   *
   * @returns The record.
   */
  toDict(): SpanWithEvents {
    return {
      spanId: this.spanId,
      traceId: this.traceId,
      parentSpanId: this.parentSpanId,
      name: this.name,
      kind: this.kind,
      startTime: this.startTime,
      endTime: this.endTime,
      status: this.status,
      attributes: this.attributes,
      error: this.error,
      droppedEvents: this.droppedEvents,
      events: this.events.map((e) => e.toDict()),
    };
  }

  /**
   * Builds a span from a stored record (the inverse of {@linkcode Span.toDict}).
   *
   * @param record A record as returned by a backend.
   * @returns The span.
   */
  static fromDict(record: SpanWithEvents): Span {
    return new Span({ ...record, events: record.events.map((e) => Event.fromDict(e)) });
  }

  /**
   * Ends the span if it is still active, for `await using`: with the status
   * already set on it, or `"ok"` when none was. (Disposal cannot see an
   * exception; `TelemetryManager.withSpan` records one as an error.)
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.end(this.status === "unset" ? "ok" : this.status);
    return Promise.resolve();
  }
}
