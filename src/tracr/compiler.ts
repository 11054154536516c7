// A compiler from the RASP subset in rasp.ts to transformer weights under
// TransformerLens names, following tracr (Lindner et al. 2023) step by step:
// value-set inference (compiler/basis_inference.py), one craft block per
// operation (compiler/expr_to_craft_graph.py), each block placed at the
// earliest layer after its inputs (craft_graph_to_model.py), and the blocks'
// directions laid into one residual stream sorted as tracr sorts it, with
// one-hot embeddings and an unembedding that reads the output directions
// (compiler/assemble.py). Layers with nothing to do keep zero weights.
//
// The result is not a causal model: tracr compiles bidirectional attention
// (its default causal=False), so the config says causal: false.
import { makeConfig, type ModelConfig } from "../model/config.js";
import type { WeightMap } from "../model/transformer.js";
import { weight } from "../names.js";
import { compare, type SOp, type Value } from "./rasp.js";
import {
  blockSpace, categoricalAttn, combineInParallel, dir, dirLabel, indexOf, mapCategoricalMlp,
  mapCategoricalToNumericalMlp, selectorWidth, sequenceMapCategoricalMlp, space,
  type Block, type Dir, type HeadBlock, type MLPBlock,
} from "./craft.js";

export interface CompileOptions {
  /** Input vocabulary, without BOS and pad. */
  vocab: Value[];
  /** Longest input, without BOS. */
  maxSeqLen: number;
  /** tracr's compiler_bos and compiler_pad tokens. */
  bos?: string;
  pad?: string;
  /** Numerical MLPs' discretisation slope L (tracr's mlp_exactness). */
  mlpExactness?: number;
}

/** One compiled block: where it sits and which residual directions it reads and writes. */
export interface Component {
  /** "attn" blocks are heads (hook_result[head]); "mlp" blocks are the layer's MLP. */
  kind: "attn" | "mlp";
  layer: number;
  head: number | null;
  /** Label of the RASP operation the block computes (a selector width has two blocks). */
  op: string;
  /** Residual directions read, by role (q/k/v for a head, in for an MLP), and written. */
  reads: Record<string, string[]>;
  writes: string[];
}

export interface CompiledModel {
  cfg: ModelConfig;
  weights: WeightMap;
  /** Residual stream directions in order (tracr's residual_labels, e.g. "tokens:BOS", "one"). */
  residual: string[];
  /** Token id → input value; BOS and pad included (tracr's input encoder). */
  tokens: Value[];
  bosId: number;
  padId: number;
  /** Logit column j reads output direction j; the remaining columns of W_U are zero. */
  output: { label: string; categorical: boolean; values: (Value | null)[] };
  components: Component[];
  /** The program's value sets by operation label. */
  valueSets: Map<string, Value[]>;
}

const BOS = "BOS", PAD = "compiler_pad";

function children(s: SOp): SOp[] {
  switch (s.kind) {
    case "tokens": case "indices": return [];
    case "map": return [s.inner];
    case "sequence_map": return [s.fst, s.snd];
    case "aggregate": return [s.selector.keys, s.selector.queries, s.sop];
    case "selector_width": return [s.selector.keys, s.selector.queries];
  }
}

// Python set semantics for value sets (True == 1, so {True, 1} has one element).
function uniq(vs: Value[]): Value[] {
  const out: Value[] = [];
  for (const v of vs) if (!out.some((u) => (typeof u === "string" || typeof v === "string" ? u === v : Number(u) === Number(v)))) out.push(v);
  return out;
}

