// tracr's "craft" layer for the blocks the paper's tasks need: named basis
// directions sorted the way tracr sorts them (tracr/craft/bases.py), and the
// "chamber" constructions that turn one RASP operation into an attention
// head or an MLP over those directions (tracr/craft/chamber/categorical_attn.py,
// selector_width.py, categorical_mlp.py, numerical_mlp.py). Weights here are
// small dense matrices over lists of directions; compiler.ts places them in
// the residual stream. Float64 throughout, as numpy computes them.
import type { Value } from "./rasp.js";

/** A basis direction: a name and the value it one-hot encodes (null for numerical / auxiliary ones). */
export interface Dir { name: string; value: DirValue }
export type DirValue = Value | DirValue[] | null;

export const dir = (name: string, value: DirValue = null): Dir => ({ name, value });

/** Python's str(value), for tracr's fallback ordering and for labels. */
function pyStr(v: DirValue, repr = false): string {
  if (v === null) return "None";
  if (typeof v === "boolean") return v ? "True" : "False";
  if (typeof v === "string") return repr ? `'${v}'` : v;
  if (typeof v === "number") return String(v);
  return `(${v.map((x) => pyStr(x, true)).join(", ")}${v.length === 1 ? "," : ""})`;
}

/** tracr's str(BasisDirection): "name" or "name:value". */
export const dirLabel = (d: Dir): string => (d.value === null ? d.name : `${d.name}:${pyStr(d.value)}`);
export const dirKey = (d: Dir): string => `${d.name}\u0000${JSON.stringify(d.value)}`;

class PyTypeError extends Error {}

function pyEq(a: DirValue, b: DirValue): boolean {
  if (Array.isArray(a) || Array.isArray(b)) return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => pyEq(x, b[i]));
  const num = (x: DirValue) => typeof x === "number" || typeof x === "boolean";
  if (num(a) && num(b)) return Number(a) === Number(b);
  return a === b;
}

// Python `a < b` for the values tracr puts in directions; raises where Python raises.
function pyLt(a: DirValue, b: DirValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (!pyEq(a[i], b[i])) return pyLt(a[i], b[i]);
    return a.length < b.length;
  }
  const num = (x: DirValue) => typeof x === "number" || typeof x === "boolean";
  if (num(a) && num(b)) return Number(a) < Number(b);
  if (typeof a === "string" && typeof b === "string") return a < b;
  throw new PyTypeError();
}

/** BasisDirection.__lt__: compare (name, value); on a TypeError compare str(). */
export function dirLess(a: Dir, b: Dir): boolean {
  try {
    return pyLt([a.name, a.value], [b.name, b.value]);
  } catch (e) {
    if (e instanceof PyTypeError) return dirLabel(a) < dirLabel(b);
    throw e;
  }
}

/** A vector space is a sorted list of distinct directions (VectorSpaceWithBasis, join_vector_spaces). */
export function space(...parts: Dir[][]): Dir[] {
  const seen = new Map<string, Dir>();
  for (const p of parts) for (const d of p) seen.set(dirKey(d), d);
  return [...seen.values()].sort((a, b) => (dirLess(a, b) ? -1 : dirLess(b, a) ? 1 : 0));
}

export function indexOf(sp: Dir[], d: Dir): number {
  const k = dirKey(d);
  return sp.findIndex((x) => dirKey(x) === k);
}

/** A vector over a space, as direction key → coefficient (absent = 0). */
export type Vec = Map<string, number>;
const vec = (...terms: [Dir, number][]): Vec => {
  const v: Vec = new Map();
  for (const [d, c] of terms) v.set(dirKey(d), (v.get(dirKey(d)) ?? 0) + c);
  return v;
};

/** Linear.from_action: matrix [in][out] whose row i is action(in[i]) expressed over `out`. */
function fromAction(inp: Dir[], out: Dir[], action: (d: Dir) => Vec): number[][] {
  const col = new Map(out.map((d, j) => [dirKey(d), j]));
  return inp.map((d) => {
    const row = new Array<number>(out.length).fill(0);
    for (const [k, c] of action(d)) {
      const j = col.get(k);
      if (j === undefined) throw new Error(`craft: direction ${k.replace("\u0000", ":")} is not in the output space`);
      row[j] += c;
    }
    return row;
  });
}

/** An MLP: hidden = ReLU(x·W1), out = hidden·W2, over named input/hidden/output directions. */
export interface MLPBlock { kind: "mlp"; input: Dir[]; hidden: Dir[]; output: Dir[]; W1: number[][]; W2: number[][] }

/**
 * An attention head: logits[q,k] = query·WQK·keyᵀ with the query read from
 * `query` and the key from `key`; the head writes value·WOV into `output`.
 */
export interface HeadBlock { kind: "attn"; query: Dir[]; key: Dir[]; WQK: number[][]; value: Dir[]; output: Dir[]; WOV: number[][] }

export type Block = MLPBlock | HeadBlock;

