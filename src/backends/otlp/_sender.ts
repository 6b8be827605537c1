/**
 * Sends one encoded OTLP request with the delivery rules of the OTLP/HTTP
 * spec: retry only 429, 502, 503, 504, network errors and timeouts, with
 * exponential backoff and jitter, honouring `Retry-After` (seconds or an HTTP
 * date), within a bounded total time; any other failure status is final.
 *
 * ```
 * send(body) ─► POST ─► 2xx ──────────────► { delivered, partial_success }
 *                 │ ├─► 429/502/503/504 ┐
 *                 │ └─► network/timeout ┴─► wait (Retry-After | backoff+jitter)
 *                 │                          └─ past the budget ─► throw CONNECTION
 *                 └──► other status ─────────► { refused, collector's message }
 * ```
 *
 * Response bodies are read up to {@linkcode MAX_RESPONSE_BYTES} (the spec
 * asks exporters to limit them): a larger one is a final failure, so a
 * misbehaving endpoint cannot make the worker buffer without bound.
 *
 * @module
 */
import { VERSION } from "../../version.ts";
import { sleep } from "../_sleep.ts";
import { BackendError } from "../backend.ts";
import type { Signal, SignalTarget } from "./_config.ts";
import {
  decodePartialSuccessProtobuf,
  decodeStatusMessage,
  type PartialSuccess,
} from "./_protobuf.ts";

