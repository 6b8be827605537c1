/**
 * Translates a pattern of the portable subset (`checkRegex` in
 * `query/plan.ts`) from JavaScript (`u` flag, as the memory and SQLite
 * backends run it) to a PostgreSQL ARE that matches exactly the same
 * strings. The two engines agree on most of the syntax but differ in four
 * places, which this rewrites:
 *
 * - `.` matches line terminators in PostgreSQL, never in JavaScript;
 * - `\d \w \s` follow the locale in PostgreSQL (`\w` matches `é`), while
 *   JavaScript's are fixed ASCII (and a fixed Unicode space list for `\s`);
 * - inside brackets PostgreSQL gives `[:` `[.` `[=` meaning and rejects
 *   `\D \S \W`, so every bracket expression is rebuilt from code point
 *   ranges written as `\uXXXX` / `\UXXXXXXXX` escapes;
 * - `[]` (never matches) and `[^]` (any character) are JavaScript-only.
 *
 * Greedy versus lazy quantifiers need no care: whether a match exists does
 * not depend on them.
 *
 * @module
 */

/** An inclusive range of code points. */
export type Range = [number, number];

const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
/** JavaScript's `\s`: WhiteSpace and LineTerminator code points. */
export const SPACE: Range[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
export const LINE_TERMINATORS: Range[] = [[0x0a, 0x0a], [0x0d, 0x0d], [0x2028, 0x2029]];

export const SHORTHANDS: Readonly<Record<string, Range[]>> = { d: DIGIT, w: WORD, s: SPACE };
export const CHARACTER_ESCAPES: Readonly<Record<string, number>> = { n: 0x0a, t: 0x09, r: 0x0d };

function escapeCodePoint(cp: number): string {
  return cp > 0xffff
    ? "\\U" + cp.toString(16).padStart(8, "0")
    : "\\u" + cp.toString(16).padStart(4, "0");
}

function bracket(ranges: readonly Range[], negated: boolean): string {
  const body = ranges
    .map((
      [lo, hi],
    ) => (lo === hi ? escapeCodePoint(lo) : `${escapeCodePoint(lo)}-${escapeCodePoint(hi)}`))
    .join("");
  return `[${negated ? "^" : ""}${body}]`;
}

/** A parsed JavaScript class: its ranges and the negated shorthands (`\D \S \W`) it contains. */
export interface ClassSet {
  negated: boolean;
  ranges: Range[];
  complements: Range[][];
}

export function parseClass(pattern: string, start: number): { set: ClassSet; end: number } {
  let i = start + 1;
  const set: ClassSet = { negated: false, ranges: [], complements: [] };
  if (pattern[i] === "^") {
    set.negated = true;
    i++;
  }
  // Reads one class atom: a code point, or a shorthand (returned as ranges).
  const atom = (): number | { shorthand: Range[]; negated: boolean } => {
    if (pattern[i] === "\\") {
      const e = pattern[i + 1]!;
      i += 2;
      const lower = e.toLowerCase();
      if (lower in SHORTHANDS) return { shorthand: SHORTHANDS[lower]!, negated: e !== lower };
      return CHARACTER_ESCAPES[e] ?? e.codePointAt(0)!;
    }
    const cp = pattern.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    return cp;
  };
  while (i < pattern.length && pattern[i] !== "]") {
    const first = atom();
    if (typeof first !== "number") {
      if (first.negated) set.complements.push(first.shorthand);
      else set.ranges.push(...first.shorthand);
      continue;
    }
    if (pattern[i] === "-" && pattern[i + 1] !== "]" && i + 1 < pattern.length) {
      i++;
      const last = atom();
      // checkRegex's `u`-mode RegExp rejects a shorthand as a range end.
      set.ranges.push([first, typeof last === "number" ? last : first]);
    } else {
      set.ranges.push([first, first]);
    }
  }
  return { set, end: i + 1 };
}

/** PostgreSQL for one JavaScript class. */
function classToPostgres(set: ClassSet): string {
  const { ranges, complements } = set;
  if (!set.negated) {
    // Any listed range, or any character outside a negated shorthand.
    const options = [
      ...(ranges.length > 0 ? [bracket(ranges, false)] : []),
      ...complements.map((c) => bracket(c, true)),
    ];
    if (options.length === 0) return "(?:(?!.).)"; // JavaScript's [] never matches
    return options.length === 1 ? options[0]! : `(?:${options.join("|")})`;
  }
  if (complements.length === 0) {
    return ranges.length === 0 ? "." : bracket(ranges, true); // [^] is any character
  }
  // Not in `ranges`, and inside every shorthand whose negation is listed.
  const [first, ...rest] = complements;
  const avoid = ranges.length > 0 ? `(?!${bracket(ranges, false)})` : "";
  const also = rest.map((c) => `(?=${bracket(c, false)})`).join("");
  return `(?:${avoid}${also}${bracket(first!, false)})`;
}

/**
 * The PostgreSQL ARE matching exactly what `new RegExp(pattern, "u")`
 * matches, for a pattern `checkRegex` accepted.
 *
 * @param pattern A pattern of the portable subset.
 * @returns The equivalent PostgreSQL pattern.
 */
export function toPostgresRegex(pattern: string): string {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const e = pattern[i + 1]!;
      i += 2;
      const lower = e.toLowerCase();
      if (lower in SHORTHANDS) out += bracket(SHORTHANDS[lower]!, e !== lower);
      else if (e in CHARACTER_ESCAPES) out += "\\" + e;
      else out += "\\" + e; // escaped punctuation is literal in both engines
    } else if (c === "[") {
      const { set, end } = parseClass(pattern, i);
      out += classToPostgres(set);
      i = end;
    } else if (c === ".") {
      out += bracket(LINE_TERMINATORS, true);
      i++;
    } else {
      // Literals, groups, alternation, anchors and quantifiers mean the same.
      const cp = pattern.codePointAt(i)!;
      const length = cp > 0xffff ? 2 : 1;
      out += pattern.slice(i, i + length);
      i += length;
    }
  }
  return out;
}
