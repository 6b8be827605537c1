/**
 * The pool random ids are cut from (internal; `ids.ts` is the public face).
 *
 * Ids are cut from a block of random hex text made in bulk: random bytes
 * from one `crypto.getRandomValues` call, turned into hex character codes
 * with a table, decoded into one string by one `TextDecoder` call. An id is
 * then a `slice()` of that text — V8 makes a "sliced string" (a view into
 * the block: no copy, no rope to flatten later). Measured per 16-character
 * id on the bench machine: one `String.fromCharCode.apply` per id ~137 ns,
 * a slice ~50 ns (of which ~23 ns is the random bytes). The price: an id
 * keeps its block (2 KiB of text) alive as long as the id lives.
 *
 * Reading a sliced string character by character is slower than reading a
 * flat one (~59 vs ~42 ns to encode 16 characters, itself ~2.6 ns per
 * `charCodeAt`), so the encoder copies the id's bytes from the block's
 * character codes instead, when it knows them: {@linkcode takeId} tells the
 * caller where the id lies in {@linkcode idCodes} (a view of a fresh buffer
 * per block, so a position stays valid for as long as someone holds it),
 * and `putIdCodes` in `_frame_writer.ts` copies them 8 at a time.
 *
 * @module
 */

/** 8-byte (16-hex-character) groups per block: a span id is one, a trace or record id two. */
const GROUPS = 128;
// The two hex character codes of each byte value as one uint16, laid out
// so that the first character comes first in memory (whatever the endianness).
const HEX_PAIRS = new Uint16Array(256);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
for (let b = 0; b < 256; b++) {
  const hex = "0123456789abcdef";
  const high = hex.charCodeAt(b >> 4);
  const low = hex.charCodeAt(b & 15);
  HEX_PAIRS[b] = LITTLE_ENDIAN ? high | (low << 8) : (high << 8) | low;
}
const random = new Uint8Array(GROUPS * 8);
const decoder = new TextDecoder("latin1");
let text = "";
/** Next unused group of the current block. */
let next = GROUPS;

/**
 * The character codes (ASCII hex) of the current block: the id that
 * {@linkcode takeId} returned last is bytes `at .. at + 16 × groups` of
 * `idCodes`. Each block gets a new buffer, so it never changes once handed
 * out.
 */
export let idCodes: DataView = new DataView(new ArrayBuffer(0));

function refill(): void {
  crypto.getRandomValues(random);
  for (let g = 0; g < GROUPS; g++) {
    const at = g * 8;
    // No group may be all zeros, so no id is (W3C Trace Context and OTLP
    // reject all-zero ids): a trace id is two groups, a span id one.
    while (
      (random[at]! | random[at + 1]! | random[at + 2]! | random[at + 3]! | random[at + 4]! |
        random[at + 5]! | random[at + 6]! | random[at + 7]!) === 0
    ) {
      crypto.getRandomValues(random.subarray(at, at + 8));
    }
  }
  const codes = new Uint16Array(GROUPS * 8);
  for (let i = 0; i < random.length; i++) codes[i] = HEX_PAIRS[random[i]!]!;
  idCodes = new DataView(codes.buffer);
  text = decoder.decode(codes);
  next = 0;
}

/**
 * Takes a new id of `groups` × 16 hex characters from the pool.
 *
 * @returns Its position in {@linkcode idCodes} (read `idCodes` right away:
 * the next call may start a new block); {@linkcode idText} gives the string.
 */
export function takeId(groups: 1 | 2): number {
  if (next + groups > GROUPS) refill();
  const at = next * 16;
  next += groups;
  return at;
}

/** The string of the id {@linkcode takeId} just returned `at` for (same block). */
export function idText(at: number, groups: 1 | 2): string {
  return text.slice(at, at + groups * 16);
}
