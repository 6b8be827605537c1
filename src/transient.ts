/**
 * Which write failures are transient (the backend or its connection failed:
 * the same batch can succeed later) and which a record of the batch caused
 * (retrying the batch as it is can never succeed). The flusher retries the
 * first kind until it passes and isolates the records behind the second.
 *
 * An error says so itself with a boolean `transient` property (every
 * {@linkcode BackendError} has one); otherwise its `code`, then its `cause`,
 * decide. Anything unrecognised is not transient: a failure that repeats
 * then only costs the records it isolates, never the whole stream.
 *
 * @module
 */

/** Backend error codes that never come from a record. */
const TRANSIENT_CODES = new Set(["CONNECTION", "CLOSED", "BAD_CONFIG"]);

/**
 * Codes that postgres.js, Node's `net` and stream layers give a lost,
 * refused or timed-out connection (also a write to a socket that has just
 * been closed under the client). The PostgreSQL backend reads the same list.
 */
export const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set([
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  "CONNECT_TIMEOUT",
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "EADDRNOTAVAIL",
  "EHOSTDOWN",
  "ENETRESET",
  "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END",
  "ERR_SOCKET_CLOSED",
  "ERR_SOCKET_CLOSED_BEFORE_CONNECTION",
]);

/**
 * PostgreSQL SQLSTATEs that no record can cause: connection exception (08),
 * insufficient resources (53: disk full, out of memory, too many
 * connections), operator intervention (57: shutdown, cannot connect now,
 * cancelled by a timeout), system error (58), serialization failure and
 * deadlock (40001, 40P01), lock not available and object in use (55P03,
 * 55006), idle-session timeouts (25P03, 57P05).
 */
function isTransientSqlState(state: string): boolean {
  const klass = state.slice(0, 2);
  return klass === "08" || klass === "53" || klass === "57" || klass === "58" ||
    state === "40001" || state === "40P01" || state === "55P03" || state === "55006" ||
    state === "25P03";
}

/** A PostgreSQL SQLSTATE: five digits or capital letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * SQLite primary result codes of the database, not of a record: BUSY (5),
 * LOCKED (6), NOMEM (7), READONLY (8), INTERRUPT (9), IOERR (10), CORRUPT
 * (11), FULL (13), CANTOPEN (14), PROTOCOL (15), NOLFS (22), AUTH (23),
 * NOTADB (26). TOOBIG (18), CONSTRAINT (19), MISMATCH (20), RANGE (25) and
 * the generic ERROR (1) are left to the record.
 */
const TRANSIENT_SQLITE_CODES = new Set([5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 22, 23, 26]);

/**
 * What the error itself says: `true` transient, `false` caused by a record,
 * `null` when it does not tell (look at its cause).
 */
function classifyOne(error: object): boolean | null {
  const e = error as { transient?: unknown; code?: unknown; errcode?: unknown; name?: unknown };
  if (typeof e.transient === "boolean") return e.transient;
  if (typeof e.errcode === "number") return TRANSIENT_SQLITE_CODES.has(e.errcode & 0xff);
  if (e.name === "TimeoutError") return true;
  const code = e.code;
  if (typeof code !== "string") return null;
  if (code === "BAD_RECORD") return false;
  if (TRANSIENT_CODES.has(code) || CONNECTION_ERROR_CODES.has(code)) return true;
  if (SQLSTATE.test(code)) return isTransientSqlState(code);
  return null;
}

/**
 * Whether `cause` (what a backend caught, wrapped as a `BackendError` with
 * `code`) means a transient failure; the default of `BackendError.transient`.
 */
export function defaultTransient(code: string, cause: unknown): boolean {
  if (TRANSIENT_CODES.has(code)) return true;
  if (code === "BAD_RECORD") return false;
  return classifyChain(cause) ?? false;
}

/** The first verdict along `error`, its cause, its cause's cause... (bounded). */
function classifyChain(error: unknown): boolean | null {
  let current = error;
  for (let depth = 0; depth < 8; depth++) {
    if (current === null || typeof current !== "object") return null;
    const verdict = classifyOne(current);
    if (verdict !== null) return verdict;
    current = (current as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * Whether a failed write may succeed when retried unchanged (see the module
 * doc). Unrecognised errors are not transient.
 */
export function isTransient(error: unknown): boolean {
  return classifyChain(error) ?? false;
}

/**
 * The short, stable reason under which records refused with `error` are
 * counted: the most specific code found (a SQLSTATE, a SQLite result name,
 * else the backend's code or the error's name), e.g.
 * `"backend refused (54000)"`. Never the message, which names values and
 * ids and would make every record a reason of its own.
 */
export function refusalReason(error: unknown): string {
  let code: string | null = null;
  let current = error;
  for (let depth = 0; depth < 8 && current !== null && typeof current === "object"; depth++) {
    const e = current as { code?: unknown; errstr?: unknown; errcode?: unknown };
    if (typeof e.code === "string" && SQLSTATE.test(e.code)) {
      code = e.code;
      break;
    }
    if (typeof e.errstr === "string" && typeof e.errcode === "number") {
      code = `SQLite ${e.errcode}: ${e.errstr}`;
      break;
    }
    if (code === null && typeof e.code === "string") code = e.code;
    current = (current as { cause?: unknown }).cause;
  }
  if (code === null) {
    const name = error instanceof Error ? error.name : typeof error;
    code = name;
  }
  return `backend refused (${code.slice(0, 80)})`;
}
