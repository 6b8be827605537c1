/**
 * Random identifiers in W3C Trace Context form: trace ids are 32 lowercase
 * hex characters, span ids 16, never all zeros.
 *
 * @module
 */

import { idText, idTextCopy, takeId } from "./id_pool.ts";

// How the ids are made (and why): see `id_pool.ts`.
function randomHex(groups: 1 | 2): string {
  return idText(takeId(groups), groups);
}

/**
 * Returns a new random trace id: 32 lowercase hex characters.
 *
 * @returns The trace id.
 *
 * @example
 * ```ts
 * import { newTraceId } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.match(newTraceId(), /^[0-9a-f]{32}$/);
 * ```
 */
export function newTraceId(): string {
  // A copy, not a view into the pool's block: applications keep trace ids.
  return idTextCopy(takeId(2), 2);
}

/**
 * Returns a new random span id: 16 lowercase hex characters.
 *
 * @returns The span id.
 *
 * @example
 * ```ts
 * import { newSpanId } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.match(newSpanId(), /^[0-9a-f]{16}$/);
 * ```
 */
export function newSpanId(): string {
  return randomHex(1);
}

/**
 * Returns a new random record id for events and metrics: 32 lowercase hex
 * characters.
 *
 * @returns The id.
 *
 * @example
 * ```ts
 * import { newRecordId } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(newRecordId().length, 32);
 * ```
 */
export function newRecordId(): string {
  return randomHex(2);
}
