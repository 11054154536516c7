// The residual-stream forward pass: every head reads the same stream, all
// heads of a layer are projected, attended and written back in single
// batched calls (one norm, one GEMM per letter, one attention call, one
// output GEMM with b_O), as the model itself computes. It is what logits,
// hooks and training use; with `save` it keeps, per layer, everything the
// backward pass (backward.ts) reads. Per-receiver mixing of the stream
// (patching, attribution, masks) is the graph pass in patch/pass.ts.
// Legend: B batch, T positions, N = B·T, D d_model, H heads, Hk kv heads,
// Dh d_head, M d_mlp, V vocab, L layers.
import type { Transformer, MlpBuffers, Tensor } from "./transformer.js";
import { checkTokens, hookNamesOf } from "./transformer.js";
import { InputError } from "../errors.js";
import { hook, LETTERS } from "../names.js";

/** Offsets of one forward pass's activations. Without `save` the per-layer lists repeat one shared buffer. */
export interface StreamActs {
  B: number; T: number; N: number;
  /** Int32 token ids [N]. */
  ids: number;
  /** resid[l] [N,D] enters layer l; resid[L] leaves the last one. */
  resid: number[];
  /** Stream after layer l's attention [N,D] (MLP models; with parallel attention and MLP, the sum before the MLP's output is added). */
  mid: number[];
  ln1: number[]; mean1: number[]; rstd1: number[];
  /** q [N,H·Dh], k/v [N,Hk·Dh], pattern [B,H,T,T], z [N,H·Dh] per layer. */
  q: number[]; k: number[]; v: number[]; pattern: number[]; z: number[];
  mlp: MlpBuffers[];
  /** Scratch [N,D]: the attention (then MLP) output being added. */
  branch: number;
  /** Scratch [N,D] for a parallel MLP's output (0 otherwise). */
  branch2: number;
  /** Rotary scratch N·(H+Hk)·Dh floats (0 without rotary). */
  rot: number;
  lnf: number; meanf: number; rstdf: number;
  /** [N,V] */
  logits: number;
}

/** Allocate a pass's activations for B×T tokens `ids` (per layer when `save`, else shared). */
export function allocActs(m: Transformer, ids: Int32Array, B: number, T: number, save: boolean): StreamActs {
  const e = m.engine, cfg = m.cfg;
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const N = B * T;
  const f = (n: number) => e.allocF32(n);
  const each = (n: number, count: number, make: () => number): number[] => {
    if (n === 0) return new Array(count).fill(0);
    if (save) return Array.from({ length: count }, make);
    const one = make();
    return new Array(count).fill(one);
  };
  const idp = e.alloc(N * 4);
  e.i32(idp, N).set(ids);
  const resid = save ? Array.from({ length: L + 1 }, () => f(N * D)) : new Array(L + 1).fill(f(N * D));
  const mlpOn = cfg.attnOnly ? 0 : 1;
  const stat = cfg.normalization === "none" ? 0 : 1;
  const acts: StreamActs = {
    B, T, N, ids: idp, resid,
    mid: mlpOn ? (save ? Array.from({ length: L }, () => f(N * D)) : new Array(L).fill(resid[0])) : new Array(L).fill(0),
    ln1: each(1, L, () => f(N * D)),
    mean1: each(stat && save ? 1 : 0, L, () => f(N)), rstd1: each(stat && save ? 1 : 0, L, () => f(N)),
    q: each(1, L, () => f(N * H * Dh)), k: each(1, L, () => f(N * Hk * Dh)), v: each(1, L, () => f(N * Hk * Dh)),
    pattern: each(1, L, () => f(B * H * T * T)), z: each(1, L, () => f(N * H * Dh)),
    mlp: [],
    branch: f(N * D), branch2: cfg.parallelAttnMlp ? f(N * D) : 0,
    rot: cfg.positional === "rotary" ? f(N * (H + Hk) * Dh) : 0,
    lnf: f(N * D), meanf: stat && save ? f(N) : 0, rstdf: stat && save ? f(N) : 0,
    logits: f(N * V),
  };
  if (mlpOn) {
    const one = (): MlpBuffers => ({
      ln: f(N * D), mean: stat && save ? f(N) : 0, rstd: stat && save ? f(N) : 0, pre: f(N * M), post: f(N * M),
      gate: cfg.actFn === "swiglu" ? f(N * M) : 0,
    });
    if (save) for (let l = 0; l < L; l++) acts.mlp.push(one());
    else { const s = one(); for (let l = 0; l < L; l++) acts.mlp.push(s); }
  }
  return acts;
}

/** Called with each hook's name, offset and shape as the pass fires it; return false to skip an optional one (hook_result). */
export type HookSink = (name: string, ptr: number, shape: number[]) => void;

