/**
 * Context propagation across processes (`propagateContext`): W3C Trace
 * Context (`traceparent`, `tracestate`) and W3C Baggage headers, injected
 * into outgoing requests and extracted from incoming ones, so that a trace
 * continues in the next process with the right parent.
 *
 * - {@linkcode injectContext} / {@linkcode extractContext}: headers in and out.
 * - {@linkcode createTracedFetch}: a `fetch` that records a span per request
 *   and sends the context.
 * - {@linkcode traceHandler}: wraps a `Deno.serve` handler so each request
 *   runs in a span that continues the caller's trace.
 * - {@linkcode withBaggage} / {@linkcode getBaggage}: baggage of the current
 *   async context.
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { runWithContext } from "../context/context.ts";
import type { TelemetryManager } from "../manager.ts";
import { type Attributes, SpanKind, SpanStatus } from "../model/types.ts";
import {
  type Baggage,
  formatBaggage,
  formatTraceparent,
  PARENT_REMOTE_ATTRIBUTE,
  parseBaggage,
  parseTraceparent,
  parseTracestate,
  type TraceParent,
  TRACESTATE_ATTRIBUTE,
} from "../context/w3c.ts";
import { currentIds } from "../context/current.ts";

export {
  type Baggage,
  formatBaggage,
  formatTraceparent,
  MAX_BAGGAGE_BYTES,
  MAX_BAGGAGE_MEMBERS,
  MAX_TRACESTATE_MEMBERS,
  parseBaggage,
  parseTraceparent,
  parseTracestate,
  type TraceParent,
  type TraceparentFields,
} from "../context/w3c.ts";

/** What the caller of this process sent: its span, its vendors' state and its baggage. */
export interface RemoteContext {
  /** The caller's trace and span, or `null` when no valid `traceparent` came. */
  parent: TraceParent | null;
  /** The validated `tracestate`, passed on unchanged, or `null`. */
  tracestate: string | null;
  /** The decoded `baggage` entries. */
  baggage: Baggage;
}

interface Carried {
  baggage: Baggage;
  tracestate: string | null;
}

// Baggage and tracestate are not the manager's business (they are never
// stored), so they travel in their own async context beside the span context.
const carried = new AsyncLocalStorage<Carried>();

/**
 * Returns the baggage of the current async context (set by
 * {@linkcode withBaggage} or by {@linkcode traceHandler} from the request).
 *
 * @returns The entries; empty outside any.
 *
 * @example
 * ```ts
 * import { getBaggage, withBaggage } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await withBaggage({ tenant: "acme" }, async () => {
 *   await Promise.resolve();
 *   assert.deepEqual(getBaggage(), { tenant: "acme" });
 * });
 * assert.deepEqual(getBaggage(), {});
 * ```
 */
export function getBaggage(): Baggage {
  return { ...carried.getStore()?.baggage };
}

/**
 * Runs `fn` with `baggage` added to the current baggage (same keys replaced),
 * so outgoing requests made inside it carry the entries.
 *
 * @param baggage Entries to add.
 * @param fn The function to run.
 * @returns What `fn` returns.
 */
export function withBaggage<T>(baggage: Baggage, fn: () => T): T {
  const outer = carried.getStore();
  return carried.run(
    { baggage: { ...outer?.baggage, ...baggage }, tracestate: outer?.tracestate ?? null },
    fn,
  );
}

/**
 * Reads the W3C headers of an incoming request. Invalid headers are ignored
 * as the specs require: a bad `traceparent` yields `parent: null`, a bad
 * `tracestate` is dropped, malformed baggage members are skipped.
 *
 * @param headers The request's headers.
 * @returns The caller's context.
 *
 * @example
 * ```ts
 * import { extractContext } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const remote = extractContext(new Headers({
 *   traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
 *   baggage: "user=alice",
 * }));
 * assert.equal(remote.parent?.spanId, "00f067aa0ba902b7");
 * assert.deepEqual(remote.baggage, { user: "alice" });
 * ```
 */
export function extractContext(headers: Headers): RemoteContext {
  const parent = parseTraceparent(headers.get("traceparent"));
  return {
    parent,
    // tracestate means nothing without a valid traceparent (W3C Trace Context 3.3).
    tracestate: parent === null ? null : parseTracestate(headers.get("tracestate")),
    baggage: parseBaggage(headers.get("baggage")),
  };
}

function sampled(manager: TelemetryManager, traceId: string): boolean {
  const config = manager.config;
  return config.enabled && config.enableTraces && config.shouldSample(traceId);
}

/**
 * Writes the current context into outgoing headers: `traceparent` naming the
 * current span as the parent (its sampled flag is this process's sampling
 * decision for the trace), the `tracestate` received with the trace, and the
 * current baggage. Does nothing when `propagateContext` is off; writes no
 * `traceparent` outside a span.
 *
 * @param manager The telemetry manager (its configuration decides).
 * @param headers Headers to write into. @default {new Headers()}
 * @returns The same `headers`.
 *
 * @example
 * ```ts
 * import { injectContext, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * await manager.withSpan("call", {}, (span) => {
 *   const headers = injectContext(manager);
 *   assert.equal(headers.get("traceparent"), `00-${span.traceId}-${span.spanId}-01`);
 *   return Promise.resolve();
 * });
 * ```
 */
