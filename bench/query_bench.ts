/**
 * The query language against the equivalent hand-written SQL, on one SQLite
 * database of 1,000,000 spans (issue 7, item 4: DSL ≤ 1.1× hand-written SQL).
 *
 *   deno bench -A bench/query_bench.ts
 *
 * ## What "equivalent" means here
 *
 * Each group's baseline (`baseline: true`) is hand-written SQL run with
 * prepared `node:sqlite` statements on its own read-only connection, and it
 * returns **the same answer** as the DSL: the same rows in the same order,
 * shaped the same way — span records with their attributes parsed from JSON
 * and, for span selections, their events attached (one more query per page,
 * oldest first), aggregate rows keyed by the DSL's aliases. Before any timing
 * the bench checks that both sides return identical results (JSON of the
 * whole answer) and stops if they differ, so a baseline cannot quietly do
 * less work than the DSL.
 *
 * Each group then times:
 * - `hand-written SQL, rows as arrays`: the same SQL and code with
 *   node:sqlite's `setReturnArrays(true)` and records built by column
 *   position, the way `SqliteBackend` reads rows — so that the DSL is also
 *   compared with hand-written code that uses the same node:sqlite option;
 * - `DSL end-to-end`: `parseQuery(text)` + compile + run through
 *   `SqliteBackend.query()` — what `manager.query(text)` and the CLI pay
 *   for a query they ran lately (`parseQuery` keeps the syntax trees of the
 *   last 64 texts);
 * - `DSL end-to-end, new text`: the same where every call parses a text it
 *   has not cached (the query with 0–99 trailing spaces, in turn);
 * - `plan → SqliteBackend.query()`: the same with the plan parsed once
 *   outside the timed function (what the four `query*` methods pay).
 *
 * ## The fixture
 *
 * 1,000,000 spans in 100,000 traces of 10 (random ids, one span every 10 ms,
 * kinds `node_execution`, `llm_call`, `tool_call`, `internal`; 1 in 10 failed)
 * with `node.id` (50 values), `attempt` and, on LLM calls, `llm.model`
 * attributes, plus 200,000 events (one per trace root and one per failed
 * span). It is written once through `SqliteBackend` (then `ANALYZE`d) into
 * the temp directory and reused by later runs, because writing it takes
 * longer than the benchmark (`SPARK_QUERY_BENCH_DB` overrides the path). The
 * bench checks the row counts before using a cached file and rebuilds it
 * when they are wrong.
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { SqliteBackend } from "../src/backends/sqlite/mod.ts";
import {
  type ArrayRow,
  eventFromRow,
  returnArrays,
  spanFromRow,
} from "../src/backends/sqlite/_rows.ts";
import { percentileCont, roundSignificant } from "../query/values.ts";
import { parseQuery } from "../query/parse_query.ts";
import type { QueryRow } from "../query/plan.ts";
import type {
  EventRecord,
  EventType,
  SpanKind,
  SpanStatus,
  SpanWithEvents,
} from "../src/model/types.ts";

const SPANS = 1_000_000;
const SPANS_PER_TRACE = 10;
const TRACES = SPANS / SPANS_PER_TRACE;
const FAILED_EVERY = 10;
const EVENTS = TRACES + SPANS / FAILED_EVERY;
const PATH = Deno.env.get("SPARK_QUERY_BENCH_DB") ??
  join(tmpdir(), "spark_query_bench_1m_v1.db");
const T0 = 1_764_000_000;
const KINDS: readonly SpanKind[] = ["node_execution", "llm_call", "tool_call", "internal"];
const MODELS = ["gpt-4o", "haiku", "sonnet"];

// ---------------------------------------------------------------------------
// Fixture (built outside every timed function)

function counts(): { spans: number; events: number } {
  try {
    const db = new DatabaseSync(PATH, { readOnly: true });
    try {
      const n = (table: string) =>
        (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
      return { spans: n("spans"), events: n("events") };
    } finally {
      db.close();
    }
  } catch {
    return { spans: 0, events: 0 };
  }
}

async function build(): Promise<void> {
  for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(PATH + suffix).catch(() => {});
  const backend = new SqliteBackend({ path: PATH });
  // mulberry32: deterministic, with a full 2^32 period.
  let seed = 7;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)]!;
  const hex = (n: number): string => {
    let s = "";
    for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(random() * 16)];
    return s;
  };
  let spans: SpanWithEvents[] = [];
  let events: EventRecord[] = [];
  let traceId = "";
  let rootId = "";
  for (let i = 0; i < SPANS; i++) {
    const spanId = hex(16);
    const start = T0 + i * 0.01;
    if (i % SPANS_PER_TRACE === 0) {
      traceId = hex(32);
      rootId = spanId;
    }
    const kind = pick(KINDS);
    const failed = random() < 1 / FAILED_EVERY;
    const attributes: Record<string, string | number> = {
      "node.id": `node_${Math.floor(random() * 50)}`,
      attempt: 1 + Math.floor(random() * 3),
    };
    if (kind === "llm_call") attributes["llm.model"] = pick(MODELS);
    spans.push({
      spanId,
      traceId,
      parentSpanId: spanId === rootId ? null : rootId,
      name: `Node${Math.floor(random() * 20)}.run`,
      kind,
      startTime: start,
      endTime: start + random() * 2,
      status: (failed ? "error" : random() < 0.1 ? "unset" : "ok") as SpanStatus,
      attributes,
      error: failed ? { type: "ValueError", message: "bad input", stack: null } : null,
      droppedEvents: 0,
      events: [],
    });
    const event = (eventType: EventType, offset: number): EventRecord => ({
      eventId: hex(32),
      eventType,
      name: eventType,
      timestamp: start + offset,
      traceId,
      spanId,
      attributes: { "node.id": attributes["node.id"]! },
    });
    if (spanId === rootId) events.push(event("graph.started", 0));
    if (failed) events.push(event("error.occurred", 0.001));
    if (spans.length === 10_000) {
      await backend.write({ traces: [], spans, events, metrics: [] });
      spans = [];
      events = [];
    }
  }
  await backend.write({ traces: [], spans, events, metrics: [] });
  await backend.close();
  // Statistics for the planner, the same for both connections below.
  const db = new DatabaseSync(PATH);
  db.exec("analyze");
  db.close();
}

// Exactly 1 in 10 spans fails only on average, so the event count is checked
// from the spans themselves.
function fixtureIsComplete(): boolean {
  const { spans, events } = counts();
  if (spans !== SPANS) return false;
  const db = new DatabaseSync(PATH, { readOnly: true });
  try {
    const failed = (db.prepare("select count(*) as n from spans where status = 'error'")
      .get() as { n: number }).n;
    return events === TRACES + failed && Math.abs(events - EVENTS) < EVENTS / 10;
  } finally {
    db.close();
  }
}

if (!fixtureIsComplete()) {
  console.error(`building ${PATH}: ${SPANS} spans and ~${EVENTS} events (once)...`);
  const started = performance.now();
  await build();
  console.error(`built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  if (!fixtureIsComplete()) throw new Error(`bench fixture ${PATH} is incomplete after a build`);
}

// ---------------------------------------------------------------------------
// The two sides

const backend = new SqliteBackend({ path: PATH, readOnly: true });
globalThis.addEventListener("unload", () => backend.close());
const raw = new DatabaseSync(PATH, { readOnly: true });

// Hand-written SQL cannot compute a percentile on SQLite without a function;
// this is the same interpolation the backend registers.
const percentile = {
  start: (): { values: number[]; fraction: number } => ({ values: [], fraction: 0 }),
  step: (state: { values: number[]; fraction: number }, value: unknown, fraction: unknown) => {
    if (typeof value === "number") state.values.push(value);
    state.fraction = fraction as number;
    return state;
  },
  result: (state: { values: number[]; fraction: number }): number | null =>
    percentileCont(state.values, state.fraction),
};
raw.aggregate(
  "spark_percentile",
  percentile as unknown as Parameters<DatabaseSync["aggregate"]>[1],
);

type Row = Record<string, unknown>;

function toSpan(r: Row): SpanWithEvents {
  return {
    spanId: r.span_id as string,
    traceId: r.trace_id as string,
    parentSpanId: r.parent_span_id as string | null,
    name: r.name as string,
    kind: r.kind as SpanKind,
    startTime: r.start_time as number,
    endTime: r.end_time as number | null,
    status: r.status as SpanStatus,
    attributes: JSON.parse(r.attributes as string),
    error: r.error_type === null ? null : {
      type: r.error_type as string,
      message: r.error_message as string,
      stack: r.error_stack as string | null,
    },
    droppedEvents: r.dropped_events as number,
    events: [],
  };
}

function toEvent(r: Row): EventRecord {
  return {
    eventId: r.event_id as string,
    eventType: r.event_type as string,
    name: r.name as string,
    timestamp: r.timestamp as number,
    traceId: r.trace_id as string | null,
    spanId: r.span_id as string | null,
    attributes: JSON.parse(r.attributes as string),
  };
}

const eventsOf = raw.prepare(
  "select * from events where span_id in (select value from json_each(?)) order by timestamp, event_id",
);

/** The hand-written way to turn a page of span rows into spans with their events. */
function spansWithEvents(rows: Row[]): SpanWithEvents[] {
  const spans = rows.map(toSpan);
  if (spans.length === 0) return spans;
  const bySpan = new Map<string, SpanWithEvents>();
  for (const s of spans) bySpan.set(s.spanId, s);
  for (const r of eventsOf.all(JSON.stringify([...bySpan.keys()])) as Row[]) {
    bySpan.get(r.span_id as string)!.events.push(toEvent(r));
  }
  return spans;
}

