// A GPT-2-family (and llama-family) transformer whose weights live in the
// engine's linear memory. Components work on offsets so the patching engine
// can run one head or one MLP on its own input; forward() strings them into
// the ordinary pass and copies out activations by TransformerLens hook name.
// Legend: B batch, T positions, N = B·T rows, D d_model, H heads, Hk kv heads,
// Dh d_head, M d_mlp, V vocab.
import type { ModelConfig } from "./config.js";
import type { Engine } from "../wasm/engine.js";
import { createEngine } from "../wasm/engine.js";
import type { Tensor, WeightMap } from "./weights.js";

/** Offsets of one layer's weights. Q/K/V are stored [D, heads·Dh] so head h is a column block. */
export interface LayerWeights {
  ln1w: number; ln1b: number;
  Wq: number; bq: number; Wk: number; bk: number; Wv: number; bv: number;
  WO: number; bO: number;
  ln2w: number; ln2b: number;
  Win: number; bin: number; Wgate: number; Wout: number; bout: number;
}

export type Letter = "q" | "k" | "v";

export class InputError extends Error {
  constructor(message: string) { super(message); this.name = "InputError"; }
}

/** Token ids [B][T] checked against the model; returns the flat Int32Array. */
export function checkTokens(cfg: ModelConfig, tokens: ArrayLike<ArrayLike<number>>, what = "tokens"): { ids: Int32Array; B: number; T: number } {
  const B = tokens.length;
  if (B === 0) throw new InputError(`${what}: empty batch`);
  const T = tokens[0].length;
  if (T === 0) throw new InputError(`${what}: empty sequence`);
  if (T > cfg.nCtx) throw new InputError(`${what}: sequence of ${T} tokens is longer than the model's context n_ctx = ${cfg.nCtx}`);
  const ids = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    if (tokens[b].length !== T) throw new InputError(`${what}: row ${b} has ${tokens[b].length} tokens, row 0 has ${T} (rows must be equal length)`);
    for (let t = 0; t < T; t++) {
      const x = tokens[b][t];
      if (!Number.isInteger(x) || x < 0 || x >= cfg.dVocab) throw new InputError(`${what}: token ${JSON.stringify(x)} at [${b}][${t}] is outside the vocabulary [0, ${cfg.dVocab})`);
      ids[b * T + t] = x;
    }
  }
  return { ids, B, T };
}

export interface ForwardResult {
  /** [B, T, V] */
  logits: Float32Array;
  shape: [number, number, number];
  /** Requested activations by hook name. */
  cache: Map<string, Tensor>;
}

export class Transformer {
  readonly cfg: ModelConfig;
  readonly engine: Engine;
  readonly WE: number;
  readonly Wpos: number;
  readonly layers: LayerWeights[] = [];
  readonly lnfw: number;
  readonly lnfb: number;
  readonly WU: number;
  readonly bU: number;
  private readonly ropeTable: { cos: number; sin: number } = { cos: 0, sin: 0 };

  private constructor(cfg: ModelConfig, engine: Engine, w: WeightMap) {
    this.cfg = cfg;
    this.engine = engine;
    const e = engine;
    const up = (n: string) => (w.has(n) ? e.upload(w.get(n)!.data) : 0);
    const { dModel: D, dHead: Dh } = cfg;
    // [heads, D, Dh] → [D, heads·Dh]: one GEMM serves all heads, and head h is columns h·Dh…
    const headsCols = (n: string): number => {
      const t = w.get(n)!;
      const Hx = t.shape[0];
      const out = new Float32Array(D * Hx * Dh);
      for (let h = 0; h < Hx; h++) for (let d = 0; d < D; d++) for (let j = 0; j < Dh; j++) out[d * Hx * Dh + h * Dh + j] = t.data[(h * D + d) * Dh + j];
      return e.upload(out);
    };
    this.WE = up("embed.W_E");
    this.Wpos = up("pos_embed.W_pos");
    for (let l = 0; l < cfg.nLayers; l++) {
      const b = `blocks.${l}`;
      this.layers.push({
        ln1w: up(`${b}.ln1.w`), ln1b: up(`${b}.ln1.b`),
        Wq: headsCols(`${b}.attn.W_Q`), bq: up(`${b}.attn.b_Q`),
        Wk: headsCols(`${b}.attn.W_K`), bk: up(`${b}.attn.b_K`),
        Wv: headsCols(`${b}.attn.W_V`), bv: up(`${b}.attn.b_V`),
        WO: up(`${b}.attn.W_O`), bO: up(`${b}.attn.b_O`),
        ln2w: up(`${b}.ln2.w`), ln2b: up(`${b}.ln2.b`),
        Win: up(`${b}.mlp.W_in`), bin: up(`${b}.mlp.b_in`), Wgate: up(`${b}.mlp.W_gate`),
        Wout: up(`${b}.mlp.W_out`), bout: up(`${b}.mlp.b_out`),
      });
    }
    this.lnfw = up("ln_final.w");
    this.lnfb = up("ln_final.b");
    this.WU = up("unembed.W_U");
    this.bU = up("unembed.b_U");
    // Uploaded once, here: built lazily inside forward(), a table was freed by
    // its arena reset() yet stayed cached, and later allocations overwrote it.
    if (cfg.positional === "rotary") this.ropeTable = this.ropeTables(cfg.nCtx);
  }

