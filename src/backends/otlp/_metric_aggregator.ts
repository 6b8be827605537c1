/**
 * Turns metric records into OTLP metrics in the shape of the SDK's
 * `ResourceMetrics`: gauges point by point; counters as a monotonic Sum and
 * histograms as an explicit-bucket Histogram, one point per series per batch,
 * cumulative (running totals since the series was first seen) or delta
 * (what this batch added).
 *
 * Running totals change only through `commit()`, which the exporter calls
 * once the collector has the batch (or refused it for good): a batch the
 * worker replays after a failed write is not counted twice.
 *
 * @module
 */
import type { Attributes, MetricRecord } from "../../model/types.ts";
import type { OtlpTemporality } from "./_config.ts";
import type { OtlpModel, OtlpResource, OtlpScope } from "./_sdk_model.ts";
import { SCOPE } from "./_sdk_model.ts";
import { type HrTime, toHrTime, ZERO_TIME } from "./_hr_time.ts";

/** `DataPointType` of `@opentelemetry/sdk-metrics` (values fixed by that enum). */
export const DATA_POINT_TYPE = { HISTOGRAM: 0, GAUGE: 2, SUM: 3 } as const;
/** `AggregationTemporality` of `@opentelemetry/sdk-metrics`. */
export const SDK_TEMPORALITY = { DELTA: 0, CUMULATIVE: 1 } as const;
/** `ValueType.DOUBLE` of `@opentelemetry/api`: our values are floats. */
export const VALUE_TYPE_DOUBLE = 1;

/**
 * Histogram bucket bounds: the SDK's defaults, or for durations in seconds
 * the bounds the HTTP/GenAI semantic conventions recommend.
 */
export const DEFAULT_BOUNDARIES: readonly number[] = [
  0,
  5,
  10,
  25,
  50,
  75,
  100,
  250,
  500,
  750,
  1000,
  2500,
  5000,
  7500,
  10000,
];
/** Bucket bounds for metrics with unit `"s"`. */
export const SECONDS_BOUNDARIES: readonly number[] = [
  0.005,
  0.01,
  0.025,
  0.05,
  0.075,
  0.1,
  0.25,
  0.5,
  0.75,
  1,
  2.5,
  5,
  7.5,
  10,
];

/** A histogram value, as the SDK's `Histogram`. */
export interface ModelHistogram {
  buckets: { boundaries: number[]; counts: number[] };
  sum: number;
  count: number;
  min: number;
  max: number;
}

/** A data point, as the SDK's `DataPoint`. */
export interface ModelDataPoint<T> {
  startTime: HrTime;
  endTime: HrTime;
  attributes: Attributes;
  value: T;
}

/** A metric, as the SDK's `MetricData`. */
export interface ModelMetric {
  descriptor: { name: string; description: string; unit: string; valueType: number };
  aggregationTemporality: number;
  dataPointType: number;
  isMonotonic?: boolean;
  dataPoints: ModelDataPoint<number>[] | ModelDataPoint<ModelHistogram>[];
}

/** Metrics of one resource, as the SDK's `ResourceMetrics`. */
export interface ModelResourceMetrics {
  resource: OtlpResource;
  scopeMetrics: { scope: OtlpScope; metrics: ModelMetric[] }[];
}

interface SeriesState {
  start: number;
  last: number;
  sum: number;
  histogram: ModelHistogram | null;
}

/** What one batch of metrics became, plus the state change to apply on delivery. */
export interface MetricBuild {
  /** One entry per resource (usually one). */
  resourceMetrics: ModelResourceMetrics[];
  /** Records in the build. */
  records: number;
  /** Applies the running totals; call once the collector has the batch. */
  commit(): void;
}

const MAX_SERIES = 10_000;

function boundariesFor(unit: string): readonly number[] {
  return unit === "s" ? SECONDS_BOUNDARIES : DEFAULT_BOUNDARIES;
}

function emptyHistogram(boundaries: readonly number[]): ModelHistogram {
  return {
    buckets: { boundaries: [...boundaries], counts: new Array(boundaries.length + 1).fill(0) },
    sum: 0,
    count: 0,
    min: Infinity,
    max: -Infinity,
  };
}

function cloneHistogram(h: ModelHistogram): ModelHistogram {
  return {
    buckets: { boundaries: h.buckets.boundaries, counts: [...h.buckets.counts] },
    sum: h.sum,
    count: h.count,
    min: h.min,
    max: h.max,
  };
}

function observe(h: ModelHistogram, value: number): void {
  const bounds = h.buckets.boundaries;
  // Bucket i holds (bounds[i-1], bounds[i]]; the last one everything above.
  let i = 0;
  while (i < bounds.length && value > bounds[i]!) i++;
  h.buckets.counts[i]!++;
  h.sum += value;
  h.count++;
  if (value < h.min) h.min = value;
  if (value > h.max) h.max = value;
}

function stableKey(attributes: Attributes): string {
  const keys = Object.keys(attributes).sort();
  let key = "";
  for (const k of keys) key += `${JSON.stringify(k)}:${JSON.stringify(attributes[k])},`;
  return key;
}

/** Aggregates metric records into OTLP metrics (see the module doc). */
export class MetricAggregator {
  readonly #temporality: OtlpTemporality;
  readonly #series = new Map<string, SeriesState>();

  constructor(temporality: OtlpTemporality) {
    this.#temporality = temporality;
  }

