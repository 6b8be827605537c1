/**
 * A TelemetryManager exporting to a collector: local queries, stats().export,
 * instrumentation helpers, outages and shutdown.
 *
 * @module
 */
import assert from "node:assert/strict";
import {
  TelemetryConfig,
  TelemetryManager,
  VERSION,
  withLlmCall,
  withToolCall,
} from "../../mod.ts";
import {
  attrs,
  FAST,
  metricsByName,
  type Obj,
  only,
  waitFor,
  withReceiver,
} from "./_otlp_fixtures.ts";

Deno.test("TelemetryManager with a memory store and an OTLP exporter: queries answer locally, the collector gets the spans", async () => {
  await withReceiver(async (receiver) => {
    await using manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        resourceAttributes: { "service.name": "e2e" },
        backendConfig: {
          export: { otlp: { ...FAST, endpoint: receiver.url, protocol: "http/json" } },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    await manager.withSpan("fetch", {
      traceId: trace.traceId,
      kind: "tool_call",
      attributes: { "tool.name": "web" },
    }, () => Promise.resolve());
    manager.endTrace(trace.traceId);
    await manager.flush();
    const spans = await manager.querySpans({ traceId: trace.traceId });
    assert.equal(spans.length, 1);
    await waitFor(() => receiver.requests.some((r) => r.path === "/v1/traces"));
    const body = receiver.requests.find((r) => r.path === "/v1/traces")!.body;
    const resourceSpans = only<Obj>(body.resourceSpans);
    assert.deepEqual(attrs((resourceSpans.resource as Obj).attributes)["service.name"], {
      stringValue: "e2e",
    });
    const span = only<Obj>(only<Obj>(resourceSpans.scopeSpans).spans);
    assert.equal(span.spanId, spans[0]!.spanId);
    assert.equal(span.traceId, trace.traceId);
    assert.equal(span.kind, 3);
    assert.deepEqual(attrs(span.attributes)["gen_ai.tool.name"], { stringValue: "web" });
  });
});

Deno.test("TelemetryManager.stats().export shows what the collector refused, with its message", async () => {
  await withReceiver(async (receiver) => {
    receiver.replies.push(
      Response.json({ code: 3, message: "quota exceeded for tenant" }, { status: 400 }),
    );
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        backendConfig: {
          ...FAST,
          endpoint: receiver.url,
          protocol: "http/json",
          signals: ["traces"],
        },
      }),
    );
    assert.equal(manager.stats().export, null, "nothing reported before the first batch");
    const trace = manager.startTrace("graph_run");
    await manager.withSpan("a", { traceId: trace.traceId }, () => {});
    await manager.withSpan("b", { traceId: trace.traceId }, () => {});
    manager.endTrace(trace.traceId);
    await manager.flush();
    const stats = manager.stats();
    assert.equal(stats.export?.dropped, 2, "both spans refused by the collector");
    assert.equal(stats.export?.exported, 0);
    assert.match(stats.export?.lastError ?? "", /HTTP 400: quota exceeded for tenant/);
  });
});

Deno.test("withLlmCall() and withToolCall() spans reach the collector with GenAI attributes, events and metrics", async () => {
  await withReceiver(async (receiver) => {
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        backendConfig: { ...FAST, endpoint: receiver.url },
      }),
    );
    await manager.withTrace("agent", {}, async () => {
      await withLlmCall(manager, { model: "tiny-1", provider: "local" }, (call) => {
        call.setUsage({ promptTokens: 12, completionTokens: 30, finishReason: "stop" });
        return Promise.resolve("hello");
      });
      await withToolCall(manager, { name: "calculator" }, () => Promise.resolve(4));
    });
    await manager.flush();
    const spans = receiver.requests.filter((r) => r.path === "/v1/traces" && r.status === 200)
      .flatMap((r) =>
        (r.body.resourceSpans as Obj[]).flatMap((rs) =>
          (rs.scopeSpans as Obj[]).flatMap((ss) => ss.spans as Obj[])
        )
      );
    const llm = spans.find((s) =>
      attrs(s.attributes)["spark.span.kind"]?.stringValue === "llm_call"
    )!;
    const l = attrs(llm.attributes);
    assert.equal(llm.kind, 3);
    assert.deepEqual(l["gen_ai.request.model"], { stringValue: "tiny-1" });
    assert.deepEqual(l["gen_ai.provider.name"], { stringValue: "local" });
    assert.deepEqual(l["gen_ai.operation.name"], { stringValue: "chat" });
    assert.deepEqual(l["gen_ai.usage.input_tokens"], { intValue: "12" });
    assert.deepEqual(l["gen_ai.usage.output_tokens"], { intValue: "30" });
    assert.deepEqual(l["gen_ai.response.finish_reasons"], {
      arrayValue: { values: [{ stringValue: "stop" }] },
    });
    const eventNames = (llm.events as Obj[] | undefined ?? []).map((e) => e.name);
    assert.ok(eventNames.length >= 1, "llm.request / llm.response became span events");
    const tool = spans.find((s) =>
      attrs(s.attributes)["spark.span.kind"]?.stringValue === "tool_call"
    )!;
    assert.deepEqual(attrs(tool.attributes)["gen_ai.tool.name"], { stringValue: "calculator" });
    assert.deepEqual(attrs(tool.attributes)["gen_ai.operation.name"], {
      stringValue: "execute_tool",
    });
    const logs = receiver.requests.filter((r) => r.path === "/v1/logs" && r.status === 200)
      .flatMap((r) =>
        (r.body.resourceLogs as Obj[]).flatMap((rl) =>
          (rl.scopeLogs as Obj[]).flatMap((sl) => sl.logRecords as Obj[])
        )
      );
    const response = logs.find((log) => log.eventName === "llm.response")!;
    assert.equal(response.spanId, llm.spanId);
    assert.equal(response.traceId, llm.traceId);
    const metricNames = receiver.requests.filter((r) => r.path === "/v1/metrics")
      .flatMap((r) => Object.keys(metricsByName(r.body)));
    assert.ok(metricNames.includes("llm_prompt_tokens"), metricNames.join(", "));
  });
});

