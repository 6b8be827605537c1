/**
 * {@linkcode ExportStats}: the counters an exporting backend keeps, which the
 * flusher worker reads into `TelemetryManager.stats()`.
 *
 * @module
 */

/**
 * What an exporting backend (OTLP, or a store with an OTLP exporter beside
 * it) has done so far. Counts are records: spans, events (exported as log
 * records) and metric points as recorded, not HTTP requests.
 */
export interface ExportStats {
  /** Records the collector accepted. */
  exported: number;
  /**
   * Records given up on: the collector refused the request with a status that
   * must not be retried (400, 401, 413, 500, ...), a record had an id OTLP
   * cannot carry, or (fan-out) the export queue overflowed.
   */
  dropped: number;
  /** Records the collector accepted the request for but refused in `partial_success`. */
  rejected: number;
  /** HTTP attempts that failed with a retriable outcome and were tried again. */
  retries: number;
  /** Records waiting to be exported (fan-out export queue); 0 for a plain exporter. */
  queued: number;
  /** The latest failure or collector warning, with the collector's message, or `null`. */
  lastError: string | null;
  /** When `lastError` happened, in seconds since the epoch, or `null`. */
  lastErrorTime: number | null;
}
