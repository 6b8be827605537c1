/**
 * Parsing and formatting of the W3C Trace Context `traceparent` and
 * `tracestate` headers and the W3C Baggage header, without any dependency on
 * the manager: pure string functions, re-exported by `src/instrumentation/propagation.ts`.
 *
 * References: https://www.w3.org/TR/trace-context/ (level 1, with the level 2
 * rule that a newer version's first four fields are read as version 00) and
 * https://www.w3.org/TR/baggage/.
 *
 * @module
 */

/**
 * Span attribute that marks a span whose parent came from another process
 * (a `traceparent` header); OTLP export turns it into the span's
 * `SPAN_FLAGS_CONTEXT_IS_REMOTE` flag.
 */
export const PARENT_REMOTE_ATTRIBUTE = "spark.parent.remote";
/**
 * Span attribute holding the `tracestate` received with the remote parent;
 * OTLP export sends it as the span's `traceState`.
 */
export const TRACESTATE_ATTRIBUTE = "w3c.tracestate";

/** The remote parent carried by a `traceparent` header. */
export interface TraceParent {
  /** Version, two lowercase hex digits; `"00"` is the one this library writes. */
  version: string;
  /** 32 lowercase hex characters, not all zeros. */
  traceId: string;
  /** The caller's span id (`parent-id` in the spec): 16 lowercase hex characters, not all zeros. */
  spanId: string;
  /** The trace-flags byte, 0..255. */
  flags: number;
  /** Whether the caller recorded the trace (bit 0 of `flags`). */
  sampled: boolean;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
const SPAN_ID = /^[0-9a-f]{16}$/;
const HEX2 = /^[0-9a-f]{2}$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);
const SAMPLED_FLAG = 0x01;

/**
 * Parses a `traceparent` header value. Returns `null` for anything the spec
 * says to ignore: wrong length or separators, uppercase or non-hex digits,
 * version `ff`, an all-zero trace id or parent id, or a version-00 header
 * with trailing data. A header of a higher version is read by its first four
 * fields, as the spec requires for forward compatibility.
 *
 * @param value The header value.
 * @returns The parsed parent, or `null` when the header is invalid.
 *
 * @example
 * ```ts
 * import { parseTraceparent } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const parent = parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * assert.equal(parent?.traceId, "4bf92f3577b34da6a3ce929d0e0e4736");
 * assert.equal(parent?.spanId, "00f067aa0ba902b7");
 * assert.equal(parent?.sampled, true);
 * assert.equal(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"), null);
 * ```
 */
export function parseTraceparent(value: string | null | undefined): TraceParent | null {
  if (typeof value !== "string") return null;
  // HTTP strips optional whitespace around field values; be as lenient as HTTP is.
  const header = value.trim();
  if (header.length < 55) return null;
  const version = header.slice(0, 2);
  if (!HEX2.test(version) || version === "ff") return null;
  if (header[2] !== "-" || header[35] !== "-" || header[52] !== "-") return null;
  if (version === "00") {
    if (header.length !== 55) return null;
  } else if (header.length > 55 && header[55] !== "-") {
    // A future version may append fields, but only after a dash.
    return null;
  }
  const traceId = header.slice(3, 35);
  const spanId = header.slice(36, 52);
  const flagsHex = header.slice(53, 55);
  if (!TRACE_ID.test(traceId) || traceId === ZERO_TRACE) return null;
  if (!SPAN_ID.test(spanId) || spanId === ZERO_SPAN) return null;
  if (!HEX2.test(flagsHex)) return null;
  const flags = parseInt(flagsHex, 16);
  return { version, traceId, spanId, flags, sampled: (flags & SAMPLED_FLAG) !== 0 };
}

/** Fields of a `traceparent` header to write. */
export interface TraceparentFields {
  /** 32 lowercase hex characters. */
  traceId: string;
  /** The span that is the remote side's parent: 16 lowercase hex characters. */
  spanId: string;
  /** Whether this process records the trace. */
  sampled: boolean;
}

/**
 * Formats a version-00 `traceparent` header value. Only the sampled flag is
 * written: version 00 defines no other flag, and the spec forbids passing on
 * unknown ones.
 *
 * @param fields Trace id, span id and sampling decision.
 * @returns The header value.
 * @throws {TypeError} When an id is not lowercase hex of the right length or is all zeros.
 *
 * @example
 * ```ts
 * import { formatTraceparent } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   formatTraceparent({
 *     traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
 *     spanId: "00f067aa0ba902b7",
 *     sampled: false,
 *   }),
 *   "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
 * );
 * ```
 */
export function formatTraceparent(fields: TraceparentFields): string {
  if (!TRACE_ID.test(fields.traceId) || fields.traceId === ZERO_TRACE) {
    throw new TypeError(
      `Cannot format traceparent: trace id must be 32 lowercase hex characters, not all zeros, got ${
        JSON.stringify(fields.traceId)
      }`,
    );
  }
  if (!SPAN_ID.test(fields.spanId) || fields.spanId === ZERO_SPAN) {
    throw new TypeError(
      `Cannot format traceparent: span id must be 16 lowercase hex characters, not all zeros, got ${
        JSON.stringify(fields.spanId)
      }`,
    );
  }
  return `00-${fields.traceId}-${fields.spanId}-${fields.sampled ? "01" : "00"}`;
}

/** Most list members a `tracestate` header may carry (W3C Trace Context). */
export const MAX_TRACESTATE_MEMBERS = 32;

