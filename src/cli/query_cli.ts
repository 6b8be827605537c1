/**
 * `deno task query`: run a DSL query against a telemetry database, or draw
 * one trace as a waterfall. It opens the backend directly (no worker).
 *
 * ```sh
 * deno task query "spans where status=error limit 20" [--db telemetry.db | --url postgres://...]
 *                 [--format table|json|csv] [--explain]
 * deno task query --tree <trace_id>        # also: deno task query "trace <trace_id>"
 * ```
 *
 * It opens the store read-only: it never creates, migrates, analyzes or
 * switches the journal mode of what it reads, and refuses a missing file or
 * a database that is not a @spark/telemetry store.
 *
 * Exit codes: 0 on success, 2 on a bad query, bad arguments (the message
 * shows where, with a caret) or a database that is not a store, 1 on any
 * other failure.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type BackendSpec, openBackend } from "../backends/open_backend.ts";
import { type Backend, BackendError } from "../backends/backend.ts";
import type { SpanRecord } from "../model/types.ts";
import { parseQuery } from "../../query/parse_query.ts";
import { QuerySyntaxError } from "../../query/errors.ts";
import type { QueryPlan } from "../../query/plan.ts";
import { formatCsv, formatTable } from "./_format.ts";
import { renderWaterfall } from "./waterfall.ts";
import { explain } from "./_explain.ts";

const USAGE = `Usage:
  deno task query "<query>" [--db FILE | --url URL] [--format table|json|csv] [--explain]
  deno task query --tree <trace_id> [--db FILE | --url URL]

Options:
  --db FILE       SQLite database (default: telemetry.db)
  --url URL       PostgreSQL connection URL (postgres://...)
  --schema NAME   PostgreSQL schema holding the tables (default: public)
  --format F      table (default on a terminal), json or csv
  --explain       print the compiled SQL and its parameters instead of running it
  --tree ID       draw the trace ID as a waterfall
  --now SECONDS   the time 'now' and 'since' resolve against (default: the current time)
  -h, --help      this help
`;

class UsageError extends Error {}

/**
 * Runs the CLI.
 *
 * @param args Command-line arguments.
 * @returns The process exit code.
 */
export async function main(args: string[]): Promise<number> {
  let options;
  try {
    options = parseArgs({
      args,
      allowPositionals: true,
      options: {
        db: { type: "string" },
        url: { type: "string" },
        schema: { type: "string" },
        format: { type: "string" },
        explain: { type: "boolean", default: false },
        tree: { type: "string" },
        now: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (e) {
    return fail(new UsageError((e as Error).message));
  }
  const { values, positionals } = options;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const format = values.format ?? "table";
    if (!["table", "json", "csv"].includes(format)) {
      throw new UsageError(`Cannot format results as '${format}': use table, json or csv`);
    }
    if (values.db !== undefined && values.url !== undefined) {
      throw new UsageError("Cannot open two databases: give --db or --url, not both");
    }
    const now = values.now === undefined ? undefined : Number(values.now);
    if (now !== undefined && !Number.isFinite(now)) {
      throw new UsageError(`Cannot use --now ${values.now}: not a number of seconds`);
    }
    let text: string;
    let tree = false;
    if (values.tree !== undefined) {
      if (positionals.length > 0) throw new UsageError("Cannot combine --tree with a query");
      text = `trace ${JSON.stringify(values.tree)}`;
      tree = true;
    } else {
      if (positionals.length !== 1) {
        throw new UsageError(
          positionals.length === 0 ? "Cannot run: no query given" : "Cannot run: quote the query",
        );
      }
      text = positionals[0]!;
      tree = /^\s*trace\b/i.test(text);
    }
    const plan = parseQuery(text, now === undefined ? {} : { now });
    if (values.explain) {
      const dialect = values.url !== undefined ? "postgresql" : "sqlite";
      console.log(await explain(plan, dialect));
      return 0;
    }
    if (values.schema !== undefined && values.url === undefined) {
      throw new UsageError("Cannot use --schema without --url: it names a PostgreSQL schema");
    }
    const backend = await open(values.db, values.url, values.schema);
    try {
      const rows = await backend.query(plan);
      if (tree && rows.length === 0 && plan.where?.type === "compare") {
        throw new Error(`Cannot draw trace ${plan.where.value}: it has no spans`);
      }
      const output = render(plan, rows, format, tree);
      await writeAll(output.endsWith("\n") ? output : `${output}\n`);
    } finally {
      await backend.close();
    }
    return 0;
  } catch (e) {
    return fail(e);
  }
}

function render(
  plan: QueryPlan,
  rows: Record<string, unknown>[],
  format: string,
  tree: boolean,
): string {
  const color = Deno.stdout.isTerminal() && !Deno.env.get("NO_COLOR");
  if (format === "json") return JSON.stringify(rows, null, 2);
  if (format === "csv") return formatCsv(plan, rows);
  if (tree) return renderWaterfall(rows as unknown as SpanRecord[], { color });
  return formatTable(plan, rows, { color });
}

/** A store that cannot be read as one (missing, foreign, another version): exit code 2. */
class NotAStoreError extends Error {}

async function open(
  db: string | undefined,
  url: string | undefined,
  schema: string | undefined,
): Promise<Backend> {
  // Read-only: the CLI never creates, migrates or writes what it reads.
  const spec: BackendSpec = url !== undefined
    ? {
      backend: "postgresql",
      backendConfig: { url, readOnly: true, ...(schema !== undefined ? { schema } : {}) },
    }
    : { backend: "sqlite", backendConfig: { dbPath: db ?? "telemetry.db", readOnly: true } };
  try {
    return await openBackend(spec);
  } catch (e) {
    if (e instanceof BackendError && e.code === "BAD_CONFIG") {
      throw new NotAStoreError(e.message, { cause: e });
    }
    throw e;
  }
}

async function writeAll(text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  for (let written = 0; written < bytes.length;) {
    written += await Deno.stdout.write(bytes.subarray(written));
  }
}

function fail(error: unknown): number {
  if (
    error instanceof QuerySyntaxError || error instanceof UsageError ||
    error instanceof NotAStoreError
  ) {
    console.error(error.message);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    return 2;
  }
  console.error(error instanceof Error ? error.message : String(error));
  return 1;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
