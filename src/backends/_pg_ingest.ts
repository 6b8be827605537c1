/**
 * Bulk ingest: a whole batch (all four tables) in one transaction, by COPY.
 *
 * Why this shape (measured with `bench/_pg_ingest_interleaved.ts`, variants
 * alternating in one process against a raw COPY of the same rows, 20
 * batches of 1,000 spans): the previous single
 * `insert ... select from unnest(...) on conflict do update` statement took
 * ~1.25-1.4× the raw COPY's time, `json_to_recordset` ~1.25×, COPY into a
 * staging table plus an upsert ~1.15×, plus a plain insert ~1.05-1.09×;
 * the difference between the last two is the server's speculative insertion
 * for `on conflict`. So:
 *
 * - Spans, events and metrics are written once each, so they are COPYed
 *   straight into their tables. Should one of their ids exist already (a
 *   batch replayed after a retry or a worker restart, or another writer
 *   that got there first), the server refuses the COPY, the transaction
 *   rolls back, and the batch is written again with upserts throughout:
 *   nothing is stored twice and the later write wins.
 * - Traces are written at start and again at end, so they are always
 *   upserted, and so is everything in that second attempt: each table is
 *   COPYed into a session-local staging table (temporary, `text` columns
 *   only, no constraints, emptied at commit — COPY data the server has no
 *   reason to refuse) and moved by `insert ... select ... on conflict do
 *   update`, where the casts to the real column types happen.
 *
 * postgres.js 3.4.9 does not report a refused COPY to its stream (see
 * {@linkcode PgWriter} for how that is handled). A new connection has no
 * staging tables yet: its first upsert fails with `undefined_table` and the
 * batch is written again, creating them first.
 *
 * Rows are deduplicated (last wins) and sorted by id, and written in that
 * order, so concurrent writers lock rows in the same order and cannot
 * deadlock on shared ids.
 *
 * @module
 */
import type { Sql } from "postgres";
import type { Batch } from "../types.ts";
import { isConnectionError } from "./_pg_errors.ts";
import { type PgTable, TABLES, TRACES, uniqueById } from "./_pg_tables.ts";

/** A PostgreSQL array literal of `values` (strings, numbers, nulls), for a `$n::type[]` parameter. */
export function arrayLiteral(values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) out += ",";
    if (value === null || value === undefined) out += "NULL";
    else if (typeof value === "number") out += String(value);
    else out += '"' + storable(value as string).replace(QUOTE_OR_BACKSLASH, "\\$&") + '"';
  }
  return out + "}";
}

const QUOTE_OR_BACKSLASH = /["\\]/g;

/**
 * PostgreSQL text cannot hold U+0000 and jsonb rejects it and lone
 * surrogates. Rather than let one such string fail its batch on every retry
 * forever, they become U+FFFD, the replacement character. (Lone surrogates
 * in text columns become U+FFFD on their own when encoded as UTF-8.)
 */
function storable(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

function storableJson(value: unknown): unknown {
  if (typeof value === "string") return storable(value.toWellFormed());
  if (Array.isArray(value)) return value.map(storableJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[storable(k.toWellFormed())] = storableJson(v);
    return out;
  }
  return value;
}

function jsonText(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify writes \u escapes only for control characters and lone
  // surrogates, so this cheap test skips the rewrite for nearly every record.
  return text.includes("\\u") ? JSON.stringify(storableJson(value)) : text;
}

const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_SPECIALS = /[\\\t\n\r]/g;
const COPY_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

/** `text` as a field of COPY's text format: backslash, tab, newline and CR escaped. */
function copyField(text: string): string {
  return COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIALS, (c) => COPY_ESCAPES[c]!) : text;
}

/** `rows` in COPY's text format, in the table's column order. */
export function copyText(table: PgTable<unknown>, rows: readonly unknown[]): string {
  const columns = table.columns;
  let out = "";
  for (const row of rows) {
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i]!;
      const value = column.get(row);
      if (i > 0) out += "\t";
      if (value === null) out += "\\N";
      else if (typeof value === "number") out += String(value);
      else if (column.type === "jsonb") out += copyField(jsonText(value));
      else out += copyField(storable(value as string));
    }
    out += "\n";
  }
  return out;
}

/** The session-local staging table of `table`. */
function stage(table: PgTable<unknown>): string {
  return `spark_stage_${table.name}`;
}

/** Creates the staging table of `table` in this session unless it exists. */
function createStage(table: PgTable<unknown>): string {
  return `create temp table if not exists ${stage(table)} (${
    table.columns.map((c) => `${c.name} text`).join(", ")
  }) on commit delete rows`;
}

