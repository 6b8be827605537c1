/**
 * The pool random ids are cut from (internal; `ids.ts` is the public face).
 *
 * Ids are cut from a block of random hex text made in bulk: random bytes
 * from one `crypto.getRandomValues` call, turned into hex character codes
 * with a table, decoded into one string by one `TextDecoder` call. An id is
 * then a `slice()` of that text — V8 makes a "sliced string" (a view into
 * the block: no copy, no rope to flatten later), several times cheaper than
 * building each id's string on its own. The price: an id keeps its block of
 * text alive as long as the id lives (see `GROUPS`).
 *
 * Reading a sliced string character by character is slower than reading a
 * flat one, so the encoder copies the id's bytes from the block's
 * character codes instead, when it knows them: {@linkcode takeId} tells the
 * caller where the id lies in {@linkcode idCodes} (a view of a fresh buffer
 * per block, so a position stays valid for as long as someone holds it),
 * and `putIdCodes` in `../frame/frame_writer.ts` copies them 8 at a time.
 *
 * @module
 */

/**
 * 8-byte (16-hex-character) groups per block: a span id is one, a trace or
 * record id two. Blocks are large because each needs a new buffer for its
 * codes (allocating a typed array's buffer costs the same whatever its
 * size up to a few KiB); an id keeps its block's text (8 KiB) alive, and a
 * span started by a manager its block's codes (8 KiB) too.
 */
const GROUPS = 512;
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
const random32 = new Uint32Array(random.buffer);
const random16 = new Uint16Array(random.buffer);
// ASCII is valid UTF-8, and the UTF-8 decoder has a fast path for it
// ("latin1" has none and was several times slower).
const decoder = new TextDecoder();
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
    // No group may be all zeros, so no id is (W3C Trace Context and OTLP
    // reject all-zero ids): a trace id is two groups, a span id one.
    while ((random32[2 * g]! | random32[2 * g + 1]!) === 0) {
      crypto.getRandomValues(random.subarray(8 * g, 8 * g + 8));
    }
  }
  const codes = new Uint16Array(GROUPS * 8);
  if (LITTLE_ENDIAN) {
    // Two random bytes → four characters per store (~30% faster).
    const codes32 = new Uint32Array(codes.buffer);
    for (let i = 0; i < codes32.length; i++) {
      const pair = random16[i]!;
      codes32[i] = HEX_PAIRS[pair & 0xff]! | (HEX_PAIRS[pair >>> 8]! << 16);
    }
  } else {
    for (let i = 0; i < random.length; i++) codes[i] = HEX_PAIRS[random[i]!]!;
  }
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

/**
 * The same id as {@linkcode idText}, as a string of its own (a copy, not a
 * view into the block): for trace ids, which applications keep (to
 * correlate logs, in caches of recent traces) far longer than spans live,
 * so that one kept id does not keep an 8 KiB block alive. Costs one
 * `TextDecoder` call, once per trace.
 */
export function idTextCopy(at: number, groups: 1 | 2): string {
  // The block's codes are one byte per character (see `refill`).
  return decoder.decode(new Uint8Array(idCodes.buffer, at, groups * 16));
}
