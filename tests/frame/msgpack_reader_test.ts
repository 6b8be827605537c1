import assert from "node:assert/strict";
import { Packr, Unpackr } from "msgpackr";
import { decodeMessagePack } from "../../src/frame/msgpack_reader.ts";
import { RecordEncoder, type SpanFields } from "../../src/frame/encoder.ts";
import type { Attributes } from "../../src/model/types.ts";

// The oracle: what decodeFrame decoded frames with (same options).
const OPTIONS = { useRecords: false, mapsAsObjects: true };
const packr = new Packr(OPTIONS);
const unpackr = new Unpackr(OPTIONS);

/** Deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decodes with both; both must agree on the value, or both throw. */
function assertSameDecode(bytes: Uint8Array, label: string): void {
  let theirs: unknown;
  let theirError: unknown = null;
  try {
    theirs = unpackr.unpack(bytes);
  } catch (e) {
    theirError = e;
  }
  if (theirError !== null) {
    assert.throws(() => decodeMessagePack(bytes), Error, `${label}: msgpackr threw, we did not`);
    return;
  }
  assert.deepStrictEqual(decodeMessagePack(bytes), theirs, label);
}

const INT_BOUNDARIES = [
  0,
  1,
  31,
  32,
  -1,
  -31,
  -32,
  -33,
  127,
  128,
  -128,
  -129,
  255,
  256,
  2 ** 15 - 1,
  2 ** 15,
  -(2 ** 15),
  -(2 ** 15) - 1,
  2 ** 16 - 1,
  2 ** 16,
  2 ** 31 - 1,
  2 ** 31,
  -(2 ** 31),
  -(2 ** 31) - 1,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53 - 1,
  2 ** 53,
  -(2 ** 53),
  2 ** 63,
  -(2 ** 63),
];
const BIGINT_BOUNDARIES = [
  0n,
  -1n,
  2n ** 53n + 1n,
  -(2n ** 53n) - 1n,
  2n ** 63n - 1n,
  -(2n ** 63n),
  2n ** 63n,
  2n ** 64n - 1n,
];
const FLOATS = [NaN, Infinity, -Infinity, -0, 0.1, 1e300, -1e-300, 5e-324, Math.fround(1.1)];
const CHARS = ["a", "Z", "0", " ", "\0", "é", "ß", "€", "✓", "中", "😀", "👩‍👩‍👧", "\u{10FFFF}"];

function randomString(rand: () => number): string {
  const r = rand();
  // Lengths past 2,000 (str32, > 65,535 bytes) are in the big-containers test.
  const length = r < 0.5
    ? Math.floor(rand() * 32)
    : r < 0.9
    ? Math.floor(rand() * 256)
    : Math.floor(rand() * 2000);
  const ascii = rand() < 0.6;
  let s = "";
  for (let i = 0; i < length; i++) {
    s += ascii
      ? String.fromCharCode(32 + Math.floor(rand() * 95))
      : CHARS[Math.floor(rand() * CHARS.length)]!;
  }
  return s;
}

