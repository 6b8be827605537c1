/**
 * The error of a query that ran past `queryTimeoutMs`, the same wherever the
 * limit is enforced (the memory backend's own checks, PostgreSQL's
 * `statement_timeout`, the pipeline replacing a reader that cannot stop).
 *
 * @module
 */
import { BackendError } from "../src/backend_error.ts";

/**
 * A {@linkcode BackendError} coded `"QUERY_TIMEOUT"`.
 *
 * @param timeoutMs The limit that was exceeded.
 * @returns The error.
 */
export function queryTimeoutError(timeoutMs: number): BackendError {
  return new BackendError(
    "QUERY_TIMEOUT",
    `Cannot run query: it exceeded queryTimeoutMs (${timeoutMs} ms) and was cancelled; ` +
      "narrow it (a time range, a trace id, a filter on name, kind or status) or raise queryTimeoutMs",
  );
}

/** Units of work between two looks at the clock. */
const CHECK_EVERY = 1024;

/**
 * A time limit checked cooperatively, for code that holds a thread (the
 * memory backend runs queries in the writer worker) and must let go within
 * the limit: `tick()` once per record (more for costly work, such as a
 * regular expression over a long text), and once 1024 units have passed
 * since the last look, it reads the clock and throws when the deadline has
 * passed.
 */
export class QueryDeadline {
  readonly #at: number;
  readonly #timeoutMs: number;
  #work = 0;

  /**
   * Starts the clock.
   *
   * @param timeoutMs Milliseconds allowed from now; `Infinity` never expires.
   */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#at = performance.now() + timeoutMs;
  }

  /**
   * Counts work; throws `"QUERY_TIMEOUT"` once the deadline has passed.
   *
   * @param units How much work, 1 for a record.
   */
  tick(units = 1): void {
    this.#work += units;
    if (this.#work >= CHECK_EVERY) {
      this.#work = 0;
      if (performance.now() > this.#at) throw queryTimeoutError(this.#timeoutMs);
    }
  }
}