/** Moves the staged rows into `table`, in id order; `upsert` decides on conflict. */
function moveStaged(table: PgTable<unknown>, upsert: boolean): string {
  const names = table.columns.map((c) => c.name).join(", ");
  const select = table.columns
    .map((c) => (c.type === "text" ? c.name : `${c.name}::${c.type}`))
    .join(", ");
  const conflict = upsert
    ? ` on conflict (${table.id}) do update set ${
      table.columns.slice(1).map((c) => `${c.name} = excluded.${c.name}`).join(", ")
    }`
    : "";
  return `insert into ${table.name} (${names}) select ${select} from ${
    stage(table)
  } order by ${table.id}${conflict}`;
}

function columnList(table: PgTable<unknown>): string {
  return table.columns.map((c) => c.name).join(", ");
}

/** The next `upsert` flag after a refused COPY; a refusal while upserting is an error. */
function refused(upsert: boolean): true {
  if (upsert) throw new Error("PostgreSQL rolled back a batch without reporting why");
  return true;
}

/** Statement texts, built once per table and mode. */
const MOVE = new Map<string, string>();

function moveStatement(table: PgTable<unknown>, upsert: boolean): string {
  const key = `${table.name}:${upsert}`;
  let text = MOVE.get(key);
  if (text === undefined) MOVE.set(key, text = moveStaged(table, upsert));
  return text;
}

/**
 * How long a COPY may take to be acknowledged once all its data is sent.
 * Only a server that answers the COPY with an error (a cancel, a disk
 * failure) makes postgres.js wait forever; a lost connection is noticed at
 * once (see {@linkcode PgWriter}).
 */
export const COPY_TIMEOUT_MS = 60_000;

/** One table's share of a batch, serialised once for every attempt. */
interface Staged {
  table: PgTable<unknown>;
  data: string;
}

function stageBatch(batch: Batch): Staged[] {
  const staged: Staged[] = [];
  for (const { field, table } of TABLES) {
    const records = batch[field] as readonly unknown[];
    if (records.length > 0) {
      staged.push({ table, data: copyText(table, uniqueById(table, records)) });
    }
  }
  return staged;
}

/** An error that `toBackendError` reports as `CONNECTION` (so the worker retries). */
function lost(why: string, code: string): Error {
  return Object.assign(new Error(why), { code });
}

/**
 * Writes batches through one dedicated connection (a postgres.js client
 * with `max: 1`, made by `connect`), so that it can run BEGIN ... COMMIT
 * itself and knows which connection a COPY is on.
 *
 * Why not `sql.begin()`: when the connection dies inside it, postgres.js
 * 3.4.9 sends its automatic ROLLBACK on the dead connection from a
 * `setImmediate`, which throws an uncaught TypeError (`socket` is null) and
 * takes the process down. Here a connection failure ends the attempt with
 * nothing more sent (the server rolls the transaction back by itself), and
 * the client is replaced.
 *
 * How COPY is made safe: postgres.js resolves a COPY's writable stream on
 * the server's CommandComplete only; when the connection closes or the
 * server refuses the COPY, the stream neither finishes nor errors.
 *
 * - A COPY straight into a table is not waited for at all: once its data
 *   and CopyDone are sent, the next statement (or COMMIT) follows at once.
 *   A refusal then shows as an error of the next statement
 *   (`in_failed_sql_transaction`) or as COMMIT answering ROLLBACK, and the
 *   batch is written again with upserts, on a fresh client (the refused
 *   stream's leftovers stay behind on the old one).
 * - A COPY into a staging table is waited for, bounded: the client's
 *   `onclose` fails the wait at once when the connection closes, and past
 *   `copyTimeoutMs` the client is destroyed (the server rolls back). Both
 *   throw connection errors, so the flusher worker keeps the batch and
 *   retries it.
 * - Once CopyDone is sent, the stream's destroy no longer sends CopyFail:
 *   it would otherwise fire when the stream finishes and cancel whichever
 *   COPY is streaming by then.
 */
export class PgWriter {
  #connect: (onclose: () => void) => Sql;
  #sql: Sql | null = null;
  #copyTimeoutMs: number;
  #onClose: (() => void) | null = null;

  constructor(connect: (onclose: () => void) => Sql, copyTimeoutMs: number = COPY_TIMEOUT_MS) {
    this.#connect = connect;
    this.#copyTimeoutMs = copyTimeoutMs;
  }