function randomNumber(rand: () => number): number | bigint {
  const r = rand();
  if (r < 0.3) {
    const b = INT_BOUNDARIES[Math.floor(rand() * INT_BOUNDARIES.length)]!;
    return b + (Math.abs(b) < 2 ** 52 ? Math.floor(rand() * 3) - 1 : 0);
  }
  if (r < 0.4) return BIGINT_BOUNDARIES[Math.floor(rand() * BIGINT_BOUNDARIES.length)]!;
  if (r < 0.5) return FLOATS[Math.floor(rand() * FLOATS.length)]!;
  if (r < 0.6) return Math.fround((rand() - 0.5) * 1e6);
  if (r < 0.8) return Math.floor((rand() - 0.5) * 2 ** (1 + Math.floor(rand() * 64)));
  return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
}

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 3 || r < 0.4) {
    const s = rand();
    if (s < 0.1) return null;
    if (s < 0.2) return rand() < 0.5;
    if (s < 0.6) return randomNumber(rand);
    if (s < 0.95) return randomString(rand);
    return Uint8Array.from({ length: Math.floor(rand() * 300) }, () => Math.floor(rand() * 256));
  }
  const n = rand() < 0.1 ? 0 : Math.floor(rand() * (rand() < 0.95 ? 8 : 40));
  if (r < 0.65) return Array.from({ length: n }, () => randomValue(rand, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    const k = rand();
    const key = k < 0.05
      ? "__proto__"
      : k < 0.1
      ? String(Math.floor(rand() * 100))
      : randomString(rand).slice(0, 40);
    Object.defineProperty(o, key, {
      value: randomValue(rand, depth + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return o;
}

Deno.test("decodeMessagePack() decodes 20,000 random values msgpackr's Packr encoded as msgpackr's Unpackr does", () => {
  const rand = prng(12);
  for (let i = 0; i < 20_000; i++) {
    const bytes = packr.pack(randomValue(rand, 0)).slice();
    assertSameDecode(bytes, `value #${i}`);
  }
});

Deno.test("decodeMessagePack() decodes every int boundary, float and big container as msgpackr does", () => {
  for (const v of [...INT_BOUNDARIES, ...BIGINT_BOUNDARIES, ...FLOATS]) {
    assertSameDecode(packr.pack(v).slice(), String(v));
    assertSameDecode(packr.pack([v, { v }]).slice(), `[${v}]`);
  }
  const bigArray = Array.from({ length: 70_000 }, (_, i) => (i % 3 === 0 ? i : `s${i}`));
  const bigMap: Record<string, number> = {};
  for (let i = 0; i < 70_000; i++) bigMap[`k${i}`] = i;
  const big = [bigArray, bigMap, "x".repeat(70_000), "ü😀".repeat(20_000), new Uint8Array(70_000)];
  const bytes = new Packr({ ...OPTIONS, variableMapSize: true }).pack(big).slice();
  assert.equal(bytes.includes(0xdd), true);
  assertSameDecode(bytes, "big containers");
});

/** Writes a random MessagePack value of any type and header width (non-minimal too). */
function writeRaw(out: number[], rand: () => number, depth: number): void {
  const u = (n: number, bytes: number) => {
    for (let i = bytes - 1; i >= 0; i--) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff);
  };
  const randomBytes = (n: number) => {
    for (let i = 0; i < n; i++) out.push(Math.floor(rand() * 256));
  };
  const str = (key: boolean) => {
    const text = key && rand() < 0.3
      ? ["a", "name", "__proto__", "\0__proto__", "http.method", "é"][Math.floor(rand() * 6)]!
      : randomString(rand).slice(0, rand() < 0.9 ? 40 : 70_000);
    const bytes = new TextEncoder().encode(text);
    const n = bytes.length;
    const w = rand();
    if (n < 32 && w < 0.5) out.push(0xa0 | n);
    else if (n < 256 && w < 0.7) out.push(0xd9, n);
    else if (n < 65536 && w < 0.9) out.push(0xda), u(n, 2);
    else out.push(0xdb), u(n, 4);
    for (const b of bytes) out.push(b);
  };
  const r = rand();
  if (depth > 3 || r < 0.6) {
    const t = Math.floor(rand() * 14);
    if (t === 0) out.push(Math.floor(rand() * 0x80)); // positive fixint
    else if (t === 1) out.push(0xe0 | Math.floor(rand() * 32)); // negative fixint
    else if (t === 2) out.push([0xc0, 0xc2, 0xc3][Math.floor(rand() * 3)]!);
    else if (t === 3) out.push(0xcc), randomBytes(1);
    else if (t === 4) out.push(0xcd), randomBytes(2);
    else if (t === 5) out.push(0xce), randomBytes(4);
    else if (t === 6) out.push(0xcf), randomBytes(8);
    else if (t === 7) out.push([0xd0, 0xd1, 0xd2, 0xd3][Math.floor(rand() * 4)]!), randomBytes(8);
    else if (t === 8) out.push(0xca), randomBytes(4);
    else if (t === 9) out.push(0xcb), randomBytes(8);
    else if (t === 10) {
      const n = Math.floor(rand() * 40);
      const w = Math.floor(rand() * 3);
      out.push(0xc4 + w), u(n, [1, 2, 4][w]!), randomBytes(n);
    } else str(false);
    // int8/16/32 took 8 random bytes: keep the 1, 2 or 4 the header needs.
    if (t === 7) {
      const type = out[out.length - 9]!;
      out.length -= { 0xd0: 7, 0xd1: 6, 0xd2: 4, 0xd3: 0 }[type]!;
    }
    return;
  }
  const n = Math.floor(rand() * 6);
  const w = rand();
  if (r < 0.8) {
    if (w < 0.5) out.push(0x90 | n);
    else if (w < 0.8) out.push(0xdc), u(n, 2);
    else out.push(0xdd), u(n, 4);
    for (let i = 0; i < n; i++) writeRaw(out, rand, depth + 1);
  } else {
    if (w < 0.5) out.push(0x80 | n);
    else if (w < 0.8) out.push(0xde), u(n, 2);
    else out.push(0xdf), u(n, 4);
    for (let i = 0; i < n; i++) {
      const k = rand();
      if (k < 0.8) str(true);
      else if (k < 0.85) out.push(0xc0);
      else if (k < 0.9) out.push(0xc3);
      else if (k < 0.95) out.push(0xcb), randomBytes(8);
      else writeRaw(out, rand, 9); // a scalar
      writeRaw(out, rand, depth + 1);
    }
  }
}

Deno.test("decodeMessagePack() decodes 20,000 random raw encodings (every header width, non-string keys) as msgpackr does", () => {
  const rand = prng(34);
  for (let i = 0; i < 20_000; i++) {
    const out: number[] = [];
    writeRaw(out, rand, 0);
    assertSameDecode(new Uint8Array(out), `raw #${i}`);
  }
});

const TRACE_A = "0af7651916cd43dd8448eb211c80319c";

function span(i: number, attributes: Attributes): SpanFields {
  return {
    spanId: i.toString(16).padStart(16, "0"),
    traceId: i % 7 === 0 ? "4bf92f3577b34da6a3ce929d0e0e4736" : TRACE_A,
    parentSpanId: i % 3 === 0 ? null : "00f067aa0ba902b7",
    name: i % 5 === 0 ? `op ${i} ✓` : "op",
    kind: "internal",
    startTime: 1795617957.123456 + i,
    endTime: i % 11 === 0 ? null : 1795617957.223456 + i,
    status: i % 13 === 0 ? "error" : "ok",
    attributes,
    error: i % 13 === 0 ? { type: "Error", message: "boom 💥", stack: null } : null,
    droppedEvents: i % 17,
  };
}

Deno.test("decodeMessagePack() decodes frames written by RecordEncoder as msgpackr does", () => {
  const rand = prng(56);
  const proto = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Record<string, unknown>;
  for (let f = 0; f < 200; f++) {
    const encoder = new RecordEncoder();
    const w = encoder.writer;
    const header = w.reserveArray32();
    let n = 0;
    for (let i = 0; i < 50; i++) {
      const shape = rand();
      const attributes: Record<string, unknown> = shape < 0.5
        ? { a: i, b: "x", c: true, d: 1.5, e: "node" }
        : shape < 0.6
        ? proto
        : shape < 0.7
        ? { big: 2 ** 40 + i, neg: -(2 ** 31) - i, nested: { list: [1, "ü", null, { deep: [] }] } }
        : (randomValue(rand, 2) as Record<string, unknown>) ?? {};
      const safe = (
        typeof attributes === "object" && attributes !== null && !Array.isArray(attributes) &&
          !(attributes instanceof Uint8Array)
          ? attributes
          : { v: attributes }
      ) as Attributes;
      const kind = i % 8;
      if (kind < 5) encoder.writeSpan(span(f * 100 + i, safe));
      else if (kind === 5) {
        encoder.writeEvent({
          eventId: "e".repeat(32),
          eventType: "custom",
          name: `ev ${i % 2}`,
          timestamp: 2.5 + i,
          traceId: TRACE_A,
          spanId: null,
          attributes: safe,
        });
      } else if (kind === 6) {
        encoder.writeMetric({
          metricId: "m".repeat(32),
          name: "tokens",
          value: i % 2 === 0 ? i : i + 0.25,
          unit: "1",
          kind: "counter",
          timestamp: 3 + i,
          traceId: i % 4 === 0 ? null : TRACE_A,
          attributes: safe,
        });
      } else {
        encoder.writeTrace({
          traceId: TRACE_A,
          name: "t",
          startTime: 1,
          endTime: null,
          status: "unset",
          attributes: safe,
          resource: JSON.parse('{"service.name": "svc", "__proto__": 1}') as Attributes,
        });
      }
      n++;
    }
    w.patchArray32(header, n);
    assertSameDecode(w.buf.slice(0, w.pos), `frame #${f}`);
  }
});

Deno.test("decodeMessagePack() throws an Error naming the offset on every truncation of a value", () => {
  const rand = prng(78);
  for (let i = 0; i < 300; i++) {
    const bytes = packr.pack(randomValue(rand, 0)).slice();
    for (let cut = 0; cut < bytes.length; cut += 1 + Math.floor(bytes.length / 50)) {
      assert.throws(
        () => decodeMessagePack(bytes.subarray(0, cut)),
        (e: unknown) =>
          e instanceof Error &&
          /^Cannot decode MessagePack: truncated input: .* at offset \d+/.test(e.message),
        `value #${i} cut at ${cut} of ${bytes.length}`,
      );
    }
  }
  // A length a hostile frame claims is refused before anything is allocated.
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff])),
    /array of 4294967295/,
  );
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0xdf, 0xff, 0xff, 0xff, 0xff, 1, 2])),
    /map of 4294967295/,
  );
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61])),
    /string of 2147483647/,
  );
});