  /** Upload checked canonical weights (see checkWeights) into a new engine. */
  static async create(cfg: ModelConfig, weights: WeightMap, engine?: Engine): Promise<Transformer> {
    return new Transformer(cfg, engine ?? (await createEngine()), weights);
  }

  // ---- components on offsets -------------------------------------------------

  /** out[N,D] = norm(x[N,D]) with the given weights (copy when the model has no norm); saves mean/rstd [N] when given (for backward). */
  normalize(out: number, x: number, N: number, w: number, b: number, mean = 0, rstd = 0): void {
    const { k } = this.engine;
    const { dModel: D, eps } = this.cfg;
    if (this.cfg.normalization === "LN") k.layernorm(out, mean, rstd, x, w, b, N, D, eps);
    else if (this.cfg.normalization === "RMS") k.rmsnorm(out, rstd, x, w, N, D, eps);
    else if (out !== x) this.engine.f32(out, N * D).set(this.engine.f32(x, N * D));
  }

  /** dx[N,D] (written) from dout through normalize(x) with its saved mean/rstd; adds the weight/bias gradients into dw, db [D]. */
  normalizeBackward(dx: number, dw: number, db: number, dout: number, x: number, N: number, w: number, mean: number, rstd: number): void {
    const { k } = this.engine;
    const D = this.cfg.dModel;
    if (this.cfg.normalization === "LN") k.layernormBackward(dx, dw, db, dout, x, mean, rstd, w, N, D);
    else if (this.cfg.normalization === "RMS") k.rmsnormBackward(dx, dw, dout, x, rstd, w, N, D);
    else if (dx !== dout) this.engine.f32(dx, N * D).set(this.engine.f32(dout, N * D));
  }

  /** Heads [h0,h1) of letter's projection: out[N, Hx·Dh] cols h·Dh… = x[N,D]·W[h] + b[h]. */
  project(l: number, letter: Letter, x: number, N: number, out: number, h0: number, h1: number): void {
    const L = this.layers[l];
    const { dModel: D, dHead: Dh } = this.cfg;
    const Hx = letter === "q" ? this.cfg.nHeads : this.cfg.nKvHeads;
    const W = letter === "q" ? L.Wq : letter === "k" ? L.Wk : L.Wv;
    const bias = letter === "q" ? L.bq : letter === "k" ? L.bk : L.bv;
    const c0 = h0 * Dh;
    this.engine.gemm(N, (h1 - h0) * Dh, D, x, D, W + c0 * 4, Hx * Dh, out + c0 * 4, Hx * Dh, { bias: bias + c0 * 4 });
  }

  /** One head's projection into a contiguous out[N,Dh] = x[N,D]·W[h] + b[h] (kv head h for k/v). */
  projectHead(l: number, letter: Letter, h: number, x: number, N: number, out: number): void {
    const L = this.layers[l];
    const { dModel: D, dHead: Dh } = this.cfg;
    const Hx = letter === "q" ? this.cfg.nHeads : this.cfg.nKvHeads;
    const W = letter === "q" ? L.Wq : letter === "k" ? L.Wk : L.Wv;
    const bias = letter === "q" ? L.bq : letter === "k" ? L.bk : L.bv;
    this.engine.gemm(N, Dh, D, x, D, W + h * Dh * 4, Hx * Dh, out, Dh, { bias: bias + h * Dh * 4 });
  }

