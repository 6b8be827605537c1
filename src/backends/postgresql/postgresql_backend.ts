/**
 * {@linkcode PostgresqlBackend}: stores records in PostgreSQL through
 * postgres.js, for several processes and hosts writing into one store.
 *
 * @module
 */
import postgres, { type Sql } from "postgres";
import type { QueryPlan, QueryRow } from "../../../query/plan.ts";
import type { Batch } from "../../model/types.ts";
import { suggest } from "../../suggest.ts";
import { type Backend, BackendError } from "../backend.ts";
import {
  describeError,
  describeTarget,
  isConnectionError,
  type PgTarget,
  toBackendError,
} from "./_errors.ts";
import { ingestParameters, ingestText, isUniqueViolation } from "./_ingest.ts";
import { deleteOlderThan } from "./_retention.ts";
import { checkStore, migrate, SCHEMA_NAME } from "./_schema.ts";
import { openSocket } from "./_socket.ts";
import { validateBatch } from "../validate_batch.ts";
import { runQuery } from "./_query.ts";
import { BACKEND_CONFIG_KEYS } from "../config_keys.ts";
import { queryTimeoutError } from "../../../query/deadline.ts";

/** Settings of a {@linkcode PostgresqlBackend} (`TelemetryConfig.backendConfig`). */
export interface PostgresqlBackendOptions {
  /**
   * A connection URL, `postgres://user:password@host:port/database`; when
   * given, it wins over `host`, `port`, `database`, `user` and `password`.
   */
  url?: string;
  /** Server host name or address. @default {"localhost"} */
  host?: string;
  /** Server port. @default {5432} */
  port?: number;
  /** Database name. @default {"spark_telemetry"} */
  database?: string;
  /** User name. @default {"postgres"} */
  user?: string;
  /** Password; never appears in error messages. */
  password?: string;
  /**
   * Schema holding the tables, created if missing. Lets several
   * applications (or test runs) share one database without colliding.
   * Lowercase letters, digits and `_`.
   * @default {"public"}
   */
  schema?: string;
  /**
   * Connections in all: one carries every write (pipelined, in order), the
   * rest serve queries and retention. With 1, writes and queries share it.
   * @default {4}
   */
  maxConnections?: number;
  /** Seconds to wait for a connection to be established. @default {10} */
  connectTimeoutSeconds?: number;
  /** Rows deleted per statement by {@linkcode PostgresqlBackend.applyRetention}. @default {5000} */
  retentionBatchSize?: number;
  /**
   * Open an existing store for queries only (the query CLI, readers): no
   * schema, table or index is created or migrated, every session is
   * read-only on the server (`default_transaction_read_only`), and writes
   * and retention fail with `"WRITE_FAILED"`. A schema that is not a
   * @spark/telemetry store of this schema version (missing, a table
   * missing, no or another version) is refused with `"BAD_CONFIG"`.
   * @default {false}
   */
  readOnly?: boolean;
  /**
   * Milliseconds a query statement may run (the server's
   * `statement_timeout`); past it the server cancels it and
   * {@linkcode PostgresqlBackend.query} throws `"QUERY_TIMEOUT"`.
   * @default {0} (no limit)
   */
  queryTimeoutMs?: number;
}

const OPTION_KEYS = BACKEND_CONFIG_KEYS.postgresql;

function badConfig(why: string): BackendError {
  return new BackendError("BAD_CONFIG", `Cannot open the PostgreSQL backend: ${why}`);
}

