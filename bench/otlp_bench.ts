/**
 * OtlpHttpBackend.write() of 1000-span batches to a local OTLP receiver
 * (Deno.serve on 127.0.0.1 that reads the body and answers 200), protobuf vs
 * JSON, with and without gzip. The baseline POSTs a pre-encoded body of the
 * same size with plain fetch, so the difference is our mapping + encoding
 * (+ compression) cost.
 *
 *   deno bench -A bench/otlp_bench.ts
 *
 * Spans/s = 1000 / (time per iteration).
 */
import { OtlpHttpBackend, type OtlpHttpOptions } from "../src/backends/otlp/mod.ts";
import { OtlpModel } from "../src/backends/otlp/_sdk_model.ts";
import { encodeTracesJson } from "../src/backends/otlp/_json_encoder.ts";
import { encodeTracesProtobuf } from "../src/backends/otlp/_protobuf.ts";
import type { Batch, SpanRecord } from "../src/model/types.ts";
// The official serializer, a bench-only oracle: what our encoder replaced.
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";

const BATCH = 1000;

function spans(n: number): SpanRecord[] {
  const out: SpanRecord[] = [];
  const now = 1_764_000_000;
  for (let i = 0; i < n; i++) {
    const id = (i + 1).toString(16).padStart(16, "0");
    out.push({
      spanId: id,
      traceId: ((i >> 4) + 1).toString(16).padStart(32, "0"),
      parentSpanId: i % 4 === 0 ? null : (i + 2).toString(16).padStart(16, "0"),
      name: `Node${i % 20}.do`,
      kind: i % 10 === 0 ? "llm_call" : "node_execution",
      startTime: now + i / 1000,
      endTime: now + i / 1000 + 0.0123,
      status: i % 50 === 0 ? "error" : "ok",
      attributes: {
        "node.id": `node-${i % 20}`,
        "graph.id": "graph-1",
        "attempt": 1,
        "llm.model": "gpt-4o",
        "tokens": 120 + (i % 7),
      },
      error: i % 50 === 0 ? { type: "Error", message: "boom", stack: "Error: boom\n  at x" } : null,
      droppedEvents: 0,
    });
  }
  return out;
}

const batch: Batch = { traces: [], spans: spans(BATCH), events: [], metrics: [] };

const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  await request.arrayBuffer();
  return new Response("{}", { headers: { "content-type": "application/json" } });
});
const endpoint = `http://127.0.0.1:${server.addr.port}`;

function backend(options: OtlpHttpOptions): OtlpHttpBackend {
  return new OtlpHttpBackend({ endpoint, ...options });
}
const protobufBackend = backend({ protocol: "http/protobuf" });
const jsonBackend = backend({ protocol: "http/json" });
const protobufGzipBackend = backend({ protocol: "http/protobuf", compression: "gzip" });
const jsonGzipBackend = backend({ protocol: "http/json", compression: "gzip" });

const model = new OtlpModel({ resource: {}, serviceName: "bench", maxPendingSpanEvents: 0 });
const preEncoded = encodeTracesProtobuf(model.spans(batch.spans).spans);
const tracesUrl = `${endpoint}/v1/traces`;

Deno.bench("plain fetch POST of a pre-encoded 1000-span body", {
  group: "export 1000 spans",
  baseline: true,
}, async () => {
  const response = await fetch(tracesUrl, {
    method: "POST",
    headers: { "content-type": "application/x-protobuf" },
    body: preEncoded as BodyInit,
  });
  await response.arrayBuffer();
});

Deno.bench("OtlpHttpBackend protobuf", { group: "export 1000 spans" }, async () => {
  await protobufBackend.write(batch);
});

Deno.bench("OtlpHttpBackend JSON", { group: "export 1000 spans" }, async () => {
  await jsonBackend.write(batch);
});

Deno.bench("OtlpHttpBackend protobuf + gzip", { group: "export 1000 spans" }, async () => {
  await protobufGzipBackend.write(batch);
});

Deno.bench("OtlpHttpBackend JSON + gzip", { group: "export 1000 spans" }, async () => {
  await jsonGzipBackend.write(batch);
});

Deno.bench("JSON.stringify of the records (naive, not OTLP)", {
  group: "encode 1000 spans",
  baseline: true,
}, () => {
  new TextEncoder().encode(JSON.stringify(batch.spans));
});

Deno.bench("map + protobuf (our encoder)", { group: "encode 1000 spans" }, () => {
  encodeTracesProtobuf(model.spans(batch.spans).spans);
});

Deno.bench("map + official @opentelemetry/otlp-transformer serializer", {
  group: "encode 1000 spans",
}, () => {
  ProtobufTraceSerializer.serializeRequest(
    model.spans(batch.spans).spans as unknown as Parameters<
      typeof ProtobufTraceSerializer.serializeRequest
    >[0],
  );
});

Deno.bench("map + OTLP/JSON", { group: "encode 1000 spans" }, () => {
  encodeTracesJson(model.spans(batch.spans).spans);
});

globalThis.addEventListener("unload", () => {
  server.shutdown();
});
