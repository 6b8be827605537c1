/**
 * Wall-clock time as float seconds since the epoch, with sub-millisecond
 * resolution (`Date.now()` only has milliseconds).
 *
 * @module
 */

// performance.now() is monotonic and high-resolution; anchoring it at
// timeOrigin gives wall-clock time without Date.now()'s millisecond steps.
const origin = performance.timeOrigin;

/**
 * Returns the current time in seconds since the Unix epoch, as a float with
 * sub-millisecond resolution.
 *
 * @returns Seconds since the epoch.
 *
 * @example Compare with Date.now()
 * ```ts
 * import { nowSeconds } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.ok(Math.abs(nowSeconds() - Date.now() / 1000) < 1);
 * ```
 */
export function nowSeconds(): number {
  return (origin + performance.now()) / 1000;
}
