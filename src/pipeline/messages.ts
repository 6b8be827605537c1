/**
 * The one message type exchanged between the application thread and the
 * flusher worker. Records do not travel here (they go through the ring
 * buffer); only control messages and query results do.
 *
 * Sequence numbers count records accepted by the pipeline, in ring order:
 * `flush(seq)` is acknowledged once the worker has durably written `seq`
 * records in total.
 *
 * @module
 */
import type { ExportStats } from "../backends/export_stats.ts";
import type { QueryPlan, QueryRow } from "../../query/plan.ts";
import type { BackendSpec } from "../backends/open_backend.ts";

/** An error as it crosses the thread boundary: structured clone drops subclasses, so a stable code. */
export interface WireError {
  /** Stable code, e.g. `"WRITE_FAILED"`, `"CONNECTION"`, `"WORKER_EXIT"`. */
  code: string;
  /** "Cannot <action>: <why>". */
  message: string;
}

/** Records the backend refused for one reason, left out of a stored batch. */
export interface RefusedRecords {
  /** Short, stable reason, e.g. `"invalid record"` or `"backend refused (54000)"`. */
  reason: string;
  /** How many records. */
  count: number;
  /** The full message of the first one, e.g. the database's error. */
  example: string;
}

/** How the worker waits for new frames. */
export type WakeMode = "wait" | "poll";

/** Every message between the application thread and the flusher worker. */
export type PipelineMessage =
  // application → worker
  | {
    type: "init";
    buffer: SharedArrayBuffer;
    spec: BackendSpec;
    bufferSize: number;
    exportIntervalMs: number;
    retentionDays: number;
    wake: WakeMode;
  }
  | { type: "flush"; seq: number }
  | { type: "query"; id: number; seq: number; plan: QueryPlan; timeoutMs: number }
  | { type: "startTimer" }
  | { type: "shutdown"; seq: number }
  // worker → application
  | { type: "ready" }
  | {
    type: "progress";
    durable: number;
    records: number;
    /** Records of this batch the backend refused (invalid, or failing alone) and left out. */
    rejected: number;
    /** The same records by reason (empty when none); counts add up to `rejected`. */
    refused: RefusedRecords[];
    latencyMs: number;
    exportStats: ExportStats | null;
  }
  | {
    type: "backendError";
    op: "open" | "write" | "retention";
    error: WireError;
    exportStats: ExportStats | null;
  }
  | { type: "fatal"; error: WireError }
  | { type: "queryResult"; id: number; rows: QueryRow[] }
  | { type: "queryFailed"; id: number; error: WireError }
  | { type: "exportStats"; exportStats: ExportStats }
  | { type: "closed"; durable: number; exportStats: ExportStats | null };

/**
 * Every message between the application thread and the reader worker
 * (`workers/reader.ts`), which runs queries on a read-only connection of
 * its own. A query reaches it only once everything recorded before it is
 * stored, so it sees all of that.
 */
export type ReaderMessage =
  // application → reader
  | {
    type: "init";
    spec: BackendSpec;
    timeoutMs: number;
    /**
     * Two Int32 words: [0] the id of a query to cancel (written by the
     * application thread), [1] the id of the query running (written by the reader).
     */
    cancel: SharedArrayBuffer;
  }
  | { type: "query"; id: number; plan: QueryPlan }
  // reader → application
  | { type: "ready" }
  | { type: "fatal"; error: WireError }
  | { type: "queryResult"; id: number; rows: QueryRow[] }
  | { type: "queryFailed"; id: number; error: WireError };

/**
 * Converts anything thrown into a {@linkcode WireError}.
 *
 * @param error What was thrown.
 * @param fallback Code to use when the error carries none.
 * @returns The wire form.
 */
export function toWireError(error: unknown, fallback: string): WireError {
  if (error !== null && typeof error === "object") {
    const e = error as { code?: unknown; message?: unknown };
    return {
      code: typeof e.code === "string" ? e.code : fallback,
      message: typeof e.message === "string" ? e.message : String(error),
    };
  }
  return { code: fallback, message: String(error) };
}
