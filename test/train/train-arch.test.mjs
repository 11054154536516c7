// Whole-model gradients (backwardStream through the trainer) for the
// architecture options the Hugging Face models brought: parallel attention
// and MLP (the MLP's input gradient joins the stream after the heads', not
// before), the exact erf GELU, and a gate bias; each checked against central
// differences of a float64 loss from the slow patched pass with every edge
// present (test/reference/slow-patch.mjs), written from the formulas.
import t from "tap";
import { buildGraph, makeConfig } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { Trainer, mulberry32, gaussian } from "../../dist/train/index.js";
import { slowPatchedKL } from "../reference/slow-patch.mjs";

const base = { nLayers: 2, dModel: 8, nHeads: 2, dHead: 4, dMlp: 12, dVocab: 7, nCtx: 5 };
const CONFIGS = {
  "parallel attention and MLP, exact GELU": makeConfig({ ...base, actFn: "gelu", parallelAttnMlp: true }),
  "SwiGLU with a gate bias, RMSNorm": makeConfig({ ...base, actFn: "swiglu", normalization: "RMS", gateBias: true }),
};

function randomWeights(cfg, seed) {
  const normal = gaussian(mulberry32(seed));
  return new Map(paramTable(cfg).map(({ name, shape }) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = (/\.w$/.test(name) ? 1 : 0) + 0.4 * normal();
    return [name, { shape, data }];
  }));
}

/** Mean cross-entropy of next tokens, in float64, from the slow pass with every edge present. */
function refLoss(cfg, graph, W, tokens, targets, B, T) {
  const rows = [];
  for (let i = 0; i < B * T; i++) if (targets[i] >= 0) rows.push(i);
  const { logProbs } = slowPatchedKL({ W, cfg, graph, present: new Uint8Array(graph.edges.length).fill(1), ablated: null, ids: Array.from(tokens), B, T, rows });
  return -logProbs.reduce((s, lp, r) => s + lp[targets[rows[r]]], 0) / rows.length;
}

for (const [name, cfg] of Object.entries(CONFIGS)) {
  t.test(`${name}: whole-model gradients = central differences of a float64 loss`, async (t) => {
    const W = randomWeights(cfg, 3);
    const tr = await Trainer.create(cfg, { weights: W });
    const B = 2, T = cfg.nCtx, r0 = mulberry32(5);
    const tokens = Int32Array.from({ length: B * T }, () => Math.floor(r0() * cfg.dVocab));
    const targets = Int32Array.from(tokens, (_, i) => (i % T === T - 1 ? -1 : tokens[i + 1]));
    const { loss } = tr.lossAndGrad({ tokens, targets, B, T });
    const grads = tr.gradients();
    const graph = buildGraph(cfg);
    const W64 = new Map([...W].map(([n, x]) => [n, { shape: x.shape, data: Float64Array.from(x.data) }]));
    const ref = refLoss(cfg, graph, W64, tokens, targets, B, T);
    t.ok(Math.abs(loss - ref) < 1e-5 * Math.max(1, ref), `loss ${loss.toFixed(6)} = float64 reference ${ref.toFixed(6)}`);
    const r = mulberry32(11), h = 1e-5;
    let worst = 0, checked = 0, where = "";
    for (const [pname, tensor] of W64) {
      const g = grads.get(pname).data;
      let scale = 0;
      for (const v of g) scale = Math.max(scale, Math.abs(v));
      for (let s = 0; s < 3; s++) {
        const i = Math.floor(r() * tensor.data.length), x0 = tensor.data[i];
        tensor.data[i] = x0 + h;
        const up = refLoss(cfg, graph, W64, tokens, targets, B, T);
        tensor.data[i] = x0 - h;
        const down = refLoss(cfg, graph, W64, tokens, targets, B, T);
        tensor.data[i] = x0;
        const fd = (up - down) / (2 * h);
        // Relative, floored at 1% of the tensor's largest gradient and at 1e-5 (b_K's gradient is exactly 0).
        const err = Math.abs(g[i] - fd) / Math.max(Math.abs(fd), 0.01 * scale, 1e-5);
        if (err > worst) { worst = err; where = `${pname}[${i}]: ${g[i].toExponential(4)} vs ${fd.toExponential(4)}`; }
        checked++;
      }
    }
    t.ok(worst < 1e-3, `${checked} gradient entries within 1e-3 of central differences (worst ${worst.toExponential(2)} at ${where})`);
  });
}
