/**
 * Seeded random telemetry and random DSL queries for the differential test.
 * The data is built to hit the cases backends get wrong: missing and `null`
 * attributes, numbers vs numeric strings, booleans, arrays, empty and
 * non-ASCII strings, quotes and JSON-path characters in keys, active spans
 * without an end time, ties in every sortable column.
 *
 * @module
 */
import type {
  Attributes,
  AttributeValue,
  Batch,
  EventRecord,
  MetricRecord,
  SpanKind,
  SpanRecord,
  SpanStatus,
  TraceRecord,
} from "../mod.ts";
import { AGGREGATE_FUNCTIONS, COLUMNS, type Entity } from "../mod.ts";

/** A small, fast, seeded PRNG (mulberry32). */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** One element. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** Attribute keys used by the data and the queries. */
export const KEYS = [
  "node.id",
  "model",
  "tokens",
  "flag",
  "score",
  "weird key",
  "q\"uo'te",
  "$.x[0]*",
];

/** Values per key: a mix of types so that type-strict comparisons matter. */
const VALUES: Record<string, readonly AttributeValue[]> = {
  "node.id": ["fetch", "parse", "llm", "save", "Fetch", "fetch ", "", "é-node"],
  model: ["gpt-4", "claude", "gpt-4o", "5", 5, null],
  tokens: [0, 1, 7, 12, 100, 1.5, -3, "12", 2 ** 40],
  flag: [true, false, "true", 1, 0],
  score: [0.1, 0.2, 0.30000000000000004, 0.3, 1e-9, -0.5, 42],
  "weird key": ["a b", "a%b", "a_b", "it's", 'say "hi"', "back\\slash"],
  "q\"uo'te": ["x", 1, true],
  "$.x[0]*": ["$", ".", "[0]", "*", 7],
};

const NAMES = ["FetchNode.do", "ParseNode.do", "llm.call", "save", "graph_run", "Fetch", "é"];
const KINDS = COLUMNS.spans.kind!.values! as readonly SpanKind[];
const STATUSES = COLUMNS.spans.status!.values! as readonly SpanStatus[];
const EVENT_TYPES = ["node.started", "node.finished", "node.failed", "custom", "my.own.type"];
const METRIC_NAMES = ["node_duration", "tokens_used", "queue_depth"];
const UNITS = ["s", "", "bytes"];
const T0 = 1_700_000_000;

function hex(random: Random, length: number): string {
  let s = "";
  for (let i = 0; i < length; i++) s += "0123456789abcdef"[random.int(16)];
  return s;
}

function attributes(random: Random): Attributes {
  const result: Attributes = {};
  for (const key of KEYS) {
    if (random.chance(0.45)) result[key] = random.pick(VALUES[key]!);
  }
  if (random.chance(0.05)) result.list = [1, "a"];
  if (random.chance(0.05)) result.obj = { nested: 1 };
  return result;
}

/** Times on a coarse grid so that ties are common. */
function time(random: Random): number {
  return T0 + random.int(40) * 0.25;
}

/**
 * Generates a batch of related traces, spans, events and metrics.
 *
 * @param seed The seed.
 * @param traces How many traces.
 * @returns The batch.
 */
