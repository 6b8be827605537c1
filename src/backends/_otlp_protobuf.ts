/**
 * The protobuf encoding, done by the official OpenTelemetry serializers
 * (`@opentelemetry/otlp-transformer`) from the SDK-shaped records of
 * `_otlp_model.ts` and `_otlp_metrics.ts`; plus decoding of the collector's
 * responses (partial success with the same package, `google.rpc.Status` error
 * bodies with protobufjs and the message's published definition).
 *
 * @module
 */
import {
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
} from "@opentelemetry/otlp-transformer";
import protobuf from "protobufjs";
import type { Signal } from "./_otlp_config.ts";
import type { ModelResourceMetrics } from "./_otlp_metrics.ts";
import type { ModelLogRecord, ModelSpan } from "./_otlp_model.ts";

// Our model classes carry exactly the ReadableSpan / ReadableLogRecord /
// ResourceMetrics fields these serializers read (see _otlp_model.ts); the
// casts stand for that structural match, which tests/otlp_http_test.ts
// checks by decoding the bytes with the official message definitions.
type TraceInput = Parameters<typeof ProtobufTraceSerializer.serializeRequest>[0];
type LogsInput = Parameters<typeof ProtobufLogsSerializer.serializeRequest>[0];
type MetricsInput = Parameters<typeof ProtobufMetricsSerializer.serializeRequest>[0];

function required(bytes: Uint8Array | undefined, what: string): Uint8Array {
  if (bytes === undefined) {
    throw new Error(`Cannot encode ${what}: the serializer returned nothing`);
  }
  return bytes;
}

/** An `ExportTraceServiceRequest` as protobuf bytes. */
export function encodeTracesProtobuf(spans: readonly ModelSpan[]): Uint8Array {
  return required(
    ProtobufTraceSerializer.serializeRequest(spans as unknown as TraceInput),
    "spans",
  );
}

/** An `ExportLogsServiceRequest` as protobuf bytes. */
export function encodeLogsProtobuf(logs: readonly ModelLogRecord[]): Uint8Array {
  return required(
    ProtobufLogsSerializer.serializeRequest(logs as unknown as LogsInput),
    "log records",
  );
}

/**
 * An `ExportMetricsServiceRequest` as protobuf bytes. The serializer takes
 * one `ResourceMetrics`; requests for several are concatenated, which
 * protobuf defines as merging them (the repeated field gets every entry).
 */
export function encodeMetricsProtobuf(
  resourceMetrics: readonly ModelResourceMetrics[],
): Uint8Array {
  const parts = resourceMetrics.map((rm) =>
    required(ProtobufMetricsSerializer.serializeRequest(rm as unknown as MetricsInput), "metrics")
  );
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** What a successful export response said about refused records. */
export interface PartialSuccess {
  rejected: number;
  message: string | null;
}

/** Reads `partial_success` from a protobuf `Export*ServiceResponse`. */
export function decodePartialSuccessProtobuf(signal: Signal, bytes: Uint8Array): PartialSuccess {
  if (bytes.length === 0) return { rejected: 0, message: null };
  if (signal === "traces") {
    const p = ProtobufTraceSerializer.deserializeResponse(bytes).partialSuccess;
    return { rejected: Number(p?.rejectedSpans ?? 0), message: p?.errorMessage || null };
  }
  if (signal === "logs") {
    const p = ProtobufLogsSerializer.deserializeResponse(bytes).partialSuccess;
    return { rejected: Number(p?.rejectedLogRecords ?? 0), message: p?.errorMessage || null };
  }
  const p = ProtobufMetricsSerializer.deserializeResponse(bytes).partialSuccess;
  return { rejected: Number(p?.rejectedDataPoints ?? 0), message: p?.errorMessage || null };
}

// google/rpc/status.proto, the body of OTLP/HTTP error responses. `details`
// (repeated google.protobuf.Any) is left out: protobuf skips unknown fields.
const STATUS_PROTO = `
syntax = "proto3";
package google.rpc;
message Status {
  int32 code = 1;
  string message = 2;
}`;
let statusType: protobuf.Type | null = null;

/** The `message` of a protobuf `google.rpc.Status`, or `null` when the bytes are not one. */
export function decodeStatusMessage(bytes: Uint8Array): string | null {
  statusType ??= protobuf.parse(STATUS_PROTO).root.lookupType("google.rpc.Status");
  try {
    const status = statusType.toObject(statusType.decode(bytes)) as { message?: string };
    return typeof status.message === "string" && status.message !== "" ? status.message : null;
  } catch {
    return null;
  }
}
