/**
 * {@linkcode TelemetryStats}: the counters `TelemetryManager.stats()` returns.
 *
 * @module
 */
import type { ExportStats } from "../backends/export_stats.ts";

/**
 * Counters of a manager's recording pipeline. Every record is accounted
 * for: `recorded = exported + dropped + pending`.
 */
export interface TelemetryStats {
  /** Records (traces, spans, events, metrics) handed to the pipeline. */
  recorded: number;
  /** Records durably written by the backend. */
  exported: number;
  /**
   * Records lost: spill queue full, shutdown timed out, backend unavailable,
   * refused by the backend (`rejected`). Never silent.
   */
  dropped: number;
  /**
   * Of `dropped`: records the backend refused, left out so the rest of
   * their batch could be stored. A record is refused when the shared checks
   * find it invalid (a field of the wrong type, say) or when, written
   * alone, it fails with an error that is not transient (a value the
   * database cannot hold): a failing batch is split until such records are
   * found. Each reason is also said once on stderr.
   */
  rejected: number;
  /**
   * `rejected` by reason: `"invalid record"`, or `"backend refused (<code>)"`
   * with the most specific code of the error (a PostgreSQL SQLSTATE such as
   * `54000`, a SQLite result code, else the backend's code).
   */
  rejectedByReason: Record<string, number>;
  /** Records that went through the spill queue because the ring was full (total). */
  spilled: number;
  /** Records in the spill queue now. */
  spillQueue: number;
  /** Records recorded but not yet exported or dropped. */
  pending: number;
  /** Batches written. */
  batches: number;
  /** Failed backend operations (each retried write attempt counts), worker crashes. */
  exportErrors: number;
  /** `"<code>: <message>"` of the latest error, or `null`. */
  lastExportError: string | null;
  /**
   * Attribute values (and names) made storable at record time rather than
   * stored as given: a cycle, an object nested too deep, a non-finite
   * number, an invalid date, a value whose getter threw, a string with a
   * NUL or a lone surrogate (see `docs/values.md` for every conversion).
   * Their records are kept, with the value replaced; a count, not a loss.
   */
  sanitizedValues: number;
  /** Duration of the latest batch write, in milliseconds. */
  lastExportLatencyMs: number | null;
  /** Mean duration of batch writes, in milliseconds. */
  avgExportLatencyMs: number | null;
  /** Fraction of the ring buffer in use, 0 to 1. */
  ringUsage: number;
  /** Times the flusher worker died and was restarted. */
  workerRestarts: number;
  /**
   * For an exporting backend (`otlp_http`, or a store with an `export`
   * section): what the collector accepted, refused and retried, in records.
   * `exported` above counts what the backend took; a record the collector
   * refused with a 4xx is in `export.dropped`. `null` for plain stores.
   */
  export: ExportStats | null;
}
