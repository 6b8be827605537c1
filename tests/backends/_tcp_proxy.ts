/**
 * A TCP proxy on 127.0.0.1 that a test stops and starts, to cut the network
 * between a client and its server: {@linkcode TcpProxy.stop} closes the
 * listener and every piped connection abruptly (both sides see the
 * connection end at once, mid-message or not); {@linkcode TcpProxy.start}
 * listens again on the same port.
 *
 * @module
 */

/** A stoppable TCP proxy from a local port to `target`. */
export class TcpProxy {
  /** The port clients connect to. */
  readonly port: number;
  readonly #target: Deno.ConnectOptions;
  #listener: Deno.Listener | null = null;
  #accepting: Promise<void> | null = null;
  #conns = new Set<Deno.Conn>();
  /** Connections accepted so far (each piped to its own server connection). */
  accepted = 0;

  private constructor(port: number, target: Deno.ConnectOptions) {
    this.port = port;
    this.#target = target;
  }

  /**
   * A proxy on a free port, not listening yet.
   *
   * @param target Where connections are piped to.
   */
  static create(target: Deno.ConnectOptions): TcpProxy {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (probe.addr as Deno.NetAddr).port;
    probe.close();
    return new TcpProxy(port, target);
  }

  /** Whether the proxy is listening. */
  get listening(): boolean {
    return this.#listener !== null;
  }

  /** Listens on {@linkcode TcpProxy.port} (again). */
  start(): void {
    if (this.#listener !== null) return;
    // The port was just ours; a TIME_WAIT socket does not stop a new listener.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: this.port });
    this.#listener = listener;
    this.#accepting = this.#accept(listener);
  }

  /** Closes the listener and every piped connection at once. */
  async stop(): Promise<void> {
    const listener = this.#listener;
    this.#listener = null;
    if (listener === null) return;
    listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    this.#conns.clear();
    await this.#accepting;
  }

  async #accept(listener: Deno.Listener): Promise<void> {
    for (;;) {
      let client: Deno.Conn;
      try {
        client = await listener.accept();
      } catch {
        return; // the listener was closed
      }
      this.accepted++;
      this.#pipe(client, listener);
    }
  }

  async #pipe(client: Deno.Conn, listener: Deno.Listener): Promise<void> {
    this.#conns.add(client);
    let server: Deno.Conn;
    try {
      server = await Deno.connect(this.#target);
    } catch {
      this.#conns.delete(client);
      closeQuietly(client);
      return;
    }
    if (this.#listener !== listener) {
      // Stopped while connecting.
      closeQuietly(server);
      closeQuietly(client);
      return;
    }
    this.#conns.add(server);
    const both = (): void => {
      this.#conns.delete(client);
      this.#conns.delete(server);
      closeQuietly(client);
      closeQuietly(server);
    };
    // Either direction ending (or failing) ends the pair, as a cut cable would.
    copy(client, server).finally(both);
    copy(server, client).finally(both);
  }
}

async function copy(from: Deno.Conn, to: Deno.Conn): Promise<void> {
  const buffer = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await from.read(buffer);
      if (n === null) return;
      let off = 0;
      while (off < n) off += await to.write(buffer.subarray(off, n));
    }
  } catch {
    // Closed under us: the pair is being torn down.
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
