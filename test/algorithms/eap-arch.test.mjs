// EAP and EAP-IG on each Hugging Face architecture's tiny model
// (test/fixtures/hf/): rotate-half and partial rotary (whose backward is
// the rotation by minus the angle), RoPE scaling, sliding windows, GQA, the
// exact GELU, a gate bias, and GPT-NeoX's parallel attention and MLP (whose
// MLP input gradient must not reach its own layer's heads). Each edge's EAP
// score must equal the linear estimate of the metric change measured with
// explicit patched passes (central differences with ε = 5e-3 on the patcher, as in
// eap.test.mjs); EAP-IG must then give a circuit whose metric a real
// patched pass reproduces. Also TransformerLens's shortformer positions
// (a constant W_pos in the queries' and keys' input).
import t from "tap";
import { buildGraph, eapScores, getAlgorithm, logitDiffMetric, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { rng } from "../helpers/fixtures.mjs";
import { linearEstimates } from "../helpers/patcher-check.mjs";
import { HF_MODELS, hfFixture } from "../helpers/hf.mjs";

/** A random TransformerLens-style shortformer model (the paper's redwood_attn_2l layout, small). */
async function shortformer() {
  const cfg = makeConfig({ nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dVocab: 13, nCtx: 8, attnOnly: true, normalization: "LNPre", positional: "shortformer" });
  const r = rng(3);
  const W = new Map(paramTable(cfg).map(({ name, shape, size }) => [name, { shape, data: Float32Array.from({ length: size }, () => (r() - 0.5) * 1.2) }]));
  const model = await Transformer.create(cfg, W);
  return { model, expected: { ids: [[1, 4, 9, 2, 7, 3, 12, 5], [0, 8, 6, 10, 11, 2, 4, 1]] } };
}

for (const name of [...HF_MODELS, "shortformer (TransformerLens)"]) {
  t.test(`${name}: EAP scores equal finite-difference linear estimates; EAP-IG runs`, async (t) => {
    const { model, expected } = name.startsWith("shortformer") ? await shortformer() : await hfFixture(name);
    const V = model.cfg.dVocab;
    // Clean: the fixture's sequences; corrupted: the same tokens shifted, so every position differs.
    const clean = expected.ids.map((r) => r.slice(0, 7));
    const data = { clean, corrupted: clean.map((r) => r.map((x) => (x + 5) % V)), positions: clean.map(() => [4, 6]) };
    const metric = () => logitDiffMetric([1, 2, 3, 4].slice(0, 2 * clean.length), [5, 6, 7, 8].slice(0, 2 * clean.length));
    const graph = buildGraph(model.cfg);
    const { scores } = eapScores(new Patcher(model, graph, data, { metric: metric() }));
    const counted = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
    const est = linearEstimates(new Patcher(model, graph, data, { metric: metric() }), counted, 5e-3);
    let worst = 0, scale = 0;
    for (const id of counted) scale = Math.max(scale, Math.abs(est.get(id)));
    for (const id of counted) worst = Math.max(worst, Math.abs(scores[id] - est.get(id)) / scale);
    t.ok(scale > 1e-3, `linear estimates are not trivially zero (largest ${scale.toFixed(4)})`);
    t.ok(worst < 1e-3, `all ${counted.length} EAP scores within 1e-3 of the largest estimate (worst ${worst.toExponential(2)})`);

    // α = 1 (plain EAP, IG's last step) takes the patcher's clean values and computes only what backward reads:
    // the same bits as rerunning that forward pass (recompute), with the last layer at the metric rows or not.
    for (const [steps, mk] of [[0, metric], [3, klMetric]]) {
      const p = new Patcher(model, graph, data, { metric: mk() });
      const a = eapScores(p, { steps }).scores, b = eapScores(p, { steps, recompute: true }).scores;
      const differ = counted.filter((id) => !Object.is(a[id], b[id]));
      t.same(differ, [], `${steps ? `EAP-IG (${steps} steps)` : "EAP"} from the clean run's values equals a recomputed pass, bit for bit (last layer at the metric rows only: ${p.pass.rowsLayer >= 0})`);
    }

    const c = getAlgorithm("eap-ig").run(new Patcher(model, graph, data, { metric: klMetric() }), { topK: 30, igSteps: 4 });
    const again = new Patcher(model, graph, data, { metric: klMetric() }).setPresent(c.present);
    t.ok(c.edges.length > 0 && c.edges.length <= 30, `EAP-IG kept ${c.edges.length} edges (top 30, pruned)`);
    t.equal(again, c.metric, `its circuit's KL ${c.metric.toExponential(3)} is reproduced by a fresh patcher`);
  });
}
