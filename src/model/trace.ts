/**
 * The {@linkcode Trace} model: a top-level execution context, typically one
 * graph run.
 *
 * @module
 */
import { nowSeconds } from "./clock.ts";
import { newTraceId } from "./ids.ts";
import type { Attributes, SpanStatus, TraceRecord } from "./types.ts";

/** Fields of a {@linkcode Trace}; every one is optional. */
export interface TraceOptions {
  /** 32 lowercase hex characters. @default {a new random trace id} */
  traceId?: string;
  /** Human-readable name. @default {""} */
  name?: string;
  /** Seconds since the epoch. @default {now} */
  startTime?: number;
  /** Seconds since the epoch. @default {null} */
  endTime?: number | null;
  /** Status. @default {"unset"} */
  status?: SpanStatus;
  /** Key-value metadata. @default {{}} */
  attributes?: Attributes;
  /** Resource attributes. @default {{}} */
  resource?: Attributes;
}

/**
 * A top-level execution context that groups spans (the seed's `Trace`
 * dataclass). Traces started by a {@linkcode TelemetryManager} are recorded
 * when they end; a plain `new Trace()` is only data.
 *
 * @example
 * ```ts
 * import { Trace } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const trace = new Trace({ name: "graph_run", startTime: 100 });
 * assert.equal(trace.isActive, true);
 * trace.end("ok");
 * assert.equal(trace.isActive, false);
 * assert.equal(trace.status, "ok");
 * assert.ok(trace.duration! > 0);
 * ```
 */
export class Trace {
  // Fields `declare`d, assigned once in the constructor (see `Span`).
  /** 32 lowercase hex characters. */
  declare traceId: string;
  /** Human-readable name. */
  declare name: string;
  /** Seconds since the epoch. */
  declare startTime: number;
  /** Seconds since the epoch; `null` while active. */
  declare endTime: number | null;
  /** Overall status. */
  declare status: SpanStatus;
  /** Key-value metadata. */
  declare attributes: Attributes;
  /** Resource attributes (service name, host, ...). */
  declare resource: Attributes;

  /**
   * Creates a trace from its fields, each defaulting as in the seed.
   *
   * @param options The trace's fields.
   */
  constructor(options: TraceOptions = {}) {
    this.traceId = options.traceId ?? newTraceId();
    this.name = options.name ?? "";
    this.startTime = options.startTime ?? nowSeconds();
    this.endTime = options.endTime ?? null;
    this.status = options.status ?? "unset";
    this.attributes = options.attributes ?? {};
    this.resource = options.resource ?? {};
  }

  /** Duration in seconds, or `null` while the trace is active. */
  get duration(): number | null {
    return this.endTime === null ? null : this.endTime - this.startTime;
  }

  /** Whether the trace is still active (not ended). */
  get isActive(): boolean {
    return this.endTime === null;
  }

  /**
   * Marks the trace as ended. Ending an ended trace changes nothing.
   *
   * @param status The final status.
   */
  end(status: SpanStatus = "ok"): void {
    if (this.endTime !== null) return;
    this.endTime = nowSeconds();
    this.status = status;
  }

  /**
   * Returns the trace as a plain, serialisable record.
   *
   * @returns The record.
   */
  toDict(): TraceRecord {
    return {
      traceId: this.traceId,
      name: this.name,
      startTime: this.startTime,
      endTime: this.endTime,
      status: this.status,
      attributes: this.attributes,
      resource: this.resource,
    };
  }

  /**
   * Builds a trace from a stored record (the inverse of {@linkcode Trace.toDict}).
   *
   * @param record A record as returned by a backend.
   * @returns The trace.
   */
  static fromDict(record: TraceRecord): Trace {
    return new Trace(record);
  }
}
