/**
 * Server-side HTML: a tagged template that escapes every interpolated value
 * unless it is already {@linkcode Html} made by this module. Stored values
 * (span names, attributes, error messages) are untrusted text: they only
 * ever reach a page through {@linkcode escapeHtml}, which also makes them
 * safe inside double-quoted attribute values.
 *
 * @module
 */

/** A fragment of markup that is safe to insert as is. */
export class Html {
  /** The markup. */
  readonly value: string;
  /** @param value Markup produced by this module. */
  constructor(value: string) {
    this.value = value;
  }
  /** The markup. */
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};

/**
 * Escapes text for HTML element content and quoted attribute values.
 *
 * @param text Any text.
 * @returns The escaped text.
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

/** What a template may interpolate: text is escaped, arrays are joined, null and false vanish. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function part(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return "";
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return (value as readonly HtmlValue[]).map(part).join("");
  return escapeHtml(String(value));
}

/**
 * Builds markup; every interpolated value that is not {@linkcode Html} is escaped.
 *
 * @param strings The literal parts (trusted markup).
 * @param values The interpolated values.
 * @returns The markup.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]!) + strings[i + 1]!;
  return new Html(out);
}
