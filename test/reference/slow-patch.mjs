// The slow exact path: a float64 patched forward pass computed from scratch
// for a given set of present edges, straight from the canonical weights and
// ACDC_SPEC's patching formula. Shares nothing with the incremental Patcher
// but the ablated node values it is handed. Covers the GPT-2 family (LN,
// gelu_new, learned positions) and the llama family (RMSNorm, SwiGLU, rotary
// positions, grouped-query attention: query head h reads kv head h·Hk/H),
// with causal or bidirectional attention; and the Hugging Face variants:
// rotate-half rotary on all or the first rotaryDims dims, RoPE scaling
// (linear, llama3), sliding-window attention, the exact erf GELU, a gate
// bias, and parallel attention and MLP (GPT-NeoX: the MLP reads the layer's
// input, so its receiver carries the b_O of the layers before, not its own).
import { erf } from "./hf-forward.mjs";

const ln = (x, w, b, D, eps) => {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let m = 0, v = 0;
    for (let d = 0; d < D; d++) m += x[r * D + d];
    m /= D;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - m) ** 2;
    const rs = 1 / Math.sqrt(v / D + eps);
    for (let d = 0; d < D; d++) out[r * D + d] = (x[r * D + d] - m) * rs * (w ? w[d] : 1) + (b ? b[d] : 0);
  }
  return out;
};
const rms = (x, w, D, eps) => {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d] ** 2;
    const rs = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) out[r * D + d] = x[r * D + d] * rs * (w ? w[d] : 1);
  }
  return out;
};
const gelu = (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
const geluErf = (x) => 0.5 * x * (1 + erf(x / Math.SQRT2));
const silu = (x) => x / (1 + Math.exp(-x));
// Rotary frequency i of n rotated dims: θ^(−2i/n), then scaled
// (modeling_rope_utils): linear divides by factor; llama3 keeps short
// wavelengths, divides long ones by factor, blends in between.
const freq = (cfg, i, n) => {
  const f = Math.pow(cfg.ropeTheta, -(2 * i) / n), sc = cfg.ropeScaling;
  if (!sc) return f;
  if (sc.type === "linear") return f / sc.factor;
  const wl = (2 * Math.PI) / f, lo = sc.originalMaxPositions / sc.lowFreqFactor, hi = sc.originalMaxPositions / sc.highFreqFactor;
  if (wl < hi) return f;
  if (wl > lo) return f / sc.factor;
  const s = (sc.originalMaxPositions / wl - sc.lowFreqFactor) / (sc.highFreqFactor - sc.lowFreqFactor);
  return (1 - s) * (f / sc.factor) + s * f;
};
// Rotary positions: llama2.c's run.c turns pairs (2i, 2i+1) of a head by
// t·θ^(−2i/Dh); Hugging Face's rotate_half turns (i, i + n/2), i < n/2, for
// the first n = rotaryDims dims, leaving the rest.
const rotate = (x, T, Dh, cfg) => {
  const out = Float64Array.from(x), half = cfg.rotaryStyle === "half";
  const n = cfg.rotaryDims ?? Dh;
  for (let r = 0; r < x.length / Dh; r++) {
    const t = r % T;
    for (let i = 0; i < n / 2; i++) {
      const ang = t * freq(cfg, i, n), c = Math.cos(ang), s = Math.sin(ang);
      const ia = half ? i : 2 * i, ib = half ? i + n / 2 : 2 * i + 1;
      const a = x[r * Dh + ia], b = x[r * Dh + ib];
      out[r * Dh + ia] = a * c - b * s;
      out[r * Dh + ib] = a * s + b * c;
    }
  }
  return out;
};

/** Metric (KL at rows, mean) of the patched model with `present` edges, in float64. */
export function slowPatchedKL({ W, cfg, graph, present, ablated, ids, B, T, rows, cleanLogProbs }) {
  const { dModel: D, dHead: Dh, nHeads: H, nKvHeads: Hk, dMlp: M, dVocab: V, eps } = cfg;
  const N = B * T;
  const wOf = (n) => W.get(n)?.data;
  const norm = (x, p) => (cfg.normalization.startsWith("LN") ? ln(x, wOf(`${p}.w`), wOf(`${p}.b`), D, eps)
    : cfg.normalization.startsWith("RMS") ? rms(x, wOf(`${p}.w`), D, eps) : Float64Array.from(x));
  const val = new Map();
  const bias = (layer) => {
    const b = new Float64Array(D);
    for (let l = 0; l < layer; l++) { const bo = wOf(`blocks.${l}.attn.b_O`); if (bo) for (let d = 0; d < D; d++) b[d] += bo[d]; }
    return b;
  };
  const order = [...graph.visitOrder].reverse();
  for (const x of order) {
    const n = graph.nodes[x];
    const parentsOf = graph.parents[x].map((e) => graph.edges[e]);
    if (n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed") {
      const v = new Float64Array(N * D), E = W.get("embed.W_E").data, P = cfg.positional === "learned" ? W.get("pos_embed.W_pos").data : null;
      const tok = n.kind !== "pos_embed", pos = n.kind !== "embed" && P;
      for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) v[r * D + d] = (tok ? E[ids[r] * D + d] : 0) + (pos ? P[(r % T) * D + d] : 0);
      val.set(x, v);
    } else if (n.kind === "qkv_input" || n.kind === "mlp_in" || n.kind === "output") {
      const layer = n.kind === "qkv_input" ? n.layer : n.kind === "mlp_in" ? n.layer + (cfg.parallelAttnMlp ? 0 : 1) : cfg.nLayers;
      const b = bias(layer), v = new Float64Array(N * D);
      for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) v[r * D + d] = b[d];
      for (const e of parentsOf) {
        const src = present[e.id] ? val.get(e.parent) : ablated(e.parent);
        for (let i = 0; i < N * D; i++) v[i] += src[i];
      }
      val.set(x, v);
    } else if (n.kind === "qkv") {
      const e = parentsOf[0];
      if (!present[e.id]) { val.set(x, Float64Array.from(ablated(x))); continue; }
      const xin = norm(val.get(e.parent), `blocks.${n.layer}.ln1`);
      // Shortformer (TransformerLens): W_pos joins the queries' and keys' input after ln1, never the stream.
      if (cfg.positional === "shortformer" && n.letter !== "v") {
        const P = W.get("pos_embed.W_pos").data;
        for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) xin[r * D + d] += P[(r % T) * D + d];
      }
      const L = n.letter.toUpperCase(), Wm = W.get(`blocks.${n.layer}.attn.W_${L}`).data, bm = wOf(`blocks.${n.layer}.attn.b_${L}`);
      const h = n.letter === "q" ? n.head : Math.floor((n.head * Hk) / H);
      const v = new Float64Array(N * Dh);
      for (let r = 0; r < N; r++) for (let j = 0; j < Dh; j++) {
        let s = bm ? bm[h * Dh + j] : 0;
        for (let d = 0; d < D; d++) s += xin[r * D + d] * Wm[(h * D + d) * Dh + j];
        v[r * Dh + j] = s;
      }
      val.set(x, v);
    } else if (n.kind === "result") {
      const get = (letter) => val.get(parentsOf.find((e) => graph.nodes[e.parent].letter === letter).parent);
      const rot = cfg.positional === "rotary";
      const q = rot ? rotate(get("q"), T, Dh, cfg) : get("q"), k = rot ? rotate(get("k"), T, Dh, cfg) : get("k"), vv = get("v");
      const z = new Float64Array(N * Dh), win = cfg.attnWindow?.[n.layer] ?? 0;
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
        // Keys first..last: causal (or all), and with a sliding window only the latest W, t itself included.
        const sc = [], last = cfg.causal ? t : T - 1, first = win ? Math.max(0, t - win + 1) : 0;
        for (let s = first; s <= last; s++) { let a = 0; for (let j = 0; j < Dh; j++) a += q[(b * T + t) * Dh + j] * k[(b * T + s) * Dh + j]; sc.push(a / Math.sqrt(Dh)); }
        const mx = Math.max(...sc), ex = sc.map((a) => Math.exp(a - mx)), S = ex.reduce((a, c) => a + c, 0);
        for (let s = first; s <= last; s++) for (let j = 0; j < Dh; j++) z[(b * T + t) * Dh + j] += (ex[s - first] / S) * vv[(b * T + s) * Dh + j];
      }
      const WO = W.get(`blocks.${n.layer}.attn.W_O`).data, out = new Float64Array(N * D);
      for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) { let s = 0; for (let j = 0; j < Dh; j++) s += z[r * Dh + j] * WO[(n.head * Dh + j) * D + d]; out[r * D + d] = s; }
      val.set(x, out);
    } else if (n.kind === "mlp_out") {
      const p = `blocks.${n.layer}`;
      const xin = norm(val.get(parentsOf[0].parent), `${p}.ln2`);
      const Wi = W.get(`${p}.mlp.W_in`).data, bi = wOf(`${p}.mlp.b_in`), Wo = W.get(`${p}.mlp.W_out`).data, bo = wOf(`${p}.mlp.b_out`);
      const Wg = wOf(`${p}.mlp.W_gate`), bg = wOf(`${p}.mlp.b_gate`);
      const out = new Float64Array(N * D);
      for (let r = 0; r < N; r++) {
        const h = new Float64Array(M);
        for (let m = 0; m < M; m++) {
          let s = bi ? bi[m] : 0;
          for (let d = 0; d < D; d++) s += xin[r * D + d] * Wi[d * M + m];
          if (cfg.actFn === "swiglu") { let g = bg ? bg[m] : 0; for (let d = 0; d < D; d++) g += xin[r * D + d] * Wg[d * M + m]; h[m] = silu(g) * s; }
          else h[m] = cfg.actFn === "relu" ? Math.max(0, s) : cfg.actFn === "gelu" ? geluErf(s) : gelu(s);
        }
        for (let d = 0; d < D; d++) { let s = bo ? bo[d] : 0; for (let m = 0; m < M; m++) s += h[m] * Wo[m * D + d]; out[r * D + d] = s; }
      }
      val.set(x, out);
    }
  }
  const resid = norm(val.get(graph.output), "ln_final");
  const WU = W.get("unembed.W_U").data, bU = wOf("unembed.b_U");
  const logProbs = rows.map((r) => {
    const lg = new Float64Array(V);
    for (let v = 0; v < V; v++) { let s = bU ? bU[v] : 0; for (let d = 0; d < D; d++) s += resid[r * D + d] * WU[d * V + v]; lg[v] = s; }
    const mx = Math.max(...lg); let S = 0;
    for (const a of lg) S += Math.exp(a - mx);
    return lg.map((a) => a - mx - Math.log(S));
  });
  if (!cleanLogProbs) return { logProbs };
  let kl = 0;
  logProbs.forEach((lq, i) => { const lp = cleanLogProbs[i]; for (let v = 0; v < V; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]); });
  return { kl: kl / rows.length, logProbs };
}
