/**
 * Adds OpenTelemetry GenAI semantic-convention attributes to LLM and tool
 * spans, from the attribute names users (and the seed) already write. The
 * original attributes are kept; a `gen_ai.*` key the user set wins.
 *
 * @module
 */
import type { Attributes, AttributeValue, SpanKind } from "../../model/types.ts";

/** `gen_ai.*` key ← the attribute names it is taken from, first present wins. */
export const LLM_ATTRIBUTE_MAP: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["gen_ai.request.model", [
    "llm.model",
    "model",
    "llm.model_name",
    "model_name",
    "llm.request.model",
  ]],
  ["gen_ai.response.model", ["llm.response.model", "llm.response_model", "response_model"]],
  ["gen_ai.provider.name", ["llm.provider", "provider", "llm.system", "llm.vendor"]],
  ["gen_ai.system", ["llm.provider", "provider", "llm.system", "llm.vendor"]],
  [
    "gen_ai.usage.input_tokens",
    [
      "llm.prompt_tokens",
      "prompt_tokens",
      "llm.usage.prompt_tokens",
      "llm.input_tokens",
      "input_tokens",
      "usage.prompt_tokens",
    ],
  ],
  [
    "gen_ai.usage.output_tokens",
    [
      "llm.completion_tokens",
      "completion_tokens",
      "llm.usage.completion_tokens",
      "llm.output_tokens",
      "output_tokens",
      "usage.completion_tokens",
    ],
  ],
  ["gen_ai.request.temperature", ["llm.temperature", "temperature"]],
  ["gen_ai.request.max_tokens", ["llm.max_tokens", "max_tokens"]],
  ["gen_ai.request.top_p", ["llm.top_p", "top_p"]],
  ["gen_ai.response.id", ["llm.response_id", "llm.response.id", "response_id"]],
  ["gen_ai.response.finish_reasons", ["llm.finish_reason", "finish_reason", "llm.finish_reasons"]],
  ["gen_ai.operation.name", ["llm.operation", "llm.request_type"]],
];

/** `gen_ai.*` key ← the attribute names it is taken from, for tool spans. */
export const TOOL_ATTRIBUTE_MAP: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["gen_ai.tool.name", ["tool.name", "tool_name", "tool"]],
  ["gen_ai.tool.call.id", ["tool.call_id", "tool_call_id", "tool.id", "tool.call.id"]],
  ["gen_ai.tool.description", ["tool.description", "tool_description"]],
  ["gen_ai.tool.type", ["tool.type", "tool_type"]],
];

const INTEGER_KEYS = new Set([
  "gen_ai.usage.input_tokens",
  "gen_ai.usage.output_tokens",
  "gen_ai.request.max_tokens",
]);

function convert(key: string, value: AttributeValue): AttributeValue | undefined {
  if (value === null) return undefined;
  if (INTEGER_KEYS.has(key)) {
    // Token counts sometimes arrive as strings; the convention types them as int.
    const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
    return typeof n === "number" && Number.isInteger(n) ? n : undefined;
  }
  if (key === "gen_ai.response.finish_reasons") {
    if (typeof value === "string") return [value];
    return Array.isArray(value) ? value : undefined;
  }
  if (key === "gen_ai.request.temperature" || key === "gen_ai.request.top_p") {
    return typeof value === "number" ? value : undefined;
  }
  return typeof value === "string" ? value : undefined;
}

function apply(
  map: ReadonlyArray<readonly [string, readonly string[]]>,
  attributes: Attributes,
  out: Attributes,
): void {
  for (const [target, sources] of map) {
    if (target in attributes || target in out) continue;
    for (const source of sources) {
      const value = attributes[source];
      if (value === undefined) continue;
      const converted = convert(target, value);
      if (converted !== undefined) {
        out[target] = converted;
        break;
      }
    }
  }
}

/**
 * Returns the GenAI attributes to add to a span (none for kinds other than
 * `llm_call` and `tool_call`). `gen_ai.operation.name` defaults to `"chat"`
 * for LLM calls and is `"execute_tool"` for tool calls, as the conventions
 * require one on every GenAI span.
 */
export function genAiAttributes(kind: SpanKind, attributes: Attributes): Attributes | null {
  if (kind === "llm_call") {
    const out: Attributes = {};
    apply(LLM_ATTRIBUTE_MAP, attributes, out);
    if (!("gen_ai.operation.name" in attributes) && !("gen_ai.operation.name" in out)) {
      out["gen_ai.operation.name"] = "chat";
    }
    return out;
  }
  if (kind === "tool_call") {
    const out: Attributes = {};
    apply(TOOL_ATTRIBUTE_MAP, attributes, out);
    if (!("gen_ai.operation.name" in attributes)) out["gen_ai.operation.name"] = "execute_tool";
    return out;
  }
  return null;
}
