/**
 * Fixtures of the viewer's tests: a trace whose stored values are hostile
 * markup (span name, attribute, error message, event), and helpers that
 * start `deno task ui` as a subprocess and hash a store file.
 *
 * @module
 */
import type { Batch } from "../mod.ts";

/** The trace id of {@linkcode hostileBatch}. */
export const HOSTILE_TRACE = "feedfacefeedfacefeedfacefeedface";
/** A span name that runs script if rendered as markup. */
export const HOSTILE_NAME = '<img src=x onerror="window.__xss=1">';
/** An attribute value that closes an attribute and opens a script. */
export const HOSTILE_ATTRIBUTE = '"><script>window.__xss=2</script>';
/** An error message with markup. */
export const HOSTILE_MESSAGE = '</pre><svg onload="window.__xss=3"></svg>';

/**
 * One failed trace whose every text is hostile markup.
 *
 * @param t0 Start time, seconds since the epoch.
 * @returns The batch.
 */
export function hostileBatch(t0: number): Batch {
  return {
    traces: [{
      traceId: HOSTILE_TRACE,
      name: HOSTILE_NAME,
      startTime: t0,
      endTime: t0 + 2,
      status: "error",
      attributes: { "graph.id": HOSTILE_ATTRIBUTE },
      resource: {},
    }],
    spans: [
      {
        spanId: "feedfacefeedfac1",
        traceId: HOSTILE_TRACE,
        parentSpanId: null,
        name: HOSTILE_NAME,
        kind: "graph_run",
        startTime: t0,
        endTime: t0 + 2,
        status: "error",
        attributes: { [HOSTILE_ATTRIBUTE]: HOSTILE_ATTRIBUTE, "llm.model": HOSTILE_NAME },
        error: { type: "<b>Boom</b>", message: HOSTILE_MESSAGE, stack: HOSTILE_ATTRIBUTE },
        droppedEvents: 0,
      },
      {
        spanId: "feedfacefeedfac2",
        traceId: HOSTILE_TRACE,
        parentSpanId: "feedfacefeedfac1",
        name: "ok child",
        kind: "tool_call",
        startTime: t0 + 0.5,
        endTime: t0 + 1,
        status: "ok",
        attributes: {},
        error: null,
        droppedEvents: 0,
      },
    ],
    events: [{
      eventId: "feedfacefeedfacefeedfacefeedfac3",
      eventType: "error.occurred",
      name: HOSTILE_NAME,
      timestamp: t0 + 1.5,
      traceId: HOSTILE_TRACE,
      spanId: "feedfacefeedfac1",
      attributes: { message: HOSTILE_MESSAGE },
    }],
    metrics: [],
  };
}

/** A running `deno task ui` subprocess. */
export interface UiProcess extends AsyncDisposable {
  /** The URL it printed. */
  url: string;
  /** Everything it printed so far. */
  output: () => string;
}

/**
 * Starts `src/cli/ui/cli.ts` with `args` (add `--port 0`) and waits for the
 * line with its URL.
 *
 * @param args Arguments.
 * @returns The process; dispose it to stop it (SIGTERM, then wait).
 */
export async function startUi(args: string[]): Promise<UiProcess> {
  const cli = new URL("../src/cli/ui/cli.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const deadline = Date.now() + 60_000;
  let url: string | undefined;
  while (url === undefined) {
    url = /http:\/\/127\.0\.0\.1:\d+\//.exec(text)?.[0];
    if (url !== undefined) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`deno task ui printed no URL within 60 s:\n${text}`);
    }
    const status = await Promise.race([
      child.status,
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 50)),
    ]);
    if (status !== null) throw new Error(`deno task ui exited with ${status.code}:\n${text}`);
  }
  return {
    url,
    output: () => text,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await pumps;
    },
  };
}

/**
 * SHA-256, size and modification time of a store file. (A reader of a file
 * in WAL mode, as the writer leaves a store, gets SQLite's empty `-wal` and
 * `-shm` companions, as the README says of the query CLI; the store file
 * itself must not change.)
 *
 * @param path The file.
 * @returns A fingerprint to compare.
 */
export async function fingerprint(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const stat = await Deno.stat(path);
  return `${hex} ${stat.size} ${stat.mtime?.getTime()}`;
}
