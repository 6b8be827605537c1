/**
 * Compiles a {@linkcode QueryPlan} to one parameterised SQL statement for a
 * {@linkcode SqlDialect} (SQLite now, PostgreSQL through the same seam).
 *
 * Safety: every value is a bound parameter; table and column names come only
 * from {@linkcode COLUMNS}; attribute keys are bound (as a JSON path or a key),
 * never written into the text; limit and offset are bound and clamped; the
 * aliases of an aggregate plan never reach SQL (output columns are `g0`,
 * `a0`, ... and are renamed by the backend from {@linkcode CompiledSql.columns}).
 *
 * Semantics (the module doc of `query/plan.ts`): every compiled predicate
 * evaluates to true or false, never SQL `NULL`, so that `not` is plain
 * boolean negation; a type test guards every comparison of an attribute, so
 * `"5"`, `5` and `true` stay distinct; missing values sort last in both
 * directions by an explicit leading sort key rather than `NULLS LAST`.
 *
 * @module
 */
import { checkPlan, columnInfo, effectiveLimit, PERCENTILES } from "./_plan_check.ts";
import { bucketBound } from "./_bucket.ts";
import {
  type AggregatePlan,
  type Condition,
  type Entity,
  type FieldRef,
  type HavingCondition,
  ID_COLUMN,
  type Literal,
  type QueryPlan,
  type SelectPlan,
  TIME_COLUMN,
} from "./plan.ts";

/** The JSON types a dialect can test an attribute for. */
export type JsonTest = "present" | "number" | "string" | "true" | "false";

/** Hands out placeholders for bound values. */
export interface SqlBinder {
  /**
   * Binds a value and returns its placeholder. Equal values of the same type
   * share one placeholder, so an expression may repeat it.
   */
  bind(value: string | number): string;
}

/**
 * What differs between SQL engines. Every method returns SQL text built only
 * from fixed keywords, the expressions it is given and placeholders from
 * the binder. `source` is a qualified JSON column such as `t.attributes`
 * and `key` a top-level key of it; a `null` key means `source` is itself a
 * JSON value (a group key produced by {@linkcode SqlDialect.jsonValue}).
 */
