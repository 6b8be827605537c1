/**
 * The memory backend: records kept in maps inside the worker, queried with
 * the memory compiler. It is the reference the conformance suite holds every
 * other backend to, and the fast store for unit tests.
 *
 * @module
 */
import { compileMemory, type MemoryRecord, type MemoryStore } from "../../../query/predicates.ts";
import type { Entity, QueryPlan, QueryRow } from "../../../query/plan.ts";
import { compareStrings } from "../../../query/values.ts";
import type {
  Attributes,
  Batch,
  EventRecord,
  MetricRecord,
  SpanRecord,
  SpanWithEvents,
  TraceRecord,
} from "../../model/types.ts";
import { type Backend, BackendError, type QueryRunOptions } from "../backend.ts";
import { validateBatch } from "../validate_batch.ts";

/** Options of {@linkcode MemoryBackend}. */
export interface MemoryBackendOptions {
  /**
   * Most records kept per entity; beyond it the oldest written are evicted.
   * @default {Infinity}
   */
  maxRecords?: number;
}

/** Stores attributes as JSON does, so memory returns what SQL backends return. */
function jsonCopy(attributes: Attributes): Attributes {
  return JSON.parse(JSON.stringify(attributes));
}

/**
 * A {@linkcode Backend} that keeps records in memory.
 *
 * @example
 * ```ts
 * import { MemoryBackend } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const backend = new MemoryBackend();
 * await backend.write({
 *   traces: [{
 *     traceId: "a".repeat(32), name: "run", startTime: 1, endTime: 2,
 *     status: "ok", attributes: {}, resource: {},
 *   }],
 *   spans: [], events: [], metrics: [],
 * });
 * const rows = await backend.query({
 *   type: "select", entity: "traces", where: null, orderBy: [], limit: 10, offset: 0,
 * });
 * assert.equal(rows[0]?.name, "run");
 * await backend.close();
 * ```
 */
export class MemoryBackend implements Backend, AsyncDisposable {
  /** Always `"memory"`. */
  readonly name: string = "memory";
  readonly #maxRecords: number;
  readonly #tables: Record<Entity, Map<string, MemoryRecord>> = {
    traces: new Map(),
    spans: new Map(),
    events: new Map(),
    metrics: new Map(),
  };
  readonly #store: MemoryStore = { records: (entity) => this.#tables[entity].values() };
  #closed = false;

  /**
   * Creates an empty store.
   *
   * @param options Capacity.
   */
  constructor(options: MemoryBackendOptions = {}) {
    const max = options.maxRecords ?? Infinity;
    if (!(max >= 1)) {
      throw new RangeError(`Cannot create memory backend: maxRecords must be >= 1, got ${max}`);
    }
    this.#maxRecords = max;
  }

  #checkOpen(action: string): void {
    if (this.#closed) {
      throw new BackendError("CLOSED", `Cannot ${action}: the memory backend is closed`);
    }
  }

  /**
   * Upserts every record of the batch (all or nothing: the batch is checked first).
   *
   * @param batch Records to store.
   * @throws {BackendError} `"BAD_RECORD"` for an invalid record, `"CLOSED"` after close.
   */
  write(batch: Batch): Promise<void> {
    try {
      this.#checkOpen("write");
      validateBatch(batch, { metricNaN: true });
    } catch (e) {
      return Promise.reject(e);
    }
    for (const t of batch.traces) {
      this.#put(
        "traces",
        t.traceId,
        {
          ...t,
          attributes: jsonCopy(t.attributes),
          resource: jsonCopy(t.resource),
        } satisfies TraceRecord,
      );
    }
    for (const s of batch.spans) {
      this.#put(
        "spans",
        s.spanId,
        {
          ...s,
          attributes: jsonCopy(s.attributes),
          error: s.error === null
            ? null
            : { type: s.error.type, message: s.error.message, stack: s.error.stack },
        } satisfies SpanRecord,
      );
    }
    for (const e of batch.events) {
      this.#put(
        "events",
        e.eventId,
        { ...e, attributes: jsonCopy(e.attributes) } satisfies EventRecord,
      );
    }
    for (const m of batch.metrics) {
      this.#put(
        "metrics",
        m.metricId,
        { ...m, attributes: jsonCopy(m.attributes) } satisfies MetricRecord,
      );
    }
    return Promise.resolve();
  }

  #put(entity: Entity, id: string, record: object): void {
    const table = this.#tables[entity];
    table.set(id, record as MemoryRecord);
    if (table.size > this.#maxRecords) {
      table.delete(table.keys().next().value!);
    }
  }

  /**
   * Runs a plan over the stored records.
   *
   * @param plan The plan.
   * @param options Its time limit: it stops within ~1024 records of running out.
   * @returns Copies of the matching records (spans with their events), or aggregate rows.
   * @throws {BackendError} `"BAD_QUERY"` for an invalid plan, `"CLOSED"` after close,
   * `"QUERY_TIMEOUT"` past `options.timeoutMs`.
   */
  query(plan: QueryPlan, options: QueryRunOptions = {}): Promise<QueryRow[]> {
    try {
      this.#checkOpen("query");
      const rows = compileMemory(plan)(this.#store, options.timeoutMs);
      if (plan.type === "aggregate") return Promise.resolve(rows);
      const copies = rows.map((r) => structuredClone(r));
      if (plan.entity === "spans") this.#attachEvents(copies);
      return Promise.resolve(copies);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #attachEvents(spans: QueryRow[]): void {
    const bySpan = new Map<string, EventRecord[]>();
    for (const s of spans) {
      const events: EventRecord[] = [];
      (s as unknown as SpanWithEvents).events = events;
      bySpan.set(s.spanId as string, events);
    }
    if (bySpan.size === 0) return;
    for (const e of this.#tables.events.values()) {
      const list = e.spanId === null ? undefined : bySpan.get(e.spanId as string);
      if (list) list.push(structuredClone(e) as unknown as EventRecord);
    }
    for (const list of bySpan.values()) {
      list.sort((a, b) => a.timestamp - b.timestamp || compareStrings(a.eventId, b.eventId));
    }
  }

  /**
   * Deletes records older than `cutoff`.
   *
   * @param cutoff Seconds since the epoch.
   * @returns How many records were deleted.
   */
  applyRetention(cutoff: number): Promise<number> {
    try {
      this.#checkOpen("apply retention");
    } catch (e) {
      return Promise.reject(e);
    }
    let deleted = 0;
    const sweep = (entity: Entity, key: string) => {
      const table = this.#tables[entity];
      for (const [id, r] of table) {
        if ((r[key] as number) < cutoff) {
          table.delete(id);
          deleted++;
        }
      }
    };
    sweep("traces", "startTime");
    sweep("spans", "startTime");
    sweep("events", "timestamp");
    sweep("metrics", "timestamp");
    return Promise.resolve(deleted);
  }

  /** Drops every record; further calls fail. */
  close(): Promise<void> {
    this.#closed = true;
    for (const table of Object.values(this.#tables)) table.clear();
    return Promise.resolve();
  }

  /** Same as {@linkcode MemoryBackend.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
