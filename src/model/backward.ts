// The residual-stream backward pass (llm.c's gpt2_backward on this
// project's kernels): from ∂loss/∂logits back through every component of
// a saved forward pass (forward.ts, allocActs with save), accumulating every
// parameter's gradient into a block laid out like the parameters. The
// per-receiver backward (attribution, masks) is in patch/pass.ts; both call
// the same component backwards on Transformer.
// Legend: B batch, T positions, N = B·T, D d_model, H heads, Hk kv heads,
// Dh d_head, M d_mlp, V vocab, L layers.
import type { Transformer } from "./transformer.js";
import type { StreamActs } from "./forward.js";
import type { Params } from "./params.js";
import { LETTERS, weight } from "../names.js";
import { InputError } from "../errors.js";

/**
 * Add ∂loss/∂parameter into `grads` (a Params block of the same table) given
 * dlogits [N,V] of the pass `a`. Allocates its scratch on the arena.
 */
export function backwardStream(m: Transformer, a: StreamActs, dlogits: number, grads: Params): void {
  const cfg = m.cfg, e = m.engine;
  const { nLayers: L, dModel: D, nHeads: H, nKvHeads: Hk, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const { B, T, N } = a;
  // A tied unembedding has no storage of its own to take its [D, V] gradient (the trainer builds untied models).
  if (m.WU === m.WE) throw new InputError("training: the unembedding is tied to the embedding; load the model untied to train it");
  if (cfg.positional === "shortformer") throw new InputError("training: shortformer positions have no W_pos gradient here");
  const QD = H * Dh, KD = Hk * Dh;
  const f = (n: number) => e.allocF32(n);
  const dres = f(N * D), dtmp = f(N * D), dln = f(N * D);
  const dz = f(N * QD), dq = f(N * QD), dk = f(N * KD), dv = f(N * KD), dpat = f(B * H * T * T);
  const mlpTmp = cfg.attnOnly ? null : { dpost: f(N * M), dpre: f(N * M), dgate: f(N * M), dln };
  const parallel = cfg.parallelAttnMlp === true, dpar = parallel ? f(N * D) : 0;
  const rotScratch = f(m.attendBackwardScratchFloats(B, T, H, Hk));
  const g = (n: string) => grads.ptr(n);

  // Unembedding and final norm: logits = lnf·W_U + b_U.
  e.gemm(D, V, N, a.lnf, D, dlogits, V, g(weight.unembed()), V, { transA: true, accumulate: true });
  e.k.biasGrad(g(weight.unembedBias()), dlogits, N, V);
  m.unembedBackward(dlogits, N, dln);
  m.normalizeBackward(dres, g(weight.lnFinal("w")), g(weight.lnFinal("b")), dln, a.resid[L], N, m.lnfw, a.meanf, a.rstdf);

  // dres is ∂loss/∂(stream leaving layer l); each branch adds its input gradient to it.
  for (let l = L - 1; l >= 0; l--) {
    const gl = grads.layer(l);
    if (!cfg.attnOnly) {
      // Sequential: the MLP read the stream after attention, so its input gradient joins dres before the heads.
      // Parallel: it read the layer's input, so its input gradient joins only after the heads' (dpar).
      m.mlpBackward(l, dres, parallel ? a.resid[l] : a.mid[l], N, a.mlp[l], parallel ? dpar : dtmp, gl, mlpTmp!);
      if (!parallel) e.k.add(dres, dres, dtmp, N * D);
    }
    // attn_out = z·W_O + b_O
    e.gemm(QD, D, N, a.z[l], QD, dres, D, gl.WO, D, { transA: true, accumulate: true });
    e.k.biasGrad(gl.bO, dres, N, D);
    m.headResultBackward(l, dres, N, 0, H, dz, QD);
    e.k.fill(dk, 0, N * KD);
    e.k.fill(dv, 0, N * KD);
    m.attendBackward(l, dq, dk, dv, dpat, dz, a.q[l], a.k[l], a.v[l], a.pattern[l], B, T, H, Hk, 0, H, rotScratch);
    // q/k/v = ln1·W + b, all heads at once ([D, Hx·Dh] layout).
    const d = { q: dq, k: dk, v: dv };
    LETTERS.forEach((x, i) => {
      const cols = x === "q" ? QD : KD;
      m.projectGrads(x, a.ln1[l], d[x], N, gl.W[x], gl.b[x]);
      m.projectBackward(l, x, d[x], cols, N, 0, x === "q" ? H : Hk, dln, i > 0);
    });
    m.normalizeBackward(dtmp, gl.ln1w, gl.ln1b, dln, a.resid[l], N, m.layers[l].ln1w, a.mean1[l], a.rstd1[l]);
    e.k.add(dres, dres, dtmp, N * D);
    if (parallel) e.k.add(dres, dres, dpar, N * D);
  }
  e.k.embedBackward(g(weight.embed()), cfg.positional === "learned" ? g(weight.posEmbed()) : 0, dres, a.ids, B, T, D);
}
