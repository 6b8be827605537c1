/**
 * The {@linkcode Event} model: a discrete, point-in-time occurrence.
 *
 * @module
 */
import { nowSeconds } from "./clock.ts";
import { newRecordId } from "./ids.ts";
import { type Attributes, type EventRecord, EventType } from "./types.ts";

/** Fields of an {@linkcode Event}; every one is optional. */
export interface EventOptions {
  /** Unique id. @default {a new random 32-hex id} */
  eventId?: string;
  /** An {@linkcode EventType} value or any other string. @default {"custom"} */
  eventType?: EventType | string;
  /** Event name. @default {""} */
  name?: string;
  /** Seconds since the epoch. @default {now} */
  timestamp?: number;
  /** Associated trace. @default {null} */
  traceId?: string | null;
  /** Associated span. @default {null} */
  spanId?: string | null;
  /** Event attributes. @default {{}} */
  attributes?: Attributes;
}

/**
 * A discrete, point-in-time telemetry event (the seed's `Event` dataclass).
 *
 * @example
 * ```ts
 * import { Event, EventType } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const event = new Event({ name: "ProcessNode started", eventType: EventType.NODE_STARTED });
 * assert.equal(event.eventType, "node.started");
 * assert.equal(event.toDict().name, "ProcessNode started");
 * ```
 */
export class Event {
  // Fields `declare`d, assigned once in the constructor (see `Span`).
  /** Unique id. */
  declare eventId: string;
  /** An {@linkcode EventType} value or any other string. */
  declare eventType: EventType | string;
  /** Event name. */
  declare name: string;
  /** Seconds since the epoch. */
  declare timestamp: number;
  /** Associated trace, if any. */
  declare traceId: string | null;
  /** Associated span, if any. */
  declare spanId: string | null;
  /** Event attributes. */
  declare attributes: Attributes;

  /**
   * Creates an event from its fields, each defaulting as in the seed.
   *
   * @param options The event's fields.
   */
  constructor(options: EventOptions = {}) {
    this.eventId = options.eventId ?? newRecordId();
    this.eventType = options.eventType ?? EventType.CUSTOM;
    this.name = options.name ?? "";
    this.timestamp = options.timestamp ?? nowSeconds();
    this.traceId = options.traceId ?? null;
    this.spanId = options.spanId ?? null;
    this.attributes = options.attributes ?? {};
  }

  /**
   * Returns the event as a plain, serialisable record.
   *
   * @returns The record.
   */
  toDict(): EventRecord {
    return {
      eventId: this.eventId,
      eventType: this.eventType,
      name: this.name,
      timestamp: this.timestamp,
      traceId: this.traceId,
      spanId: this.spanId,
      attributes: this.attributes,
    };
  }

  /**
   * Builds an event from a stored record (the inverse of {@linkcode Event.toDict}).
   *
   * @param record A record as returned by a backend.
   * @returns The event.
   */
  static fromDict(record: EventRecord): Event {
    return new Event(record);
  }
}