function checkOptions(options: PostgresqlBackendOptions): void {
  if (options === null || typeof options !== "object") throw badConfig("options must be an object");
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      const hint = suggest(key, OPTION_KEYS);
      throw badConfig(`unknown option '${key}'${hint ? ` — did you mean '${hint}'?` : ""}`);
    }
  }
  for (const key of ["url", "host", "database", "user", "password", "schema"] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== "string") {
      throw badConfig(`${key} must be a string, got ${typeof value}`);
    }
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== "boolean") {
    throw badConfig(`readOnly must be a boolean, got ${typeof options.readOnly}`);
  }
  const timeout = options.queryTimeoutMs;
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0)) {
    throw badConfig(`queryTimeoutMs must be a whole number >= 0, got ${String(timeout)}`);
  }
  for (
    const key of ["port", "maxConnections", "connectTimeoutSeconds", "retentionBatchSize"] as const
  ) {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
      throw badConfig(`${key} must be a whole number >= 1, got ${String(value)}`);
    }
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== "boolean") {
    throw badConfig(`readOnly must be true or false, got ${typeof options.readOnly}`);
  }
  if (options.schema !== undefined && !SCHEMA_NAME.test(options.schema)) {
    throw badConfig(
      `schema must be lowercase letters, digits and '_' (not starting with a digit), got ${
        JSON.stringify(options.schema)
      }`,
    );
  }
}

/** The URL with anything between `scheme://user:` and the last `@` masked. */
function redactUrl(url: string): string {
  return url.replace(/^([^:/]*:\/\/[^:@/]*:)(.*)@/, "$1***@");
}

/**
 * A {@linkcode Backend} storing records in PostgreSQL. {@linkcode
 * PostgresqlBackend.open} connects and creates or migrates the schema; a
 * batch is upserted in one statement, so it is stored whole or not at all
 * and a replayed batch stores no duplicates. When the connection is lost the
 * call in flight throws a `BackendError` with code `"CONNECTION"` and the
 * next call connects again.
 *
 * Every write goes over one connection of its own, so writes that overlap
 * ({@linkcode PostgresqlBackend.writePipelineDepth}) are pipelined: sent
 * back to back, and applied by the server in the order they were called.
 *
 * @example Settings are checked before anything connects
 * ```ts
 * import { PostgresqlBackend } from "@spark/telemetry/postgresql";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   PostgresqlBackend.open({ url: "postgres://localhost/telemetry", schema: "Bad Name" }),
 *   { name: "BackendError", code: "BAD_CONFIG" },
 * );
 * ```
 *
 * @example Writing and querying (needs a server)
 * ```ts ignore
 * import { PostgresqlBackend } from "@spark/telemetry/postgresql";
 * import assert from "node:assert/strict";
 *
 * await using backend = await PostgresqlBackend.open({
 *   url: "postgres://postgres@127.0.0.1:5432/test",
 *   schema: "telemetry",
 * });
 * await backend.write({ traces: [], spans: [], events: [], metrics: [] });
 * const rows = await backend.query({
 *   type: "select", entity: "spans", where: null, orderBy: [], limit: 10, offset: 0,
 * });
 * assert.ok(Array.isArray(rows));
 * ```
 */
export class PostgresqlBackend implements Backend, AsyncDisposable {
  /** Always `"postgresql"`. */
  readonly name: string = "postgresql";
  /** The schema holding the tables. */
  readonly schema: string;
  /**
   * Writes in flight the flusher may keep (see {@linkcode Backend}): while
   * the server stores one batch the worker builds the next. Both are
   * pipelined on the one write connection, so they apply in call order.
   */
  readonly writePipelineDepth: number = 2;
  /** Queries, retention and migrations. */
  #sql: Sql;
  /** Writes only: a pool of one connection, so its statements run in call order. */
  #writer: Sql;
  #target: PgTarget;
  #password: string | undefined;
  #retentionBatchSize: number;
  #readOnly = false;
  #queryTimeoutMs = 0;
  #closed = false;
  /** `write()` calls so far: tells a write whether later ones were sent behind it. */
  #writeCalls = 0;
  /** Batches that met stored ids while later writes were in flight: upserted when re-sent. */
  #replayed = new WeakSet<Batch>();