/** The residual directions a block reads or writes (tracr's block.residual_space). */
export function blockSpace(b: Block): Dir[] {
  return b.kind === "mlp" ? space(b.input, b.output) : space(b.query, b.key, b.value, b.output);
}

/** MLP.combine_in_parallel: one MLP whose hidden layer is both hidden layers side by side. */
export function combineInParallel(a: MLPBlock, b: MLPBlock): MLPBlock {
  const input = space(a.input, b.input), hidden = space(a.hidden, b.hidden), output = space(a.output, b.output);
  const W1 = input.map(() => new Array<number>(hidden.length).fill(0));
  const W2 = hidden.map(() => new Array<number>(output.length).fill(0));
  for (const m of [a, b]) {
    m.input.forEach((d, i) => m.hidden.forEach((h, j) => { W1[indexOf(input, d)][indexOf(hidden, h)] += m.W1[i][j]; }));
    m.hidden.forEach((h, i) => m.output.forEach((d, j) => { W2[indexOf(hidden, h)][indexOf(output, d)] += m.W2[i][j]; }));
  }
  return { kind: "mlp", input, hidden, output, W1, W2 };
}

const identity = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

// ---- attention (categorical_attn.py) ------------------------------------------

export interface CategoricalAttnOptions {
  query: Dir[]; key: Dir[]; value: Dir[]; output: Dir[];
  bos: Dir; one: Dir;
  /** attn_fn(query direction, key direction). */
  attnFn: (q: Dir, k: Dir) => boolean;
  alwaysAttendToBos?: boolean;
  useBosForDefaultOutput?: boolean;
  softmaxColdness?: number;
}

/**
 * tracr's categorical attention. Every position attends with logit
 * coldness·attn_fn(q,k); the query's `one` times the key's `bos` adds
 * 0.5·coldness (1·coldness with alwaysAttendToBos), so BOS wins only when
 * nothing else is selected, and BOS's value maps to the default (zero) output.
 */
export function categoricalAttn(o: CategoricalAttnOptions): HeadBlock {
  const c = o.softmaxColdness ?? 100;
  const always = o.alwaysAttendToBos ?? false, bosDefault = o.useBosForDefaultOutput ?? true;
  const bosK = dirKey(o.bos), oneK = dirKey(o.one);
  const query = space(o.query, [o.bos], [o.one]), key = space(o.key, [o.bos]), value = space(o.value, [o.bos]);
  const output = space(o.output);
  const valueBasis = always ? value : value.filter((d) => dirKey(d) !== bosK);
  if (valueBasis.length !== output.length) throw new Error(`categoricalAttn: ${valueBasis.length} value directions for ${output.length} output directions`);
  const WQK = query.map((q) => key.map((k) => {
    if (dirKey(k) === bosK && dirKey(q) === oneK) return (always ? 1 : 0.5) * c;
    if ([dirKey(k), dirKey(q)].some((x) => x === bosK || x === oneK)) return 0;
    return c * (o.attnFn(q, k) ? 1 : 0);
  }));
  const WOV = fromAction(value, output, (d) => {
    if (bosDefault && dirKey(d) === bosK) return vec();
    return vec([output[valueBasis.findIndex((x) => dirKey(x) === dirKey(d))], 1]);
  });
  return { kind: "attn", query, key, WQK, value, output, WOV };
}

// ---- MLPs (categorical_mlp.py, numerical_mlp.py) ------------------------------

/** Categorical → categorical f: the hidden layer is the output one-hot itself. */
export function mapCategoricalMlp(input: Dir[], output: Dir[], op: (d: Dir) => Dir): MLPBlock {
  const W1 = fromAction(input, output, (d) => { const t = op(d); return indexOf(output, t) >= 0 ? vec([t, 1]) : vec(); });
  return { kind: "mlp", input, hidden: output, output, W1, W2: identity(output.length) };
}

/** Categorical → numerical f: one hidden unit holding Σ f(v)·[x = v]. */
export function mapCategoricalToNumericalMlp(input: Dir[], output: Dir[], f: (v: Value) => number): MLPBlock {
  if (output.length !== 1) throw new Error("mapCategoricalToNumericalMlp: the output must be one direction");
  const W1 = fromAction(input, output, (d) => vec([output[0], f(d.value as Value)]));
  return { kind: "mlp", input, hidden: output, output, W1, W2: [[1]] };
}