export interface SqlDialect {
  /** Engine name, e.g. `"sqlite"`. */
  readonly name: string;
  /** The placeholder of the n-th bound value (1-based), e.g. `?1` or `$1`. */
  placeholder(index: number): string;
  /** Boolean literal true. */
  readonly trueLiteral: string;
  /** Boolean literal false. */
  readonly falseLiteral: string;
  /** Suffix that makes text compare and sort by Unicode code point (or empty). */
  readonly codePointCollation: string;
  /**
   * Whether {@linkcode SqlDialect.jsonValue} returns JSON text that the
   * backend must parse (SQLite), rather than an already decoded value.
   */
  readonly jsonValueIsText: boolean;
  /** Boolean expression, never NULL: the attribute `key` of `source` passes `test`. */
  jsonIs(source: string, key: string | null, test: JsonTest, binder: SqlBinder): string;
  /** The attribute as a number; only read where `jsonIs(number)` holds; must not raise otherwise. */
  jsonNumber(source: string, key: string | null, binder: SqlBinder): string;
  /** The attribute as text; only read where `jsonIs(string)` holds; must not raise otherwise. */
  jsonString(source: string, key: string | null, binder: SqlBinder): string;
  /**
   * The attribute as a JSON value that keeps its type (`"5"`, `5` and `true`
   * differ), for grouping. A missing attribute (absent or JSON `null`) must
   * always give the same value, SQL NULL or JSON `null`, so that missing
   * values form one group; {@linkcode SqlDialect.jsonIs} treats both as
   * missing.
   */
  jsonValue(source: string, key: string, binder: SqlBinder): string;
  /**
   * Boolean expression: `text` (never NULL) matches the regular expression
   * `pattern` (JavaScript syntax, the portable subset of `checkRegex`); the
   * dialect binds it, translated to its engine's flavour if need be.
   */
  regexMatch(text: string, pattern: string, binder: SqlBinder): string;
  /** Boolean expression: `text` (never NULL) contains the bound string. */
  contains(text: string, needle: string): string;
  /**
   * Optional. Boolean expression, never NULL: the attribute `key` of `source`
   * equals `value` with its type (`5` is not `"5"`), for an engine with an
   * index that answers this better than {@linkcode SqlDialect.jsonIs} plus a
   * comparison (PostgreSQL: jsonb containment, served by GIN). Returns `null`
   * to fall back to the generic form.
   */
  jsonEquals?(source: string, key: string, value: Literal, binder: SqlBinder): string | null;
  /**
   * Optional, tried before {@linkcode SqlDialect.jsonEquals}. Boolean
   * expression, never NULL: the attribute `key` of `source` is present and
   * equals one of `values` with its type (`f in (...)`, or `f = v` for one
   * value), or with `negated`, is present and equals none of them (`f not
   * in (...)`, `f != v`) — for an engine where one lookup of the attribute
   * can answer this exactly for some values (SQLite). Returns `null` to fall
   * back to the generic form.
   */
  jsonIn?(
    source: string,
    key: string,
    values: readonly Literal[],
    negated: boolean,
    binder: SqlBinder,
  ): string | null;
  /**
   * Optional. Extra condition, fixed SQL text without values, to AND onto
   * `column = v` or `column in (...)` for the string `values` given, so the
   * engine can use a partial index on the column (PostgreSQL indexes only
   * names short enough for a btree entry: `octet_length(t.name) <= 2000`).
   * It must follow from the comparison itself, never change its result.
   * `column` is the column's name, `expr` its qualified expression (e.g.
   * `t.name`). Returns `null` to add nothing.
   */
  indexedTextGuard?(column: string, expr: string, values: readonly string[]): string | null;
  /**
   * Optional. Wraps the placeholder of a number compared with a column or an
   * aggregate, for engines that would otherwise infer the parameter's type
   * from the other side (PostgreSQL: `count(*) > $1` makes `$1` a bigint and
   * refuses `3.5`). Defaults to the bare placeholder.
   */
  numberParam?(placeholder: string): string;
  /**
   * Optional. Writes the row limit into the statement text as a number
   * instead of binding it (SQLite: the planner reads a bound LIMIT when a
   * filter cannot use an index, and then prepares the statement again every
   * time the limit is bound). The limit is a whole number checked by the
   * plan validation and clamped to `MAX_LIMIT`, so the text stays free of
   * anything a caller wrote. Defaults to binding it.
   */
  readonly inlineLimit?: boolean;
  /**
   * Sum of a numeric expression, in any type {@linkcode SqlDialect.finishSum}
   * reads; it is NULL when the expression has no non-NULL value.
   */
  sum(value: string): string;
  /**
   * The reported sum, from the column holding {@linkcode SqlDialect.sum}:
   * a number; a whole number up to 2^53 exactly, else rounded to 12
   * significant digits as `roundSum` in `_values.ts` does (engines differ
   * in the last bits); ±Infinity beyond the float range.
   */
  finishSum(column: string): string;
  /**
   * Mean of a numeric expression, in any type {@linkcode SqlDialect.finishAvg}
   * reads; it is NULL when the expression has no non-NULL value.
   */
  avg(value: string): string;
  /**
   * The reported mean, from the column holding {@linkcode SqlDialect.avg}:
   * a number rounded to 12 significant digits as `roundSignificant` in
   * `_values.ts`.
   */
  finishAvg(column: string): string;
  /**
   * Text that orders array and object group keys the same on every engine
   * (`canonicalJson` in `_values.ts`: PostgreSQL's jsonb text, compared by
   * code point); `value` is a group key from {@linkcode SqlDialect.jsonValue}.
   * It may be NULL for anything but an array or object.
   */
  canonicalJson(value: string): string;
  /** Linear-interpolation percentile (`percentile_cont`) of a numeric expression; `fraction` is bound. */
  percentile(value: string, fraction: string): string;
  /**
   * `floor(value / width)` as a float8 (REAL), for time buckets: the IEEE
   * 754 double division, then the largest whole number not above it.
   * `value` is a number or NULL (then the result is NULL), `width` a bound
   * number > 0 with `abs(value / width) <= 1e300` (the caller guards
   * overflow and underflow), so the result is exactly what JavaScript's
   * `Math.floor(value / width)` gives.
   */
  floorDiv(value: string, width: string): string;
}