export function randomBatch(seed: number, traces = 25): Batch {
  const random = new Random(seed);
  const batch: Batch = { traces: [], spans: [], events: [], metrics: [] };
  for (let t = 0; t < traces; t++) {
    const traceId = hex(random, 32);
    const start = time(random);
    const trace: TraceRecord = {
      traceId,
      name: random.pick(NAMES),
      startTime: start,
      endTime: random.chance(0.15) ? null : start + random.int(20) * 0.125,
      status: random.pick(STATUSES),
      attributes: attributes(random),
      resource: random.chance(0.7)
        ? { "service.name": random.pick(["api", "worker", "Api"]), "host.id": random.int(3) }
        : {},
    };
    batch.traces.push(trace);
    const spanIds: string[] = [];
    const count = random.int(6);
    for (let s = 0; s < count; s++) {
      const spanId = hex(random, 16);
      const status = random.pick(STATUSES);
      const spanStart = time(random);
      const span: SpanRecord = {
        spanId,
        traceId,
        parentSpanId: spanIds.length > 0 && random.chance(0.7) ? random.pick(spanIds) : null,
        name: random.pick(NAMES),
        kind: random.pick(KINDS),
        startTime: spanStart,
        endTime: random.chance(0.1) ? null : spanStart + random.int(12) * 0.0625,
        status,
        attributes: attributes(random),
        error: status === "error" && random.chance(0.8)
          ? {
            type: random.pick(["TypeError", "Error"]),
            message: random.pick(["boom", "bad 'x'"]),
            stack: null,
          }
          : null,
        droppedEvents: random.chance(0.1) ? random.int(3) : 0,
      };
      spanIds.push(spanId);
      batch.spans.push(span);
      for (let e = random.int(3); e > 0; e--) {
        const event: EventRecord = {
          eventId: hex(random, 32),
          eventType: random.pick(EVENT_TYPES),
          name: random.pick(NAMES),
          timestamp: time(random),
          traceId,
          spanId,
          attributes: attributes(random),
        };
        batch.events.push(event);
      }
    }
    for (let m = random.int(3); m > 0; m--) {
      const metric: MetricRecord = {
        metricId: hex(random, 32),
        name: random.pick(METRIC_NAMES),
        value: random.pick([0, 1, 2.5, -1, 1e6, 0.1, 3]),
        unit: random.pick(UNITS),
        kind: random.pick(["gauge", "counter", "histogram"] as const),
        timestamp: time(random),
        traceId: random.chance(0.8) ? traceId : null,
        attributes: attributes(random),
      };
      batch.metrics.push(metric);
    }
  }
  // A few events and metrics with no trace at all.
  for (let i = 0; i < 3; i++) {
    batch.events.push({
      eventId: hex(random, 32),
      eventType: random.pick(EVENT_TYPES),
      name: random.pick(NAMES),
      timestamp: time(random),
      traceId: null,
      spanId: null,
      attributes: attributes(random),
    });
  }
  return batch;
}

function quoteKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$/.test(key) ? key : stringLiteral(key);
}

/** A DSL string literal for any string. */
export function stringLiteral(s: string): string {
  const escaped = s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n")
    .replaceAll("\r", "\\r");
  return `"${escaped}"`;
}

function literal(value: AttributeValue): string {
  if (typeof value === "string") return stringLiteral(value);
  if (typeof value === "number") return value < 0 ? `-${-value}` : String(value);
  return String(value);
}

/** Values the numeric columns are compared with; times default to the data's grid. */
const NUMBER_VALUES: Record<string, number[]> = {
  value: [0, 1, 2.5, -1, 0.1],
  dropped_events: [0, 1, 2],
  duration: [0, 0.0625, 0.25, 0.5, 1],
};

const REGEXES = ["^F", "node", "^$", "\\.do$", "[0-9]+", "e", "^(?:llm|save)", "a.b", "é", "\\s"];
const SUBSTRINGS = ["", "o", "Node", "'", '"', "%", "_", "\\", "é", "gpt"];

interface FieldChoice {
  text: string;
  kind: "number" | "string" | "enum" | "attr";
  values: readonly AttributeValue[];
}

