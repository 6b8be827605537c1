/**
 * LLM calls and tool calls: spans of kind `llm_call` and `tool_call`, the
 * events `llm.request`, `llm.response` and `tool.executed`, and metrics for
 * tokens, cost and durations.
 *
 * @module
 */
import { nowSeconds } from "../model/clock.ts";
import type { TelemetryManager } from "../manager.ts";
import type { Span } from "../model/span.ts";
import { toSpanError } from "../model/span.ts";
import { readableAttributes } from "../model/sanitize.ts";
import { type Attributes, EventType, MetricKind, SpanKind } from "../model/types.ts";

/** What {@linkcode withLlmCall} records about a request. */
export interface LlmCallInfo {
  /** The model, e.g. `"gpt-4o-mini"`. */
  model: string;
  /** Who serves it, e.g. `"openai"`. @default {no attribute} */
  provider?: string;
  /** The operation; names the span `<operation> <model>` (OpenTelemetry GenAI style). @default {"chat"} */
  operation?: string;
  /** Further attributes of the request. @default {{}} */
  attributes?: Attributes;
}

/** Token counts and cost of an LLM response, set with {@linkcode LlmCall.setUsage}. */
export interface LlmUsage {
  /** Tokens in the prompt. */
  promptTokens?: number;
  /** Tokens in the completion. */
  completionTokens?: number;
  /** Cost of the call, in `costUnit`. */
  cost?: number;
  /** Unit of `cost`. @default {"USD"} */
  costUnit?: string;
  /** Why the model stopped, e.g. `"stop"`, `"length"`. */
  finishReason?: string;
}

/** The handle {@linkcode withLlmCall} gives its callback. */
export interface LlmCall {
  /** The `llm_call` span. */
  readonly span: Span;
  /** Records token counts and cost; recorded as attributes and metrics when the call ends. */
  setUsage(usage: LlmUsage): void;
}

function usageAttributes(usage: LlmUsage): Attributes {
  const out: Attributes = {};
  if (usage.promptTokens !== undefined) out["llm.prompt_tokens"] = usage.promptTokens;
  if (usage.completionTokens !== undefined) out["llm.completion_tokens"] = usage.completionTokens;
  if (usage.promptTokens !== undefined || usage.completionTokens !== undefined) {
    out["llm.total_tokens"] = (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0);
  }
  if (usage.cost !== undefined) {
    out["llm.cost"] = usage.cost;
    out["llm.cost_unit"] = usage.costUnit ?? "USD";
  }
  if (usage.finishReason !== undefined) out["llm.finish_reason"] = usage.finishReason;
  return out;
}

/**
 * Runs an LLM call inside an `llm_call` span, recording `llm.request` when it
 * starts and `llm.response` when it ends (or `error.occurred` when it throws;
 * the error is rethrown). Token counts and cost given through
 * `call.setUsage()` become span attributes (`llm.prompt_tokens`,
 * `llm.completion_tokens`, `llm.total_tokens`, `llm.cost`) and metrics
 * (`llm_prompt_tokens`, `llm_completion_tokens`, `llm_total_tokens`,
 * `llm_cost`); `llm_duration` is always recorded.
 *
 * @param manager The telemetry manager.
 * @param info The model and request attributes.
 * @param fn The call.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager, withLlmCall } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const text = await withLlmCall(manager, { model: "tiny-1", provider: "local" }, (call) => {
 *   call.setUsage({ promptTokens: 12, completionTokens: 30, cost: 0.0004 });
 *   return Promise.resolve("hello");
 * });
 * assert.equal(text, "hello");
 * await manager.flush();
 * const [tokens] = await manager.queryMetrics({ metricName: "llm_completion_tokens" });
 * assert.equal(tokens?.value, 30);
 * ```
 */
