/**
 * Candidate ingest statements, measured by `_pg_ingest_interleaved.ts`.
 *
 * @module
 */
import type { Sql } from "postgres";
import type { Batch } from "../src/types.ts";
import { type PgTable, TABLES, uniqueById } from "../src/backends/_pg_tables.ts";

function storable(text: string): string {
  return text.includes("\0") ? text.replaceAll("\0", "\uFFFD") : text;
}

const names = (t: PgTable<unknown>) => t.columns.map((c) => c.name).join(", ");
const updates = (t: PgTable<unknown>) =>
  t.columns.slice(1).map((c) => `${c.name} = excluded.${c.name}`).join(", ");

function tables(batch: Batch): [PgTable<unknown>, unknown[]][] {
  const out: [PgTable<unknown>, unknown[]][] = [];
  for (const { field, table } of TABLES) {
    const records = batch[field] as readonly unknown[];
    if (records.length > 0) out.push([table, uniqueById(table, records)]);
  }
  return out;
}

// ---- json_to_recordset, hand-built JSON text -----------------------------------

function jsonRows(table: PgTable<unknown>, rows: unknown[]): string {
  const keys = table.columns.map((c) => JSON.stringify(c.name) + ":");
  let out = "[";
  for (let r = 0; r < rows.length; r++) {
    if (r > 0) out += ",";
    out += "{";
    for (let i = 0; i < table.columns.length; i++) {
      const column = table.columns[i]!;
      const value = column.get(rows[r]!);
      if (i > 0) out += ",";
      out += keys[i];
      if (value === null) out += "null";
      else if (typeof value === "number") out += String(value);
      else if (column.type === "jsonb") out += JSON.stringify(value);
      else out += JSON.stringify(storable(value as string));
    }
    out += "}";
  }
  return out + "]";
}

function jsonStatement(fn: string, cast: string) {
  const cache = new Map<string, string>();
  return async (sql: Sql, batch: Batch): Promise<void> => {
    const parts: string[] = [];
    const parameters: string[] = [];
    for (const [table, rows] of tables(batch)) {
      parameters.push(jsonRows(table, rows));
      const definitions = table.columns.map((c) => `${c.name} ${c.type}`).join(", ");
      parts.push(
        `insert into ${table.name} (${names(table)}) select ${names(table)}
         from ${fn}($${parameters.length}::${cast}) as x(${definitions})
         on conflict (${table.id}) do update set ${updates(table)}`,
      );
    }
    if (parts.length === 0) return;
    const key = parts.join(";");
    let text = cache.get(key);
    if (text === undefined) {
      const last = parts.pop()!;
      text = parts.length === 0
        ? last
        : `with ${parts.map((p, i) => `w${i} as (${p})`).join(", ")} ${last}`;
      cache.set(key, text);
    }
    await sql.unsafe(text, parameters, { prepare: true });
  };
}

// ---- COPY into a text-only temp staging table, then upsert ----------------------

const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_REPLACEMENTS: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};
function copyEscape(text: string): string {
  return COPY_ESCAPES.test(text) ? text.replace(COPY_ESCAPES, (c) => COPY_REPLACEMENTS[c]!) : text;
}
// `test` on a /g regex moves lastIndex; use a non-global twin for the test.
const COPY_SPECIAL = /[\\\t\n\r]/;
function copyField(text: string): string {
  return COPY_SPECIAL.test(text) ? text.replace(COPY_ESCAPES, (c) => COPY_REPLACEMENTS[c]!) : text;
}
void copyEscape;

function copyText(table: PgTable<unknown>, rows: unknown[]): string {
  let out = "";
  const n = table.columns.length;
  for (const row of rows) {
    for (let i = 0; i < n; i++) {
      const column = table.columns[i]!;
      const value = column.get(row);
      if (i > 0) out += "\t";
      if (value === null) out += "\\N";
      else if (typeof value === "number") out += String(value);
      else if (column.type === "jsonb") out += copyField(JSON.stringify(value));
      else out += copyField(storable(value as string));
    }
    out += "\n";
  }
  return out;
}

function stageDdl(table: PgTable<unknown>): string {
  return `create temp table if not exists stage_${table.name} (${
    table.columns.map((c) => `${c.name} text`).join(", ")
  }) on commit delete rows`;
}

function stageInsert(table: PgTable<unknown>, order: boolean): string {
  const select = table.columns.map((c) => c.type === "text" ? c.name : `${c.name}::${c.type}`).join(
    ", ",
  );
  return `insert into ${table.name} (${names(table)}) select ${select} from stage_${table.name}${
    order ? ` order by ${table.id}` : ""
  } on conflict (${table.id}) do update set ${updates(table)}`;
}

function copyStage(order: boolean, ddl = true, upsert = true) {
  return async (sql: Sql, batch: Batch): Promise<void> => {
    const work = tables(batch);
    if (work.length === 0) return;
    await sql.begin(async (tx) => {
      for (const [table, rows] of work) {
        if (ddl) void tx.unsafe(stageDdl(table)).execute();
        const writable = await tx.unsafe(`copy stage_${table.name} from stdin`).writable();
        await new Promise<void>((resolve, reject) => {
          writable.on("error", reject);
          writable.on("finish", resolve);
          writable.end(copyText(table, rows));
        });
        const text = stageInsert(table, order);
        await tx.unsafe(upsert ? text : text.replace(/ on conflict.*/, ""), [], { prepare: true });
      }
    });
  };
}

/** Variant name → write function. */
export const EXPERIMENTS: Record<string, (sql: Sql, batch: Batch) => Promise<void>> = {
  json: jsonStatement("json_to_recordset", "text::json"),
  jsonb: jsonStatement("jsonb_to_recordset", "text::jsonb"),
  stage: copyStage(true),
  stageno: copyStage(false),
  stagenoddl: copyStage(true, false),
  stageins: copyStage(true, false, false),
};
