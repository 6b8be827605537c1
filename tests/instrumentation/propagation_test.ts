import assert from "node:assert/strict";
import {
  createTracedFetch,
  formatBaggage,
  formatTraceparent,
  injectContext,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  parseBaggage,
  parseTraceparent,
  parseTracestate,
  type SpanRecord,
  TelemetryConfig,
  TelemetryManager,
  traceHandler,
  withBaggage,
} from "../../mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import { startReceiver } from "../_otlp_receiver.ts";

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

// ---- with a manager ----------------------------------------------------------

Deno.test("injectContext() writes the current span as parent, the sampling decision and the baggage", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const headers = await manager.withSpan(
    "call",
    {},
    (span) =>
      withBaggage({ user: "alice" }, () => {
        const h = injectContext(manager);
        assert.equal(h.get("traceparent"), `00-${span.traceId}-${span.spanId}-01`);
        return h;
      }),
  );
  assert.equal(headers.get("baggage"), "user=alice");
  assert.equal(headers.get("tracestate"), null);
  // Outside any span: baggage only, no traceparent.
  const outside = withBaggage({ a: "1" }, () => injectContext(manager));
  assert.equal(outside.get("traceparent"), null);
  assert.equal(outside.get("baggage"), "a=1");
});

Deno.test("injectContext() sets the sampled flag from this process's sampling decision", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory({ samplingRate: 0 }));
  const header = await manager.withSpan(
    "call",
    {},
    () => injectContext(manager).get("traceparent"),
  );
  assert.match(header ?? "", /-00$/);
});

Deno.test("injectContext() and traceHandler() do nothing across processes when propagateContext is off", async () => {
  await using manager = new TelemetryManager(
    TelemetryConfig.createMemory({ propagateContext: false }),
  );
  const headers = await manager.withSpan(
    "call",
    {},
    () => withBaggage({ a: "1" }, () => injectContext(manager)),
  );
  assert.equal([...headers].length, 0);
  const handler = traceHandler(manager, () => new Response("ok"));
  await handler(new Request("http://x/p", { headers: { traceparent: VALID } }), INFO);
  const spans = await manager.querySpans({ spanName: "HTTP GET /p" });
  assert.notEqual(spans[0]?.traceId, TRACE, "the remote trace is not continued");
});

const INFO = {
  remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 },
  completed: Promise.resolve(),
} as Deno.ServeHandlerInfo;

Deno.test("traceHandler() continues a remote trace under the caller's span and passes tracestate on", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  let forwarded: Headers | null = null;
  const handler = traceHandler(manager, () => {
    forwarded = injectContext(manager);
    return new Response("fail", { status: 503 });
  });
  const request = new Request("http://x/api/run?q=1", {
    method: "POST",
    headers: { traceparent: VALID, tracestate: "vendor=abc", baggage: "tenant=acme" },
  });
  assert.equal((await handler(request, INFO)).status, 503);
  const [span] = await manager.querySpans({ traceId: TRACE });
  assert.equal(span?.name, "HTTP POST /api/run");
  assert.equal(span?.parentSpanId, SPAN);
  assert.equal(span?.status, "error", "a 5xx answer fails the span");
  assert.equal(span?.attributes["http.response.status_code"], 503);
  const sent = forwarded as Headers | null;
  assert.equal(sent?.get("traceparent"), `00-${TRACE}-${span?.spanId}-01`);
  assert.equal(sent?.get("tracestate"), "vendor=abc");
  assert.equal(sent?.get("baggage"), "tenant=acme");
  // The trace belongs to the caller: no trace record is written here.
  assert.equal((await manager.queryTraces()).length, 0);
});

Deno.test("traceHandler() starts a trace of its own without a valid traceparent", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const handler = traceHandler(manager, () => new Response("ok"));
  await handler(new Request("http://x/a", { headers: { traceparent: "00-bad-01" } }), INFO);
  const [trace] = await manager.queryTraces();
  assert.equal(trace?.name, "HTTP GET /a");
  const [span] = await manager.querySpans({ traceId: trace!.traceId });
  assert.equal(span?.parentSpanId, null);
});

Deno.test("createTracedFetch() records a span per request and sends its context", async () => {
  await using manager = new TelemetryManager(TelemetryConfig.createMemory());
  const seen: Request[] = [];
  const tracedFetch = createTracedFetch(manager, {
    fetch: (input, init) => {
      seen.push(new Request(input, init));
      return Promise.resolve(new Response("x", { status: 201 }));
    },
  });
  const trace = await manager.withTrace("job", {}, async (t) => {
    await tracedFetch("http://svc.test/items", { method: "PUT", headers: { "x-keep": "1" } });
    return t;
  });
  const [span] = await manager.querySpans({ spanName: "HTTP PUT" });
  assert.equal(span?.traceId, trace.traceId);
  assert.equal(span?.attributes["url.full"], "http://svc.test/items");
  assert.equal(span?.attributes["http.response.status_code"], 201);
  assert.equal(seen[0]?.headers.get("traceparent"), `00-${trace.traceId}-${span?.spanId}-01`);
  assert.equal(seen[0]?.headers.get("x-keep"), "1", "the caller's headers are kept");
});