export function withLlmCall<T>(
  manager: TelemetryManager,
  info: LlmCallInfo,
  fn: (call: LlmCall) => Promise<T>,
): Promise<T> {
  const operation = info.operation ?? "chat";
  const request: Attributes = {
    "llm.model": info.model,
    "llm.operation": operation,
    ...(info.provider !== undefined ? { "llm.provider": info.provider } : {}),
  };
  // Read once, never throwing (a getter that throws becomes a marker).
  const extra = readableAttributes(info.attributes) as Attributes;
  return manager.withSpan(
    `${operation} ${info.model}`,
    { kind: SpanKind.LLM_CALL, attributes: { ...request, ...extra } },
    async (span) => {
      const ids = { traceId: span.traceId, spanId: span.spanId };
      let usage: LlmUsage = {};
      const start = nowSeconds();
      manager.recordEvent(EventType.LLM_REQUEST, `${operation} ${info.model} request`, {
        ...ids,
        attributes: { ...request, ...extra },
      });
      let failed = false;
      try {
        return await fn({
          span,
          setUsage(given: LlmUsage): void {
            usage = { ...usage, ...given };
          },
        });
      } catch (error) {
        failed = true;
        const { type, message } = toSpanError(error);
        manager.recordEvent(EventType.ERROR_OCCURRED, `${operation} ${info.model} failed`, {
          ...ids,
          attributes: { ...request, error: message, error_type: type },
        });
        throw error;
      } finally {
        const duration = nowSeconds() - start;
        const measured = usageAttributes(usage);
        span.setAttributes(measured);
        if (!failed) {
          manager.recordEvent(EventType.LLM_RESPONSE, `${operation} ${info.model} response`, {
            ...ids,
            attributes: { ...request, ...measured, duration },
          });
        }
        const metric = (name: string, value: number, unit: string, kind: MetricKind) =>
          manager.recordMetric(name, value, {
            unit,
            kind,
            traceId: span.traceId,
            attributes: request,
          });
        metric("llm_duration", duration, "s", MetricKind.HISTOGRAM);
        if (usage.promptTokens !== undefined) {
          metric("llm_prompt_tokens", usage.promptTokens, "tokens", MetricKind.COUNTER);
        }
        if (usage.completionTokens !== undefined) {
          metric("llm_completion_tokens", usage.completionTokens, "tokens", MetricKind.COUNTER);
        }
        if (measured["llm.total_tokens"] !== undefined) {
          metric(
            "llm_total_tokens",
            measured["llm.total_tokens"] as number,
            "tokens",
            MetricKind.COUNTER,
          );
        }
        if (usage.cost !== undefined) {
          metric("llm_cost", usage.cost, usage.costUnit ?? "USD", MetricKind.COUNTER);
        }
      }
    },
  );
}

/** What {@linkcode withToolCall} records about a tool call. */
export interface ToolCallInfo {
  /** The tool's name, e.g. `"web_search"`; names the span `tool <name>`. */
  name: string;
  /** Further attributes of the call (arguments worth keeping). @default {{}} */
  attributes?: Attributes;
}

/**
 * Runs a tool call inside a `tool_call` span and records `tool.executed` when
 * it ends (with `tool_name`, `success`, `duration`, and `error`,
 * `error_type` on failure; the error is rethrown) and the metric
 * `tool_duration`, plus `tool_error_count` on failure.
 *
 * @param manager The telemetry manager.
 * @param tool The tool.
 * @param fn The call; receives the span.
 * @returns What `fn` returns.
 *
 * @example
 * ```ts
 * import { TelemetryConfig, TelemetryManager, withToolCall } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * await using manager = new TelemetryManager(TelemetryConfig.createMemory());
 * const sum = await withToolCall(manager, { name: "calculator" }, () => Promise.resolve(2 + 2));
 * assert.equal(sum, 4);
 * await manager.flush();
 * const [event] = await manager.queryEvents({ eventType: "tool.executed" });
 * assert.equal(event?.attributes.tool_name, "calculator");
 * assert.equal(event?.attributes.success, true);
 * ```
 */
export function withToolCall<T>(
  manager: TelemetryManager,
  tool: ToolCallInfo,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const identity: Attributes = { "tool.name": tool.name };
  return manager.withSpan(
    `tool ${tool.name}`,
    {
      kind: SpanKind.TOOL_CALL,
      attributes: { ...identity, ...readableAttributes(tool.attributes) as Attributes },
    },
    async (span) => {
      const start = nowSeconds();
      let outcome: Attributes = { success: true };
      try {
        return await fn(span);
      } catch (error) {
        const { type, message } = toSpanError(error);
        outcome = { success: false, error: message, error_type: type };
        manager.recordMetric("tool_error_count", 1, {
          kind: MetricKind.COUNTER,
          traceId: span.traceId,
          attributes: { ...identity, error_type: type },
        });
        throw error;
      } finally {
        const duration = nowSeconds() - start;
        manager.recordEvent(EventType.TOOL_EXECUTED, `${tool.name} executed`, {
          traceId: span.traceId,
          spanId: span.spanId,
          attributes: { tool_name: tool.name, duration, ...outcome },
        });
        manager.recordMetric("tool_duration", duration, {
          unit: "s",
          kind: MetricKind.HISTOGRAM,
          traceId: span.traceId,
          attributes: { ...identity, success: outcome.success! },
        });
      }
    },
  );
}
