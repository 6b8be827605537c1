/**
 * Random identifiers in W3C Trace Context form: trace ids are 32 lowercase
 * hex characters, span ids 16, never all zeros.
 *
 * @module
 */

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

// One pool of random bytes refilled in bulk: crypto.getRandomValues per id
// costs more than the rest of recording a span.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL_SIZE) {
      crypto.getRandomValues(pool);
      poolOffset = 0;
    }
    let out = "";
    let zero = true;
    for (let i = 0; i < bytes; i++) {
      const b = pool[poolOffset + i]!;
      if (b !== 0) zero = false;
      out += HEX[b];
    }
    poolOffset += bytes;
    // All-zero ids are invalid in W3C Trace Context and OTLP.
    if (!zero) return out;
  }
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
  return randomHex(16);
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
  return randomHex(8);
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
  return randomHex(16);
}