  #client(): Sql {
    if (this.#sql !== null) return this.#sql;
    // A discarded client closing late must not fail a newer client's COPY.
    const sql: Sql = this.#connect(() => {
      if (this.#sql === sql) this.#onClose?.();
    });
    return this.#sql = sql;
  }

  /** Destroys the client (and its connection); the next write makes a new one. */
  #discard(): void {
    const sql = this.#sql;
    this.#sql = null;
    sql?.end({ timeout: 0 }).catch(() => {});
  }

  /**
   * Writes a batch in one transaction: stored whole or not at all, and a
   * replayed batch stores nothing twice.
   */
  async write(batch: Batch): Promise<void> {
    const staged = stageBatch(batch);
    if (staged.length === 0) return;
    let create = false;
    let upsert = false;
    for (;;) {
      const sql = this.#client();
      try {
        // Pipelined where the order of failures stays clear: BEGIN goes
        // out with the first COPY (or CREATE), the last move with COMMIT.
        let begun: Promise<unknown> | null = sql.unsafe("begin").execute();
        // Awaited with the first COPY; this only keeps a failure that an
        // earlier CREATE reports first from going unhandled.
        begun.catch(() => {});
        let lastMove: Promise<unknown> | null = null;
        for (let i = 0; i < staged.length; i++) {
          const { table, data } = staged[i]!;
          if (upsert || table === TRACES) {
            if (create) await sql.unsafe(createStage(table));
            await this.#copy(sql, stage(table), data, begun, false);
            // postgres.js sends a query when it is awaited or executed: now.
            const move = sql.unsafe(moveStatement(table, upsert || table === TRACES), [], {
              prepare: true,
            }).execute();
            if (i < staged.length - 1) await move;
            else lastMove = move;
          } else {
            await this.#copy(sql, `${table.name} (${columnList(table)})`, data, begun, true);
          }
          begun = null;
        }
        const [, committed] = await Promise.all([lastMove, sql.unsafe("commit").execute()]);
        // A COPY straight into a table that the server refused (an id
        // already stored) shows only here: COMMIT of an aborted
        // transaction rolls back.
        if (committed.command === "COMMIT") return;
        upsert = refused(upsert);
        // The refused COPY's stream never finished, and postgres.js keeps
        // its completion callback: the next CommandComplete on this
        // connection would finish it, and the stream's auto-destroy would
        // then send CopyFail into whatever COPY runs then. A fresh client
        // leaves all of that behind (replays are rare).
        this.#discard();
        continue;
      } catch (error) {
        if (isConnectionError(error)) {
          // postgres.js can leave a connection that failed mid-COPY unusable
          // after it reconnects; a fresh client is cheap next to a lost batch.
          this.#discard();
          throw error;
        }
        const code = (error as { code?: unknown } | null)?.code;
        if (code === "25P02" && !upsert) {
          // A statement after a refused COPY straight into a table: as above.
          this.#discard();
          upsert = true;
          continue;
        }
        // A statement failed; the connection is fine and its transaction aborted.
        await sql.unsafe("rollback").catch(() => {});
        // A session's first batch: its staging tables do not exist yet.
        if (code === "42P01" && !create) create = true;
        // An id already stored (a replay, or another writer first): upsert.
        else if (code === "23505" && !upsert) upsert = true;
        else throw error;
      }
    }
  }

  async #copy(
    sql: Sql,
    target: string,
    data: string,
    before: Promise<unknown> | null,
    untilSent: boolean,
  ): Promise<void> {
    const opened = sql.unsafe(`copy ${target} from stdin`).writable();
    // Both settle (the COPY fails too if BEGIN did); report BEGIN's failure first.
    const [, writable] = await Promise.all([before, opened]);
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const done = (error?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#onClose = null;
        if (error) reject(error);
        else resolve();
      };
      const timer = setTimeout(() => {
        done(lost(`no answer to a COPY within ${this.#copyTimeoutMs} ms`, "ETIMEDOUT"));
        this.#discard();
      }, this.#copyTimeoutMs);
      this.#onClose = () => done(lost("the connection closed during a COPY", "CONNECTION_CLOSED"));
      // Stays attached: an error after the wait has ended is no news.
      writable.on("error", done);
      writable.on("finish", () => done());
      // Node streams call `_final` once every chunk is written; postgres.js
      // sends CopyDone there and accepts further queries from then on.
      const final = writable._final!;
      writable._final = function (this: typeof writable, callback) {
        final.call(this, callback);
        // postgres.js's destroy sends CopyFail, and the stream destroys
        // itself once it finishes, i.e. when the server has acknowledged
        // this COPY — by which time a COPY sent after it may be streaming,
        // and the CopyFail would cancel that one. From here on the COPY
        // can no longer be failed from this side anyway.
        this._destroy = (error, cb) => cb(error);
        if (untilSent) done();
      };
      writable.end(data);
    });
  }

  /** Closes the connection, letting a write in flight finish (`timeout` seconds at most). */
  async close(timeout: number): Promise<void> {
    const sql = this.#sql;
    this.#sql = null;
    await sql?.end({ timeout });
  }
}