// key = simple-key / tenant@system; value = printable ASCII without , and =, no trailing space.
const TRACESTATE_MEMBER =
  /^(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/**
 * Validates a `tracestate` header value so it can be passed on unchanged.
 * Returns `null` when it is malformed (a bad member, a duplicate key, or more
 * than {@linkcode MAX_TRACESTATE_MEMBERS} members), in which case the spec
 * says to drop it rather than repair it.
 *
 * @param value The header value.
 * @returns The normalised value (empty members removed), or `null`.
 *
 * @example
 * ```ts
 * import { parseTracestate } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseTracestate("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
 * assert.equal(parseTracestate("rojo=1,rojo=2"), null);
 * ```
 */
export function parseTracestate(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  const members: string[] = [];
  const keys = new Set<string>();
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    if (!TRACESTATE_MEMBER.test(member)) return null;
    const key = member.slice(0, member.indexOf("="));
    if (keys.has(key)) return null;
    keys.add(key);
    members.push(member);
  }
  if (members.length === 0 || members.length > MAX_TRACESTATE_MEMBERS) return null;
  return members.join(",");
}

/** Entries of a `baggage` header: keys to percent-decoded values. */
export type Baggage = Record<string, string>;

/** Most list members a `baggage` header may carry (W3C Baggage). */
export const MAX_BAGGAGE_MEMBERS = 180;
/** Largest `baggage` header, in bytes (W3C Baggage). */
export const MAX_BAGGAGE_BYTES = 8192;

// RFC 7230 token characters: the only ones a baggage key may use.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// baggage-octet: printable ASCII except space, DQUOTE, comma, semicolon and backslash.
const BAGGAGE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$/;

/**
 * Parses a `baggage` header value into entries. Values are percent-decoded as
 * UTF-8; member properties (`;key=value`) are accepted and dropped. A
 * malformed member (a key that is not an RFC 7230 token, a value with
 * characters outside `baggage-octet`, bad percent-encoding) is skipped, not
 * fatal. Members after the first {@linkcode MAX_BAGGAGE_MEMBERS}, or past
 * {@linkcode MAX_BAGGAGE_BYTES} bytes, are dropped. A repeated key keeps its
 * last value.
 *
 * @param value The header value (several `baggage` headers joined by commas are fine).
 * @returns The entries; empty when there are none.
 *
 * @example
 * ```ts
 * import { parseBaggage } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   parseBaggage("userId=alice, region=eu%20west;ttl=60, bad key=x"),
 *   { userId: "alice", region: "eu west" },
 * );
 * ```
 */
export function parseBaggage(value: string | null | undefined): Baggage {
  const out: Baggage = {};
  if (typeof value !== "string") return out;
  const encoder = new TextEncoder();
  let members = 0;
  let bytes = 0;
  for (const raw of value.split(",")) {
    const member = raw.trim();
    if (member === "") continue;
    // Count what the sender sent, so an oversized header is cut where the spec cuts it.
    bytes += encoder.encode(member).length + (members > 0 ? 1 : 0);
    if (members >= MAX_BAGGAGE_MEMBERS || bytes > MAX_BAGGAGE_BYTES) break;
    members++;
    const semicolon = member.indexOf(";");
    const pair = semicolon === -1 ? member : member.slice(0, semicolon);
    const eq = pair.indexOf("=");
    if (eq === -1) continue;
    const key = pair.slice(0, eq).trim();
    const encoded = pair.slice(eq + 1).trim();
    if (!TOKEN.test(key) || !BAGGAGE_VALUE.test(encoded)) continue;
    let decoded: string;
    try {
      decoded = decodeURIComponent(encoded);
    } catch {
      continue; // Bad percent-encoding or invalid UTF-8.
    }
    out[key] = decoded;
  }
  return out;
}

/**
 * Formats entries as a `baggage` header value, percent-encoding every value
 * character outside `baggage-octet` (and `%` itself) as UTF-8. Entries that
 * would exceed {@linkcode MAX_BAGGAGE_MEMBERS} members or
 * {@linkcode MAX_BAGGAGE_BYTES} bytes are left out whole, never cut.
 *
 * @param baggage The entries.
 * @returns The header value; empty when there is nothing to send.
 * @throws {TypeError} When a key is not an RFC 7230 token.
 *
 * @example
 * ```ts
 * import { formatBaggage, parseBaggage } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const header = formatBaggage({ userId: "alice", note: "50% off, today; ünïcode" });
 * assert.equal(header, "userId=alice,note=50%25%20off%2C%20today%3B%20%C3%BCn%C3%AFcode");
 * assert.deepEqual(parseBaggage(header), { userId: "alice", note: "50% off, today; ünïcode" });
 * ```
 */
export function formatBaggage(baggage: Baggage): string {
  const parts: string[] = [];
  let bytes = 0;
  for (const [key, value] of Object.entries(baggage)) {
    if (!TOKEN.test(key)) {
      throw new TypeError(
        `Cannot format baggage: key ${JSON.stringify(key)} is not an RFC 7230 token`,
      );
    }
    const member = `${key}=${encodeBaggageValue(value)}`;
    // The member is pure ASCII after encoding, so its length is its byte count.
    const size = member.length + (parts.length > 0 ? 1 : 0);
    if (parts.length >= MAX_BAGGAGE_MEMBERS || bytes + size > MAX_BAGGAGE_BYTES) continue;
    parts.push(member);
    bytes += size;
  }
  return parts.join(",");
}

const HEX_UPPER = "0123456789ABCDEF";

function encodeBaggageValue(value: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(value)) {
    const allowed = byte >= 0x21 && byte <= 0x7e && byte !== 0x22 && byte !== 0x2c &&
      byte !== 0x3b && byte !== 0x5c && byte !== 0x25;
    out += allowed ? String.fromCharCode(byte) : `%${HEX_UPPER[byte >> 4]}${HEX_UPPER[byte & 0xf]}`;
  }
  return out;
}