/** Statuses the spec says to retry. */
export const RETRIABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Retry timing. */
export interface RetryPolicy {
  maxRetryTimeMs: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** How a request ended when it did not throw. */
export type SendOutcome =
  | { delivered: true; partial: PartialSuccess }
  | { delivered: false; status: number; message: string };

const MAX_MESSAGE = 1000;
/** Most bytes of a collector's response body read (4 MiB). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/** Reads a response body, or returns `null` (and cancels it) past `limit` bytes. */
async function readLimited(response: Response, limit: number): Promise<Uint8Array | null> {
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length > limit) {
    await response.body?.cancel();
    return null;
  }
  if (response.body === null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/**
 * Parses `Retry-After`: delay-seconds or an HTTP date. Returns milliseconds
 * from `now`, or `null` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return null;
  return Math.max(0, date - now);
}

async function gzip(body: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([body as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_MESSAGE ? `${oneLine.slice(0, MAX_MESSAGE)}…` : oneLine;
}

/** The collector's message from an error body: `google.rpc.Status` as JSON or protobuf, or text. */
function errorMessage(contentType: string, bytes: Uint8Array): string {
  if (bytes.length === 0) return "(empty body)";
  const text = new TextDecoder().decode(bytes);
  if (contentType.includes("json")) {
    try {
      const status = JSON.parse(text) as { message?: unknown };
      if (typeof status.message === "string" && status.message !== "") return clip(status.message);
    } catch {
      // Not JSON after all: fall through to the raw text.
    }
    return clip(text);
  }
  if (contentType.includes("protobuf")) {
    const message = decodeStatusMessage(bytes);
    if (message !== null) return clip(message);
  }
  return clip(text);
}

const REJECTED_KEY: Record<Signal, string> = {
  traces: "rejectedSpans",
  logs: "rejectedLogRecords",
  metrics: "rejectedDataPoints",
};

function partialSuccess(
  signal: Signal,
  contentType: string,
  bytes: Uint8Array,
  sentJson: boolean,
): PartialSuccess {
  if (bytes.length === 0) return { rejected: 0, message: null };
  try {
    if (contentType.includes("json") || (sentJson && !contentType.includes("protobuf"))) {
      const body = JSON.parse(new TextDecoder().decode(bytes)) as {
        partialSuccess?: Record<string, unknown>;
      };
      const p = body.partialSuccess;
      if (p === undefined || p === null) return { rejected: 0, message: null };
      const rejected = Number(p[REJECTED_KEY[signal]] ?? 0);
      const message = typeof p.errorMessage === "string" && p.errorMessage !== ""
        ? clip(p.errorMessage)
        : null;
      return { rejected: Number.isFinite(rejected) ? rejected : 0, message };
    }
    const p = decodePartialSuccessProtobuf(bytes);
    return { rejected: p.rejected, message: p.message === null ? null : clip(p.message) };
  } catch {
    // A 2xx whose body we cannot read still means the collector took the data.
    return { rejected: 0, message: null };
  }
}

/** Sends the requests of one signal to one collector URL. */
export class OtlpSender {
  readonly #signal: Signal;
  readonly #target: SignalTarget;
  readonly #policy: RetryPolicy;
  readonly #closed: AbortSignal;
  readonly #onRetry: (failure: string) => void;
  readonly #headers: Record<string, string>;
  // Earliest time the collector wants to hear from us again (Retry-After).
  #notBefore = 0;

  constructor(
    signal: Signal,
    target: SignalTarget,
    policy: RetryPolicy,
    closed: AbortSignal,
    onRetry: (failure: string) => void,
  ) {
    this.#signal = signal;
    this.#target = target;
    this.#policy = policy;
    this.#closed = closed;
    this.#onRetry = onRetry;
    this.#headers = {
      "user-agent": `spark-telemetry/${VERSION}`,
      ...target.headers,
      "content-type": target.protocol === "http/json"
        ? "application/json"
        : "application/x-protobuf",
    };
    if (target.compression === "gzip") this.#headers["content-encoding"] = "gzip";
  }

  /** The collector URL. */
  get url(): string {
    return this.#target.url;
  }

  /**
   * Sends `body`, retrying as the spec allows.
   *
   * @throws {BackendError} `"CONNECTION"` when retriable failures outlast the
   * retry budget; `"CLOSED"` when the backend closes meanwhile.
   */
  async send(body: Uint8Array): Promise<SendOutcome> {
    const payload = this.#target.compression === "gzip" ? await gzip(body) : body;
    const started = Date.now();
    const deadline = started + this.#policy.maxRetryTimeMs;
    const sentJson = this.#target.protocol === "http/json";
    let attempt = 0;
    for (;;) {
      this.#checkOpen();
      const wait = this.#notBefore - Date.now();
      if (wait > 0) {
        if (Date.now() + wait > deadline) {
          throw this.#giveUp(
            `the collector asked to wait ${Math.ceil(wait / 1000)} s (Retry-After)`,
            attempt,
            started,
          );
        }
        await sleep(wait, this.#closed);
        this.#checkOpen();
      }
      let failure: string;
      let retryAfterMs: number | null = null;
      try {
        const timeout = AbortSignal.timeout(this.#target.timeoutMs);
        const response = await fetch(this.#target.url, {
          method: "POST",
          headers: this.#headers,
          body: payload as BodyInit,
          signal: AbortSignal.any([timeout, this.#closed]),
        });
        const bytes = await readLimited(response, MAX_RESPONSE_BYTES);
        if (bytes === null) {
          return {
            delivered: false,
            status: response.status,
            message: `the response body exceeds ${MAX_RESPONSE_BYTES} bytes (not read further)`,
          };
        }
        const contentType = response.headers.get("content-type") ?? "";
        if (response.ok) {
          return {
            delivered: true,
            partial: partialSuccess(this.#signal, contentType, bytes, sentJson),
          };
        }
        const message = errorMessage(contentType, bytes);
        if (!RETRIABLE_STATUSES.has(response.status)) {
          return { delivered: false, status: response.status, message };
        }
        failure = `HTTP ${response.status}: ${message}`;
        retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
      } catch (error) {
        this.#checkOpen();
        failure = error instanceof DOMException && error.name === "TimeoutError"
          ? `no response within ${this.#target.timeoutMs} ms`
          : `network error: ${error instanceof Error ? error.message : String(error)}`;
      }
      attempt++;
      const backoff = Math.min(
        this.#policy.maxBackoffMs,
        this.#policy.initialBackoffMs * 2 ** (attempt - 1),
      );
      // Jitter spreads out exporters that failed together so they do not retry in lockstep.
      const jittered = backoff * (0.5 + Math.random() * 0.5);
      // Retry-After is a floor: "0" must not turn retries into a tight loop.
      const delay = retryAfterMs === null ? jittered : Math.max(retryAfterMs, jittered);
      if (retryAfterMs !== null) this.#notBefore = Date.now() + retryAfterMs;
      if (Date.now() + delay > deadline) throw this.#giveUp(failure, attempt, started);
      this.#onRetry(`Retrying ${this.#signal} to ${this.#target.url} after ${failure}`);
      await sleep(delay, this.#closed);
    }
  }

  #checkOpen(): void {
    if (this.#closed.aborted) {
      throw new BackendError("CLOSED", `Cannot export ${this.#signal}: the backend was closed`);
    }
  }

  #giveUp(failure: string, attempts: number, started: number): BackendError {
    return new BackendError(
      "CONNECTION",
      `Cannot export ${this.#signal} to ${this.#target.url}: ${failure} ` +
        `(${attempts} attempt${attempts === 1 ? "" : "s"} in ${Date.now() - started} ms; ` +
        `the batch is kept for a later retry)`,
    );
  }
}
