/**
 * Bulk ingest: a whole batch (all four tables) as one
 * `insert ... select from unnest(...)` statement. By default
 * (`"insertOnce"`, see {@linkcode IngestMode}) spans, events and metrics are
 * plain inserts and only traces (written at start and again at end) are
 * upserted; a replay that meets a stored id fails whole and is repeated as
 * `"upsert"`, every table `on conflict do update`.
 *
 * Why this shape (`bench/postgresql_write_bench.ts` compares the others):
 * with the schema's indexes the server's index maintenance dominates, and
 * unnest, COPY through a staging table and `jsonb_to_recordset` come out
 * level, all well ahead of multi-row VALUES and single-row inserts. Unnest
 * wins on everything else: one statement is one round trip and is atomic
 * without BEGIN/COMMIT, the statement text is fixed per set of non-empty
 * tables so the server plans it once per connection, it needs no temporary
 * tables, and it cannot hit the Nagle / delayed-ACK stall that a
 * default-socket COPY does.
 *
 * The arrays are sent as PostgreSQL array literals that we build ourselves,
 * with each parameter typed by an explicit cast: the client then passes the
 * text through untouched instead of guessing element types from JS values.
 * Building them is the flusher worker's main cost per batch, so:
 *
 * - A jsonb column is not an array literal (which would backslash-escape
 *   every `"` of every JSON text) but the JSON texts joined by U+001F and
 *   split on the server by `string_to_array`, U+001E standing for null.
 *   `JSON.stringify` escapes every control character, so neither can occur
 *   inside a JSON text.
 * - A string is quoted without a regex replace when it holds no `"`, `\`
 *   or U+0000 (nearly all do not).
 *
 * @module
 */
import type { Sql } from "postgres";
import type { Batch } from "../../model/types.ts";
import { type PgTable, TABLES, uniqueById } from "./_tables.ts";

/** A PostgreSQL array literal of `values` (strings, numbers, nulls), for a `$n::type[]` parameter. */
export function arrayLiteral(values: readonly unknown[]): string {
  let out = "{";
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (i > 0) out += ",";
    if (value === null || value === undefined) out += "NULL";
    else if (typeof value === "number") out += String(value);
    else if (!NEEDS_REWRITE.test(value as string)) out += '"' + (value as string) + '"';
    else out += '"' + storable(value as string).replace(QUOTE_OR_BACKSLASH, "\\$&") + '"';
  }
  return out + "}";
}

const NEEDS_REWRITE = /["\\\0]/;
const QUOTE_OR_BACKSLASH = /["\\]/g;

/** Separates JSON texts in a jsonb column's parameter (see the module doc). */
const JSON_SEPARATOR = "\x1f";
/** Stands for a null in a jsonb column's parameter. */
const JSON_NULL = "\x1e";

/** The JSON texts of `values` joined by {@linkcode JSON_SEPARATOR}, for `string_to_array`. */
export function jsonColumn(values: readonly unknown[]): string {
  const texts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    texts[i] = value === null || value === undefined ? JSON_NULL : jsonText(value);
  }
  return texts.join(JSON_SEPARATOR);
}

/**
 * PostgreSQL text cannot hold U+0000 and jsonb rejects it and lone
 * surrogates. Rather than let one such string fail its batch on every retry
 * forever, they become U+FFFD, the replacement character.
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

/**
 * How a statement treats ids already stored.
 *
 * - `"upsert"`: every table `on conflict do update` (last write wins).
 * - `"insertOnce"`: traces as in `"upsert"` (the pipeline writes a trace
 *   at start and again at end), spans, events and metrics as plain inserts:
 *   the pipeline writes each of those once, so an id already stored means a
 *   replay, and the statement fails with `unique_violation` (nothing
 *   stored) for the caller to repeat as `"upsert"`. The server then skips
 *   the speculative-insertion work of `on conflict` for every row.
 */
export type IngestMode = "upsert" | "insertOnce";

function insert(table: PgTable<unknown>, firstParameter: number, mode: IngestMode): string {
  const names = table.columns.map((c) => c.name).join(", ");
  const args = table.columns
    .map((c, i) =>
      c.type === "jsonb"
        ? `string_to_array($${firstParameter + i}::text, E'\\x1f', E'\\x1e')`
        : `$${firstParameter + i}::${c.type}[]`
    )
    .join(", ");
  const select = table.columns
    .map((c) => (c.type === "jsonb" ? `${c.name}::jsonb` : c.name))
    .join(", ");
  const text =
    `insert into ${table.name} (${names}) select ${select} from unnest(${args}) as u(${names})`;
  if (mode === "insertOnce" && table.name !== "traces") return text;
  const updates = table.columns
    .slice(1)
    .map((c) => `${c.name} = excluded.${c.name}`)
    .join(", ");
  return `${text} on conflict (${table.id}) do update set ${updates}`;
}

/** Statement text per mode and bit mask of non-empty tables, built once. */
const STATEMENTS = new Map<string, string>();

/**
 * The statement text for the tables in `mask` (bit i: `TABLES[i]` has rows).
 *
 * @param mask Which tables the parameters cover.
 * @param mode What to do with ids already stored.
 * @returns The text; the same for every batch of that mask and mode, so
 *   the server plans it once per connection.
 */
export function ingestText(mask: number, mode: IngestMode): string {
  const key = `${mode}:${mask}`;
  let text = STATEMENTS.get(key);
  if (text !== undefined) return text;
  const parts: string[] = [];
  let parameter = 1;
  TABLES.forEach(({ table }, i) => {
    if ((mask & (1 << i)) === 0) return;
    parts.push(insert(table, parameter, mode));
    parameter += table.columns.length;
  });
  const last = parts.pop()!;
  // Data-modifying CTEs always run to completion, referenced or not, and the
  // whole statement is one implicit transaction.
  text = parts.length === 0
    ? last
    : `with ${parts.map((p, i) => `w${i} as (${p})`).join(", ")} ${last}`;
  STATEMENTS.set(key, text);
  return text;
}

/** The parameters that write `batch`, and which tables they cover; null when it is empty. */
export function ingestParameters(batch: Batch): { mask: number; parameters: string[] } | null {
  let mask = 0;
  const parameters: string[] = [];
  TABLES.forEach(({ field, table }, i) => {
    const records = batch[field] as readonly unknown[];
    if (records.length === 0) return;
    mask |= 1 << i;
    const rows = uniqueById(table, records);
    for (const column of table.columns) {
      const values = new Array<unknown>(rows.length);
      for (let r = 0; r < rows.length; r++) values[r] = column.get(rows[r]!);
      parameters.push(column.type === "jsonb" ? jsonColumn(values) : arrayLiteral(values));
    }
  });
  return mask === 0 ? null : { mask, parameters };
}

/** The statement text and parameters that upsert `batch`, or null when it is empty. */
export function ingestStatement(batch: Batch): { text: string; parameters: string[] } | null {
  const statement = ingestParameters(batch);
  return statement === null
    ? null
    : { text: ingestText(statement.mask, "upsert"), parameters: statement.parameters };
}

/** A PostgreSQL `unique_violation`: a plain insert met an id already stored. */
export function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "23505";
}

/** Upserts a batch in one round trip and one transaction (the benches' plain unnest writer). */
export async function writeBatch(sql: Sql, batch: Batch): Promise<void> {
  const statement = ingestStatement(batch);
  if (statement === null) return;
  await sql.unsafe(statement.text, statement.parameters, { prepare: true });
}