// The same hand-written SQL using node:sqlite's `setReturnArrays(true)`, with
// rows decoded by SqliteBackend's own decoders (by column position).
function arrays(sql: string): StatementSync {
  const statement = raw.prepare(sql);
  returnArrays(statement);
  return statement;
}

const eventsOfAsArrays = arrays(
  "select * from events where span_id in (select value from json_each(?)) order by timestamp, event_id",
);

function spansWithEventsFromArrays(rows: ArrayRow[]): SpanWithEvents[] {
  const spans = rows.map(spanFromRow);
  if (spans.length === 0) return spans;
  const bySpan = new Map<string, SpanWithEvents>();
  for (const s of spans) bySpan.set(s.spanId, s);
  const events = eventsOfAsArrays.all(JSON.stringify([...bySpan.keys()])) as unknown as ArrayRow[];
  for (const r of events) bySpan.get(r[5] as string)!.events.push(eventFromRow(r));
  return spans;
}

interface Scenario {
  group: string;
  dsl: string;
  /** Hand-written SQL, rows as objects: how node:sqlite is ordinarily used. */
  baseline: () => unknown[];
  /** The same SQL with rows as arrays. */
  arrays: () => unknown[];
  /** Timed iterations, for scenarios too slow for deno bench's default. */
  n?: number;
}

