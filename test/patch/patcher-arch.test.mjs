// The patcher on the Hugging Face architectures' variants — rotate-half
// rotary (all dims or the first few), RoPE scaling, sliding-window
// attention, the exact erf GELU, a gate bias, and GPT-NeoX's parallel
// attention and MLP — and on TransformerLens's shortformer positions, checked as test/patch/patcher.test.mjs checks the
// GPT-2 and llama2.c families: each incremental trial's metric, and the
// committed state after a random walk of removals, equal a float64 patched
// forward pass computed from scratch from the canonical weights
// (test/reference/slow-patch.mjs), under every ablation. With parallel
// attention and MLP the graph itself changes: no head sends to its own
// layer's MLP.
import t from "tap";
import { acdc, buildGraph, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { rng } from "../helpers/fixtures.mjs";
import { slowPatchedKL } from "../reference/slow-patch.mjs";

function randomWeights(cfg, seed) {
  const r = rng(seed);
  const W = new Map();
  for (const { name, shape, size } of paramTable(cfg)) {
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = name.endsWith(".w") ? 1 + 0.2 * (r() - 0.5) : (r() - 0.5) * 0.8;
    W.set(name, { shape, data });
  }
  return W;
}

const data = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [[4, 2], [3]] };
const base = { nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8 };
const hfLlama = { normalization: "RMS", positional: "rotary", actFn: "swiglu", rotaryStyle: "half" };
const neox = { normalization: "LN", positional: "rotary", actFn: "gelu", rotaryStyle: "half", rotaryDims: 2, ropeTheta: 100 };

const CASES = [
  ["Llama (rotate-half, llama3 RoPE scaling, gate bias, 4 query heads on 2 kv heads)",
    { ...hfLlama, nKvHeads: 2, gateBias: true, ropeTheta: 50, ropeScaling: { type: "llama3", factor: 4, lowFreqFactor: 1, highFreqFactor: 2, originalMaxPositions: 16 } }],
  ["Mistral / Qwen2 (sliding window 2 on layer 1 only, linear RoPE scaling)", { ...hfLlama, nKvHeads: 2, attnWindow: [0, 2], ropeScaling: { type: "linear", factor: 2 } }],
  ["GPT-NeoX (parallel attention and MLP, rotary on 2 of 4 dims, exact GELU)", { ...neox, parallelAttnMlp: true }],
  ["GPT-NeoX sequential (rotary on 2 of 4 dims, exact GELU)", neox],
  ["TransformerLens shortformer (redwood_attn_2l style: W_pos only in queries' and keys' input; attention-only, LNPre)",
    { positional: "shortformer", attnOnly: true, dMlp: 0, normalization: "LNPre" }],
];

