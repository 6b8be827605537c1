/**
 * What the instrumentation tests read back: the records of one kind a
 * manager stored, oldest first, and an error class to retry on.
 *
 * @module
 */
import type { TelemetryManager } from "../../mod.ts";

/** Flushes, then returns every stored record of `entity`, oldest first. */
export async function stored<T>(
  manager: TelemetryManager,
  entity: "spans" | "events" | "metrics",
): Promise<T[]> {
  await manager.flush();
  return (await manager.runPlan({
    type: "select",
    entity,
    where: null,
    orderBy: [{
      field: { kind: "column", name: entity === "spans" ? "start_time" : "timestamp" },
      direction: "asc",
    }],
    limit: 10_000,
    offset: 0,
  })) as unknown as T[];
}

/** A provider's rate-limit error, the kind a retry helper retries on. */
export class RateLimitError extends Error {
  override name = "RateLimitError";
}