const lookupTrace = (raw.prepare(
  "select trace_id from spans where status = 'error' and start_time >= ? order by start_time limit 1",
).get(T0 + SPANS * 0.005) as { trace_id: string }).trace_id;

const failedNodes = raw.prepare(
  "select * from spans where kind = ? and status = ? order by start_time desc, span_id desc limit 20",
);
const byModel = raw.prepare(
  `select * from spans where attributes ->> '$."llm.model"' = ? order by start_time desc, span_id desc limit 20`,
);
const p95ByNode = raw.prepare(
  `select attributes ->> '$."node.id"' as "attr.node.id", count(*) as "count()",
     avg(end_time - start_time) as "avg(duration)",
     spark_percentile(end_time - start_time, 0.95) as "p95(duration)"
   from spans where kind = ? group by 1 order by 4 desc limit 5`,
);
const trace = raw.prepare(
  "select * from spans where trace_id = ? order by start_time, span_id",
);
const failedNodesAsArrays = arrays(failedNodes.sourceSQL);
const byModelAsArrays = arrays(byModel.sourceSQL);
const p95ByNodeAsArrays = arrays(p95ByNode.sourceSQL);
const traceAsArrays = arrays(trace.sourceSQL);

const SCENARIOS: Scenario[] = [
  {
    group: "filter: 20 newest failed node spans",
    dsl: "spans where kind=node_execution and status=error limit 20",
    baseline: () => spansWithEvents(failedNodes.all("node_execution", "error") as Row[]),
    arrays: () =>
      spansWithEventsFromArrays(
        failedNodesAsArrays.all("node_execution", "error") as unknown as ArrayRow[],
      ),
  },
  {
    group: "filter by attribute: 20 newest gpt-4o calls",
    dsl: 'spans where attr."llm.model" = "gpt-4o" limit 20',
    baseline: () => spansWithEvents(byModel.all("gpt-4o") as Row[]),
    arrays: () => spansWithEventsFromArrays(byModelAsArrays.all("gpt-4o") as unknown as ArrayRow[]),
  },
  {
    group: "aggregate by attribute: p95 per node over 250k LLM calls",
    dsl:
      'spans where kind=llm_call | count(), avg(duration), p95(duration) by attr."node.id" order by p95(duration) desc limit 5',
    // The DSL rounds avg to 12 significant digits (so every backend agrees);
    // the same answer needs the same rounding here.
    baseline: () =>
      (p95ByNode.all("llm_call") as Row[]).map((r) => ({
        ...r,
        "avg(duration)": roundSignificant(r["avg(duration)"] as number),
      })),
    arrays: () =>
      (p95ByNodeAsArrays.all("llm_call") as unknown as ArrayRow[]).map((r) => ({
        "attr.node.id": r[0],
        "count()": r[1],
        "avg(duration)": roundSignificant(r[2] as number),
        "p95(duration)": r[3],
      })),
    n: 20,
  },
  {
    group: "trace lookup: one trace's spans",
    dsl: `trace "${lookupTrace}"`,
    baseline: () => spansWithEvents(trace.all(lookupTrace) as Row[]),
    arrays: () =>
      spansWithEventsFromArrays(traceAsArrays.all(lookupTrace) as unknown as ArrayRow[]),
  },
];

