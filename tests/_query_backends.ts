/**
 * The backends the query tests (differential, injection) run against: one
 * array, so a new backend joins every query test by adding one entry.
 * PostgreSQL joins when `TELEMETRY_TEST_PG_URL` is set; under `CI=true` it
 * must be.
 *
 * @module
 */
import type { Backend } from "../mod.ts";
import { openBackend } from "../src/backends/open_backend.ts";

/** A backend under test: a name and how to open an empty one. */
export interface BackendUnderTest {
  /** Short name for failure messages. */
  name: string;
  /** Opens the backend (its stored records may be left over from an earlier run). */
  open: () => Promise<Backend>;
}

const PG_URL = Deno.env.get("TELEMETRY_TEST_PG_URL");
/** Several checkouts testing against one server at once each name their own schema. */
const PG_SCHEMA = Deno.env.get("TELEMETRY_TEST_QUERY_SCHEMA") || "spark_query_tests";

if (!PG_URL) {
  if (Deno.env.get("CI") === "true") {
    throw new Error("Cannot run the query tests under CI: TELEMETRY_TEST_PG_URL is unset");
  }
  console.log(
    "query tests: TELEMETRY_TEST_PG_URL is unset; skipping PostgreSQL (memory and sqlite only)",
  );
}

/** Every backend that must agree; the first is the reference the others are compared with. */
export const QUERY_BACKENDS: readonly BackendUnderTest[] = [
  { name: "memory", open: () => openBackend({ backend: "memory", backendConfig: {} }) },
  {
    name: "sqlite",
    open: () => openBackend({ backend: "sqlite", backendConfig: { dbPath: ":memory:" } }),
  },
  ...(PG_URL
    ? [{
      name: "postgresql",
      // A schema of its own: emptying it must not touch other tests' data.
      open: () =>
        openBackend({
          backend: "postgresql",
          backendConfig: { url: PG_URL, schema: PG_SCHEMA },
        }),
    }]
    : []),
];

/**
 * Opens a backend and empties it (PostgreSQL is shared between runs):
 * retention with a cutoff in the far future deletes every record.
 *
 * @param b The backend.
 * @returns The open, empty backend.
 */
export async function openEmpty(b: BackendUnderTest): Promise<Backend> {
  const backend = await b.open();
  await backend.applyRetention(Number.MAX_SAFE_INTEGER);
  return backend;
}
