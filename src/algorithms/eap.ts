// Edge attribution patching (EAP, Syed et al. 2023) and EAP with integrated
// gradients (EAP-IG, Hanna et al. 2024): every edge scored at once from
// forward and backward passes instead of one patched pass per edge.
//
// score(parent → receiver) = Σ_{b,t,d} (ablated − clean value of the parent)
//   · ∂metric/∂(receiver input): the first-order change of the metric when
// the edge is removed. The metrics here already average over the batch, so
// this is the EAP paper's per-example score averaged over the batch;
// for a direct edge q_input → q the parent difference is the q node's own
// (ablated − clean) and the gradient is ∂metric/∂q. Plain EAP takes the
// gradient in the clean run; EAP-IG averages it over m runs whose input
// nodes are interpolated ablated + (k/m)(clean − ablated), k = 1..m.
//
// With every edge present each receiver's input is the ordinary residual
// stream, so one forward and one backward pass per step give every
// receiver's gradient; a receiver reads a prefix of the writers (inputs,
// then each layer's heads and MLP in forward order), so its scores against
// all of them are one GEMM with the stacked writer differences.
import type { Patcher } from "../graph/patcher.js";
import type { Graph, GraphEdge } from "../graph/graph.js";
import { InputError } from "../model/transformer.js";
import type { Letter } from "../model/transformer.js";

export interface EapOptions {
  /** Integrated-gradient steps m; 0 (default) for plain EAP. */
  steps?: number;
}

export interface EapScores {
  /** Score per edge id (NaN for placeholders). */
  scores: Float64Array;
  steps: number;
  ms: number;
}

const LETTERS: Letter[] = ["q", "k", "v"];

