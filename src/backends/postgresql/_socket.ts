/**
 * The socket postgres.js talks through (its `socket` option), for three
 * reasons:
 *
 * - TCP noDelay, as libpq sets it: without it a client that sends two small
 *   messages in a row (COPY data then CopyDone, for one) waits ~40 ms for
 *   the server's delayed ACK (Nagle's algorithm).
 * - A connection the server ends (`pg_terminate_backend`, a restart) can
 *   report ECONNRESET after postgres.js has already closed it and removed
 *   its listeners; on a plain socket that late `error` event has no listener
 *   and crashes the process. The connection's queries have already failed
 *   by then, so the late event carries no news and is dropped.
 * - postgres.js fails the queries of a connection when its socket reports
 *   `error`, but keeps the connection in its pool until `close`; a query
 *   sent in between (a retry right after the failure, or the next
 *   pipelined write) goes to the dead socket, and a `close` flagged
 *   `hadError` does not fail it: it would wait forever. Reported as a clean
 *   close, `close` makes postgres.js fail every query still on the
 *   connection with `CONNECTION_CLOSED` (seen with two pipelined writes and
 *   `pg_terminate_backend`, `tests/backends/postgresql_reconnect_test.ts`). The flag
 *   only raised postgres.js's reconnect backoff (up to 20 s between
 *   attempts after a long outage); without it a lost connection is retried
 *   after 5-10 ms, as soon as a query asks for it.
 *
 * The socket is returned while it is still connecting, never a promise that
 * rejects: postgres.js 3.4.9 handles a failed connection only through the
 * socket's `error` and `close` events. When the `socket` function's promise
 * rejects it fails the query that asked, but leaves the connection in its
 * `connecting` state for good: no `close` ever moves it back to the pool, so
 * every later query on that pool waits forever. With one write connection,
 * one refused connect during an outage stopped all writing until the
 * process restarted. postgres.js buffers the startup message in the
 * connecting socket and applies its `connect_timeout` itself.
 *
 * @module
 */
import net from "node:net";

/** What postgres.js passes to its `socket` function (the parsed options). */
interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
}

class QuietSocket extends net.Socket {
  // deno-lint-ignore no-explicit-any
  override emit(event: string | symbol, ...args: any[]): boolean {
    if (event === "error" && this.listenerCount("error") === 0) return false;
    if (event === "close") return super.emit("close", false);
    return super.emit(event, ...args);
  }
}

/**
 * Which host of a multi-host setting to try next, per pool (postgres.js
 * passes the same options object for every connection of a pool): the one
 * that last worked, or the next after one that refused.
 */
const nextHost = new WeakMap<SocketOptions, number>();

/**
 * Starts connecting to the PostgreSQL server of `options` and returns the
 * socket at once. A failure to connect comes as the socket's `error` and
 * `close` events (which postgres.js turns into a failed query and a
 * reconnect on the next one); the next call then tries the next host.
 *
 * @returns The connecting socket; noDelay is set once it connects.
 */
export function openSocket(options: SocketOptions): net.Socket {
  const socket = new QuietSocket();
  socket.once("connect", () => socket.setNoDelay(true));
  if (options.path) {
    socket.connect(options.path);
    return socket;
  }
  const index = (nextHost.get(options) ?? 0) % options.host.length;
  const host = options.host[index]!;
  const port = options.port[index] ?? options.port[0] ?? 5432;
  // postgres.js names host and port in its own connection errors.
  Object.assign(socket, { host, port });
  socket.once("error", () => {
    if (socket.connecting) nextHost.set(options, index + 1);
  });
  socket.connect(port, host);
  return socket;
}
