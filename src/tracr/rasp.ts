// The subset of RASP (Weiss et al. 2021) that tracr compiles and the paper's
// two tracr tasks use: tokens, indices, Map, SequenceMap, Select, Aggregate,
// SelectorWidth, with tracr's categorical/numerical encodings, its labels
// ("map_4", "aggregate_7", …) and its reference evaluator
// (tracr/rasp/rasp.py DefaultRASPEvaluator). Not here: selector and/or/not,
// Full, ConstantSOp, LinearSequenceMap.

export type Value = number | string | boolean;
export type Encoding = "categorical" | "numerical";

/** tracr's rasp.Comparison; a predicate is called as (key, query). */
export type Comparison = "EQ" | "LT" | "LEQ" | "GT" | "GEQ" | "NEQ" | "TRUE" | "FALSE";

interface SOpBase { label: string; encoding: Encoding }
export interface Tokens extends SOpBase { kind: "tokens" }
export interface Indices extends SOpBase { kind: "indices" }
export interface MapOp extends SOpBase { kind: "map"; f: (x: Value) => Value; inner: SOp }
export interface SequenceMapOp extends SOpBase { kind: "sequence_map"; f: (x: Value, y: Value) => Value; fst: SOp; snd: SOp }
export interface Aggregate extends SOpBase { kind: "aggregate"; selector: Select; sop: SOp; default: Value | null }
export interface SelectorWidth extends SOpBase { kind: "selector_width"; selector: Select }
export type SOp = Tokens | Indices | MapOp | SequenceMapOp | Aggregate | SelectorWidth;
export interface Select { kind: "select"; label: string; keys: SOp; queries: SOp; predicate: Comparison }

export const tokens: Tokens = { kind: "tokens", label: "tokens", encoding: "categorical" };
export const indices: Indices = { kind: "indices", label: "indices", encoding: "categorical" };

/**
 * Constructors with tracr's default labels `${kind}_${id}`. tracr numbers
 * every expression from one global counter; here each builder counts on its
 * own, so a program's labels do not depend on what was built before it.
 */
export function raspBuilder() {
  let id = 0;
  const label = (kind: string, name?: string) => name ?? `${kind}_${++id}`;
  return {
    map: (f: (x: Value) => Value, inner: SOp, o: { name?: string; encoding?: Encoding } = {}): MapOp => {
      // tracr simplifies Map(f, Map(g, x)) into Map(f∘g, x).
      if (inner.kind === "map") { const g = inner.f; return { kind: "map", f: (x) => f(g(x)), inner: inner.inner, label: label("map", o.name), encoding: o.encoding ?? "categorical" }; }
      return { kind: "map", f, inner, label: label("map", o.name), encoding: o.encoding ?? "categorical" };
    },
    sequenceMap: (f: (x: Value, y: Value) => Value, fst: SOp, snd: SOp, o: { name?: string } = {}): SequenceMapOp =>
      ({ kind: "sequence_map", f, fst, snd, label: label("sequence_map", o.name), encoding: "categorical" }),
    select: (keys: SOp, queries: SOp, predicate: Comparison, o: { name?: string } = {}): Select =>
      ({ kind: "select", keys, queries, predicate, label: label("select", o.name) }),
    aggregate: (selector: Select, sop: SOp, o: { name?: string; encoding?: Encoding; default?: Value | null } = {}): Aggregate =>
      ({ kind: "aggregate", selector, sop, default: o.default ?? null, label: label("aggregate", o.name), encoding: o.encoding ?? "categorical" }),
    selectorWidth: (selector: Select, o: { name?: string } = {}): SelectorWidth =>
      ({ kind: "selector_width", selector, label: label("selector_width", o.name), encoding: "categorical" }),
  };
}

/** predicate(key, query), rasp.py _comparison_table. */
export function compare(p: Comparison, key: Value, query: Value): boolean {
  switch (p) {
    case "EQ": return key === query;
    case "LT": return key < query;
    case "LEQ": return key <= query;
    case "GT": return key > query;
    case "GEQ": return key >= query;
    case "NEQ": return key !== query;
    case "TRUE": return true;
    case "FALSE": return false;
  }
}

type Seq = (Value | null)[];

/** tracr's reference evaluator: the program's value at every position of `xs` (no BOS). */
export function evaluate(sop: SOp, xs: Value[]): Seq {
  const memo = new Map<SOp, Seq>();
  const sel = (s: Select): boolean[][] => {
    const k = ev(s.keys), q = ev(s.queries);
    return q.map((qv) => k.map((kv) => {
      if (kv === null || qv === null) throw new Error(`${s.label}: ${kv === null ? "key" : "query"} is None`);
      return compare(s.predicate, kv, qv);
    }));
  };
  const ev = (s: SOp): Seq => {
    let out = memo.get(s);
    if (out) return out;
    switch (s.kind) {
      case "tokens": out = [...xs]; break;
      case "indices": out = xs.map((_, i) => i); break;
      case "map": out = ev(s.inner).map((x) => (x === null ? null : s.f(x))); break;
      case "sequence_map": { const b = ev(s.snd); out = ev(s.fst).map((x, i) => (x === null || b[i] === null ? null : s.f(x, b[i]!))); break; }
      case "selector_width": out = sel(s.selector).map((row) => row.filter(Boolean).length); break;
      case "aggregate": {
        const v = ev(s.sop);
        out = sel(s.selector).map((row) => {
          const picked = v.filter((_, i) => row[i]);
          if (picked.length === 0) return s.default;
          // rasp.py _mean: numbers (and bools) average; anything else must be a single value.
          if (typeof picked[0] === "number" || typeof picked[0] === "boolean") return picked.reduce<number>((a, x) => a + Number(x), 0) / picked.length;
          if (picked.length === 1) return picked[0];
          throw new Error(`${s.label}: cannot aggregate ${JSON.stringify(picked)}`);
        });
        break;
      }
    }
    memo.set(s, out);
    return out;
  };
  return ev(sop);
}