  /** Builds the metrics of a batch without changing the running totals. */
  build(records: readonly MetricRecord[], model: OtlpModel): MetricBuild {
    const cumulative = this.#temporality === "cumulative";
    const byResource = new Map<OtlpResource, Map<string, ModelMetric>>();
    const staged = new Map<string, SeriesState>();
    // Per-batch accumulation of counters/histograms, keyed by series.
    const batchSeries = new Map<
      string,
      {
        metric: ModelMetric;
        attributes: Attributes;
        min: number;
        max: number;
        sum: number;
        histogram: ModelHistogram | null;
      }
    >();

    for (const record of records) {
      const resource = model.resourceForTrace(record.traceId);
      let metrics = byResource.get(resource);
      if (metrics === undefined) {
        metrics = new Map();
        byResource.set(resource, metrics);
      }
      const metricKey = `${record.kind}\u0000${record.name}\u0000${record.unit}`;
      let metric = metrics.get(metricKey);
      if (metric === undefined) {
        metric = {
          descriptor: {
            name: record.name,
            description: "",
            unit: record.unit,
            valueType: VALUE_TYPE_DOUBLE,
          },
          aggregationTemporality: cumulative ? SDK_TEMPORALITY.CUMULATIVE : SDK_TEMPORALITY.DELTA,
          dataPointType: record.kind === "counter"
            ? DATA_POINT_TYPE.SUM
            : record.kind === "histogram"
            ? DATA_POINT_TYPE.HISTOGRAM
            : DATA_POINT_TYPE.GAUGE,
          dataPoints: [],
        };
        if (record.kind === "counter") metric.isMonotonic = true;
        metrics.set(metricKey, metric);
      }
      if (record.kind !== "counter" && record.kind !== "histogram") {
        (metric.dataPoints as ModelDataPoint<number>[]).push({
          startTime: ZERO_TIME,
          endTime: toHrTime(record.timestamp),
          attributes: record.attributes,
          value: record.value,
        });
        continue;
      }
      if (record.kind === "counter" && record.value < 0) metric.isMonotonic = false;
      const seriesKey = `${resourceKey(resource)}\u0000${metricKey}\u0000${
        stableKey(record.attributes)
      }`;
      let acc = batchSeries.get(seriesKey);
      if (acc === undefined) {
        acc = {
          metric,
          attributes: record.attributes,
          min: record.timestamp,
          max: record.timestamp,
          sum: 0,
          histogram: record.kind === "histogram"
            ? emptyHistogram(boundariesFor(record.unit))
            : null,
        };
        batchSeries.set(seriesKey, acc);
      }
      if (record.timestamp < acc.min) acc.min = record.timestamp;
      if (record.timestamp > acc.max) acc.max = record.timestamp;
      if (acc.histogram !== null) observe(acc.histogram, record.value);
      else acc.sum += record.value;
    }

    for (const [seriesKey, acc] of batchSeries) {
      const previous = this.#series.get(seriesKey);
      let start: number;
      let sum = acc.sum;
      let histogram = acc.histogram;
      if (cumulative) {
        start = previous?.start ?? acc.min;
        if (previous !== undefined) {
          sum += previous.sum;
          if (histogram !== null && previous.histogram !== null) {
            histogram = mergeHistograms(previous.histogram, histogram);
          }
        }
      } else {
        // A delta point covers the time since the series' previous point.
        start = previous?.last ?? acc.min;
      }
      const end = Math.max(acc.max, previous?.last ?? acc.max);
      staged.set(seriesKey, {
        start,
        last: end,
        sum: cumulative ? sum : 0,
        histogram: cumulative ? histogram : null,
      });
      const point = {
        startTime: toHrTime(start),
        endTime: toHrTime(end),
        attributes: acc.attributes,
      };
      if (histogram !== null) {
        (acc.metric.dataPoints as ModelDataPoint<ModelHistogram>[]).push({
          ...point,
          value: cloneHistogram(histogram),
        });
      } else {
        (acc.metric.dataPoints as ModelDataPoint<number>[]).push({ ...point, value: sum });
      }
    }

    const resourceMetrics: ModelResourceMetrics[] = [];
    for (const [resource, metrics] of byResource) {
      resourceMetrics.push({
        resource,
        scopeMetrics: [{ scope: SCOPE, metrics: [...metrics.values()] }],
      });
    }
    return {
      resourceMetrics,
      records: records.length,
      commit: () => {
        for (const [key, state] of staged) {
          if (!this.#series.has(key) && this.#series.size >= MAX_SERIES) {
            // Forgetting a series restarts it: a cumulative reset, which OTLP allows.
            this.#series.delete(this.#series.keys().next().value!);
          }
          this.#series.set(key, state);
        }
      },
    };
  }
}

const resourceKeys = new WeakMap<OtlpResource, string>();
function resourceKey(resource: OtlpResource): string {
  let key = resourceKeys.get(resource);
  if (key === undefined) {
    key = stableKey(resource.attributes);
    resourceKeys.set(resource, key);
  }
  return key;
}

function mergeHistograms(a: ModelHistogram, b: ModelHistogram): ModelHistogram {
  const merged = cloneHistogram(a);
  if (merged.buckets.counts.length !== b.buckets.counts.length) return cloneHistogram(b);
  for (let i = 0; i < b.buckets.counts.length; i++) {
    merged.buckets.counts[i]! += b.buckets.counts[i]!;
  }
  merged.sum += b.sum;
  merged.count += b.count;
  merged.min = Math.min(merged.min, b.min);
  merged.max = Math.max(merged.max, b.max);
  return merged;
}
