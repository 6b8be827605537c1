import assert from "node:assert/strict";
import { decodeFrame } from "../../src/frame/decoder.ts";
import { type EventFields, RecordEncoder, type SpanFields } from "../../src/frame/encoder.ts";
import { FrameWriter, putAscii, putIdCodes } from "../../src/frame/frame_writer.ts";

const TRACE_A = "0af7651916cd43dd8448eb211c80319c";
const TRACE_B = "4bf92f3577b34da6a3ce929d0e0e4736";

function span(overrides: Partial<SpanFields> = {}): SpanFields {
  return {
    spanId: "00f067aa0ba902b7",
    traceId: TRACE_A,
    parentSpanId: null,
    name: "op",
    kind: "internal",
    startTime: 1795617957.123456,
    endTime: 1795617957.223456,
    status: "ok",
    attributes: { a: 1, b: "x" },
    error: null,
    droppedEvents: 0,
    ...overrides,
  };
}

function event(
  eventId: string,
  eventType: string,
  name: string,
  timestamp: number,
  traceId: string | null,
  spanId: string | null,
  attributes: EventFields["attributes"],
): EventFields {
  return { eventId, eventType, name, timestamp, traceId, spanId, attributes };
}

function frame(write: (w: RecordEncoder) => number): unknown[] {
  const w = new RecordEncoder();
  const header = w.writer.reserveArray32();
  const n = write(w);
  w.writer.patchArray32(header, n);
  return decodeFrame(w.writer.buf.slice(0, w.writer.pos));
}

Deno.test("decodeFrame() restores trace ids that records wrote as back-references", () => {
  const tuples = frame((w) => {
    w.writeTrace({
      traceId: TRACE_A,
      name: "t",
      startTime: 1,
      endTime: null,
      status: "unset",
      attributes: {},
      resource: {},
    });
    w.writeSpan(span());
    w.writeSpan(span({ traceId: TRACE_B }));
    w.writeEvent(event("e".repeat(32), "custom", "ev", 2.5, TRACE_B, null, {}));
    w.writeEvent(event("f".repeat(32), "custom", "ev", 2.5, null, null, {}));
    w.writeMetric({
      metricId: "m".repeat(32),
      name: "m",
      value: 1,
      unit: "",
      kind: "gauge",
      timestamp: 3,
      traceId: TRACE_B,
      attributes: {},
    });
    w.writeSpan(span());
    return 7;
  }) as unknown[][];
  assert.deepEqual(tuples.map((t) => t[[1, 2, 5, 7][t[0] as number]!]), [
    TRACE_A,
    TRACE_A,
    TRACE_B,
    TRACE_B,
    null,
    TRACE_B,
    TRACE_A,
  ]);
});

Deno.test("RecordEncoder.forgetReferences() forgets the last trace id: every frame decodes on its own", () => {
  const w = new RecordEncoder();
  w.writeSpan(span());
  w.writer.reset();
  w.forgetReferences();
  const header = w.writer.reserveArray32();
  w.writeSpan(span());
  w.writer.patchArray32(header, 1);
  const [tuple] = decodeFrame(w.writer.buf.slice(0, w.writer.pos));
  assert.equal(tuple?.[2], TRACE_A);
});

Deno.test("writeSpan() encodes non-ASCII, long and odd fields the same as the fast path", () => {
  const cases: Partial<SpanFields>[] = [
    {},
    { name: "überprüfung ✓" },
    { name: "n".repeat(300) },
    { spanId: "ß".repeat(16), parentSpanId: "p".repeat(40) },
    { traceId: "t".repeat(31), kind: "llm_call", status: "error" },
    { startTime: 5, endTime: null },
    { endTime: 1e300, startTime: -0.5 },
  ];
  for (const c of cases) {
    const expected = span(c);
    const [tuple] = frame((w) => {
      w.writeSpan(expected);
      return 1;
    }) as unknown[][];
    assert.deepEqual(tuple, [
      1,
      expected.spanId,
      expected.traceId,
      expected.parentSpanId,
      expected.name,
      expected.kind,
      expected.startTime,
      expected.endTime,
      expected.status,
      expected.attributes,
      null,
      0,
    ]);
  }
});

