/**
 * Where the PostgreSQL tests find their server, and fresh schemas so runs
 * never collide. `TELEMETRY_TEST_PG_URL` names the server; without it the
 * tests fail under `CI=true` and are skipped, with a message, elsewhere.
 *
 * @module
 */
import postgres from "postgres";

/** The server URL, or undefined when PostgreSQL tests cannot run here. */
export const PG_URL: string | undefined = Deno.env.get("TELEMETRY_TEST_PG_URL") || undefined;
const CI = Deno.env.get("CI") === "true";

/** `ignore` for `Deno.test`: skip only outside CI when no server is configured. */
export const PG_IGNORE: boolean = PG_URL === undefined && !CI;

if (PG_IGNORE) {
  console.warn(
    "PostgreSQL tests skipped: set TELEMETRY_TEST_PG_URL " +
      "(e.g. postgres://postgres@127.0.0.1:5432/test) to run them.",
  );
}

/** The URL, or a failure explaining what CI must provide. */
export function pgUrl(): string {
  if (PG_URL === undefined) {
    throw new Error("Cannot run PostgreSQL tests: CI=true but TELEMETRY_TEST_PG_URL is not set");
  }
  return PG_URL;
}

/** A new schema name, unique to this run and call. */
export function freshSchema(prefix = "t"): string {
  return `${prefix}_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
}

/** Runs `fn` with an admin connection, then drops `schema`. */
export async function withAdmin<T>(
  schema: string,
  fn: (admin: postgres.Sql) => Promise<T>,
): Promise<T> {
  const admin = postgres(pgUrl(), { onnotice: () => {}, max: 2 });
  try {
    return await fn(admin);
  } finally {
    await admin.unsafe(`drop schema if exists ${schema} cascade`).catch(() => {});
    await admin.end();
  }
}