function fieldChoice(random: Random, entity: Entity): FieldChoice {
  if (random.chance(0.45)) {
    const key = random.pick(KEYS);
    return {
      text: `attr.${quoteKey(key)}`,
      kind: "attr",
      values: VALUES[key]!.filter((v) => v !== null),
    };
  }
  if (entity === "traces" && random.chance(0.2)) {
    return {
      text: random.pick(["resource.service.name", 'resource."host.id"']),
      kind: "attr",
      values: ["api", "worker", "Api", 0, 1, 2, "1"],
    };
  }
  const columns = COLUMNS[entity];
  const name = random.pick(Object.keys(columns));
  const info = columns[name]!;
  if (info.type === "enum") {
    const values = name === "event_type" ? EVENT_TYPES : info.values!;
    return { text: name, kind: "enum", values };
  }
  if (info.type === "number") {
    const values = NUMBER_VALUES[name] ?? [T0, T0 + 2.5, T0 + 5, T0 + 7.75];
    return { text: name, kind: "number", values };
  }
  const strings: Record<string, readonly string[]> = { name: NAMES, unit: UNITS };
  return { text: name, kind: "string", values: strings[name] ?? ["boom", "TypeError", "x"] };
}

function predicate(random: Random, entity: Entity): string {
  const field = fieldChoice(random, entity);
  const value = () => {
    const v = random.pick(field.values);
    if (field.kind === "enum" && typeof v === "string" && !v.startsWith("my")) {
      return random.chance(0.5) ? v : stringLiteral(v);
    }
    return literal(v);
  };
  const roll = random.int(10);
  if (roll < 4) {
    const v = value();
    // Booleans only compare for (in)equality.
    const ops = v === "true" || v === "false" ? ["=", "!="] : ["=", "!=", "<", "<=", ">", ">="];
    return `${field.text} ${random.pick(ops)} ${v}`;
  }
  if (roll < 5) {
    const values = Array.from({ length: 1 + random.int(3) }, value);
    return `${field.text} ${random.chance(0.5) ? "not in" : "in"} (${values.join(", ")})`;
  }
  if (roll < 6) return `${field.text} ${random.chance(0.5) ? "not exists" : "exists"}`;
  if (field.kind === "number") return `${field.text} >= ${value()}`;
  if (roll < 8) {
    return `${field.text} ${random.chance(0.5) ? "!~" : "=~"} ${
      stringLiteral(random.pick(REGEXES))
    }`;
  }
  return `${field.text} contains ${stringLiteral(random.pick(SUBSTRINGS))}`;
}

function condition(random: Random, entity: Entity, depth: number): string {
  const roll = random.int(10);
  if (depth > 0 && roll < 2) {
    return `${condition(random, entity, depth - 1)} and ${condition(random, entity, depth - 1)}`;
  }
  if (depth > 0 && roll < 4) {
    return `(${condition(random, entity, depth - 1)} or ${condition(random, entity, depth - 1)})`;
  }
  if (depth > 0 && roll < 5) return `not (${condition(random, entity, depth - 1)})`;
  if (roll === 9 && random.chance(0.3)) {
    // Relative time, resolved against the fixed `now` of the test.
    return random.chance(0.5)
      ? `since ${random.pick(["1s", "2500ms", "4s", "1m"])}`
      : `${entity === "spans" || entity === "traces" ? "start_time" : "timestamp"} ${
        random.pick([">", "<="])
      } now - ${random.pick(["1s", "3s", "500ms"])}`;
  }
  if (roll === 8 && (entity === "spans" || entity === "traces") && random.chance(0.3)) {
    return `duration ${random.pick([">", "<", ">=", "="])} ${
      random.pick(["250ms", "62.5ms", "0.5s", "0ms"])
    }`;
  }
  if (entity === "traces" && roll < 7) {
    const inner = random.pick(["spans", "events", "metrics"] as const);
    const where = random.chance(0.8) ? ` where ${condition(random, inner, 1)}` : "";
    return `${random.chance(0.3) ? "not " : ""}has(${inner}${where})`;
  }
  return predicate(random, entity);
}

function sortable(random: Random, entity: Entity): string {
  return fieldChoice(random, entity).text;
}

