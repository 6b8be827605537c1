/**
 * The reader worker: runs queries on a read-only connection of its own, so
 * a slow query never holds up the flusher worker that stores records.
 *
 * ```
 * application thread ──query(plan)──► Pipeline: waits until every record
 *        ▲                            recorded before the query is stored
 *        │                                      │
 *        │                              postMessage(query)
 *        │                                      ▼
 *        └──────queryResult / queryFailed── reader (this file)
 *                                           SQLite: read-only DatabaseSync (WAL lets it
 *                                             read while the writer writes)
 *                                           PostgreSQL: its own pool, read-only sessions,
 *                                             statement_timeout = queryTimeoutMs
 * ```
 *
 * The pipeline enforces the time limit. A query past `queryTimeoutMs` fails
 * with `"QUERY_TIMEOUT"`; PostgreSQL's server cancels the statement itself
 * (`statement_timeout`). node:sqlite cannot interrupt a statement, so the
 * pipeline writes the query's id into the shared `cancel` words, which
 * SQLite's registered functions (`regexp`, the percentile aggregate) check:
 * they stop working, the statement calling them ends soon, its result is
 * thrown away and this worker goes on. One
 * that does not answer soon (plain SQL over a huge table) gets this worker
 * terminated and replaced by a fresh one. Like the flusher it is a
 * `node:worker_threads` worker, unref'ed while idle, so it never keeps the
 * process alive.
 *
 * @module
 */
import { parentPort } from "node:worker_threads";
import { type ReaderMessage, toWireError } from "../src/pipeline/messages.ts";
import type { Backend } from "../src/backends/backend.ts";
import type { QueryPlan } from "../query/plan.ts";
import { openReader } from "../src/backends/open_reader.ts";

function post(message: ReaderMessage): void {
  parentPort!.postMessage(message);
}

let backend: Promise<Backend> | null = null;
let cancel: Int32Array<SharedArrayBuffer> = new Int32Array(new SharedArrayBuffer(8));

async function answer(id: number, plan: QueryPlan, store: Promise<Backend>): Promise<void> {
  try {
    const open = await store;
    // SQLite runs the statement synchronously inside query(): the words
    // name this query for its whole run.
    Atomics.store(cancel, 1, id);
    const rows = await open.query(plan);
    post({ type: "queryResult", id, rows });
  } catch (error) {
    post({ type: "queryFailed", id, error: toWireError(error, "QUERY_FAILED") });
  }
}

parentPort!.on("message", (message: ReaderMessage) => {
  if (message.type === "init") {
    cancel = new Int32Array(message.cancel);
    backend = openReader(message.spec, message.timeoutMs, cancel);
    backend.then(
      () => post({ type: "ready" }),
      (error) => post({ type: "fatal", error: toWireError(error, "CONNECTION") }),
    );
  } else if (message.type === "query" && backend !== null) {
    // Queries run as they come: PostgreSQL spreads them over its pool;
    // SQLite's synchronous statements run one after another anyway.
    answer(message.id, message.plan, backend);
  }
});