/** How one output column of a compiled statement maps to a result key. */
export interface CompiledColumn {
  /** Column name in the SQL result, e.g. `"g0"`. */
  name: string;
  /** Key in the result row: the plan's alias. */
  alias: string;
  /** Whether the value is JSON text to parse (an attribute group key on SQLite). */
  json: boolean;
}

/** A compiled statement. */
export interface CompiledSql {
  /** The SQL text, with placeholders only. */
  text: string;
  /** Values for the placeholders, in order. */
  params: (string | number)[];
  /**
   * For aggregate plans, the output columns to keep and rename, in order;
   * for select plans, empty (rows are whole records of the entity's table).
   */
  columns: CompiledColumn[];
}

class Binder implements SqlBinder {
  readonly params: (string | number)[] = [];
  readonly #dialect: SqlDialect;
  /**
   * Placeholders already given out, keyed by the value itself: Map keys
   * compare by SameValueZero, so the string "5" and the number 5 stay apart
   * (building a `typeof:value` string key per bind took a third of compiling
   * a one-condition plan).
   */
  readonly #seen = new Map<string | number, string>();

  constructor(dialect: SqlDialect) {
    this.#dialect = dialect;
  }

  bind(value: string | number): string {
    let placeholder = this.#seen.get(value);
    if (placeholder === undefined) {
      this.params.push(value);
      placeholder = this.#dialect.placeholder(this.params.length);
      this.#seen.set(value, placeholder);
    }
    return placeholder;
  }
}

/** Table names: the allowlist of entities. */
const TABLE: Readonly<Record<Entity, string>> = {
  traces: "traces",
  spans: "spans",
  events: "events",
  metrics: "metrics",
};

type FieldSql =
  | { kind: "column"; name: string; expr: string; type: "string" | "number"; nullable: boolean }
  | { kind: "json"; source: string; key: string | null };

class Compiler {
  readonly #d: SqlDialect;
  readonly #b: Binder;

  constructor(dialect: SqlDialect) {
    this.#d = dialect;
    this.#b = new Binder(dialect);
  }

  get params(): (string | number)[] {
    return this.#b.params;
  }

  bind(value: string | number): string {
    return this.#b.bind(value);
  }

  /** Binds a literal compared with a value; numbers get the dialect's number type. */
  bindValue(value: string | number): string {
    const placeholder = this.#b.bind(value);
    return typeof value === "number" && this.#d.numberParam
      ? this.#d.numberParam(placeholder)
      : placeholder;
  }

  field(entity: Entity, alias: string, ref: FieldRef): FieldSql {
    if (ref.kind === "column") {
      const info = columnInfo(entity, ref.name);
      const expr = ref.name === "duration"
        ? `(${alias}.end_time - ${alias}.start_time)`
        : `${alias}.${ref.name}`;
      const type = info.type === "number" ? "number" : "string";
      return { kind: "column", name: ref.name, expr, type, nullable: info.nullable };
    }
    const source = ref.kind === "attribute" ? `${alias}.attributes` : `${alias}.resource`;
    return { kind: "json", source, key: ref.key };
  }

  present(f: FieldSql): string {
    if (f.kind === "json") return this.#d.jsonIs(f.source, f.key, "present", this.#b);
    return f.nullable ? `${f.expr} is not null` : this.#d.trueLiteral;
  }