function numeric(random: Random, entity: Entity): string {
  const numbers = Object.entries(COLUMNS[entity]).filter(([, c]) => c.type === "number")
    .map(([n]) => n);
  return random.chance(0.6)
    ? random.pick(numbers)
    : random.pick(["attr.tokens", "attr.score", "attr.flag", "attr.model"]);
}

/** Widths of random buckets, as written (the parser makes them canonical). */
const BUCKET_WIDTHS = [
  "1s",
  "2s",
  "500ms",
  "0.5s",
  "250ms",
  "100ms",
  "62.5ms",
  "3s",
  "1m",
  "1h",
  "1ns",
  "7",
  "0.1s",
];

/** `bucket(<numeric field>, <width>)`: time columns mostly, attributes of every type too. */
function bucket(random: Random, entity: Entity): string {
  const time = entity === "spans" || entity === "traces" ? "start_time" : "timestamp";
  const field = random.chance(0.5) ? time : numeric(random, entity);
  return `bucket(${field}, ${random.pick(BUCKET_WIDTHS)})`;
}

/**
 * Generates a random query of the DSL (selects and aggregates).
 *
 * @param random The PRNG.
 * @returns The query text.
 */
export function randomQuery(random: Random): string {
  const entity = random.pick(["traces", "spans", "events", "metrics"] as const);
  let text = entity;
  if (random.chance(0.85)) text += ` where ${condition(random, entity, 2)}`;
  if (random.chance(0.35)) {
    const aggregates = new Set<string>();
    for (let n = 1 + random.int(3); n > 0; n--) {
      const fn = random.pick(AGGREGATE_FUNCTIONS);
      if (fn === "count") {
        aggregates.add(random.chance(0.6) ? "count()" : `count(${sortable(random, entity)})`);
      } else {
        aggregates.add(`${fn}(${numeric(random, entity)})`);
      }
    }
    const groups = new Set<string>();
    for (let n = random.int(3); n > 0; n--) groups.add(sortable(random, entity));
    // A time bucket (or one of any numeric field); widths from 1ns to an hour,
    // some not exact in binary (100ms), some spelt two ways (0.5s and 500ms).
    if (random.chance(0.4)) groups.add(bucket(random, entity));
    const aliases = [...aggregates, ...groups];
    text += ` | ${[...aggregates].join(", ")}`;
    if (groups.size > 0) text += ` by ${[...groups].join(", ")}`;
    const aggs = [...aggregates];
    const buckets = [...groups].filter((g) => g.startsWith("bucket("));
    const having = () =>
      buckets.length > 0 && random.chance(0.3)
        ? `${random.pick(buckets)} ${random.pick([">", ">=", "<", "=", "!="])} ${
          random.pick([T0, T0 + 2.5, T0 + 5, 0, 0.5, 100])
        }`
        : `${random.pick(aggs)} ${random.pick([">", ">=", "<", "=", "!="])} ${
          random.pick([0, 1, 2, 0.5, -1])
        }`;
    if (random.chance(0.3)) {
      const roll = random.int(4);
      if (roll === 0) text += ` having ${having()} and ${having()}`;
      else if (roll === 1) text += ` having not (${having()} or ${having()})`;
      else text += ` having ${having()}`;
    }
    if (random.chance(0.5)) {
      const keys = [...new Set([random.pick(aliases), random.pick(aliases)])];
      text += ` order by ${keys.map((k) => `${k} ${random.pick(["asc", "desc"])}`).join(", ")}`;
    }
  } else if (random.chance(0.6)) {
    const keys = Array.from(
      { length: 1 + random.int(2) },
      () => `${sortable(random, entity)} ${random.pick(["asc", "desc", ""])}`.trim(),
    );
    text += ` order by ${keys.join(", ")}`;
  }
  if (random.chance(0.5)) text += ` limit ${random.pick([0, 1, 3, 10, 50])}`;
  if (random.chance(0.3)) text += ` offset ${random.pick([0, 1, 5])}`;
  return text;
}
