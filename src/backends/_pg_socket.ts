/**
 * The socket postgres.js talks through (its `socket` option), for two
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
 *   `pg_terminate_backend`, `tests/postgresql_reconnect_test.ts`). The flag
 *   only raised postgres.js's reconnect backoff.
 *
 * @module
 */
import net from "node:net";

/** What postgres.js passes to its `socket` function (the parsed options). */
interface SocketOptions {
  host: string[];
  port: number[];
  path?: string | false;
  connect_timeout?: number | null;
}

class QuietSocket extends net.Socket {
  // deno-lint-ignore no-explicit-any
  override emit(event: string | symbol, ...args: any[]): boolean {
    if (event === "error" && this.listenerCount("error") === 0) return false;
    if (event === "close") return super.emit("close", false);
    return super.emit(event, ...args);
  }
}

function connectOne(
  connect: (socket: net.Socket) => void,
  timeoutSeconds: number,
  where: string,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = new QuietSocket();
    const timer = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connect ETIMEDOUT ${where}`), { code: "ETIMEDOUT" }));
    }, timeoutSeconds * 1000);
    socket.once("error", (error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    });
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      socket.setNoDelay(true);
      resolve(socket);
    });
    connect(socket);
  });
}

/**
 * Opens a connected socket to the first reachable host of `options`.
 *
 * @returns The socket, with noDelay set.
 */
export async function openSocket(options: SocketOptions): Promise<net.Socket> {
  const timeout = options.connect_timeout ?? 30;
  if (options.path) {
    const path = options.path;
    return await connectOne((s) => s.connect(path), timeout, path);
  }
  let last: unknown = null;
  for (let i = 0; i < options.host.length; i++) {
    const host = options.host[i]!;
    const port = options.port[i] ?? options.port[0] ?? 5432;
    try {
      const socket = await connectOne((s) => s.connect(port, host), timeout, `${host}:${port}`);
      // postgres.js names host and port in its own connection errors.
      Object.assign(socket, { host, port });
      return socket;
    } catch (error) {
      last = error;
    }
  }
  throw last;
}