/** Two categorical inputs: hidden (x,y) = ReLU(x_i + y_j − 1) (a logical and), then a lookup table. */
export function sequenceMapCategoricalMlp(in1: Dir[], in2: Dir[], output: Dir[], op: (a: Dir, b: Dir) => Dir, one: Dir, hiddenName: string): MLPBlock {
  if (in1.some((d) => indexOf(in2, d) >= 0)) throw new Error("sequenceMapCategoricalMlp: input spaces must be disjoint (use a Map)");
  const input = space(in1, in2, [one]);
  const toHidden = (x: Dir, y: Dir) => dir(hiddenName, [x.name, x.value, y.name, y.value]);
  const hidden = space(in1.flatMap((x) => in2.map((y) => toHidden(x, y))));
  const W1 = fromAction(input, hidden, (d) => {
    if (dirKey(d) === dirKey(one)) return vec(...hidden.map((h): [Dir, number] => [h, -1]));
    if (indexOf(in1, d) >= 0) return vec(...in2.map((y): [Dir, number] => [toHidden(d, y), 1]));
    return vec(...in1.map((x): [Dir, number] => [toHidden(x, d), 1]));
  });
  const W2 = fromAction(hidden, output, (h) => {
    const [xn, xv, yn, yv] = h.value as DirValue[];
    const t = op(dir(xn as string, xv), dir(yn as string, yv));
    return indexOf(output, t) >= 0 ? vec([t, 1]) : vec();
  });
  return { kind: "mlp", input, hidden, output, W1, W2 };
}

/**
 * Numerical → categorical f by discretising (numerical_mlp.py): for each
 * threshold t_k between consecutive input values two hidden units
 * ReLU(L(x − t_k) + 1) and ReLU(L(x − t_k)), whose difference is a step at
 * t_k; the output telescopes from f(v_0) through the steps.
 */
export function mapNumericalToCategoricalMlp(f: (x: number) => Value | null, input: Dir, output: Dir[], inputValues: number[], one: Dir, hiddenName: string, L = 100): MLPBlock {
  const xs: number[] = [], outs: Value[] = [];
  for (const x of [...inputValues].sort((a, b) => a - b)) { const y = f(x); if (y !== null) { xs.push(x); outs.push(y); } }
  const thresholds = xs.slice(0, -1).map((x, i) => (x + xs[i + 1]) / 2);
  const start = dir(`${hiddenName}start`);
  const hidden = space([start], xs.slice(1).flatMap((_, i) => [dir(hiddenName, [i + 1, 0]), dir(hiddenName, [i + 1, 1])]));
  const inp = space([input], [one]);
  const W1 = fromAction(inp, hidden, (d) => {
    const terms: [Dir, number][] = [];
    if (dirKey(d) === dirKey(one)) terms.push([start, 1]);
    thresholds.forEach((t, i) => {
      const k = i + 1;
      if (dirKey(d) === dirKey(one)) terms.push([dir(hiddenName, [k, 0]), 1 - L * t], [dir(hiddenName, [k, 1]), -L * t]);
      else terms.push([dir(hiddenName, [k, 0]), L], [dir(hiddenName, [k, 1]), L]);
    });
    return vec(...terms);
  });
  const outDir = (v: Value) => {
    const d = output.find((x) => x.value === v);
    if (!d) throw new Error(`mapNumericalToCategoricalMlp: no output direction for value ${v}`);
    return d;
  };
  const W2 = fromAction(hidden, output, (h) => {
    if (h.name === start.name) return vec([outDir(outs[0]), 1]);
    const [k, i] = h.value as number[];
    const sign = i === 0 ? 1 : -1;
    return vec([outDir(outs[k]), sign], [outDir(outs[k - 1]), -sign]);
  });
  return { kind: "mlp", input: inp, hidden, output, W1, W2 };
}

/**
 * SelectorWidth (selector_width.py): a head that attends to BOS and to every
 * selected key, reading only BOS's bos direction, so it writes 1/(w+1) into
 * one auxiliary direction; then an MLP that discretises it into the
 * categorical width, in parallel with one that scrubs the BOS position
 * (which would otherwise hold width 0 and the head's output).
 */
export function selectorWidth(o: {
  query: Dir[]; key: Dir[]; output: Dir[]; bos: Dir; one: Dir; attnFn: (q: Dir, k: Dir) => boolean;
  outValues: number[]; label: string; softmaxColdness?: number; L?: number;
}): [HeadBlock, MLPBlock] {
  const attnOut = dir(`${o.label}_selector_width_attn_output`);
  const attn = categoricalAttn({
    query: o.query, key: o.key, value: [o.bos], output: [attnOut], bos: o.bos, one: o.one, attnFn: o.attnFn,
    alwaysAttendToBos: true, useBosForDefaultOutput: false, softmaxColdness: o.softmaxColdness,
  });
  const width = mapNumericalToCategoricalMlp((x) => Math.round(1 / x - 1), attnOut, o.output, o.outValues.map((v) => 1 / (v + 1)), o.one, `_hidden_${o.label}_`, o.L ?? 100);
  const zero = o.output.find((d) => d.value === 0);
  if (!zero) throw new Error("selectorWidth: the output has no direction for width 0");
  const cleanOut = space([attnOut], o.output);
  const h = dir("_hidden_clean_bos_");
  const clean: MLPBlock = {
    kind: "mlp", input: [o.bos], hidden: [h], output: cleanOut, W1: [[1]],
    W2: fromAction([h], cleanOut, () => vec([attnOut, -1], [zero, -1])),
  };
  return [attn, combineInParallel(width, clean)];
}