  /** One head from contiguous q,k,v [N,Dh]: z[N,Dh], pattern[B,1,T,T]; scratch 2·N·Dh floats (rotary only). */
  attendOne(z: number, pattern: number, q: number, k: number, v: number, B: number, T: number, scratch = 0): void {
    this.attendHeads(z, pattern, q, k, v, B, T, 1, 1, 0, 1, scratch);
  }

  /** One head's result out[N,D] = z[N,Dh]·W_O[h] (no b_O). */
  headResult(l: number, h: number, z: number, N: number, out: number): void {
    const { dHead: Dh, dModel: D } = this.cfg;
    this.engine.gemm(N, D, Dh, z, Dh, this.layers[l].WO + h * Dh * D * 4, D, out, D);
  }

  /** cos/sin tables [T, Dh/2] for rotary embeddings; row t is position t, so the nCtx table serves every T ≤ nCtx. */
  private ropeTables(T: number): { cos: number; sin: number } {
    const half = this.cfg.dHead / 2;
    const c = new Float32Array(T * half), s = new Float32Array(T * half);
    for (let t = 0; t < T; t++) for (let i = 0; i < half; i++) {
      const ang = t * Math.pow(this.cfg.ropeTheta, -(2 * i) / this.cfg.dHead);
      c[t * half + i] = Math.cos(ang);
      s[t * half + i] = Math.sin(ang);
    }
    return { cos: this.engine.upload(c), sin: this.engine.upload(s) };
  }

  /**
   * Heads [h0,h1): z[N,H·Dh], pattern[B,H,T,T] from q[N,H·Dh], k,v[N,Hk·Dh].
   * Rotary models rotate q and k into `scratch` (N·(H+Hk)·Dh floats) first so
   * cached q/k stay unrotated, as TransformerLens's hook_q/hook_k are.
   */
  attend(z: number, pattern: number, q: number, k: number, v: number, B: number, T: number, h0: number, h1: number, scratch = 0): void {
    this.attendHeads(z, pattern, q, k, v, B, T, this.cfg.nHeads, this.cfg.nKvHeads, h0, h1, scratch);
  }

  private attendHeads(z: number, pattern: number, q: number, k: number, v: number, B: number, T: number,
    H: number, Hk: number, h0: number, h1: number, scratch: number): void {
    const Dh = this.cfg.dHead;
    const e = this.engine;
    if (this.cfg.positional === "rotary") {
      const N = B * T;
      const { cos, sin } = this.ropeTable;
      const qr = scratch, kr = scratch + N * H * Dh * 4;
      e.f32(qr, N * H * Dh).set(e.f32(q, N * H * Dh));
      e.f32(kr, N * Hk * Dh).set(e.f32(k, N * Hk * Dh));
      e.k.rope(qr, cos, sin, B, T, H, Dh, h0, h1);
      e.k.rope(kr, cos, sin, B, T, Hk, Dh, 0, Hk);
      q = qr; k = kr;
    }
    e.k.attention(z, pattern, q, k, v, B, T, H, Hk, Dh, 1 / Math.sqrt(Dh), h0, h1, this.cfg.causal ? 1 : 0);
  }

  /** Per-head results, heads [h0,h1): out[N,H,D] slice h = z[N, h·Dh…]·W_O[h] (no b_O). */
  headResults(l: number, z: number, N: number, out: number, h0: number, h1: number): void {
    const { nHeads: H, dHead: Dh, dModel: D } = this.cfg;
    const WO = this.layers[l].WO;
    for (let h = h0; h < h1; h++) this.engine.gemm(N, D, Dh, z + h * Dh * 4, H * Dh, WO + h * Dh * D * 4, D, out + h * D * 4, H * D);
  }

  /** Floats of scratch mlp() needs for N rows. */
  mlpScratchFloats(N: number): number { return N * this.cfg.dModel + 3 * N * this.cfg.dMlp; }

