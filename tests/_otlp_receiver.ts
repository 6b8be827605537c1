/**
 * Test fixture: a local OTLP/HTTP receiver on 127.0.0.1 that decodes what it
 * receives with the official OpenTelemetry message definitions — protobufjs
 * loading `fixtures/otlp_proto.json`, the descriptors of the official
 * `.proto` files (open-telemetry/opentelemetry-proto, commit ac2c4b5: v1.11.0
 * and 16 commits), not our own code — into one canonical form for both encodings.
 * To regenerate the descriptors, in a checkout of that repository:
 *
 * ```sh
 * npx -p protobufjs-cli@2.7.1 pbjs -t json -o otlp_proto.json \
 *   opentelemetry/proto/collector/trace/v1/trace_service.proto \
 *   opentelemetry/proto/collector/metrics/v1/metrics_service.proto \
 *   opentelemetry/proto/collector/logs/v1/logs_service.proto
 * ```
 *
 * @module
 */
import protobuf from "protobufjs";
import descriptors from "./fixtures/otlp_proto.json" with { type: "json" };

/** A protobufjs generated message class (the parts we use). */
interface MessageType {
  decode(bytes: Uint8Array): unknown;
  fromObject(object: unknown): unknown;
  toObject(message: unknown, options: Record<string, unknown>): Record<string, unknown>;
  verify(object: unknown): string | null;
}

const root = protobuf.Root.fromJSON(descriptors);
const collector = "opentelemetry.proto.collector";
/** The request message of each OTLP/HTTP path. */
export const REQUEST_TYPES: Record<string, MessageType> = {
  "/v1/traces": root.lookupType(`${collector}.trace.v1.ExportTraceServiceRequest`),
  "/v1/logs": root.lookupType(`${collector}.logs.v1.ExportLogsServiceRequest`),
  "/v1/metrics": root.lookupType(`${collector}.metrics.v1.ExportMetricsServiceRequest`),
};

const ID_FIELDS = new Set(["traceId", "spanId", "parentSpanId"]);
const TO_OBJECT = { longs: String, enums: Number, bytes: Array, json: true } as const;

function hex(bytes: number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
}

function hexToBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Replaces OTLP/JSON's hex ids with bytes, as the protobuf JSON mapping expects. */
function idsToBytes(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(idsToBytes);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = ID_FIELDS.has(key) && typeof v === "string" ? hexToBytes(v) : idsToBytes(v);
  }
  return out;
}

/**
 * Canonical form: ids as hex, 64-bit ints as strings, and default values
 * (0, "", false, empty lists) dropped — protobuf does not distinguish them
 * from absent fields, so neither does the comparison.
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    let c: unknown = ID_FIELDS.has(key) && Array.isArray(v) ? hex(v as number[]) : canonical(v);
    if (typeof c === "number" && key === "intValue") c = String(c);
    const isDefault = c === 0 || c === "0" || c === "" || c === false ||
      (Array.isArray(c) && c.length === 0);
    if (!isDefault) out[key] = c;
  }
  return out;
}

/** One request the receiver got, decoded. */
export interface Received {
  path: string;
  headers: Headers;
  /** The body as sent (compressed when gzip was on). */
  rawBytes: number;
  /** The decoded body, in canonical form. */
  body: Record<string, unknown>;
  /** For JSON requests: the JSON as sent, in canonical form (to check nothing was lost decoding it). */
  json: Record<string, unknown> | null;
  /** The status the receiver answered with (0 until it answered). */
  status: number;
}

/** What the receiver answers; by default `200 {}`. */
export type Reply = Response | ((request: Request) => Response | Promise<Response>);

/** A running receiver. */
export interface Receiver {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Decoded requests, in arrival order (including those answered with an error). */
  requests: Received[];
  /** Answers to give next, one per request; when empty, `200 {}`. */
  replies: Reply[];
  /** Stops the server. */
  close(): Promise<void>;
}

/** Decodes one OTLP/HTTP request body with the official definitions. */
export async function decodeRequest(
  path: string,
  headers: Headers,
  raw: Uint8Array,
): Promise<{ body: Record<string, unknown>; json: Record<string, unknown> | null }> {
  const type = REQUEST_TYPES[path];
  if (type === undefined) throw new Error(`unexpected path ${path}`);
  let bytes = raw;
  if (headers.get("content-encoding") === "gzip") {
    const stream = new Blob([raw as BlobPart]).stream().pipeThrough(
      new DecompressionStream("gzip"),
    );
    bytes = new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const contentType = headers.get("content-type");
  if (contentType === "application/x-protobuf") {
    const message = type.decode(bytes);
    return {
      body: canonical(type.toObject(message, TO_OBJECT)) as Record<string, unknown>,
      json: null,
    };
  }
  if (contentType === "application/json") {
    const json = JSON.parse(new TextDecoder().decode(bytes));
    const object = idsToBytes(json);
    const problem = type.verify(type.fromObject(object));
    if (problem !== null) throw new Error(`invalid OTLP/JSON: ${problem}`);
    const message = type.fromObject(object);
    return {
      body: canonical(type.toObject(message, TO_OBJECT)) as Record<string, unknown>,
      json: canonical(json) as Record<string, unknown>,
    };
  }
  throw new Error(`unexpected content-type ${contentType}`);
}

/** Starts a receiver on 127.0.0.1 with a random port. */
export function startReceiver(): Receiver {
  const requests: Received[] = [];
  const replies: Reply[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const raw = new Uint8Array(await request.arrayBuffer());
      const decoded = await decodeRequest(path, request.headers, raw);
      const received: Received = {
        path,
        headers: request.headers,
        rawBytes: raw.length,
        ...decoded,
        status: 0,
      };
      requests.push(received);
      const reply = replies.shift();
      const response = reply === undefined
        ? new Response("{}", { headers: { "content-type": "application/json" } })
        : typeof reply === "function"
        ? await reply(request)
        : reply;
      received.status = response.status;
      return response;
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    requests,
    replies,
    close: () => server.shutdown(),
  };
}