async function startServer(dbPath: string): Promise<{ port: number; child: Deno.ChildProcess }> {
  const fixture = new URL("../fixtures/propagation_server.ts", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fixture, dbPath],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("Cannot start the server process: it exited before listening");
    text += value;
  }
  await reader.cancel();
  return { port: JSON.parse(text.slice(0, text.indexOf("\n"))).port, child };
}

Deno.test("a traceparent round-trips between two Deno.serve processes on 127.0.0.1", async () => {
  const dir = await Deno.makeTempDir();
  const dbPath = `${dir}/server.db`;
  const { port, child } = await startServer(dbPath);
  const base = `http://127.0.0.1:${port}`;
  try {
    await using client = new TelemetryManager(TelemetryConfig.createMemory());
    const tracedFetch = createTracedFetch(client);
    const [trace, answer] = await client.withTrace(
      "graph_run",
      {},
      (t) =>
        withBaggage({ user: "alice", note: "a, b; c" }, async () => {
          const response = await tracedFetch(`${base}/work`);
          return [t, await response.json()] as const;
        }),
    );
    // A request without context starts a new trace over there.
    const fresh = await (await fetch(`${base}/fresh`)).json();
    await (await fetch(`${base}/shutdown`)).text();
    assert.equal((await child.status).code, 0);

    const [clientSpan] = await client.querySpans({ spanName: "HTTP GET" });
    assert.equal(answer.traceId, trace.traceId, "the server continued the client's trace");
    assert.deepEqual(answer.baggage, { user: "alice", note: "a, b; c" });
    assert.equal(answer.forwarded.traceparent, `00-${trace.traceId}-${answer.spanId}-01`);
    assert.notEqual(fresh.traceId, trace.traceId);

    // What the server process stored: its span hangs under the client's HTTP span.
    const server = await openBackend({ backend: "sqlite", backendConfig: { dbPath } });
    try {
      const rows = await server.query({
        type: "select",
        entity: "spans",
        where: null,
        orderBy: [],
        limit: 100,
        offset: 0,
      }) as unknown as SpanRecord[];
      const work = rows.find((s) => s.name === "HTTP GET /work")!;
      assert.equal(work.traceId, trace.traceId);
      assert.equal(work.parentSpanId, clientSpan?.spanId);
      assert.equal(work.spanId, answer.spanId);
      const freshSpan = rows.find((s) => s.name === "HTTP GET /fresh")!;
      assert.equal(freshSpan.parentSpanId, null);
      assert.equal(freshSpan.traceId, fresh.traceId);
    } finally {
      await server.close();
    }
  } finally {
    try {
      child.kill();
    } catch {
      // Already exited.
    }
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

for (const protocol of ["http/protobuf", "http/json"] as const) {
  Deno.test(`traceHandler() spans reach OTLP (${protocol}) with IS_REMOTE (flags 0x301) and the incoming tracestate`, async () => {
    const receiver = startReceiver();
    try {
      await using manager = new TelemetryManager(
        TelemetryConfig.createMemory({
          exportInterval: 0,
          backendConfig: {
            export: { otlp: { endpoint: receiver.url, protocol, signals: ["traces"] } },
          },
        }),
      );
      const handler = traceHandler(manager, () => new Response("ok"));
      const tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
      await handler(
        new Request("http://x/remote", { headers: { traceparent: VALID, tracestate } }),
        INFO,
      );
      await handler(new Request("http://x/local"), INFO);
      await manager.flush();
      // Stored locally with the span, too.
      const [stored] = await manager.querySpans({ traceId: TRACE });
      assert.equal(stored?.attributes["w3c.tracestate"], tracestate);
      assert.equal(stored?.attributes["spark.parent.remote"], true);
      const deadline = Date.now() + 5000;
      type OtlpSpan = {
        name: string;
        parentSpanId?: string;
        flags?: number;
        traceState?: string;
        attributes: { key: string }[];
      };
      type Scoped = { scopeSpans: { spans: OtlpSpan[] }[] };
      const spans = (): OtlpSpan[] =>
        receiver.requests.filter((r) => r.path === "/v1/traces").flatMap((r) =>
          (r.body.resourceSpans as Scoped[]).flatMap((rs) =>
            rs.scopeSpans.flatMap((ss) => ss.spans)
          )
        );
      while (spans().length < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      const remote = spans().find((s) => s.name === "HTTP GET /remote");
      const local = spans().find((s) => s.name === "HTTP GET /local");
      assert.equal(remote?.parentSpanId, SPAN);
      assert.equal(remote?.flags, 0x301, "parent is remote");
      assert.equal(remote?.traceState, tracestate);
      // The markers travel in OTLP's fields, not as attributes.
      assert.ok(
        // deno-lint-ignore no-explicit-any
        !remote?.attributes.some((a: any) =>
          a.key === "w3c.tracestate" || a.key === "spark.parent.remote"
        ),
      );
      assert.equal(
        local?.flags,
        0x101,
        "a root span of this process: remoteness known, not remote",
      );
      assert.equal(local?.traceState, undefined);
    } finally {
      await receiver.close();
    }
  });
}