/** Run the residual-stream pass over acts (from allocActs); `sink` sees every hook, `results` asks for per-head results. */
export function runStream(m: Transformer, a: StreamActs, sink?: HookSink, results?: (l: number) => boolean): void {
  const e = m.engine, cfg = m.cfg;
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M } = cfg;
  const { B, T, N } = a;
  if (sink) {
    m.embedTokensOnly(a.resid[0], a.ids, B, T);
    sink(hook.embed(), a.resid[0], [B, T, D]);
    if (cfg.positional === "learned" || cfg.positional === "shortformer") {
      m.embedPositions(a.branch, B, T);
      sink(hook.posEmbed(), a.branch, [B, T, D]);
    }
  }
  m.embedTokens(a.resid[0], a.ids, B, T);
  for (let l = 0; l < L; l++) {
    const Lp = m.layers[l], x = a.resid[l];
    sink?.(hook.residPre(l), x, [B, T, D]);
    m.normalize(a.ln1[l], x, N, Lp.ln1w, Lp.ln1b, a.mean1[l], a.rstd1[l]);
    sink?.(hook.ln1(l), a.ln1[l], [B, T, D]);
    const qkv = { q: a.q[l], k: a.k[l], v: a.v[l] };
    // Shortformer: queries and keys read ln1 + W_pos (in the branch scratch), values ln1 alone.
    const qkIn = cfg.positional === "shortformer" ? a.branch : a.ln1[l];
    if (qkIn !== a.ln1[l]) { e.f32(qkIn, N * D).set(e.f32(a.ln1[l], N * D)); m.addPositions(qkIn, B, T); }
    for (const x of LETTERS) {
      const Hx = x === "q" ? H : Hk;
      m.project(l, x, x === "v" ? a.ln1[l] : qkIn, N, 0, Hx, qkv[x], Hx * Dh);
    }
    for (const x of LETTERS) sink?.(hook.qkv(l, x), qkv[x], [B, T, x === "q" ? H : Hk, Dh]);
    m.attend(l, a.z[l], a.pattern[l], a.q[l], a.k[l], a.v[l], B, T, H, Hk, 0, H, a.rot);
    sink?.(hook.pattern(l), a.pattern[l], [B, H, T, T]);
    sink?.(hook.z(l), a.z[l], [B, T, H, Dh]);
    m.attnOutput(l, a.z[l], N, a.branch);
    if (sink && results?.(l)) {
      const mark = e.mark();
      const res = e.allocF32(N * H * D);
      for (let h = 0; h < H; h++) m.headResult(l, h, a.z[l] + h * Dh * 4, H * Dh, N, res + h * D * 4, H * D);
      sink(hook.result(l), res, [B, T, H, D]);
      e.reset(mark);
    }
    sink?.(hook.attnOut(l), a.branch, [B, T, D]);
    const mlp = (input: number, out: number) => {
      const s = a.mlp[l];
      m.mlp(l, input, N, out, s);
      sink?.(hook.ln2(l), s.ln, [B, T, D]);
      sink?.(hook.mlpPre(l), s.pre, [B, T, M]);
      sink?.(hook.mlpPost(l), s.post, [B, T, M]);
      sink?.(hook.mlpOut(l), out, [B, T, D]);
    };
    // Parallel attention and MLP: the MLP reads the layer's input x, so it runs
    // before x is updated in place (without `save` every stream is one buffer).
    if (cfg.parallelAttnMlp) mlp(x, a.branch2);
    const after = cfg.attnOnly ? a.resid[l + 1] : a.mid[l];
    e.k.add(after, x, a.branch, N * D);
    if (cfg.parallelAttnMlp) e.k.add(a.resid[l + 1], after, a.branch2, N * D);
    else if (!cfg.attnOnly) {
      sink?.(hook.residMid(l), after, [B, T, D]);
      mlp(after, a.branch);
      e.k.add(a.resid[l + 1], after, a.branch, N * D);
    }
    sink?.(hook.residPost(l), a.resid[l + 1], [B, T, D]);
  }
  m.unembed(a.resid[L], N, a.logits, a.lnf, a.meanf, a.rstdf);
  sink?.(hook.lnFinal(), a.lnf, [B, T, D]);
}

export interface ForwardOptions {
  /** Activations to return by hook name, or "all". */
  hooks?: string[] | "all";
}

export interface ForwardResult {
  /** [B, T, V] */
  logits: Float32Array;
  shape: [number, number, number];
  /** Requested activations by hook name. */
  cache: Map<string, Tensor>;
}

/** Logits [B,T,V] of token ids [B][T] and the activations named in `hooks` (copied out). */
export function forward(m: Transformer, tokens: ArrayLike<ArrayLike<number>>, opts: ForwardOptions = {}): ForwardResult {
  const cfg = m.cfg, e = m.engine;
  const { ids, B, T } = checkTokens(cfg, tokens);
  const known = hookNamesOf(cfg);
  const want = new Set(opts.hooks === "all" ? known : opts.hooks ?? []);
  const knownSet = new Set(known);
  for (const h of want) if (!knownSet.has(h)) throw new InputError(`unknown hook "${h}" (see hookNames())`);
  const mark = e.mark();
  try {
    const a = allocActs(m, ids, B, T, false);
    const cache = new Map<string, Tensor>();
    const sink: HookSink | undefined = want.size ? (name, ptr, shape) => {
      if (want.has(name)) cache.set(name, { shape, data: e.f32(ptr, shape.reduce((x, y) => x * y, 1)).slice() });
    } : undefined;
    runStream(m, a, sink, (l) => want.has(hook.result(l)));
    return { logits: e.f32(a.logits, B * T * cfg.dVocab).slice(), shape: [B, T, cfg.dVocab], cache };
  } finally {
    e.reset(mark);
  }
}