/** Score every counted edge with EAP (steps 0) or EAP-IG (steps m ≥ 1). Needs a fresh patcher (every edge present). */
export function eapScores(p: Patcher, opts: EapOptions = {}): EapScores {
  const t0 = performance.now();
  const steps = opts.steps ?? 0;
  if (!Number.isInteger(steps) || steps < 0) throw new InputError(`steps must be a non-negative integer, got ${steps}`);
  const g = p.graph, m = p.model, e = p.e, cfg = m.cfg, metric = p.metric;
  if (!metric.backward) throw new InputError(`metric "${metric.name}" has no gradient; EAP needs one (kl, logit-diff or a task metric with backward())`);
  if (cfg.positional === "rotary") throw new InputError("EAP does not support rotary position embeddings yet");
  if (p.present.some((x) => x === 0)) throw new InputError("EAP scores the full model: use a patcher with every edge present");
  const { nLayers: L, nHeads: H, nKvHeads: Hk, dModel: D, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const { B, T, N, R } = p;
  const ND = N * D, causal = cfg.causal ? 1 : 0;
  const mark = e.mark();
  try {
    // Writers in forward order; each reader reads a prefix of them.
    const writers: number[] = [];
    const inputs = g.nodes.filter((n) => n.kind === "input" || n.kind === "embed" || n.kind === "pos_embed").map((n) => n.id);
    writers.push(...inputs);
    const resultId = (l: number, h: number) => g.byLabel.get(`blocks.${l}.attn.hook_result[${h}]`)!;
    const mlpOutId = (l: number) => g.byLabel.get(`blocks.${l}.hook_mlp_out`)!;
    const prefixAt: number[] = []; // writers before layer l's q/k/v inputs
    const prefixMlp: number[] = []; // writers before layer l's mlp_in
    for (let l = 0; l < L; l++) {
      prefixAt.push(writers.length);
      for (let h = 0; h < H; h++) writers.push(resultId(l, h));
      prefixMlp.push(writers.length);
      if (!cfg.attnOnly) writers.push(mlpOutId(l));
    }
    const edgeOf = new Map<number, GraphEdge>(); // key parent·nn + child
    const nn = g.nodes.length;
    for (const ed of g.edges) edgeOf.set(ed.parent * nn + ed.child, ed);

    // Δ[w] = ablated − clean value of writer w, stacked [P, N·D].
    const P = writers.length;
    const delta = e.allocF32(P * ND);
    writers.forEach((w, i) => e.k.sub(delta + i * ND * 4, p.ablated(w), p.value(w), ND));

    // Scratch.
    const f = (n: number) => e.allocF32(n);
    const bcum: number[] = [];
    { let acc = new Float32Array(D); for (let l = 0; l <= L; l++) { bcum.push(e.upload(acc)); if (l < L) { acc = acc.slice(); const bO = e.f32(m.layers[l].bO, D); for (let d = 0; d < D; d++) acc[d] += bO[d]; } } }
    const stream = f(ND), rin = Array.from({ length: L }, () => f(ND)), mi = Array.from({ length: L }, () => f(ND));
    const stats = () => ({ mean: f(N), rstd: f(N) });
    const st1 = Array.from({ length: L }, stats), st2 = stats(), stF = stats();
    const ln = f(ND), qkv = Array.from({ length: L * H * 3 }, () => f(N * Dh)), pat = Array.from({ length: L * H }, () => f(B * T * T));
    const z = f(N * Dh), res = f(ND), out = f(ND), mlpScratch = cfg.attnOnly ? 0 : f(m.mlpScratchFloats(N));
    const rowsIdx = e.alloc(R * 4); e.i32(rowsIdx, R).set(p.rowIndex);
    const gathered = f(R * D), lnf = f(R * D), logits = f(R * V), dlogits = f(R * V), dlnf = f(R * D), dRows = f(R * D);
    const G = f(ND), gOut = f(ND), dz = f(N * Dh), dq = f(N * Dh), dk = f(N * Dh), dv = f(N * Dh), dpat = f(B * T * T), dln = f(ND);
    const gLayer = f(3 * H * ND); // receiver gradients of one layer's q/k/v inputs
    const dpost = cfg.attnOnly ? 0 : f(N * M), dpre = cfg.attnOnly ? 0 : f(N * M), dgate = cfg.attnOnly ? 0 : f(N * M);
    const junkW = f(D), junkB = f(D);
    const S = f(P * 3 * H); // scores scratch
    const scores = new Float64Array(g.edges.length);
    for (const ed of g.edges) if (ed.type === "placeholder") scores[ed.id] = NaN;
    const runs = steps === 0 ? [1] : Array.from({ length: steps }, (_, k) => (k + 1) / steps);
    const w = 1 / runs.length;

    const norm = (o: number, x: number, nrows: number, wt: number, bs: number, s: { mean: number; rstd: number }) =>
      m.normalize(o, x, nrows, wt, bs, s.mean, s.rstd);
    const normBack = (dx: number, dout: number, x: number, nrows: number, wt: number, s: { mean: number; rstd: number }) =>
      m.normalizeBackward(dx, junkW, junkB, dout, x, nrows, wt, s.mean, s.rstd);
    // scores[edge(writers[i], readers[j])] += w·Σ Δ_i·g_j for i < prefix.
    const scoreReaders = (readers: number[], grads: number, prefix: number) => {
      if (prefix === 0 || readers.length === 0) return;
      e.gemm(prefix, readers.length, ND, delta, ND, grads, ND, S, readers.length, { transB: true });
      const s = e.f32(S, prefix * readers.length);
      for (let i = 0; i < prefix; i++) for (let j = 0; j < readers.length; j++) {
        const ed = edgeOf.get(writers[i] * nn + readers[j]);
        if (ed) scores[ed.id] += w * s[i * readers.length + j];
      }
    };
    const dot = (a: number, b: number, n: number) => { const x = e.f32(a, n), y = e.f32(b, n); let s = 0; for (let i = 0; i < n; i++) s += x[i] * y[i]; return s; };
    const tmpDelta = f(N * Dh);

    for (const alpha of runs) {
      // Forward with every edge present; the input nodes interpolated.
      e.k.fill(stream, 0, ND);
      for (const id of inputs) {
        e.k.lerp(res, p.ablated(id), p.value(id), alpha, ND);
        e.k.add(stream, stream, res, ND);
      }
      for (let l = 0; l < L; l++) {
        const Lw = m.layers[l];
        e.f32(rin[l], ND).set(e.f32(stream, ND));
        e.k.addBias(rin[l], bcum[l], N, D);
        norm(ln, rin[l], N, Lw.ln1w, Lw.ln1b, st1[l]);
        for (let h = 0; h < H; h++) {
          LETTERS.forEach((letter, i) => {
            const hh = letter === "q" ? h : Math.floor((h * Hk) / H);
            m.projectHead(l, letter, hh, ln, N, qkv[(l * H + h) * 3 + i]);
          });
          const [q, k, v] = [0, 1, 2].map((i) => qkv[(l * H + h) * 3 + i]);
          m.attendOne(z, pat[l * H + h], q, k, v, B, T);
          m.headResult(l, h, z, N, res);
          e.k.add(stream, stream, res, ND);
        }
        if (!cfg.attnOnly) {
          e.f32(mi[l], ND).set(e.f32(stream, ND));
          e.k.addBias(mi[l], bcum[l + 1], N, D);
          m.mlp(l, mi[l], N, out, mlpScratch);
          e.k.add(stream, stream, out, ND);
        }
      }
      e.f32(out, ND).set(e.f32(stream, ND));
      e.k.addBias(out, bcum[L], N, D);
      e.k.gatherRows(gathered, out, rowsIdx, R, D);
      norm(lnf, gathered, R, m.lnfw, m.lnfb, stF);
      e.gemm(R, V, D, lnf, D, m.WU, V, logits, V, { bias: m.bU });

      // Backward: the output receiver first.
      metric.backward!(logits, dlogits, p.ctx);
      e.gemm(R, D, V, dlogits, V, m.WU, V, dlnf, D, { transB: true });
      normBack(dRows, dlnf, gathered, R, m.lnfw, stF);
      e.k.fill(gOut, 0, ND);
      const rows = p.rowIndex;
      for (let r = 0; r < R; r++) e.k.add(gOut + rows[r] * D * 4, gOut + rows[r] * D * 4, dRows + r * D * 4, D);
      scoreReaders([g.output], gOut, P);
      e.f32(G, ND).set(e.f32(gOut, ND));

      for (let l = L - 1; l >= 0; l--) {
        const Lw = m.layers[l];
        if (!cfg.attnOnly) {
          // mlp_in(l): back through W_out, the activation, W_in (and W_gate), LN2.
          const sc = mlpScratch, lnx = sc, pre = lnx + ND * 4, post = pre + N * M * 4, gate = post + N * M * 4;
          norm(lnx, mi[l], N, Lw.ln2w, Lw.ln2b, st2);
          e.gemm(N, M, D, lnx, D, Lw.Win, M, pre, M, { bias: Lw.bin });
          e.gemm(N, M, D, G, D, Lw.Wout, D, dpost, M, { transB: true });
          if (cfg.actFn === "swiglu") {
            e.gemm(N, M, D, lnx, D, Lw.Wgate, M, gate, M);
            e.k.swigluBackward(dgate, dpre, gate, pre, dpost, N * M);
            e.gemm(N, D, M, dpre, M, Lw.Win, M, dln, D, { transB: true });
            e.gemm(N, D, M, dgate, M, Lw.Wgate, M, dln, D, { transB: true, accumulate: true });
          } else {
            if (cfg.actFn === "relu") e.k.reluBackward(dpre, pre, dpost, N * M);
            else e.k.geluBackward(dpre, pre, dpost, N * M);
            e.gemm(N, D, M, dpre, M, Lw.Win, M, dln, D, { transB: true });
          }
          const gMi = gLayer; // reuse: one reader
          normBack(gMi, dln, mi[l], N, Lw.ln2w, st2);
          scoreReaders([g.byLabel.get(`blocks.${l}.hook_mlp_in`)!], gMi, prefixMlp[l]);
          e.k.add(G, G, gMi, ND);
        }
        // Heads: each result feeds everything after it (G now), not its own layer's inputs.
        const readers: number[] = [];
        for (let h = 0; h < H; h++) {
          const [q, k, v] = [0, 1, 2].map((i) => qkv[(l * H + h) * 3 + i]);
          e.gemm(N, Dh, D, G, D, Lw.WO + h * Dh * D * 4, D, dz, Dh, { transB: true });
          e.k.fill(dk, 0, N * Dh);
          e.k.fill(dv, 0, N * Dh);
          e.k.attentionBackward(dq, dk, dv, dpat, dz, q, k, v, pat[l * H + h], B, T, 1, 1, Dh, 1 / Math.sqrt(Dh), 0, 1, causal);
          [dq, dk, dv].forEach((dx, i) => {
            const letter = LETTERS[i];
            const node = g.byLabel.get(`blocks.${l}.attn.hook_${letter}[${h}]`)!;
            // Direct edge x_input → x: (ablated − clean x)·∂metric/∂x.
            e.k.sub(tmpDelta, p.ablated(node), p.value(node), N * Dh);
            scores[g.parents[node][0]] += w * dot(tmpDelta, dx, N * Dh);
            const hh = letter === "q" ? h : Math.floor((h * Hk) / H);
            const Wx = letter === "q" ? Lw.Wq : letter === "k" ? Lw.Wk : Lw.Wv, Hx = letter === "q" ? H : Hk;
            e.gemm(N, D, Dh, dx, Dh, Wx + hh * Dh * 4, Hx * Dh, dln, D, { transB: true });
            const slot = gLayer + readers.length * ND * 4;
            normBack(slot, dln, rin[l], N, Lw.ln1w, st1[l]);
            readers.push(g.byLabel.get(`blocks.${l}.hook_${letter}_input[${h}]`)!);
          });
        }
        scoreReaders(readers, gLayer, prefixAt[l]);
        for (let j = 0; j < readers.length; j++) e.k.add(G, G, gLayer + j * ND * 4, ND);
      }
    }
    return { scores, steps, ms: performance.now() - t0 };
  } finally {
    e.reset(mark);
  }
}

export interface EapCircuitOptions extends EapOptions {
  /** Keep the k edges of largest |score| … */
  topK?: number;
  /** … or every edge with |score| ≥ threshold. */
  threshold?: number;
}

export interface EapResult {
  scores: Float64Array;
  /** Kept counted edges after pruning, and the real patched metric of that circuit. */
  edges: GraphEdge[];
  present: Uint8Array;
  metric: number;
  baseline: number;
  scoreMs: number;
  evalMs: number;
}

/** Keep the chosen edges, drop those with no path to the output (placeholders always kept). */
export function pruneToOutput(g: Graph, chosen: Uint8Array): Uint8Array {
  const present = new Uint8Array(g.edges.length);
  for (const ed of g.edges) present[ed.id] = ed.type === "placeholder" || chosen[ed.id] ? 1 : 0;
  const alive = new Uint8Array(g.nodes.length);
  alive[g.output] = 1;
  // Visit order runs from the output backward, so children are decided first.
  for (const x of g.visitOrder) {
    if (x !== g.output) alive[x] = g.children[x].some((eid) => present[eid] && alive[g.edges[eid].child]) ? 1 : 0;
  }
  for (const ed of g.edges) if (ed.type !== "placeholder" && !alive[ed.child]) present[ed.id] = 0;
  return present;
}

/** EAP / EAP-IG circuit: score, keep top-k or above a threshold, prune, and evaluate with a real patched pass. */
export function eap(p: Patcher, opts: EapCircuitOptions): EapResult {
  const g = p.graph;
  if ((opts.topK === undefined) === (opts.threshold === undefined)) throw new InputError("give exactly one of topK and threshold");
  if (opts.topK !== undefined && (!Number.isInteger(opts.topK) || opts.topK < 0)) throw new InputError(`topK must be a non-negative integer, got ${opts.topK}`);
  if (opts.threshold !== undefined && !(opts.threshold >= 0)) throw new InputError(`threshold must be a non-negative number, got ${opts.threshold}`);
  const baseline = p.current;
  const { scores, ms } = eapScores(p, opts);
  const counted = g.edges.filter((ed) => ed.type !== "placeholder").map((ed) => ed.id);
  const chosen = new Uint8Array(g.edges.length);
  if (opts.topK !== undefined) {
    // Ties broken by edge id so the choice is deterministic.
    const order = [...counted].sort((a, b) => Math.abs(scores[b]) - Math.abs(scores[a]) || a - b);
    for (const id of order.slice(0, opts.topK)) chosen[id] = 1;
  } else {
    for (const id of counted) if (Math.abs(scores[id]) >= opts.threshold!) chosen[id] = 1;
  }
  const present = pruneToOutput(g, chosen);
  const t1 = performance.now();
  const metric = p.setPresent(present);
  const edges = g.edges.filter((ed) => ed.type !== "placeholder" && present[ed.id]);
  return { scores, edges, present, metric, baseline, scoreMs: ms, evalMs: performance.now() - t1 };
}