  /**
   * out[N,D] = MLP(norm2(x[N,D])). scratch (mlpScratchFloats(N)) holds, in
   * order, the normalized input [N,D], pre-activation [N,M], post-activation
   * [N,M] and the SwiGLU gate [N,M], which forward() reads as hooks.
   */
  mlp(l: number, x: number, N: number, out: number, scratch: number): void {
    const L = this.layers[l];
    const { dModel: D, dMlp: M } = this.cfg;
    const e = this.engine;
    const ln = scratch, pre = ln + N * D * 4, post = pre + N * M * 4, gate = post + N * M * 4;
    this.normalize(ln, x, N, L.ln2w, L.ln2b);
    e.gemm(N, M, D, ln, D, L.Win, M, pre, M, { bias: L.bin });
    if (this.cfg.actFn === "swiglu") {
      // llama: silu(x·W_gate) · (x·W_in)
      e.gemm(N, M, D, ln, D, L.Wgate, M, gate, M);
      e.k.swiglu(post, gate, pre, N * M);
    } else if (this.cfg.actFn === "relu") {
      e.k.relu(post, pre, N * M); // tracr's compiled MLPs
    } else {
      e.k.gelu(post, pre, N * M);
    }
    e.gemm(N, D, M, post, M, L.Wout, D, out, D, { bias: L.bout });
  }

  /** logits[N,V] = norm_final(x[N,D])·W_U + b_U; `ln` receives the normalized stream. */
  unembed(x: number, N: number, out: number, ln: number): void {
    const { dModel: D, dVocab: V } = this.cfg;
    this.normalize(ln, x, N, this.lnfw, this.lnfb);
    this.engine.gemm(N, V, D, ln, D, this.WU, V, out, V, { bias: this.bU });
  }

  /** Embedding (+ learned positions) of ids[N] into out[N,D]; ids are an Int32 offset. */
  embedTokens(out: number, ids: number, B: number, T: number): void {
    this.engine.k.embed(out, ids, this.WE, this.cfg.positional === "learned" ? this.Wpos : 0, B, T, this.cfg.dModel);
  }

  /** Every hook name forward() can return, in the order they fire. */
  hookNames(): string[] {
    const n = ["hook_embed"];
    if (this.cfg.positional === "learned") n.push("hook_pos_embed");
    for (let l = 0; l < this.cfg.nLayers; l++) {
      const b = `blocks.${l}`;
      n.push(`${b}.hook_resid_pre`, `${b}.ln1.hook_normalized`, `${b}.attn.hook_q`, `${b}.attn.hook_k`, `${b}.attn.hook_v`,
        `${b}.attn.hook_pattern`, `${b}.attn.hook_z`, `${b}.attn.hook_result`, `${b}.hook_attn_out`);
      if (!this.cfg.attnOnly) n.push(`${b}.hook_resid_mid`, `${b}.ln2.hook_normalized`, `${b}.mlp.hook_pre`, `${b}.mlp.hook_post`, `${b}.hook_mlp_out`);
      n.push(`${b}.hook_resid_post`);
    }
    n.push("ln_final.hook_normalized");
    return n;
  }