export function injectContext(
  manager: TelemetryManager,
  headers: Headers = new Headers(),
): Headers {
  if (!manager.config.propagateContext) return headers;
  const ids = currentIds();
  if (ids !== null && ids.spanId !== null) {
    headers.set(
      "traceparent",
      formatTraceparent({
        traceId: ids.traceId,
        spanId: ids.spanId,
        sampled: sampled(manager, ids.traceId),
      }),
    );
    const state = carried.getStore()?.tracestate;
    if (state) headers.set("tracestate", state);
  }
  const baggage = carried.getStore()?.baggage;
  if (baggage && Object.keys(baggage).length > 0) {
    const value = formatBaggage(baggage);
    if (value !== "") headers.set("baggage", value);
  }
  return headers;
}

/** The signature of `fetch`. */
export type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** Options of {@linkcode createTracedFetch}. */
export interface TracedFetchOptions {
  /** The `fetch` to wrap. @default {globalThis.fetch} */
  fetch?: FetchFunction;
}

/**
 * Returns a `fetch` that runs each request in a span (`HTTP <METHOD>`, with
 * `http.request.method`, `url.full` and `http.response.status_code`; status
 * `error` for a 5xx answer or a network error) and sends the context of that
 * span with {@linkcode injectContext}.
 *
 * @param manager The telemetry manager.
 * @param options The `fetch` to wrap.
 * @returns The wrapped `fetch`.
 *
 * @example
 * ```ts
 * import { createTracedFetch, TelemetryConfig, TelemetryManager } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * let sent: string | null = null;
 * const tracedFetch = createTracedFetch(manager, {
 *   fetch: (input, init) => {
 *     sent = new Request(input, init).headers.get("traceparent");
 *     return Promise.resolve(new Response("ok"));
 *   },
 * });
 * await manager.withTrace("job", {}, () => tracedFetch("http://example.test/"));
 * assert.match(sent ?? "", /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
 * ```
 */
export function createTracedFetch(
  manager: TelemetryManager,
  options: TracedFetchOptions = {},
): FetchFunction {
  const base: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  return (input, init) => {
    const request = new Request(input, init);
    return manager.withSpan(
      `HTTP ${request.method}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: { "http.request.method": request.method, "url.full": request.url },
      },
      async (span) => {
        injectContext(manager, request.headers);
        const response = await base(request);
        span.setAttribute("http.response.status_code", response.status);
        if (response.status >= 500) span.status = SpanStatus.ERROR;
        return response;
      },
    );
  };
}

/** A `Deno.serve` handler. */
export type ServeHandler = (
  request: Request,
  info: Deno.ServeHandlerInfo,
) => Response | Promise<Response>;

/**
 * Wraps a `Deno.serve` handler so that each request runs inside a span
 * (`HTTP <METHOD> <path>`, with `http.request.method`, `url.path` and
 * `http.response.status_code`) whose parent is the caller's span from the
 * `traceparent` header, in the caller's trace. Without a valid
 * `traceparent` (or with `propagateContext` off) the request starts a trace
 * of its own. Incoming baggage and `tracestate` are current inside the
 * handler, so calls it makes with {@linkcode createTracedFetch} pass them on.
 * A handler that throws fails the span; the error propagates to `Deno.serve`.
 * A span continuing a remote parent carries `spark.parent.remote: true` and
 * the incoming `tracestate` as `w3c.tracestate`; OTLP export sends them as the
 * span's IS_REMOTE flag and `traceState`.
 *
 * A continued trace has no trace record in this process: the trace belongs
 * to the process that started it, and rewriting its record here would replace
 * its name and status in a shared store.
 *
 * @param manager The telemetry manager.
 * @param handler The handler.
 * @returns The wrapped handler.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager, traceHandler } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const handler = traceHandler(manager, () => new Response("hi"));
 * const info = { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 1 } } as Deno.ServeHandlerInfo;
 * const request = new Request("http://localhost/hello", {
 *   headers: { traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" },
 * });
 * assert.equal(await (await handler(request, info)).text(), "hi");
 * await manager.flush();
 * const [span] = await manager.querySpans({ traceId: "4bf92f3577b34da6a3ce929d0e0e4736" });
 * assert.equal(span?.parentSpanId, "00f067aa0ba902b7");
 * ```
 */
export function traceHandler(manager: TelemetryManager, handler: ServeHandler): ServeHandler {
  return (request, info) => {
    const url = new URL(request.url);
    const name = `HTTP ${request.method} ${url.pathname}`;
    const remote: RemoteContext = manager.config.propagateContext
      ? extractContext(request.headers)
      : { parent: null, tracestate: null, baggage: {} };
    const attributes: Attributes = {
      "http.request.method": request.method,
      "url.path": url.pathname,
    };
    if (remote.parent !== null) {
      // Kept on the span (and sent as OTLP's IS_REMOTE flag and traceState).
      attributes[PARENT_REMOTE_ATTRIBUTE] = true;
      if (remote.tracestate !== null) attributes[TRACESTATE_ATTRIBUTE] = remote.tracestate;
    }
    const serve = () =>
      manager.withSpan(
        name,
        { kind: SpanKind.INTERNAL, attributes },
        async (span) => {
          const response = await handler(request, info);
          span.setAttribute("http.response.status_code", response.status);
          if (response.status >= 500) span.status = SpanStatus.ERROR;
          return response;
        },
      );
    return carried.run({ baggage: remote.baggage, tracestate: remote.tracestate }, () => {
      if (remote.parent === null) return manager.withTrace(name, {}, serve);
      const parent = remote.parent;
      return runWithContext({ traceId: parent.traceId, spanId: parent.spanId }, serve);
    });
  };
}