  /** Guarded typed operand: `[guard, expr]` where expr has type `type`, or null when impossible. */
  typed(f: FieldSql, type: "string" | "number"): [string, string] | null {
    if (f.kind === "column") {
      if (f.type !== type) return null;
      const guard = f.nullable ? `${f.expr} is not null` : this.#d.trueLiteral;
      return [guard, type === "string" ? f.expr + this.#d.codePointCollation : f.expr];
    }
    const guard = this.#d.jsonIs(f.source, f.key, type, this.#b);
    const expr = type === "number"
      ? this.#d.jsonNumber(f.source, f.key, this.#b)
      : this.#d.jsonString(f.source, f.key, this.#b) + this.#d.codePointCollation;
    return [guard, expr];
  }

  /** `guard and expr`, leaving out a guard that is always true. */
  guarded(guard: string, expr: string): string {
    return guard === this.#d.trueLiteral ? `(${expr})` : `(${guard} and ${expr})`;
  }

  /** The dialect's one-lookup form of `f (not) in values`, when it has one for these values. */
  jsonIn(f: FieldSql, values: readonly Literal[], negated: boolean): string | null {
    if (f.kind !== "json" || f.key === null || !this.#d.jsonIn) return null;
    return this.#d.jsonIn(f.source, f.key, values, negated, this.#b);
  }

  /** `f = v` (or another order operator) with the type rules of the plan. */
  equalsOrOrders(f: FieldSql, op: string, v: Literal): string {
    if (op === "=") {
      const one = this.jsonIn(f, [v], false);
      if (one !== null) return one;
    }
    if (op === "=" && f.kind === "json" && f.key !== null && this.#d.jsonEquals) {
      const equals = this.#d.jsonEquals(f.source, f.key, v, this.#b);
      if (equals !== null) return equals;
    }
    if (typeof v === "boolean") {
      if (f.kind === "column") return this.#d.falseLiteral;
      return this.#d.jsonIs(f.source, f.key, v ? "true" : "false", this.#b);
    }
    const operand = this.typed(f, typeof v === "number" ? "number" : "string");
    if (operand === null) return this.#d.falseLiteral;
    const compared = `${operand[1]} ${op} ${this.bindValue(v)}`;
    if (op === "=" && typeof v === "string") {
      return this.guarded(operand[0], this.withIndexGuard(f, [v], compared));
    }
    return this.guarded(operand[0], compared);
  }

  /** `compared`, with the dialect's partial-index guard for a text column, if any. */
  withIndexGuard(f: FieldSql, values: readonly string[], compared: string): string {
    if (f.kind !== "column" || this.#d.indexedTextGuard === undefined) return compared;
    const guard = this.#d.indexedTextGuard(f.name, f.expr, values);
    return guard === null ? compared : `${compared} and ${guard}`;
  }

  inList(f: FieldSql, values: Literal[]): string {
    const inValues = this.jsonIn(f, values, false);
    if (inValues !== null) return inValues;
    if (f.kind === "json" && f.key !== null && this.#d.jsonEquals) {
      const { source, key } = f;
      const each = [...new Set(values)].map((v) => this.#d.jsonEquals!(source, key, v, this.#b));
      if (!each.includes(null)) {
        return each.length === 0 ? this.#d.falseLiteral : balanced(each as string[], "or");
      }
    }
    const parts: string[] = [];
    for (const type of ["number", "string"] as const) {
      const same = [...new Set(values.filter((v) => kindOfLiteral(v) === type))] as (
        | string
        | number
      )[];
      if (same.length === 0) continue;
      const operand = this.typed(f, type);
      if (operand === null) continue;
      const list = same.map((v) => this.bindValue(v)).join(", ");
      const compared = `${operand[1]} in (${list})`;
      parts.push(
        this.guarded(
          operand[0],
          type === "string" ? this.withIndexGuard(f, same as string[], compared) : compared,
        ),
      );
    }
    if (f.kind === "json") {
      if (values.includes(true)) parts.push(this.#d.jsonIs(f.source, f.key, "true", this.#b));
      if (values.includes(false)) parts.push(this.#d.jsonIs(f.source, f.key, "false", this.#b));
    }
    return parts.length === 0 ? this.#d.falseLiteral : `(${parts.join(" or ")})`;
  }

  condition(entity: Entity, alias: string, c: Condition): string {
    switch (c.type) {
      case "and":
        if (c.conditions.length === 0) return this.#d.trueLiteral;
        return balanced(c.conditions.map((x) => this.condition(entity, alias, x)), "and");
      case "or":
        if (c.conditions.length === 0) return this.#d.falseLiteral;
        return balanced(c.conditions.map((x) => this.condition(entity, alias, x)), "or");
      case "not":
        return `(not ${this.condition(entity, alias, c.condition)})`;
      case "compare": {
        const f = this.field(entity, alias, c.field);
        if (c.operator === "!=") {
          const notOne = this.jsonIn(f, [c.value], true);
          if (notOne !== null) return notOne;
          return this.guarded(this.present(f), `not ${this.equalsOrOrders(f, "=", c.value)}`);
        }
        return this.equalsOrOrders(f, c.operator, c.value);
      }
      case "in": {
        const f = this.field(entity, alias, c.field);
        const notIn = c.negated ? this.jsonIn(f, c.values, true) : null;
        if (notIn !== null) return notIn;
        const inList = this.inList(f, c.values);
        return c.negated ? this.guarded(this.present(f), `not ${inList}`) : inList;
      }
      case "regex": {
        const f = this.field(entity, alias, c.field);
        const operand = this.typed(f, "string");
        const match = operand === null
          ? this.#d.falseLiteral
          : this.guarded(operand[0], this.#d.regexMatch(operand[1], c.pattern, this.#b));
        return c.negated ? this.guarded(this.present(f), `not ${match}`) : match;
      }
      case "contains": {
        const f = this.field(entity, alias, c.field);
        const operand = this.typed(f, "string");
        if (operand === null) return this.#d.falseLiteral;
        return this.guarded(operand[0], this.#d.contains(operand[1], this.bind(c.value)));
      }
      case "exists": {
        const present = this.present(this.field(entity, alias, c.field));
        return c.negated ? `(not ${present})` : `(${present})`;
      }
      case "has": {
        // Uncorrelated `in (subquery)`: the matching trace ids are collected once
        // (through whatever index suits the inner filter) instead of probing the
        // child table once per trace. `is not null` keeps `not in` two-valued.
        const inner = alias === "h" ? "h2" : "h";
        const where = c.where === null ? "" : ` and ${this.condition(c.entity, inner, c.where)}`;
        const ids = `select ${inner}.trace_id from ${
          TABLE[c.entity]
        } ${inner} where ${inner}.trace_id is not null${where}`;
        return `(${alias}.trace_id ${c.negated ? "not in" : "in"} (${ids}))`;
      }
    }
  }

  /** Sort keys for a field: missing last, then by JSON type rank, then by value. */
  orderTerms(f: FieldSql, direction: string): string[] {
    if (f.kind === "column") {
      const expr = f.type === "string" ? f.expr + this.#d.codePointCollation : f.expr;
      const terms = f.nullable ? [`(case when ${f.expr} is null then 1 else 0 end) asc`] : [];
      terms.push(`${expr} ${direction}`);
      return terms;
    }
    const is = (t: JsonTest) => this.#d.jsonIs(f.source, f.key, t, this.#b);
    return [
      `(case when ${is("present")} then 0 else 1 end) asc`,
      `${this.rank(f)} ${direction}`,
      `(case when ${is("number")} then ${
        this.#d.jsonNumber(f.source, f.key, this.#b)
      } end) ${direction}`,
      `(case when ${is("string")} then ${
        this.#d.jsonString(f.source, f.key, this.#b)
      } end)${this.#d.codePointCollation} ${direction}`,
    ];
  }

  /** Type rank of a present attribute: number 0, string 1, false 2, true 3, array/object 4. */
  rank(f: FieldSql & { kind: "json" }): string {
    const is = (t: JsonTest) => this.#d.jsonIs(f.source, f.key, t, this.#b);
    return `(case when ${is("number")} then 0 when ${is("string")} then 1 when ${
      is("false")
    } then 2 when ${is("true")} then 3 else 4 end)`;
  }

  numeric(f: FieldSql): string {
    const operand = this.typed(f, "number");
    // A typed NULL (valid in SQLite and PostgreSQL alike), so that min() of a
    // text column is still a number the having clause can compare.
    if (operand === null) return "cast(null as double precision)";
    // A number column (duration included) is NULL exactly when it is
    // missing, which aggregates skip anyway: no per-row guard.
    if (f.kind === "column") return operand[1];
    return `(case when ${operand[0]} then ${operand[1]} end)`;
  }

  /**
   * The start of the bucket of `f`, as `bucketStart` in `_bucket.ts` (same
   * guards, same float operations), NULL for a missing or non-numeric value.
   */
  bucketStart(f: FieldSql, width: number): string {
    // An attribute is read once, in a one-row subquery: the expression
    // names its value eight times, and each read is a JSON lookup.
    const value = f.kind === "json" ? "b.v" : this.numeric(f);
    const w = this.bindValue(width);
    const start = `(case when abs(${value}) > ${this.bindValue(bucketBound(width))} then null ` +
      `when abs(${value}) < ${w} then (case when ${value} < 0 then ${
        this.bindValue(-width)
      } else 0 end) ` +
      `else ${this.#d.floorDiv(value, w)} * ${w} end)`;
    return f.kind === "json" ? `(select ${start} from (select ${this.numeric(f)} as v) b)` : start;
  }

  window(limit: number, offset: number): string {
    const n = effectiveLimit(limit);
    // checkPlan made it a whole number >= 0: digits only.
    const bound = this.#d.inlineLimit ? String(n) : this.bind(n);
    // No offset clause for the first page (most queries): one value less to bind.
    return offset === 0 ? `limit ${bound}` : `limit ${bound} offset ${this.bind(offset)}`;
  }
}

function compileSelect(plan: SelectPlan, dialect: SqlDialect): CompiledSql {
  const c = new Compiler(dialect);
  const where = plan.where === null ? "" : ` where ${c.condition(plan.entity, "t", plan.where)}`;
  const keys = plan.orderBy.length > 0 ? plan.orderBy : [{
    field: { kind: "column", name: TIME_COLUMN[plan.entity] } as FieldRef,
    direction: "desc" as const,
  }];
  const terms: string[] = [];
  for (const key of keys) {
    terms.push(...c.orderTerms(c.field(plan.entity, "t", key.field), key.direction));
  }
  // Ties are broken by id in the direction of the last key (plan.ts, "Ordering").
  terms.push(`t.${ID_COLUMN[plan.entity]} ${keys[keys.length - 1]!.direction}`);
  const text = `select t.* from ${TABLE[plan.entity]} t${where} order by ${terms.join(", ")} ${
    c.window(plan.limit, plan.offset)
  }`;
  return { text, params: c.params, columns: [] };
}

function compileAggregate(plan: AggregatePlan, dialect: SqlDialect): CompiledSql {
  const c = new Compiler(dialect);
  const inner: string[] = [];
  const columns: CompiledColumn[] = [];
  const groupOrder = new Map<string, (direction: string) => string[]>();
  /** The columns of the layer that finishes sums and means (`dialect.finishSum`). */
  const finished: string[] = plan.groupBy.map((_, i) => `q0.g${i}`);
  let rounds = false;
  plan.groupBy.forEach((g, i) => {
    const f = c.field(plan.entity, "t", g.field);
    const name = `g${i}`;
    if (g.bucket !== undefined) {
      inner.push(`${c.bucketStart(f, g.bucket)} as ${name}`);
      columns.push({ name, alias: g.alias, json: false });
      groupOrder.set(g.alias, (direction) => [
        `(case when q.${name} is null then 1 else 0 end) asc`,
        `q.${name} ${direction}`,
      ]);
      return;
    }
    if (f.kind === "column") {
      inner.push(`${f.expr} as ${name}`);
      columns.push({ name, alias: g.alias, json: false });
      const collate = f.type === "string" ? dialect.codePointCollation : "";
      groupOrder.set(g.alias, (direction) => [
        ...(f.nullable ? [`(case when q.${name} is null then 1 else 0 end) asc`] : []),
        `q.${name}${collate} ${direction}`,
      ]);
      return;
    }
    inner.push(`${dialect.jsonValue(f.source, f.key!, c)} as ${name}`);
    columns.push({ name, alias: g.alias, json: dialect.jsonValueIsText });
    // Type rank and value are read from the group key itself, once per group
    // in the outer query rather than once per row.
    const key: FieldSql = { kind: "json", source: `q.${name}`, key: null };
    groupOrder.set(g.alias, (direction) => [
      ...c.orderTerms(key, direction),
      // Arrays and objects tie on the keys above; their canonical JSON text decides.
      `${dialect.canonicalJson(`q.${name}`)} ${direction}`,
    ]);
  });
  const aggregateOrder = new Map<string, (direction: string) => string[]>();
  plan.aggregates.forEach((a, i) => {
    const name = `a${i}`;
    let expr: string;
    if (a.field === null) {
      expr = "count(*)";
    } else {
      const f = c.field(plan.entity, "t", a.field);
      if (a.fn === "count") {
        if (f.kind !== "column") expr = `count(case when ${c.present(f)} then 1 end)`;
        // count(column) skips exactly the NULLs, the missing values.
        else expr = f.nullable ? `count(${f.expr})` : "count(*)";
      } else {
        const value = c.numeric(f);
        const fraction = PERCENTILES[a.fn];
        if (fraction !== undefined) expr = dialect.percentile(value, c.bind(fraction));
        else if (a.fn === "sum") expr = dialect.sum(value);
        else if (a.fn === "avg") expr = dialect.avg(value);
        else expr = `${a.fn}(${value})`;
      }
    }
    inner.push(`${expr} as ${name}`);
    const finish = a.fn === "sum" ? dialect.finishSum : a.fn === "avg" ? dialect.finishAvg : null;
    finished.push(finish === null ? `q0.${name}` : `${finish(`q0.${name}`)} as ${name}`);
    if (finish !== null && a.field !== null) rounds = true;
    columns.push({ name, alias: a.alias, json: false });
    aggregateOrder.set(a.alias, (direction) => [
      `(case when q.${name} is null then 1 else 0 end) asc`,
      `q.${name} ${direction}`,
    ]);
  });
  const where = plan.where === null ? "" : ` where ${c.condition(plan.entity, "t", plan.where)}`;
  const groupBy = plan.groupBy.length === 0
    ? ""
    : ` group by ${plan.groupBy.map((_, i) => i + 1).join(", ")}`;
  // Compared with true as a whole: SQLite pushes the top-level terms of an
  // `and` into the grouped subquery one by one, chaining them one level
  // deeper each ("Expression tree is too large" at a few hundred terms).
  const having = plan.having === null
    ? ""
    : ` where (${havingSql(c, dialect, plan, plan.having)}) = ${dialect.trueLiteral}`;
  const terms: string[] = [];
  const used = new Set<string>();
  for (const key of plan.orderBy) {
    used.add(key.alias);
    const order = groupOrder.get(key.alias) ?? aggregateOrder.get(key.alias)!;
    terms.push(...order(key.direction));
  }
  // Group keys ascending make every order total (and are the default order).
  for (const g of plan.groupBy) {
    if (!used.has(g.alias)) terms.push(...groupOrder.get(g.alias)!("asc"));
  }
  const orderBy = terms.length === 0 ? "" : ` order by ${terms.join(", ")}`;
  let source = `select ${inner.join(", ")} from ${TABLE[plan.entity]} t${where}${groupBy}`;
  // Sums and means are finished (rounded) once per group in a layer of their
  // own, which having and order by then read: repeating the aggregate in
  // the rounding expression made PostgreSQL compare thousands of copies.
  if (rounds) source = `select ${finished.join(", ")} from (${source}) q0`;
  const text = `select * from (${source}) q${having}${orderBy} ${
    c.window(plan.limit, plan.offset)
  }`;
  return { text, params: c.params, columns };
}

function havingSql(
  c: Compiler,
  dialect: SqlDialect,
  plan: AggregatePlan,
  h: HavingCondition,
): string {
  switch (h.type) {
    case "and":
      if (h.conditions.length === 0) return dialect.trueLiteral;
      return balanced(h.conditions.map((x) => havingSql(c, dialect, plan, x)), "and");
    case "or":
      if (h.conditions.length === 0) return dialect.falseLiteral;
      return balanced(h.conditions.map((x) => havingSql(c, dialect, plan, x)), "or");
    case "not":
      return `(not ${havingSql(c, dialect, plan, h.condition)})`;
    case "compare": {
      const a = plan.aggregates.findIndex((x) => x.alias === h.alias);
      const g = plan.groupBy.findIndex((x) => x.alias === h.alias);
      const bucket = a < 0 && plan.groupBy[g]!.bucket !== undefined;
      if (a < 0 && !bucket && plan.groupBy[g]!.field.kind !== "column") {
        // A JSON group key compares when it is a number.
        const key = `q.g${g}`;
        return `(${dialect.jsonIs(key, null, "number", c)} and ${
          dialect.jsonNumber(key, null, c)
        } ${sqlOperator(h.operator)} ${c.bindValue(h.value)})`;
      }
      const name = a >= 0 ? `q.a${a}` : `q.g${g}`;
      if (a < 0 && !bucket) {
        const info = columnInfo(plan.entity, (plan.groupBy[g]!.field as { name: string }).name);
        if (info.type !== "number") return dialect.falseLiteral;
      }
      return `(${name} is not null and ${name} ${sqlOperator(h.operator)} ${c.bindValue(h.value)})`;
    }
  }
}

/** Terms joined by `and`/`or` before a chain is split in halves. */
const FLAT_TERMS = 8;

/**
 * `(a and b and ...)` for a few terms; for more, a balanced tree of
 * parenthesised halves. SQLite parses `a and b and c ...` into a chain one
 * level deeper per term, and refused a few hundred terms with "Expression
 * tree is too large (maximum depth 1000)"; halves keep the depth
 * logarithmic (5,000 terms: 10 levels).
 */
function balanced(terms: readonly string[], op: "and" | "or"): string {
  if (terms.length <= FLAT_TERMS) return `(${terms.join(` ${op} `)})`;
  const half = terms.length >> 1;
  return `(${balanced(terms.slice(0, half), op)} ${op} ${balanced(terms.slice(half), op)})`;
}

function kindOfLiteral(v: Literal): string {
  return typeof v;
}

function sqlOperator(op: string): string {
  return op === "!=" ? "<>" : op;
}

/**
 * Compiles a plan to one SQL statement for `dialect`.
 *
 * @param plan The plan (validated first).
 * @param dialect The SQL engine's dialect.
 * @returns The statement text, its parameters and, for aggregates, the output
 * columns. Each call compiles afresh: compiling takes a few microseconds,
 * and the backends keep their prepared statements by the statement's text, so
 * a plan that crossed to the worker (a structured clone) reuses them too.
 * @throws {BackendError} With code `"BAD_QUERY"` when the plan names an
 * unknown column, operator or alias, or uses an unsupported regular expression.
 *
 * @example
 * ```ts
 * import { compileSql, sqliteDialect } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const { text, params } = compileSql({
 *   type: "select",
 *   entity: "spans",
 *   where: { type: "compare", field: { kind: "attribute", key: "node.id" }, operator: "=", value: "a" },
 *   orderBy: [],
 *   limit: 20,
 *   offset: 0,
 * }, sqliteDialect);
 * assert.ok(!text.includes("node.id")); // keys are bound, never spliced
 * assert.deepEqual(params, ['$."node.id"', "a"]); // the limit, 20, is in the text
 * ```
 */
export function compileSql(plan: QueryPlan, dialect: SqlDialect): CompiledSql {
  checkPlan(plan);
  return plan.type === "select" ? compileSelect(plan, dialect) : compileAggregate(plan, dialect);
}
