/**
 * Retention by batched deletes: each statement deletes at most `batchSize`
 * old rows of one table and commits on its own, so row locks are held for
 * one short batch and writers (which insert new rows, far from the deleted
 * range) never wait behind a long delete. Chosen over time partitions
 * because partitions would make the partition key part of every primary key
 * (breaking upsert by id alone) and need a scheduler to create partitions
 * ahead of time; see `docs/pg.md` for the measurements.
 *
 * @module
 */
import type { Sql } from "postgres";
import { TABLES } from "./_tables.ts";
import { TIME_COLUMN } from "../../../query/plan.ts";

/**
 * Deletes rows older than `cutoff` from every table, `batchSize` rows per
 * statement.
 *
 * @returns How many rows were deleted.
 */
export async function deleteOlderThan(
  sql: Sql,
  cutoff: number,
  batchSize: number,
): Promise<number> {
  let deleted = 0;
  for (const { table } of TABLES) {
    const time = TIME_COLUMN[table.name];
    // ctid lookups are direct tuple fetches; the subquery walks the time
    // index from the oldest row, so each batch costs O(batchSize).
    const text = `delete from ${table.name} where ctid = any(array(
      select ctid from ${table.name} where ${time} < $1 limit $2))`;
    for (;;) {
      const result = await sql.unsafe(text, [cutoff, batchSize], { prepare: true });
      deleted += result.count;
      if (result.count < batchSize) break;
    }
  }
  return deleted;
}
