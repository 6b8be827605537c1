import assert from "node:assert/strict";
import {
  formatBaggage,
  formatTraceparent,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  parseBaggage,
  parseTraceparent,
  parseTracestate,
} from "../mod.ts";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN = "00f067aa0ba902b7";
const VALID = `00-${TRACE}-${SPAN}-01`;

Deno.test("parseTraceparent() reads the spec's example and the sampled flag", () => {
  assert.deepEqual(parseTraceparent(VALID), {
    version: "00",
    traceId: TRACE,
    spanId: SPAN,
    flags: 1,
    sampled: true,
  });
  assert.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
  // Unknown flag bits are read, but only bit 0 means sampled.
  assert.deepEqual(
    [
      parseTraceparent(`00-${TRACE}-${SPAN}-02`)?.sampled,
      parseTraceparent(`00-${TRACE}-${SPAN}-03`)?.flags,
    ],
    [false, 3],
  );
});

Deno.test("parseTraceparent() ignores headers the W3C spec says to ignore", () => {
  const invalid = [
    "",
    "garbage",
    `00-${TRACE}-${SPAN}`, // flags missing
    `00-${TRACE}-${SPAN}-01-`, // version 00 with trailing data
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`, // uppercase hex
    `00-${TRACE}-${SPAN.toUpperCase()}-01`,
    `0A-${TRACE}-${SPAN}-01`,
    `ff-${TRACE}-${SPAN}-01`, // version ff is forbidden
    `00-${"0".repeat(32)}-${SPAN}-01`, // all-zero trace id
    `00-${TRACE}-${"0".repeat(16)}-01`, // all-zero parent id
    `00-${TRACE.slice(0, 31)}g-${SPAN}-01`, // non-hex
    `00-${TRACE}-${SPAN}-0g`,
    `00_${TRACE}_${SPAN}_01`, // wrong separators
    `00-${TRACE}1-${SPAN}-01`, // trace id too long
    `0-0${TRACE}-${SPAN}-01`,
    `${VALID}, ${VALID}`, // two headers joined by fetch's Headers
  ];
  for (const header of invalid) {
    assert.equal(parseTraceparent(header), null, `should ignore ${JSON.stringify(header)}`);
  }
  assert.equal(parseTraceparent(null), null);
  assert.equal(parseTraceparent(undefined), null);
});

Deno.test("parseTraceparent() reads a future version by its first four fields", () => {
  assert.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01`)?.traceId, TRACE);
  assert.equal(parseTraceparent(`cc-${TRACE}-${SPAN}-01-what-the-future-holds`)?.spanId, SPAN);
  // ... but only when what follows starts with a dash.
  assert.equal(parseTraceparent(`cc-${TRACE}-${SPAN}-01x`), null);
});

Deno.test("parseTraceparent() tolerates surrounding whitespace, as HTTP does", () => {
  assert.equal(parseTraceparent(`  ${VALID}\t`)?.traceId, TRACE);
});

Deno.test("formatTraceparent() writes version 00 with only the sampled flag", () => {
  assert.equal(formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: true }), VALID);
  assert.equal(
    formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: false }),
    `00-${TRACE}-${SPAN}-00`,
  );
  for (
    const bad of [
      { traceId: "0".repeat(32), spanId: SPAN },
      { traceId: TRACE.toUpperCase(), spanId: SPAN },
      { traceId: TRACE, spanId: "0".repeat(16) },
      { traceId: TRACE, spanId: "abc" },
    ]
  ) {
    assert.throws(() => formatTraceparent({ ...bad, sampled: true }), TypeError);
  }
});

Deno.test("formatTraceparent() and parseTraceparent() round-trip", () => {
  const parsed = parseTraceparent(
    formatTraceparent({ traceId: TRACE, spanId: SPAN, sampled: false }),
  );
  assert.deepEqual(parsed, {
    version: "00",
    traceId: TRACE,
    spanId: SPAN,
    flags: 0,
    sampled: false,
  });
});

Deno.test("parseTracestate() keeps valid lists and drops malformed ones whole", () => {
  assert.equal(parseTracestate("congo=t61rcWkgMzE"), "congo=t61rcWkgMzE");
  assert.equal(parseTracestate("a=1,, b@vendor=2 ,"), "a=1,b@vendor=2");
  assert.equal(parseTracestate("Upper=1"), null);
  assert.equal(parseTracestate("a=1,a=2"), null);
  assert.equal(parseTracestate("a="), null);
  assert.equal(parseTracestate("a=x y "), "a=x y"); // trailing space is OWS, not value
  assert.equal(parseTracestate("a!=1"), null);
  assert.equal(parseTracestate("a=1=2"), null);
  assert.equal(parseTracestate(""), null);
  const many = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(",");
  assert.equal(parseTracestate(many), null);
  const enough = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(",");
  assert.equal(parseTracestate(enough), enough);
});

Deno.test("parseBaggage() decodes values, drops properties and skips malformed members", () => {
  assert.deepEqual(
    parseBaggage(
      "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue",
    ),
    { key1: "value1", key2: "value2", key3: "value3" },
  );
  assert.deepEqual(parseBaggage("a=%E2%9C%93%20ok"), { a: "✓ ok" });
  assert.deepEqual(parseBaggage("a=1,noequals,b=2"), { a: "1", b: "2" });
  assert.deepEqual(parseBaggage('sp ace=1,quote=a"b,bad=%E2%28,ok=%25'), { ok: "%" });
  assert.deepEqual(parseBaggage("a=1,a=2"), { a: "2" });
  assert.deepEqual(parseBaggage("empty="), { empty: "" });
  assert.deepEqual(parseBaggage(null), {});
});

Deno.test("parseBaggage() stops at the member and byte limits", () => {
  const many = Array.from({ length: MAX_BAGGAGE_MEMBERS + 10 }, (_, i) => `k${i}=v`).join(",");
  assert.equal(Object.keys(parseBaggage(many)).length, MAX_BAGGAGE_MEMBERS);
  const big = `a=${"x".repeat(MAX_BAGGAGE_BYTES - 4)},b=1,c=2`;
  // "a=" + 8188 x is 8190 bytes; ",b=1" makes 8194, past the limit.
  assert.deepEqual(Object.keys(parseBaggage(big)), ["a"]);
});

Deno.test("formatBaggage() percent-encodes what baggage-octet excludes", () => {
  assert.equal(formatBaggage({}), "");
  assert.equal(formatBaggage({ a: 'x "y",z;w\\v%' }), "a=x%20%22y%22%2Cz%3Bw%5Cv%25");
  assert.equal(formatBaggage({ a: "é" }), "a=%C3%A9");
  // Characters baggage-octet allows stay as they are.
  assert.equal(formatBaggage({ a: "=/:?&!" }), "a==/:?&!");
  assert.throws(() => formatBaggage({ "bad key": "x" }), TypeError);
});

Deno.test("formatBaggage() leaves out whole entries past the limits", () => {
  const many = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, "v"]));
  assert.equal(formatBaggage(many).split(",").length, MAX_BAGGAGE_MEMBERS);
  const header = formatBaggage({ a: "x".repeat(5000), b: "y".repeat(5000), c: "z" });
  assert.deepEqual(Object.keys(parseBaggage(header)), ["a", "c"]);
  assert.ok(header.length <= MAX_BAGGAGE_BYTES);
});

Deno.test("formatBaggage() and parseBaggage() round-trip arbitrary text", () => {
  const baggage = { "user.id": "alice@example.com", note: "a, b; c = d % e \u{1F600}", empty: "" };
  assert.deepEqual(parseBaggage(formatBaggage(baggage)), baggage);
});
