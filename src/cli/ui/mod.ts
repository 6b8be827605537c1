/**
 * The web trace viewer: a local, read-only web page over stored telemetry —
 * the trace list (live), any query of the query language as a table or chart,
 * one trace as a waterfall with a span detail pane, and the performance
 * analysis of graph runs.
 *
 * From the terminal, `deno task ui` serves it for a SQLite file or a
 * PostgreSQL database (see `docs/viewer.md`). From a running application,
 * {@linkcode serveViewer} serves the data of an in-process
 * `TelemetryManager` (any backend, memory included), so its traces appear
 * as they are recorded:
 *
 * ```ts ignore
 * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import { serveViewer } from "@spark/telemetry/ui";
 *
 * const manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const viewer = serveViewer({ manager });
 * console.log(`traces at ${viewer.url}`);
 * ```
 *
 * Every page and API answer comes from query plans run through the store's
 * query path (no SQL endpoint); only `GET` routes exist; stored values are
 * rendered as escaped text under a Content-Security-Policy that forbids
 * inline script.
 *
 * @module
 */
import type { Backend } from "../../backends/backend.ts";
import type { QueryPlan, QueryRow } from "../../../query/plan.ts";
import { createViewerApp } from "./_app.ts";

/** The port `deno task ui` and {@linkcode serveViewer} listen on unless told otherwise. */
export const DEFAULT_VIEWER_PORT = 7766;

/** Anything that runs query plans: a `TelemetryManager`, or an object with `runPlan`. */
export interface ViewerPlanRunner {
  /** Runs a plan and returns its rows (`TelemetryManager.runPlan`). */
  runPlan(plan: QueryPlan): Promise<QueryRow[]>;
}

/** Options of {@linkcode serveViewer}: give `manager` or `backend`. */
export interface ServeViewerOptions {
  /**
   * The manager whose data to show (`TelemetryManager`): each query sees
   * everything it recorded before. Give this or `backend`.
   *
   * @default {undefined}
   */
  manager?: ViewerPlanRunner;
  /**
   * A store opened by the caller (e.g. read-only with `readOnly: true`); the
   * viewer queries it and never closes it. Give this or `manager`.
   *
   * @default {undefined}
   */
  backend?: Backend;
  /**
   * The TCP port; `0` picks a free one (read it from `url`).
   *
   * @default {7766}
   */
  port?: number;
  /**
   * The interface to listen on. Anything but loopback makes the stored data
   * visible to the network.
   *
   * @default {"127.0.0.1"}
   */
  hostname?: string;
  /**
   * Aborting it shuts the server down.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
}

/** A running viewer. */
export interface ViewerServer extends AsyncDisposable {
  /** The address of the list page, e.g. `http://127.0.0.1:7766/`. */
  readonly url: string;
  /** The port listened on. */
  readonly port: number;
  /** Resolves when the server has stopped. */
  readonly finished: Promise<void>;
  /** Stops accepting connections and waits for open requests to finish. */
  shutdown(): Promise<void>;
}

/**
 * Serves the web trace viewer for an in-process manager or an opened
 * backend. The server runs until `shutdown()`, disposal (`await using`) or
 * the abort of `signal`; it reads only (the routes run query plans) and
 * never closes what it was given.
 *
 * @param options The data source, port, interface and abort signal.
 * @returns The running server.
 * @throws {TypeError} When neither or both of `manager` and `backend` are given.
 * @throws {RangeError} When `port` is not a whole number in 0..65535.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import { serveViewer } from "@spark/telemetry/ui";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * await using viewer = serveViewer({ manager, port: 0 });
 * await manager.withSpan("fetch", { kind: "tool_call" }, () => {});
 * const response = await fetch(new URL("api/query?q=spans | count()", viewer.url));
 * assert.deepEqual((await response.json()).rows, [{ "count()": 1 }]);
 * ```
 */
export function serveViewer(options: ServeViewerOptions): ViewerServer {
  const { manager, backend } = options;
  if ((manager === undefined) === (backend === undefined)) {
    throw new TypeError("Cannot serve the viewer: give exactly one of `manager` and `backend`");
  }
  const port = options.port ?? DEFAULT_VIEWER_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot serve the viewer: port must be a whole number in 0..65535, got ${port}`,
    );
  }
  const hostname = options.hostname ?? "127.0.0.1";
  const run = manager !== undefined
    ? (plan: QueryPlan) => manager.runPlan(plan)
    : (plan: QueryPlan) => backend!.query(plan);
  const app = createViewerApp(run);
  const controller = new AbortController();
  const abort = () => controller.abort();
  options.signal?.addEventListener("abort", abort, { once: true });
  if (options.signal?.aborted) controller.abort();
  const server = Deno.serve({
    port,
    hostname,
    signal: controller.signal,
    onListen: () => {},
  }, app.fetch);
  const host = hostname.includes(":")
    ? `[${hostname}]`
    : hostname === "0.0.0.0"
    ? "127.0.0.1"
    : hostname;
  const url = `http://${host}:${server.addr.port}/`;
  const finished = server.finished.finally(() =>
    options.signal?.removeEventListener("abort", abort)
  );
  const shutdown = async () => {
    await server.shutdown();
    await finished;
  };
  return {
    url,
    port: server.addr.port,
    finished,
    shutdown,
    [Symbol.asyncDispose]: shutdown,
  };
}
