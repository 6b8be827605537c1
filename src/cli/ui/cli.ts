/**
 * `deno task ui`: serves the web trace viewer for a telemetry store, opened
 * read-only (it never creates, migrates or writes what it shows).
 *
 * ```sh
 * deno task ui [--db telemetry.db | --url postgres://...] [--schema NAME] [--port 7766] [--hostname 127.0.0.1]
 * ```
 *
 * Exit codes: 0 after Ctrl-C, 2 on bad arguments or a database that is not
 * a store, 1 on any other failure.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type BackendSpec, openBackend } from "../../backends/open_backend.ts";
import { type Backend, BackendError } from "../../backends/backend.ts";
import { DEFAULT_VIEWER_PORT, serveViewer } from "./mod.ts";

const USAGE = `Usage:
  deno task ui [--db FILE | --url URL] [--schema NAME] [--port N] [--hostname HOST]

Options:
  --db FILE        SQLite database (default: telemetry.db, what deno task demo writes)
  --url URL        PostgreSQL connection URL (postgres://...)
  --schema NAME    PostgreSQL schema holding the tables (default: public)
  --port N         TCP port (default: ${DEFAULT_VIEWER_PORT}; 0 picks a free port)
  --hostname HOST  interface to listen on (default: 127.0.0.1, this machine only)
  -h, --help       this help
`;

class UsageError extends Error {}

/**
 * Runs the viewer until `signal` aborts (or Ctrl-C).
 *
 * @param args Command-line arguments.
 * @param signal Stops the server.
 * @returns The process exit code.
 */
export async function main(args: string[], signal?: AbortSignal): Promise<number> {
  let backend: Backend | undefined;
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args,
        options: {
          db: { type: "string" },
          url: { type: "string" },
          schema: { type: "string" },
          port: { type: "string" },
          hostname: { type: "string" },
          help: { type: "boolean", short: "h", default: false },
        },
      });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values } = parsed;
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (values.db !== undefined && values.url !== undefined) {
      throw new UsageError("Cannot open two databases: give --db or --url, not both");
    }
    if (values.schema !== undefined && values.url === undefined) {
      throw new UsageError("Cannot use --schema without --url: it names a PostgreSQL schema");
    }
    const port = values.port === undefined ? DEFAULT_VIEWER_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new UsageError(
        `Cannot listen on port '${values.port}': give a whole number in 0..65535`,
      );
    }
    const hostname = values.hostname ?? "127.0.0.1";
    const spec: BackendSpec = values.url !== undefined
      ? {
        backend: "postgresql",
        backendConfig: {
          url: values.url,
          readOnly: true,
          ...(values.schema !== undefined ? { schema: values.schema } : {}),
        },
      }
      : {
        backend: "sqlite",
        backendConfig: { dbPath: values.db ?? "telemetry.db", readOnly: true },
      };
    try {
      backend = await openBackend(spec);
    } catch (e) {
      if (e instanceof BackendError && e.code === "BAD_CONFIG") {
        console.error(e.message);
        return 2;
      }
      throw e;
    }
    const controller = new AbortController();
    signal?.addEventListener("abort", () => controller.abort(), { once: true });
    const stop = () => controller.abort();
    const interrupt = Deno.build.os === "windows" ? null : "SIGTERM";
    Deno.addSignalListener("SIGINT", stop);
    if (interrupt) Deno.addSignalListener(interrupt, stop);
    try {
      let server;
      try {
        server = serveViewer({ backend, port, hostname, signal: controller.signal });
      } catch (e) {
        if (e instanceof Deno.errors.AddrInUse) {
          throw new UsageError(
            `Cannot listen on ${hostname}:${port}: the port is in use (is a viewer already running?); pass --port 0 or another port`,
          );
        }
        throw e;
      }
      const source = values.url !== undefined
        ? `PostgreSQL ${redact(values.url)}`
        : (values.db ?? "telemetry.db");
      if (!isLoopback(hostname)) {
        console.error(
          `Warning: listening on ${hostname}: the stored telemetry is visible to anyone who can reach this address.`,
        );
      }
      const everywhere = hostname === "0.0.0.0" || hostname === "::";
      const shown = isLoopback(hostname) || everywhere
        ? `http://127.0.0.1:${server.port}/`
        : server.url;
      console.log(`Viewer for ${source} (read-only) at ${shown}`);
      console.log("Press Ctrl-C to stop.");
      await server.finished;
    } finally {
      Deno.removeSignalListener("SIGINT", stop);
      if (interrupt) Deno.removeSignalListener(interrupt, stop);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  } finally {
    await backend?.close();
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === "127.0.0.1" || hostname === "localhost" || hostname === "::1" ||
    hostname.startsWith("127.");
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(url)";
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