// Equivalence first: a baseline that answers differently is no baseline.
for (const s of SCENARIOS) {
  const ours: QueryRow[] = await backend.query(parseQuery(s.dsl));
  if (ours.length === 0) throw new Error(`bench: '${s.dsl}' returned no rows`);
  for (const theirs of [s.baseline(), s.arrays()]) {
    if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
      throw new Error(
        `bench: '${s.dsl}' and its hand-written SQL differ:\n${
          JSON.stringify(ours).slice(0, 400)
        }\n${JSON.stringify(theirs).slice(0, 400)}`,
      );
    }
  }
}

for (const s of SCENARIOS) {
  const plan = parseQuery(s.dsl);
  const iterations = s.n === undefined ? {} : { n: s.n, warmup: 1 };
  Deno.bench({
    name: "hand-written SQL",
    group: s.group,
    baseline: true,
    ...iterations,
    fn: () => {
      s.baseline();
    },
  });
  Deno.bench({
    name: "hand-written SQL, rows as arrays",
    group: s.group,
    ...iterations,
    fn: () => {
      s.arrays();
    },
  });
  Deno.bench({
    name: "DSL end-to-end",
    group: s.group,
    ...iterations,
    fn: async () => {
      await backend.query(parseQuery(s.dsl));
    },
  });
  if (s.n === undefined) {
    // More variants than parseQuery caches: each call tokenizes and parses.
    const texts = Array.from({ length: 100 }, (_, i) => s.dsl + " ".repeat(i));
    let next = 0;
    Deno.bench({
      name: "DSL end-to-end, new text",
      group: s.group,
      fn: async () => {
        await backend.query(parseQuery(texts[next++ % texts.length]!));
      },
    });
  }
  Deno.bench({
    name: "plan → SqliteBackend.query()",
    group: s.group,
    ...iterations,
    fn: async () => {
      await backend.query(plan);
    },
  });
}