  private constructor(sql: Sql, writer: Sql, schema: string, retentionBatchSize: number) {
    this.#sql = sql;
    this.#writer = writer;
    this.schema = schema;
    this.#retentionBatchSize = retentionBatchSize;
    const o = sql.options as unknown as {
      host: string[];
      port: number[];
      database: string;
      user: string;
      pass: unknown;
    };
    this.#target = {
      user: o.user,
      host: o.host.join(","),
      port: o.port[0] ?? 5432,
      database: o.database,
    };
    this.#password = typeof o.pass === "string" && o.pass !== "" ? o.pass : undefined;
  }

  /**
   * Connects, then creates the schema and tables or migrates them to the
   * current version (safe when several processes start at once).
   *
   * @param options Connection and schema settings.
   * @returns The open backend.
   * @throws {BackendError} `"BAD_CONFIG"` for invalid options; `"CONNECTION"`
   *   when the server cannot be reached, naming `user@host:port/database` and
   *   the reason (never the password).
   */
  static async open(options: PostgresqlBackendOptions = {}): Promise<PostgresqlBackend> {
    checkOptions(options);
    const schema = options.schema ?? "public";
    const maxConnections = options.maxConnections ?? 4;
    const settings = {
      connect_timeout: options.connectTimeoutSeconds ?? 10,
      // "relation already exists, skipping" and the like are expected here.
      onnotice: () => {},
      socket: openSocket,
      // We bind only text with explicit casts and read no array columns, so
      // the per-connection array-type lookup buys nothing, and postgres.js
      // leaves its failure unhandled when a connection dies mid-lookup.
      fetch_types: false,
      connection: {
        application_name: `spark_telemetry:${schema}`,
        search_path: schema,
        // Server settings of every session, sent at connect (reconnects too).
        ...(options.readOnly ? { default_transaction_read_only: true } : {}),
        ...(options.queryTimeoutMs ? { statement_timeout: options.queryTimeoutMs } : {}),
      },
    };
    const connect = (max: number): Sql =>
      options.url !== undefined ? postgres(options.url, { ...settings, max }) : postgres({
        ...settings,
        max,
        host: options.host ?? "localhost",
        port: options.port ?? 5432,
        database: options.database ?? "spark_telemetry",
        user: options.user ?? "postgres",
        ...(options.password !== undefined ? { password: options.password } : {}),
      });
    let sql: Sql;
    let writer: Sql;
    try {
      // Connections open on first use, so the write pool costs nothing until a write.
      writer = connect(1);
      sql = maxConnections === 1 ? writer : connect(maxConnections - 1);
    } catch (error) {
      // postgres.js throws synchronously only for a malformed URL or option;
      // URL errors quote the URL, password and all.
      const message = options.url === undefined
        ? (error as Error).message
        : (error as Error).message.replaceAll(options.url, redactUrl(options.url));
      throw badConfig(`invalid connection settings: ${message}`);
    }
    const backend = new PostgresqlBackend(sql, writer, schema, options.retentionBatchSize ?? 5000);
    backend.#readOnly = options.readOnly ?? false;
    backend.#queryTimeoutMs = options.queryTimeoutMs ?? 0;
    try {
      if (backend.#readOnly) await checkStore(sql, schema);
      else await migrate(sql, schema);
    } catch (error) {
      await sql.end({ timeout: 0 }).catch(() => {});
      await writer.end({ timeout: 0 }).catch(() => {});
      const where = describeTarget(backend.#target);
      if (error instanceof BackendError) {
        throw new BackendError(
          error.code,
          `Cannot open schema '${schema}' at ${where}: ${error.message}`,
          {
            cause: error,
          },
        );
      }
      const why = describeError(error, backend.#password);
      if (isConnectionError(error)) {
        throw new BackendError("CONNECTION", `Cannot connect to PostgreSQL at ${where}: ${why}`, {
          cause: error,
        });
      }
      // Authentication, a missing database, missing privileges: settings to fix.
      throw new BackendError("BAD_CONFIG", `Cannot open schema '${schema}' at ${where}: ${why}`, {
        cause: error,
      });
    }
    return backend;
  }

  #checkWritable(action: string): void {
    if (this.#readOnly) {
      throw new BackendError(
        "WRITE_FAILED",
        `Cannot ${action}: the PostgreSQL backend is read-only`,
      );
    }
  }

  #check(action: string): void {
    if (this.#closed) {
      throw new BackendError("CLOSED", `Cannot ${action}: the PostgreSQL backend is closed`);
    }
  }

  /**
   * Upserts a batch in one statement (one round trip, one transaction), on
   * the write connection: calls that overlap are applied in call order, and
   * one failing does not stop the next (the flusher re-sends both).
   *
   * Spans, events and metrics are first sent as plain inserts (see
   * `IngestMode` in `_ingest.ts`; cheaper for the server). When one of
   * their ids is already stored (a replay, or a caller writing a record
   * twice) the statement fails whole and is repeated as an upsert — at
   * once, when no later write was sent behind it; otherwise the call throws
   * `"WRITE_FAILED"` and the same batch object, written again once the
   * writes behind it have settled, is upserted (repeating it at once would
   * apply it after them, and an older trace could overwrite a newer one).
   *
   * @param batch The records.
   * @throws {BackendError} `"BAD_RECORD"` for an invalid record (nothing is
   *   written); `"CONNECTION"` when the connection failed (the batch was not
   *   stored, or was and a replay finds it stored); else `"WRITE_FAILED"`.
   */
  async write(batch: Batch): Promise<void> {
    this.#check("write a batch");
    this.#checkWritable("write a batch");
    validateBatch(batch, { metricNaN: true });
    const call = ++this.#writeCalls;
    try {
      const statement = ingestParameters(batch);
      if (statement === null) return;
      const { mask, parameters } = statement;
      if (this.#replayed.has(batch)) {
        await this.#writer.unsafe(ingestText(mask, "upsert"), parameters, { prepare: true });
        this.#replayed.delete(batch);
        return;
      }
      try {
        await this.#writer.unsafe(ingestText(mask, "insertOnce"), parameters, { prepare: true });
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
        if (call !== this.#writeCalls) {
          this.#replayed.add(batch);
          throw new BackendError(
            "WRITE_FAILED",
            "Cannot write a batch yet: some of its records are already stored (a replay) " +
              "and later writes are in flight; written again after them, it is upserted",
            // The unique violation is ours to resolve, not the record's.
            { cause: error, transient: true },
          );
        }
        await this.#writer.unsafe(ingestText(mask, "upsert"), parameters, { prepare: true });
      }
    } catch (error) {
      throw toBackendError("write a batch", error, this.#target, this.#password, "WRITE_FAILED");
    }
  }

  /**
   * Runs a query plan in the database.
   *
   * @param plan The plan.
   * @returns The rows, identical to every other backend's.
   * @throws {BackendError} `"CONNECTION"` or `"QUERY_FAILED"`; `"QUERY_TIMEOUT"` when the
   *   server cancelled it after `queryTimeoutMs`.
   */
  async query(plan: QueryPlan): Promise<QueryRow[]> {
    this.#check(`query ${plan.entity}`);
    try {
      return await runQuery(this.#sql, plan);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code === "57014") {
        // query_canceled: our statement_timeout (nothing else cancels ours).
        throw queryTimeoutError(this.#queryTimeoutMs);
      }
      throw toBackendError(
        `query ${plan.entity}`,
        error,
        this.#target,
        this.#password,
        "QUERY_FAILED",
      );
    }
  }

  /**
   * Deletes records older than `cutoff` in batches of `retentionBatchSize`
   * rows, each its own short transaction.
   *
   * @param cutoff Seconds since the epoch.
   * @returns How many records were deleted.
   */
  async applyRetention(cutoff: number): Promise<number> {
    this.#check("apply retention");
    this.#checkWritable("apply retention");
    try {
      return await deleteOlderThan(this.#sql, cutoff, this.#retentionBatchSize);
    } catch (error) {
      throw toBackendError(
        "apply retention",
        error,
        this.#target,
        this.#password,
        "WRITE_FAILED",
      );
    }
  }

  /** Closes the connections, letting calls in flight finish (5 s at most). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([
      this.#writer.end({ timeout: 5 }),
      this.#sql === this.#writer ? undefined : this.#sql.end({ timeout: 5 }),
    ]);
  }

  /** Same as {@linkcode PostgresqlBackend.close}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