  /**
   * Forward pass. tokens: [B][T] ids. Returns logits [B,T,V] and the activations
   * named in `hooks` ("all" for every one). Logits do not depend on which hooks are asked for.
   */
  forward(tokens: ArrayLike<ArrayLike<number>>, opts: { hooks?: string[] | "all" } = {}): ForwardResult {
    const cfg = this.cfg;
    const { ids, B, T } = checkTokens(cfg, tokens);
    const want = new Set(opts.hooks === "all" ? this.hookNames() : opts.hooks ?? []);
    const known = new Set(this.hookNames());
    for (const h of want) if (!known.has(h)) throw new InputError(`unknown hook "${h}" (see hookNames())`);
    const e = this.engine;
    const { dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
    const N = B * T;
    const mark = e.mark();
    try {
      const idp = e.alloc(N * 4);
      e.i32(idp, N).set(ids);
      const resid = e.allocF32(N * D), ln = e.allocF32(N * D);
      const q = e.allocF32(N * H * Dh), kk = e.allocF32(N * Hk * Dh), v = e.allocF32(N * Hk * Dh);
      const z = e.allocF32(N * H * Dh), pattern = e.allocF32(B * H * T * T);
      const attnOut = e.allocF32(N * D);
      const rot = cfg.positional === "rotary" ? e.allocF32(N * (H + Hk) * Dh) : 0;
      const mlpScratch = cfg.attnOnly ? 0 : e.allocF32(this.mlpScratchFloats(N));
      const logits = e.allocF32(N * V);
      const cache = new Map<string, Tensor>();
      const keep = (name: string, ptr: number, shape: number[]) => {
        if (want.has(name)) cache.set(name, { shape, data: e.f32(ptr, shape.reduce((a, b) => a * b, 1)).slice() });
      };
      if (want.has("hook_embed") || want.has("hook_pos_embed")) {
        e.k.embed(resid, idp, this.WE, 0, B, T, D);
        keep("hook_embed", resid, [B, T, D]);
        if (want.has("hook_pos_embed")) {
          const pos = new Float32Array(N * D);
          for (let b = 0; b < B; b++) pos.set(e.f32(this.Wpos, T * D), b * T * D);
          cache.set("hook_pos_embed", { shape: [B, T, D], data: pos });
        }
      }
      this.embedTokens(resid, idp, B, T);
      for (let l = 0; l < cfg.nLayers; l++) {
        const Lw = this.layers[l];
        const p = `blocks.${l}`;
        keep(`${p}.hook_resid_pre`, resid, [B, T, D]);
        this.normalize(ln, resid, N, Lw.ln1w, Lw.ln1b);
        keep(`${p}.ln1.hook_normalized`, ln, [B, T, D]);
        this.project(l, "q", ln, N, q, 0, H);
        this.project(l, "k", ln, N, kk, 0, Hk);
        this.project(l, "v", ln, N, v, 0, Hk);
        keep(`${p}.attn.hook_q`, q, [B, T, H, Dh]);
        keep(`${p}.attn.hook_k`, kk, [B, T, Hk, Dh]);
        keep(`${p}.attn.hook_v`, v, [B, T, Hk, Dh]);
        this.attend(z, pattern, q, kk, v, B, T, 0, H, rot);
        keep(`${p}.attn.hook_pattern`, pattern, [B, H, T, T]);
        keep(`${p}.attn.hook_z`, z, [B, T, H, Dh]);
        // All heads in one GEMM: z[N, H·Dh] · W_O[H·Dh, D] + b_O.
        e.gemm(N, D, H * Dh, z, H * Dh, Lw.WO, D, attnOut, D, { bias: Lw.bO });
        if (want.has(`${p}.attn.hook_result`)) {
          const m2 = e.mark();
          const res = e.allocF32(N * H * D);
          this.headResults(l, z, N, res, 0, H);
          keep(`${p}.attn.hook_result`, res, [B, T, H, D]);
          e.reset(m2);
        }
        keep(`${p}.hook_attn_out`, attnOut, [B, T, D]);
        e.k.add(resid, resid, attnOut, N * D);
        if (!cfg.attnOnly) {
          keep(`${p}.hook_resid_mid`, resid, [B, T, D]);
          const out = attnOut; // reuse: the attention output is already added in
          this.mlp(l, resid, N, out, mlpScratch);
          keep(`${p}.ln2.hook_normalized`, mlpScratch, [B, T, D]);
          keep(`${p}.mlp.hook_pre`, mlpScratch + N * D * 4, [B, T, M]);
          keep(`${p}.mlp.hook_post`, mlpScratch + (N * D + N * M) * 4, [B, T, M]);
          keep(`${p}.hook_mlp_out`, out, [B, T, D]);
          e.k.add(resid, resid, out, N * D);
        }
        keep(`${p}.hook_resid_post`, resid, [B, T, D]);
      }
      this.unembed(resid, N, logits, ln);
      keep("ln_final.hook_normalized", ln, [B, T, D]);
      return { logits: e.f32(logits, N * V).slice(), shape: [B, T, V], cache };
    } finally {
      e.reset(mark);
    }
  }
}
