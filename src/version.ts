/**
 * The library's version, reported as the OpenTelemetry instrumentation scope
 * version of everything exported. Kept equal to `deno.json`'s `version` by a
 * test, so it needs no file read at run time.
 *
 * @module
 */

/**
 * The version of `@spark/telemetry`.
 *
 * @example
 * ```ts
 * import { VERSION } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 */
export const VERSION: string = "0.1.0";

/**
 * The library's name, used as the OpenTelemetry instrumentation scope name.
 *
 * @example
 * ```ts
 * import { LIBRARY_NAME } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(LIBRARY_NAME, "@spark/telemetry");
 * ```
 */
export const LIBRARY_NAME: string = "@spark/telemetry";