for (const [name, over] of CASES) {
  t.test(`${name}: trials equal a from-scratch float64 patched pass`, async (t) => {
    const cfg = makeConfig({ ...base, ...over });
    const W = randomWeights(cfg, 7);
    const model = await Transformer.create(cfg, W);
    const graph = buildGraph(cfg);
    const full = model.forward(data.clean).logits;
    for (const ablation of ["corrupted", "zero", "mean"]) {
      const p = new Patcher(model, graph, data, { ablation, metric: klMetric() });
      const e = model.engine, { B, T, N } = p, V = cfg.dVocab;
      const clean = e.f32(p.ctx.cleanLogits, p.R * V);
      let d = 0;
      p.rowIndex.forEach((row, r) => {
        const b = Math.floor(row / T), pos = row % T;
        for (let v = 0; v < V; v++) d = Math.max(d, Math.abs(clean[r * V + v] - full[(b * data.clean[0].length + pos) * V + v]));
      });
      t.ok(d < 1e-5, `${ablation}: the clean run equals the forward pass at the metric rows (max |diff| ${d.toExponential(2)})`);
      const ids = [];
      for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) ids.push(data.clean[b][i]);
      const ablated = (id) => Float64Array.from(e.f32(p.ablated(id), graph.nodes[id].kind === "qkv" ? N * cfg.dHead : N * cfg.dModel));
      const slow = (present, cleanLogProbs) => slowPatchedKL({ W, cfg, graph, present, ablated, ids, B, T, rows: Array.from(p.rowIndex), cleanLogProbs });
      const { logProbs: cleanLogProbs } = slow(p.present);
      // The slow pass with every edge present is the model: check the float64 forward itself first.
      let dl = 0;
      p.rowIndex.forEach((row, r) => {
        const lc = Array.from(clean.subarray(r * V, (r + 1) * V)), mx = Math.max(...lc), lse = mx + Math.log(lc.reduce((a, x) => a + Math.exp(x - mx), 0));
        for (let v = 0; v < V; v++) dl = Math.max(dl, Math.abs(lc[v] - lse - cleanLogProbs[r][v]));
      });
      t.ok(dl < 1e-5, `${ablation}: float64 oracle's clean log-probabilities match the model's (max |diff| ${dl.toExponential(2)})`);
      const random = rng(name.length * 17 + ablation.length);
      const testable = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
      let worst = 0, n = 0, moved = 0;
      for (let step = 0; step < 30; step++) {
        const eid = testable[Math.floor(random() * testable.length)];
        if (!p.present[eid]) continue;
        const fast = p.trial(eid);
        const present = Uint8Array.from(p.present);
        present[eid] = 0;
        const want = slow(present, cleanLogProbs).kl;
        worst = Math.max(worst, Math.abs(fast - want) / Math.max(1e-3, Math.abs(want)));
        if (Math.abs(want - p.current) > 1e-6) moved++;
        n++;
        if (random() < 0.6) p.commit();
        else p.reject();
      }
      const want = slow(p.present, cleanLogProbs).kl;
      t.ok(n >= 15 && moved >= 5, `${ablation}: ${n} trials checked, ${moved} of them move the metric`);
      t.ok(worst < 2e-4, `${ablation}: every trial within 2e-4 (relative, floor 1e-3) of float64 (worst ${worst.toExponential(2)})`);
      t.ok(Math.abs(p.current - want) <= 2e-4 * Math.max(1e-3, want), `${ablation}: committed state ${p.current.toExponential(4)} vs ${want.toExponential(4)}`);
      // setPresent (a whole pass under the mask) agrees with the incremental state.
      const q = new Patcher(model, graph, data, { ablation, metric: klMetric() });
      const viaMask = q.setPresent(Uint8Array.from(p.present));
      t.ok(Math.abs(viaMask - p.current) <= 1e-5 * Math.max(1, p.current), `${ablation}: setPresent ${viaMask.toExponential(4)} = incremental ${p.current.toExponential(4)}`);
    }
    const r = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
    const r2 = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-4 });
    t.ok(r.stats.tested > 0 && r.edges.length > 0, `ACDC ran: ${r.stats.tested} tested, ${r.edges.length} kept`);
    t.same(r2.trace.map((x) => x.metric), r.trace.map((x) => x.metric), "a second run is bit-identical");
  });
}

t.test("parallel attention and MLP: no head sends to its own layer's MLP, every earlier writer does", async (t) => {
  const seq = buildGraph(makeConfig({ ...base, ...neox }));
  const par = buildGraph(makeConfig({ ...base, ...neox, parallelAttnMlp: true }));
  const sendersOf = (g, label) => g.parents[g.byLabel.get(label)].map((e) => g.nodes[g.edges[e].parent].label);
  const H = base.nHeads, L = base.nLayers;
  for (let l = 0; l < L; l++) {
    const mi = `blocks.${l}.hook_mlp_in`;
    const want = ["blocks.0.hook_resid_pre"];
    for (let j = 0; j < l; j++) { for (let h = 0; h < H; h++) want.push(`blocks.${j}.attn.hook_result[${h}]`); want.push(`blocks.${j}.hook_mlp_out`); }
    t.same([...sendersOf(par, mi)].sort(), want.sort(), `parallel: ${mi} reads the input and layers < ${l} only`);
    t.ok(sendersOf(seq, mi).includes(`blocks.${l}.attn.hook_result[0]`), `sequential: ${mi} reads its own layer's heads`);
  }
  t.equal(seq.counts.addition - par.counts.addition, L * H, `parallel drops exactly the ${L}·${H} head → own-MLP edges`);
  t.same(par.counts.direct, seq.counts.direct, "direct edges are the same");
  t.same(par.visitOrder.length, seq.visitOrder.length, "same nodes");
});