Deno.test("decodeMessagePack() refuses extension types, the reserved byte, trailing bytes and container keys", () => {
  for (const type of [0xc1, 0xc7, 0xc8, 0xc9, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8]) {
    assert.throws(
      () =>
        decodeMessagePack(
          new Uint8Array([0x92, 0x01, type, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        ),
      new RegExp(
        `^Error: Cannot decode MessagePack: unsupported type byte 0x${
          type.toString(16)
        } at offset 2`,
      ),
    );
  }
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0x01, 0x02])),
    /1 byte\(s\) left after the value at offset 1/,
  );
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0x81, 0x90, 0x01])),
    /map key at offset 1 is an array/,
  );
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0x81, 0x80, 0x01])),
    /map key at offset 1 is a map/,
  );
  assert.throws(
    () => decodeMessagePack(new Uint8Array([0x81, 0xc4, 0x00, 0x01])),
    /map key at offset 1 is a binary/,
  );
  assert.throws(() => decodeMessagePack(new Uint8Array(0)), /truncated input: a value at offset 0/);
});

Deno.test("decodeMessagePack() on 20,000 garbage inputs either throws an Error or returns what msgpackr returns", () => {
  const rand = prng(90);
  for (let i = 0; i < 20_000; i++) {
    const bytes = Uint8Array.from(
      { length: 1 + Math.floor(rand() * 24) },
      () => Math.floor(rand() * 256),
    );
    let ours: unknown;
    try {
      ours = decodeMessagePack(bytes);
    } catch (e) {
      assert.ok(e instanceof Error, `garbage #${i}: threw a non-Error`);
      continue;
    }
    assert.deepStrictEqual(ours, unpackr.unpack(bytes), `garbage #${i}`);
  }
});

Deno.test("decodeMessagePack() keeps no state between calls: a cached key never leaks into another input", () => {
  // Same length, same first/middle/last bytes: the key cache's slot collides.
  assert.deepEqual(decodeMessagePack(new Uint8Array([0x81, 0xa3, 0x61, 0x62, 0x63, 0x01])), {
    abc: 1,
  });
  assert.deepEqual(decodeMessagePack(new Uint8Array([0x81, 0xa3, 0x61, 0x62, 0x63, 0x02])), {
    abc: 2,
  });
  assert.deepEqual(
    decodeMessagePack(new Uint8Array([0x81, 0xa5, 0x61, 0x78, 0x62, 0x79, 0x63, 0x03])),
    { axbyc: 3 },
  );
  assert.deepEqual(
    decodeMessagePack(new Uint8Array([0x81, 0xa5, 0x61, 0x7a, 0x62, 0x7a, 0x63, 0x04])),
    { azbzc: 4 },
  );
  assert.deepEqual(
    decodeMessagePack(new Uint8Array([0x81, 0xa5, 0x61, 0x78, 0x62, 0x79, 0x63, 0x05])),
    { axbyc: 5 },
  );
});