Deno.test("TelemetryManager exporting to a collector that is down for a while loses and repeats nothing", async () => {
  await withReceiver(async (receiver) => {
    const downUntil = Date.now() + 1200;
    receiver.replies.push(
      ...Array.from(
        { length: 500 },
        () => () =>
          Date.now() < downUntil ? new Response("restarting", { status: 503 }) : Response.json({}),
      ),
    );
    await using manager = new TelemetryManager(
      new TelemetryConfig({
        enabled: true,
        backend: "otlp_http",
        exportInterval: 0,
        bufferSize: 50,
        backendConfig: {
          endpoint: receiver.url,
          maxRetryTimeMs: 100,
          initialBackoffMs: 10,
          maxBackoffMs: 40,
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 200; i++) {
      await manager.withSpan(`node${i}`, { traceId: trace.traceId }, () => Promise.resolve());
    }
    manager.endTrace(trace.traceId);
    await manager.flush();
    assert.ok(Date.now() >= downUntil, "the flush waited for the collector");
    assert.ok(receiver.requests.some((r) => r.status === 503), "the collector was down");
    // Requests answered 503 reached the receiver too: count spans of accepted requests only.
    const accepted = receiver.requests.filter((r) => r.path === "/v1/traces" && r.status === 200);
    const spanIds = accepted.flatMap((r) =>
      only<Obj>(only<Obj>(r.body.resourceSpans).scopeSpans).spans as Obj[]
    ).map((span) => span.spanId);
    assert.equal(spanIds.length, 200, "every span arrived");
    assert.equal(new Set(spanIds).size, 200, "none arrived twice");
    await assert.rejects(manager.querySpans({ traceId: trace.traceId }), (error: Error) => {
      assert.equal((error as { code?: string }).code, "EXPORT_ONLY");
      assert.match(error.message, /only exports/);
      return true;
    });
  });
});

Deno.test("VERSION matches deno.json", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});

Deno.test("TelemetryManager.stats().export is current without another write, and after shutdown", async () => {
  await withReceiver(async (receiver) => {
    // The collector answers the first request late: when the store write
    // returns, nothing has been exported yet.
    receiver.replies.push(() =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 300))
    );
    const manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        backendConfig: {
          export: { otlp: { ...FAST, endpoint: receiver.url, signals: ["traces"] } },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 62; i++) manager.startSpan(`s${i}`, { traceId: trace.traceId }).end();
    await manager.flush();
    assert.equal(manager.stats().export?.queued, 62);
    // No further write: before, the counters stayed at exported 0 / queued 62 forever.
    await waitFor(() => manager.stats().export?.exported === 62, 5000);
    assert.equal(manager.stats().export?.queued, 0);
    await manager.shutdown();
    const after = manager.stats().export;
    assert.equal(after?.exported, 62);
    assert.equal(after?.queued, 0);
    assert.equal(after?.dropped, 0);
  });
});

Deno.test("TelemetryManager.stats().export counts as dropped what the collector never got by shutdown", async () => {
  await withReceiver(async (receiver) => {
    const hang = () =>
      new Promise<Response>((resolve) => setTimeout(() => resolve(Response.json({})), 3000));
    receiver.replies.push(hang, hang, hang);
    const manager = new TelemetryManager(
      TelemetryConfig.createMemory({
        exportInterval: 0,
        backendConfig: {
          export: {
            otlp: { ...FAST, endpoint: receiver.url, timeoutMs: 10_000, signals: ["traces"] },
            closeTimeoutMs: 100,
          },
        },
      }),
    );
    const trace = manager.startTrace("graph_run");
    for (let i = 0; i < 40; i++) manager.startSpan(`s${i}`, { traceId: trace.traceId }).end();
    await manager.flush();
    await waitFor(() => receiver.requests.length === 1);
    await manager.shutdown();
    const stats = manager.stats();
    // Stored locally, but the collector never answered: 40 spans it did not get.
    assert.equal(stats.exported, 41);
    assert.equal(stats.export?.exported, 0);
    assert.equal(stats.export?.queued, 0);
    assert.equal(stats.export?.dropped, 40);
    assert.match(stats.export?.lastError ?? "", /closed before the exporter caught up/);
  });
});