/** Compile `program` (its last operation is the model's output). */
export function compileRasp(program: SOp, o: CompileOptions): CompiledModel {
  const bos = o.bos ?? BOS, pad = o.pad ?? PAD, L = o.mlpExactness ?? 100;
  const { maxSeqLen } = o;

  // Operations in dependency order.
  const order: SOp[] = [];
  const seen = new Map<string, SOp>();
  const visit = (s: SOp) => {
    const prev = seen.get(s.label);
    if (prev) { if (prev !== s) throw new Error(`compile: two operations are labelled ${s.label}`); return; }
    seen.set(s.label, s);
    children(s).forEach(visit);
    order.push(s);
  };
  visit(program);

  // Value sets and output bases (basis_inference.py).
  const values = new Map<string, Value[]>();
  const basis = new Map<string, Dir[]>();
  for (const s of order) {
    let vs: Value[];
    switch (s.kind) {
      case "tokens": vs = [...o.vocab]; break;
      case "indices": vs = Array.from({ length: maxSeqLen }, (_, i) => i); break;
      case "selector_width": vs = Array.from({ length: maxSeqLen + 1 }, (_, i) => i); break;
      case "map": vs = values.get(s.inner.label)!.map((x) => s.f(x)); break;
      case "sequence_map": vs = values.get(s.fst.label)!.flatMap((x) => values.get(s.snd.label)!.map((y) => s.f(x, y))); break;
      case "aggregate": {
        const inner = uniq(values.get(s.sop.label)!);
        if (s.encoding === "categorical") { vs = inner; break; }
        if (uniq(inner.map((x) => Math.trunc(Number(x)))).length !== 2 || !inner.every((x) => Number(x) === 0 || Number(x) === 1)) {
          throw new Error(`compile: ${s.label}: numerical aggregates can only average binary values, not ${JSON.stringify(inner)}`);
        }
        vs = inner.flatMap((x) => Array.from({ length: maxSeqLen }, (_, i) => Number(x) / (i + 1)));
        break;
      }
    }
    vs = uniq(vs);
    values.set(s.label, vs);
    basis.set(s.label, s.encoding === "categorical" ? space(vs.map((v) => dir(s.label, v))) : [dir(s.label)]);
  }

  // One craft block (or two, for a selector width) per operation (expr_to_craft_graph.py).
  const bosDir = dir("tokens", bos), one = dir("one");
  const blocksOf = new Map<string, Block[]>();
  for (const s of order) {
    const out = basis.get(s.label)!;
    const enc = (x: SOp) => x.encoding;
    switch (s.kind) {
      case "tokens": case "indices": blocksOf.set(s.label, []); break;
      case "map": {
        const input = basis.get(s.inner.label)!;
        if (enc(s.inner) !== "categorical") throw new Error(`compile: ${s.label}: maps of numerical values are not supported`);
        blocksOf.set(s.label, [s.encoding === "categorical"
          ? mapCategoricalMlp(input, out, (d) => dir(s.label, s.f(d.value as Value)))
          : mapCategoricalToNumericalMlp(input, out, (v) => Number(s.f(v)))]);
        break;
      }
      case "sequence_map": {
        if ([s, s.fst, s.snd].some((x) => enc(x) !== "categorical")) throw new Error(`compile: ${s.label}: sequence maps must be categorical`);
        if (s.fst === s.snd) throw new Error(`compile: ${s.label}: a sequence map of one operation with itself is a map`);
        blocksOf.set(s.label, [sequenceMapCategoricalMlp(basis.get(s.fst.label)!, basis.get(s.snd.label)!, out,
          (a, b) => dir(s.label, s.f(a.value as Value, b.value as Value)), one, `_hidden_${s.label}_`)]);
        break;
      }
      case "aggregate": {
        const sel = s.selector;
        if (enc(sel.keys) !== "categorical" || enc(sel.queries) !== "categorical") throw new Error(`compile: ${sel.label}: keys and queries must be categorical`);
        if (enc(s.sop) !== s.encoding) throw new Error(`compile: ${s.label}: an aggregate's encoding must match its input's`);
        if (s.encoding === "categorical" ? s.default !== null : s.default !== 0) throw new Error(`compile: ${s.label}: default must be ${s.encoding === "categorical" ? "None" : "0"}`);
        blocksOf.set(s.label, [categoricalAttn({
          query: basis.get(sel.queries.label)!, key: basis.get(sel.keys.label)!, value: basis.get(s.sop.label)!, output: out,
          bos: bosDir, one, attnFn: (q, k) => compare(sel.predicate, k.value as Value, q.value as Value),
        })]);
        break;
      }
      case "selector_width": {
        const sel = s.selector;
        if (s.encoding !== "categorical") throw new Error(`compile: ${s.label}: only categorical selector widths are supported`);
        blocksOf.set(s.label, selectorWidth({
          query: basis.get(sel.queries.label)!, key: basis.get(sel.keys.label)!, output: out, bos: bosDir, one,
          attnFn: (q, k) => compare(sel.predicate, k.value as Value, q.value as Value),
          outValues: values.get(s.label)! as number[], label: s.label, L,
        }));
        break;
      }
    }
  }

  // Layers: half-layer 2l is layer l's attention, 2l+1 its MLP; each block
  // goes to the earliest half-layer of its kind after everything it reads.
  const end = new Map<string, number>();
  const placed: { half: number; block: Block; op: string }[] = [];
  for (const s of order) {
    let h = Math.max(-1, ...children(s).map((c) => end.get(c.label)!));
    for (const b of blocksOf.get(s.label)!) {
      h++;
      if ((h % 2 === 0) !== (b.kind === "attn")) h++;
      placed.push({ half: h, block: b, op: s.label });
    }
    end.set(s.label, h);
  }
  if (placed.length === 0) throw new Error("compile: the program computes nothing");
  const nLayers = Math.floor(Math.max(...placed.map((p) => p.half)) / 2) + 1;
  const heads: HeadBlock[][] = Array.from({ length: nLayers }, () => []);
  const headOps: string[][] = Array.from({ length: nLayers }, () => []);
  const mlps: (MLPBlock | null)[] = new Array(nLayers).fill(null);
  const mlpOps: string[][] = Array.from({ length: nLayers }, () => []);
  for (const p of placed) {
    const l = p.half >> 1;
    if (p.block.kind === "attn") { heads[l].push(p.block); headOps[l].push(p.op); }
    else { mlps[l] = mlps[l] ? combineInParallel(mlps[l]!, p.block) : p.block; mlpOps[l].push(p.op); }
  }

  // The residual stream (assemble.py): every block's directions, the token and
  // index embeddings' and the output's, sorted.
  const tokenSpace = space([...o.vocab, bos, pad].map((v) => dir("tokens", v)));
  const indexSpace = space(Array.from({ length: maxSeqLen }, (_, i) => dir("indices", i)));
  const outSpace = basis.get(program.label)!;
  const residual = space(...placed.map((p) => blockSpace(p.block)), tokenSpace, indexSpace, outSpace);
  const res = (d: Dir) => {
    const i = indexOf(residual, d);
    if (i < 0) throw new Error(`compile: ${dirLabel(d)} is not in the residual stream`);
    return i;
  };
  const allHeads = heads.flat();
  const nHeads = Math.max(1, ...heads.map((h) => h.length));
  // key_size: the largest side of any head's W_QK or W_OV (assemble.py); smaller heads are zero-padded.
  const dHead = allHeads.length ? Math.max(...allHeads.map((h) => Math.max(h.query.length, h.key.length, h.value.length, h.output.length))) : 1;
  const dMlp = Math.max(1, ...mlps.map((m) => (m ? m.hidden.length : 0)));
  const D = residual.length, V = tokenSpace.length, nCtx = maxSeqLen + 1;
  if (outSpace.length > V) throw new Error(`compile: ${outSpace.length} output directions do not fit the ${V}-token unembedding`);
  const cfg = makeConfig({
    nLayers, dModel: D, nHeads, dHead, dMlp, dVocab: V, nCtx,
    attnOnly: false, normalization: "none", actFn: "relu", positional: "learned", causal: false,
  });

  const w: WeightMap = new Map();
  const put = (name: string, shape: number[]) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    w.set(name, { shape, data });
    return data;
  };
  const WE = put(weight.embed(), [V, D]);
  const oneIdx = indexOf(residual, one);
  tokenSpace.forEach((t, id) => {
    WE[id * D + res(t)] = 1;
    if (oneIdx >= 0) WE[id * D + oneIdx] = 1; // every token, BOS and pad too, carries `one`
  });
  // Position 0 (BOS) has no index; position p holds index p − 1.
  const Wpos = put(weight.posEmbed(), [nCtx, D]);
  indexSpace.forEach((d, i) => { Wpos[(i + 1) * D + res(d)] = 1; });
  for (let l = 0; l < nLayers; l++) {
    const WQ = put(weight.attnW(l, "q"), [nHeads, D, dHead]), WK = put(weight.attnW(l, "k"), [nHeads, D, dHead]);
    const WV = put(weight.attnW(l, "v"), [nHeads, D, dHead]), WO = put(weight.WO(l), [nHeads, dHead, D]);
    heads[l].forEach((hd, h) => {
      // q = x·(P_query·W_QK) and k = x·P_key, so q·k = query·W_QK·key; v = x·(P_value·W_OV), out = v·P_outputᵀ.
      hd.query.forEach((d, i) => hd.key.forEach((_, j) => { WQ[(h * D + res(d)) * dHead + j] = hd.WQK[i][j]; }));
      hd.key.forEach((d, j) => { WK[(h * D + res(d)) * dHead + j] = 1; });
      hd.value.forEach((d, i) => hd.output.forEach((_, j) => { WV[(h * D + res(d)) * dHead + j] = hd.WOV[i][j]; }));
      hd.output.forEach((d, j) => { WO[(h * dHead + j) * D + res(d)] = 1; });
    });
    const Win = put(weight.Win(l), [D, dMlp]), Wout = put(weight.Wout(l), [dMlp, D]);
    const m = mlps[l];
    if (m) {
      m.input.forEach((d, i) => m.hidden.forEach((_, j) => { Win[res(d) * dMlp + j] = m.W1[i][j]; }));
      m.hidden.forEach((_, j) => m.output.forEach((d, k) => { Wout[j * D + res(d)] = m.W2[j][k]; }));
    }
  }
  const WU = put(weight.unembed(), [D, V]);
  outSpace.forEach((d, j) => { WU[res(d) * V + j] = 1; });

  const labels = (ds: Dir[]) => ds.map(dirLabel);
  const components: Component[] = [];
  for (let l = 0; l < nLayers; l++) {
    heads[l].forEach((hd, h) => components.push({
      kind: "attn", layer: l, head: h, op: headOps[l][h],
      reads: { q: labels(hd.query), k: labels(hd.key), v: labels(hd.value) }, writes: labels(hd.output),
    }));
    const m = mlps[l];
    if (m) components.push({ kind: "mlp", layer: l, head: null, op: mlpOps[l].join(" + "), reads: { in: labels(m.input) }, writes: labels(m.output) });
  }

  return {
    cfg, weights: w, residual: labels(residual),
    tokens: tokenSpace.map((d) => d.value as Value),
    bosId: tokenSpace.findIndex((d) => d.value === bos), padId: tokenSpace.findIndex((d) => d.value === pad),
    output: { label: program.label, categorical: program.encoding === "categorical", values: outSpace.map((d) => d.value as Value | null) },
    components, valueSets: values,
  };
}

/** Token ids for one input: BOS, then each value's id. */
export function encodeInput(m: CompiledModel, xs: Value[]): number[] {
  return [m.bosId, ...xs.map((x) => {
    const id = m.tokens.findIndex((t) => t === x);
    if (id < 0 || id === m.bosId || id === m.padId) throw new Error(`encode: ${JSON.stringify(x)} is not in the vocabulary`);
    return id;
  })];
}
