/**
 * Runs the query language's regular expressions (`=~`, `!~`) in linear time
 * on the memory backend and in SQLite's registered `regexp` function: a
 * pattern of the portable subset (`checkRegex` in `query/plan.ts`) is
 * translated to RE2 syntax and run by re2js, a port of RE2 whose matching
 * time grows linearly with the text, so `^(a+)+$` against a long name
 * answers at once instead of backtracking for minutes.
 *
 * The translation keeps JavaScript's meaning (`new RegExp(pattern, "u")`,
 * which the PostgreSQL translation in `_postgres_regex.ts` also follows)
 * where RE2's differs: `.` excludes every line terminator (RE2's only `\n`),
 * `\s` is JavaScript's Unicode space list (RE2's is ASCII), and every
 * bracket expression is rebuilt from code point ranges, so negated
 * shorthands inside brackets (`[^\W\d]`) and `[]` / `[^]` mean what they
 * mean in JavaScript.
 *
 * @module
 */
import { RE2JS } from "re2js";
import {
  CHARACTER_ESCAPES,
  type ClassSet,
  LINE_TERMINATORS,
  parseClass,
  type Range,
  SHORTHANDS,
} from "./_postgres_regex.ts";

const MAX_CODE_POINT = 0x10ffff;

/** Sorted, merged ranges. */
function normalize(ranges: readonly Range[]): Range[] {
  const sorted = ranges.map(([lo, hi]) => [Math.min(lo, hi), Math.max(lo, hi)] as Range)
    .sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** Every code point not in `ranges`. */
function complement(ranges: readonly Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CODE_POINT) out.push([next, MAX_CODE_POINT]);
  return out;
}

function escape(cp: number): string {
  return `\\x{${cp.toString(16)}}`;
}

/** An RE2 bracket expression matching exactly the code points of `ranges`. */
function bracket(ranges: readonly Range[]): string {
  const merged = normalize(ranges);
  // RE2 has no empty class: "not any code point" never matches, like JavaScript's [].
  if (merged.length === 0) return `[^${escape(0)}-${escape(MAX_CODE_POINT)}]`;
  return `[${
    merged.map(([lo, hi]) => (lo === hi ? escape(lo) : `${escape(lo)}-${escape(hi)}`)).join("")
  }]`;
}

function classRanges(set: ClassSet): Range[] {
  const union = [...set.ranges];
  for (const c of set.complements) union.push(...complement(c));
  return set.negated ? complement(union) : union;
}

/**
 * The RE2 pattern matching exactly what `new RegExp(pattern, "u")` matches,
 * for a pattern of the portable subset.
 *
 * @param pattern A pattern `checkRegex` accepted.
 * @returns The RE2 pattern.
 */
export function toRe2Regex(pattern: string): string {
  let out = "";
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === "\\") {
      const e = pattern[i + 1]!;
      i += 2;
      const lower = e.toLowerCase();
      if (lower in SHORTHANDS) {
        const ranges = SHORTHANDS[lower]!;
        out += bracket(e === lower ? ranges : complement(ranges));
      } else if (e in CHARACTER_ESCAPES) out += escape(CHARACTER_ESCAPES[e]!);
      else out += escape(e.codePointAt(0)!); // escaped punctuation: the character itself
    } else if (c === "[") {
      const { set, end } = parseClass(pattern, i);
      out += bracket(classRanges(set));
      i = end;
    } else if (c === ".") {
      out += bracket(complement(LINE_TERMINATORS));
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

/** A compiled pattern: whether it matches anywhere in a text. */
export interface LinearRegex {
  /** Whether the pattern matches somewhere in `text` (unanchored). */
  test(text: string): boolean;
}

/**
 * Compiles a pattern of the portable subset for linear-time matching.
 *
 * @param pattern A pattern `checkRegex` accepted.
 * @returns The compiled pattern.
 * @throws {Error} When RE2 refuses the pattern (`checkRegex` reports that at parse time).
 */
export function compileRegex(pattern: string): LinearRegex {
  const re = RE2JS.compile(toRe2Regex(pattern));
  return { test: (text: string): boolean => re.test(text) };
}
