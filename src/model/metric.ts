/**
 * The {@linkcode Metric} model: one numerical measurement.
 *
 * @module
 */
import { nowSeconds } from "./clock.ts";
import { newRecordId } from "./ids.ts";
import type { Attributes, MetricKind, MetricRecord } from "./types.ts";

/** Fields of a {@linkcode Metric}; every one is optional. */
export interface MetricOptions {
  /** Unique id. @default {a new random 32-hex id} */
  metricId?: string;
  /** Metric name. @default {""} */
  name?: string;
  /** The measured value. @default {0} */
  value?: number;
  /** Unit of measurement. @default {""} */
  unit?: string;
  /** How values combine when exported. @default {"gauge"} */
  kind?: MetricKind;
  /** Seconds since the epoch. @default {now} */
  timestamp?: number;
  /** Associated trace. @default {null} */
  traceId?: string | null;
  /** Metric attributes. @default {{}} */
  attributes?: Attributes;
}

/**
 * A numerical measurement (the seed's `Metric` dataclass).
 *
 * @example
 * ```ts
 * import { Metric } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const metric = new Metric({ name: "cache_hit_rate", value: 0.85, unit: "ratio" });
 * assert.equal(metric.kind, "gauge");
 * assert.equal(metric.toDict().value, 0.85);
 * ```
 */
export class Metric {
  // Fields `declare`d, assigned once in the constructor (see `Span`).
  /** Unique id. */
  declare metricId: string;
  /** Metric name. */
  declare name: string;
  /** The measured value. */
  declare value: number;
  /** Unit of measurement. */
  declare unit: string;
  /** How values combine when exported. */
  declare kind: MetricKind;
  /** Seconds since the epoch. */
  declare timestamp: number;
  /** Associated trace, if any. */
  declare traceId: string | null;
  /** Metric attributes. */
  declare attributes: Attributes;

  /**
   * Creates a metric from its fields, each defaulting as in the seed.
   *
   * @param options The metric's fields.
   */
  constructor(options: MetricOptions = {}) {
    this.metricId = options.metricId ?? newRecordId();
    this.name = options.name ?? "";
    this.value = options.value ?? 0;
    this.unit = options.unit ?? "";
    this.kind = options.kind ?? "gauge";
    this.timestamp = options.timestamp ?? nowSeconds();
    this.traceId = options.traceId ?? null;
    this.attributes = options.attributes ?? {};
  }

  /**
   * Returns the metric as a plain, serialisable record.
   *
   * @returns The record.
   */
  toDict(): MetricRecord {
    return {
      metricId: this.metricId,
      name: this.name,
      value: this.value,
      unit: this.unit,
      kind: this.kind,
      timestamp: this.timestamp,
      traceId: this.traceId,
      attributes: this.attributes,
    };
  }

  /**
   * Builds a metric from a stored record (the inverse of {@linkcode Metric.toDict}).
   *
   * @param record A record as returned by a backend.
   * @returns The metric.
   */
  static fromDict(record: MetricRecord): Metric {
    return new Metric(record);
  }
}
