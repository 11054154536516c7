// The slow exact path: a float64 patched forward pass computed from scratch
// for a given set of present edges, straight from the canonical weights and
// ACDC_SPEC's patching formula. Shares nothing with the incremental Patcher
// but the ablated node values it is handed.

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
const gelu = (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));

/** Metric (KL at rows, mean) of the patched model with `present` edges, in float64. */
export function slowPatchedKL({ W, cfg, graph, present, ablated, ids, B, T, rows, cleanLogProbs }) {
  const { dModel: D, dHead: Dh, nHeads: H, dMlp: M, dVocab: V, eps } = cfg;
  const N = B * T;
  const norm = (x, p) => (cfg.normalization === "LN" ? ln(x, W.get(`${p}.w`).data, W.get(`${p}.b`).data, D, eps) : Float64Array.from(x));
  const val = new Map();
  const bias = (layer) => {
    const b = new Float64Array(D);
    for (let l = 0; l < layer; l++) { const bo = W.get(`blocks.${l}.attn.b_O`).data; for (let d = 0; d < D; d++) b[d] += bo[d]; }
    return b;
  };
  const order = [...graph.visitOrder].reverse();
  for (const x of order) {
    const n = graph.nodes[x];
    const parentsOf = graph.parents[x].map((e) => graph.edges[e]);
    if (n.kind === "input") {
      const v = new Float64Array(N * D), E = W.get("embed.W_E").data, P = W.get("pos_embed.W_pos").data;
      for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) v[r * D + d] = E[ids[r] * D + d] + P[(r % T) * D + d];
      val.set(x, v);
    } else if (n.kind === "qkv_input" || n.kind === "mlp_in" || n.kind === "output") {
      const layer = n.kind === "qkv_input" ? n.layer : n.kind === "mlp_in" ? n.layer + 1 : cfg.nLayers;
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
      const L = n.letter.toUpperCase(), Wm = W.get(`blocks.${n.layer}.attn.W_${L}`).data, bm = W.get(`blocks.${n.layer}.attn.b_${L}`).data;
      const v = new Float64Array(N * Dh);
      for (let r = 0; r < N; r++) for (let j = 0; j < Dh; j++) {
        let s = bm[n.head * Dh + j];
        for (let d = 0; d < D; d++) s += xin[r * D + d] * Wm[(n.head * D + d) * Dh + j];
        v[r * Dh + j] = s;
      }
      val.set(x, v);
    } else if (n.kind === "result") {
      const get = (letter) => val.get(parentsOf.find((e) => graph.nodes[e.parent].letter === letter).parent);
      const q = get("q"), k = get("k"), vv = get("v");
      const z = new Float64Array(N * Dh);
      for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
        const sc = [];
        for (let s = 0; s <= t; s++) { let a = 0; for (let j = 0; j < Dh; j++) a += q[(b * T + t) * Dh + j] * k[(b * T + s) * Dh + j]; sc.push(a / Math.sqrt(Dh)); }
        const mx = Math.max(...sc), ex = sc.map((a) => Math.exp(a - mx)), S = ex.reduce((a, c) => a + c, 0);
        for (let s = 0; s <= t; s++) for (let j = 0; j < Dh; j++) z[(b * T + t) * Dh + j] += (ex[s] / S) * vv[(b * T + s) * Dh + j];
      }
      const WO = W.get(`blocks.${n.layer}.attn.W_O`).data, out = new Float64Array(N * D);
      for (let r = 0; r < N; r++) for (let d = 0; d < D; d++) { let s = 0; for (let j = 0; j < Dh; j++) s += z[r * Dh + j] * WO[(n.head * Dh + j) * D + d]; out[r * D + d] = s; }
      val.set(x, out);
    } else if (n.kind === "mlp_out") {
      const p = `blocks.${n.layer}`;
      const xin = norm(val.get(parentsOf[0].parent), `${p}.ln2`);
      const Wi = W.get(`${p}.mlp.W_in`).data, bi = W.get(`${p}.mlp.b_in`).data, Wo = W.get(`${p}.mlp.W_out`).data, bo = W.get(`${p}.mlp.b_out`).data;
      const out = new Float64Array(N * D);
      for (let r = 0; r < N; r++) {
        const h = new Float64Array(M);
        for (let m = 0; m < M; m++) { let s = bi[m]; for (let d = 0; d < D; d++) s += xin[r * D + d] * Wi[d * M + m]; h[m] = gelu(s); }
        for (let d = 0; d < D; d++) { let s = bo[d]; for (let m = 0; m < M; m++) s += h[m] * Wo[m * D + d]; out[r * D + d] = s; }
      }
      val.set(x, out);
    }
  }
  const resid = norm(val.get(graph.output), "ln_final");
  const WU = W.get("unembed.W_U").data, bU = W.get("unembed.b_U").data;
  const logProbs = rows.map((r) => {
    const lg = new Float64Array(V);
    for (let v = 0; v < V; v++) { let s = bU[v]; for (let d = 0; d < D; d++) s += resid[r * D + d] * WU[d * V + v]; lg[v] = s; }
    const mx = Math.max(...lg); let S = 0;
    for (const a of lg) S += Math.exp(a - mx);
    return lg.map((a) => a - mx - Math.log(S));
  });
  if (!cleanLogProbs) return { logProbs };
  let kl = 0;
  logProbs.forEach((lq, i) => { const lp = cleanLogProbs[i]; for (let v = 0; v < V; v++) kl += Math.exp(lp[v]) * (lp[v] - lq[v]); });
  return { kl: kl / rows.length, logProbs };
}