Deno.test("attributes with the keys of the previous record decode to the same objects", () => {
  const sets: Record<string, unknown>[] = [
    { a: 1, b: "x" },
    { a: 2, b: "y" },
    { a: 3, b: "z", c: true },
    { b: "y", a: 2 },
    {},
    {},
    { a: 1, skipped: undefined, b: { nested: [1, { deep: "ok" }] } },
    { a: 2, b: { nested: [] } },
    { 2: "two", 1: "one", x: 0 },
    { 2: "two", 1: "one", x: 1 },
    Object.fromEntries([...Array(20).keys()].map((i) => [`k${i}`, i])),
    Object.fromEntries([...Array(20).keys()].map((i) => [`k${i}`, -i])),
    JSON.parse('{"__proto__": {"polluted": true}, "a": 1}'),
    JSON.parse('{"__proto__": {"polluted": true}, "a": 2}'),
    { a: 1 },
  ];
  const tuples = frame((w) => {
    sets.forEach((attributes, i) =>
      w.writeSpan(span({ name: `s${i}`, attributes: attributes as never }))
    );
    return sets.length;
  }) as unknown[][];
  // Alone in its frame, a record's attributes are always a full map.
  const expected = sets.map((attributes) =>
    (frame((w) => {
      w.writeSpan(span({ attributes: attributes as never }));
      return 1;
    }) as unknown[][])[0]![9] as object
  );
  tuples.forEach((t, i) => {
    assert.deepEqual(Object.entries(t[9] as object), Object.entries(expected[i]!), `record ${i}`);
    assert.equal(Object.getPrototypeOf(t[9]), Object.prototype);
  });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

Deno.test("spans that share parent, name, kind or status with the previous span decode to their own fields", () => {
  const P1 = "1111111111111111";
  const P2 = "2222222222222222";
  const variants: Partial<SpanFields>[] = [
    { parentSpanId: P1, name: "a" },
    { parentSpanId: P1, name: "a" },
    { parentSpanId: null, name: "a", kind: "tool_call" },
    { parentSpanId: P1, name: "b", kind: "tool_call", status: "error" },
    { parentSpanId: P2, name: "b", status: "error" },
    { parentSpanId: P2, name: "ü-not-ascii", status: "error" },
    { parentSpanId: P2, name: "ü-not-ascii", status: "error" },
    { parentSpanId: P2, name: "b", kind: "llm_call" },
    { parentSpanId: null, name: "", status: "unset", endTime: null },
    { parentSpanId: null, name: "", status: "unset", endTime: null },
  ];
  const expected = variants.map((v, i) => span({ spanId: `${i}`.padStart(16, "0"), ...v }));
  const tuples = frame((w) => {
    for (const s of expected) w.writeSpan(s);
    return expected.length;
  }) as unknown[][];
  tuples.forEach((t, i) => {
    const s = expected[i]!;
    assert.deepEqual(
      [t[1], t[3], t[4], t[5], t[7], t[8]],
      [s.spanId, s.parentSpanId, s.name, s.kind, s.endTime, s.status],
      `span ${i}`,
    );
  });
});

Deno.test("events that share type, name, span or trace with the previous event decode to their own fields", () => {
  const S1 = "1111111111111111";
  const events: [string, string, string | null, string | null][] = [
    ["node.started", "a", TRACE_A, S1],
    ["node.started", "a", TRACE_A, S1],
    ["node.finished", "a", null, S1],
    ["node.finished", "b", TRACE_B, null],
    ["node.finished", "b", TRACE_B, null],
    ["custom", "ü", TRACE_B, S1],
    ["custom", "ü", TRACE_A, S1],
    ["custom", "b", TRACE_A, "2222222222222222"],
  ];
  const tuples = frame((w) => {
    w.writeSpan(span({ name: "between" }));
    events.forEach(([type, name, traceId, spanId], i) =>
      w.writeEvent(event(`${i}`.padStart(32, "e"), type, name, 1.25, traceId, spanId, { i }))
    );
    return events.length + 1;
  }) as unknown[][];
  assert.equal(tuples[0]![4], "between");
  events.forEach(([type, name, traceId, spanId], i) => {
    assert.deepEqual(tuples[i + 1], [
      2,
      `${i}`.padStart(32, "e"),
      type,
      name,
      1.25,
      traceId,
      spanId,
      { i },
    ], `event ${i}`);
  });
});

Deno.test("metric points that share name, unit or kind with the previous point decode to their own fields", () => {
  const points: [string, number, string, "gauge" | "counter" | "histogram", string | null][] = [
    ["latency", 1, "s", "gauge", TRACE_A],
    ["latency", 2.5, "s", "gauge", TRACE_A],
    ["latency", -0, "ms", "histogram", null],
    ["tokens", 2 ** 40, "", "counter", TRACE_B],
    ["tokens", 0, "", "counter", TRACE_B],
    ["ünits", 3, "", "counter", TRACE_B],
    ["ünits", 4, "€", "counter", TRACE_A],
  ];
  const tuples = frame((w) => {
    points.forEach(([name, value, unit, kind, traceId], i) =>
      w.writeMetric({
        metricId: `${i}`.padStart(32, "m"),
        name,
        value,
        unit,
        kind,
        timestamp: 7.5,
        traceId,
        attributes: {},
      })
    );
    return points.length;
  }) as unknown[][];
  points.forEach(([name, value, unit, kind, traceId], i) => {
    assert.deepEqual(tuples[i], [
      3,
      `${i}`.padStart(32, "m"),
      name,
      value,
      unit,
      kind,
      7.5,
      traceId,
      {},
    ], `point ${i}`);
  });
});

Deno.test("ids copied from the pool's character codes encode to the same bytes as the strings", () => {
  const codes = new DataView(new TextEncoder().encode("00f067aa0ba902b7" + "e".repeat(32)).buffer);
  const bytes = (withCodes: boolean): Uint8Array => {
    const w = new RecordEncoder();
    w.writeSpan(span(), withCodes ? codes : null, 0);
    w.writeEvent(
      event("e".repeat(32), "custom", "ev", 2.5, TRACE_A, null, {}),
      withCodes ? codes : null,
      16,
    );
    const metric = {
      metricId: "e".repeat(32),
      name: "m",
      value: 1,
      unit: "",
      kind: "gauge" as const,
      timestamp: 3,
      traceId: null,
      attributes: {},
    };
    w.writeMetric(metric, withCodes ? codes : null, 16);
    return w.writer.buf.slice(0, w.writer.pos);
  };
  assert.deepEqual(bytes(true), bytes(false));
});

Deno.test("putIdCodes() copies any hex id exactly (8 bytes at a time, as float64s)", () => {
  const hex = "0123456789abcdef";
  const w = new FrameWriter();
  const expected = new Uint8Array(64);
  for (let n = 0; n < 20_000; n++) {
    // Every hex character in every position, and runs of one character.
    let id = "";
    for (let i = 0; i < 32; i++) id += hex[n < 16 ? n : (n * 7 + i * (n >> 4)) % 16];
    const codes = new DataView(new TextEncoder().encode(`xx${id}`).buffer);
    for (const length of [16, 32] as const) {
      const end = putIdCodes(w, 0, codes, 2, length);
      const expectedEnd = putAscii(expected, 0, id.slice(0, length));
      assert.equal(end, expectedEnd);
      assert.deepEqual(w.buf.slice(0, end), expected.slice(0, end));
    }
  }
});

Deno.test("decodeFrame() rebuilds attributes under any keys: quotes, escapes, numbers, empty", () => {
  const attributes = {
    'a"b': 1,
    "c\\d": "x",
    "line\nbreak\u2028": true,
    "": null,
    "10": 1.5,
    "2": "two",
    "}; throw 1; ({": "inert",
  };
  const tuples = frame((w) => {
    for (let i = 0; i < 3; i++) w.writeSpan(span({ attributes: { ...attributes } }));
    return 3;
  }) as unknown[][];
  for (const t of tuples) assert.deepEqual(t[9], attributes);
  assert.deepEqual(Object.keys(tuples[2]![9] as object), Object.keys(attributes));
});

Deno.test("attribute values written inline decode the same as values written in a map", () => {
  const attributes = {
    a: 0,
    b: 127,
    c: 128,
    d: 65535,
    e: 65536,
    f: 2 ** 31 - 1,
    g: -1,
    h: -32,
    i: -33,
    j: -(2 ** 31),
    k: 2 ** 31,
    l: 2 ** 32,
    m: 1.5,
    n: NaN,
    o: -Infinity,
    p: "",
    q: "12345678",
    r: "123456789",
    s: "é",
    t: true,
    u: false,
    v: null,
    w: [1, "x"],
    x: { y: 1 },
    z: -0,
  };
  const tuples = frame((w) => {
    for (let i = 0; i < 3; i++) w.writeSpan(span({ attributes: { ...attributes } }));
    return 3;
  }) as unknown[][];
  // 25 keys: written as a map each time (back-references hold up to 15 values).
  assert.deepEqual(tuples[1]![9], tuples[0]![9]);
  const few = frame((w) => {
    for (const key of Object.keys(attributes)) {
      const one = { [key]: attributes[key as keyof typeof attributes] };
      w.writeSpan(span({ attributes: one }));
      w.writeSpan(span({ attributes: one }));
    }
    return Object.keys(attributes).length * 2;
  }) as unknown[][];
  for (let i = 0; i < few.length; i += 2) assert.deepEqual(few[i + 1]![9], few[i]![9]);
  assert.deepEqual(few[few.length - 1]![9], { z: 0 });
});
