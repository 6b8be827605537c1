/**
 * The ways of writing a batch into PostgreSQL that `postgresql_write_bench.ts`
 * compares with the one the backend uses (`src/backends/postgresql/_ingest.ts`). All
 * of them upsert by id, one transaction per batch, into the same schema.
 *
 * @module
 */
import net from "node:net";
import postgres, { type Sql } from "postgres";
import type { Batch } from "../src/model/types.ts";
import { type PgTable, TABLES, uniqueById } from "../src/backends/postgresql/_tables.ts";

/** A socket function for postgres.js that sets TCP noDelay. */
export function noDelaySocket(options: { host: string[]; port: number[] }): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(options.port[0]!, options.host[0]!);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/** A client on `schema`, with the default socket or one with noDelay. */
export function client(url: string, schema: string, noDelay: boolean): Sql {
  return postgres(url, {
    onnotice: () => {},
    fetch_types: false,
    connection: { search_path: schema },
    ...(noDelay ? { socket: noDelaySocket } : {}),
  });
}

function names(table: PgTable<unknown>): string {
  return table.columns.map((c) => c.name).join(", ");
}

function updates(table: PgTable<unknown>): string {
  return table.columns.slice(1).map((c) => `${c.name} = excluded.${c.name}`).join(", ");
}

function eachTable(
  batch: Batch,
  fn: (table: PgTable<unknown>, rows: unknown[]) => void,
): void {
  for (const { field, table } of TABLES) {
    const records = batch[field] as readonly unknown[];
    if (records.length > 0) fn(table, uniqueById(table, records));
  }
}

/** One `insert ... values ($1, ...)` per record, in one transaction. */
export async function writeSingleRows(sql: Sql, batch: Batch): Promise<void> {
  const work: [string, unknown[]][] = [];
  eachTable(batch, (table, rows) => {
    const values = table.columns.map((c, i) => `$${i + 1}${c.type === "jsonb" ? "::jsonb" : ""}`);
    const text = `insert into ${table.name} (${names(table)}) values (${
      values.join(", ")
    }) on conflict (${table.id}) do update set ${updates(table)}`;
    for (const row of rows) {
      work.push([
        text,
        table.columns.map((c) => (c.type === "jsonb" ? JSON.stringify(c.get(row)) : c.get(row))),
      ]);
    }
  });
  await sql.begin(async (tx) => {
    for (const [text, values] of work) {
      await tx.unsafe(text, values as postgres.ParameterOrJSON<never>[], { prepare: true });
    }
  });
}

/** postgres.js multi-row `insert ... ${sql(rows)}`, one statement per table, one transaction. */
export async function writeMultiRow(sql: Sql, batch: Batch): Promise<void> {
  await sql.begin(async (tx) => {
    const statements: Promise<unknown>[] = [];
    eachTable(batch, (table, rows) => {
      const objects = rows.map((row) => {
        const o: Record<string, unknown> = {};
        for (const c of table.columns) {
          const value = c.get(row);
          o[c.name] = c.type === "jsonb" ? tx.json(value as postgres.JSONValue) : value;
        }
        return o;
      });
      statements.push(
        tx`insert into ${tx(table.name)} ${
          tx(objects as Record<string, postgres.ParameterOrJSON<never>>[])
        }
           on conflict (${tx(table.id)}) do update set ${tx.unsafe(updates(table))}`.execute(),
      );
    });
    await Promise.all(statements);
  });
}

const COPY_ESCAPES = /[\\\t\n\r]/g;
const COPY_REPLACEMENTS: Record<string, string> = {
  "\\": "\\\\",
  "\t": "\\t",
  "\n": "\\n",
  "\r": "\\r",
};

function copyText(table: PgTable<unknown>, rows: unknown[]): string {
  let out = "";
  for (const row of rows) {
    for (let i = 0; i < table.columns.length; i++) {
      const column = table.columns[i]!;
      const value = column.get(row);
      if (i > 0) out += "\t";
      if (value === null) out += "\\N";
      else if (typeof value === "number") out += String(value);
      else {
        const text = column.type === "jsonb" ? JSON.stringify(value) : value as string;
        out += text.replace(COPY_ESCAPES, (c) => COPY_REPLACEMENTS[c]!);
      }
    }
    out += "\n";
  }
  return out;
}

/** COPY each table into a temporary staging table, then upsert from it; one transaction. */
export async function writeCopyStaging(sql: Sql, batch: Batch): Promise<void> {
  await sql.begin(async (tx) => {
    const work: [PgTable<unknown>, unknown[]][] = [];
    eachTable(batch, (table, rows) => work.push([table, rows]));
    for (const [table, rows] of work) {
      const stage = `stage_${table.name}`;
      await tx.unsafe(
        `create temp table if not exists ${stage} (like ${table.name}) on commit delete rows`,
      );
      const writable = await tx.unsafe(`copy ${stage} (${names(table)}) from stdin`).writable();
      await new Promise<void>((resolve, reject) => {
        writable.on("error", reject);
        writable.on("finish", resolve);
        writable.end(copyText(table, rows));
      });
      await tx.unsafe(
        `insert into ${table.name} (${names(table)}) select ${names(table)} from ${stage}
         on conflict (${table.id}) do update set ${updates(table)}`,
      );
    }
  });
}

/** Plain COPY straight into the tables: no upsert, so only for fresh ids. The floor. */
export async function writeRawCopy(sql: Sql, batch: Batch): Promise<void> {
  await sql.begin(async (tx) => {
    const work: [PgTable<unknown>, unknown[]][] = [];
    eachTable(batch, (table, rows) => work.push([table, rows]));
    for (const [table, rows] of work) {
      const writable = await tx.unsafe(`copy ${table.name} (${names(table)}) from stdin`)
        .writable();
      await new Promise<void>((resolve, reject) => {
        writable.on("error", reject);
        writable.on("finish", resolve);
        writable.end(copyText(table, rows));
      });
    }
  });
}

/** The whole batch as one JSON text per table, unpacked by `jsonb_to_recordset`, in one statement. */
export async function writeJsonRecordset(sql: Sql, batch: Batch): Promise<void> {
  const parts: string[] = [];
  const parameters: string[] = [];
  eachTable(batch, (table, rows) => {
    const definitions = table.columns.map((c) => `${c.name} ${c.type}`).join(", ");
    parameters.push(JSON.stringify(rows.map((row) => {
      const o: Record<string, unknown> = {};
      for (const c of table.columns) o[c.name] = c.get(row);
      return o;
    })));
    parts.push(
      `insert into ${table.name} (${names(table)}) select ${names(table)}
       from jsonb_to_recordset($${parameters.length}::text::jsonb) as x(${definitions})
       on conflict (${table.id}) do update set ${updates(table)}`,
    );
  });
  if (parts.length === 0) return;
  const last = parts.pop()!;
  const text = parts.length === 0
    ? last
    : `with ${parts.map((p, i) => `w${i} as (${p})`).join(", ")} ${last}`;
  await sql.unsafe(text, parameters, { prepare: true });
}
