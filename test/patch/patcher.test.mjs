// The patcher on every architecture family it supports — GPT-2 style (LN,
// gelu_new, learned positions), llama style (RMSNorm, rotary positions,
// SwiGLU, grouped-query attention), multi-query, and bidirectional
// attention — checked against the slow exact path: each incremental trial's
// metric, and the committed state after a random walk of removals, equal a
// float64 patched forward pass computed from scratch from the canonical
// weights (test/reference/slow-patch.mjs), under every ablation.
import t from "tap";
import { acdc, buildGraph, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { randomWeights } from "../helpers/random-model.mjs";
import { checkPatcherCases, PATCH_BASE, PATCH_DATA } from "../helpers/patcher-check.mjs";

const data = PATCH_DATA, base = PATCH_BASE;
const llama = { normalization: "RMS", positional: "rotary", actFn: "swiglu" };

checkPatcherCases(t, [
  ["GPT-2 style", {}],
  ["llama style (RMS, rotary, SwiGLU, 4 query heads on 2 kv heads)", { ...llama, nKvHeads: 2 }],
  ["multi-query (1 kv head)", { ...llama, nKvHeads: 1 }],
  ["bidirectional attention, relu MLP, no norm", { causal: false, actFn: "relu", normalization: "none" }],
  ["folded LayerNorm (LNPre), attention-only", { normalization: "LNPre", attnOnly: true, dMlp: 0 }],
], { weightSeed: 5, walkSalt: 13 });

t.test("bad patching inputs are one-line InputErrors", async (t) => {
  const cfg = makeConfig(base);
  const model = await Transformer.create(cfg, randomWeights(cfg, 1));
  const graph = buildGraph(cfg);
  const make = (d, o = {}) => () => new Patcher(model, graph, { ...data, ...d }, { metric: klMetric(), ...o });
  t.throws(make({ positions: [[], [3]] }), { name: "InputError", message: /prompt 0 has an empty list/ }, "an empty positions list is refused, not dropped");
  t.throws(make({ positions: [4] }), { name: "InputError", message: /1 entries for 2 prompts/ });
  t.throws(make({ positions: [5, 1] }), { name: "InputError", message: /5 for prompt 0 is outside \[0, 5\)/ });
  t.throws(make({ positions: "last" }), { name: "InputError", message: /one position/ });
  t.throws(make({ corrupted: undefined }), { name: "InputError", message: /corrupted ablation needs corrupted inputs/ });
  t.throws(make({}, { ablation: "resample" }), { name: "InputError", message: /ablation must be corrupted, zero or mean/ });
  const p = new Patcher(model, graph, data, { metric: klMetric() });
  const direct = graph.edges.find((x) => x.type === "direct").id;
  p.trial(direct); p.commit();
  t.throws(() => p.trial(direct), { name: "InputError", message: /already removed/ });
  t.throws(() => p.trial(graph.edges.find((x) => x.type === "placeholder").id), { name: "InputError", message: /placeholder/ });
  t.throws(() => p.commit(), { name: "InputError", message: /without a pending trial/ });
});

t.test("a q/k/v input whose direct edge is removed is retired: nothing it feeds changes, its buffer goes back", async (t) => {
  const cfg = makeConfig(base);
  const model = await Transformer.create(cfg, randomWeights(cfg, 3));
  const graph = buildGraph(cfg);
  const p = new Patcher(model, graph, data, { metric: klMetric() });
  const fresh = new Patcher(model, graph, data, { metric: klMetric() });
  const byLabel = (s) => graph.nodes.find((n) => n.label === s).id;
  const input = byLabel("blocks.1.hook_k_input[2]"), node = byLabel("blocks.1.attn.hook_k[2]");
  const direct = graph.edges.find((x) => x.parent === input && x.child === node).id;
  const into = graph.parents[input].filter((eid) => graph.edges[eid].type === "addition");
  // Give the input a class of its own first (one of its edges removed), so retiring it frees that class's buffer.
  p.trial(into[0]); p.commit();
  const before = p.keptInputs;
  const metric = p.trial(direct);
  p.commit();
  t.equal(p.current, metric, "the direct edge's trial is what commit keeps");
  t.equal(p.keptInputs, before - 1, `its input's buffer is returned (${before} → ${p.keptInputs} kept inputs)`);
  t.throws(() => p.value(input), { name: "InputError", message: /blocks\.1\.hook_k_input\[2\] is not kept once its edge into blocks\.1\.attn\.hook_k\[2\] is removed/ });
  // Edges into it change nothing now, exactly: the metric stays the committed one, bit for bit.
  for (const eid of into.slice(1)) t.equal(Object.is(p.trial(eid), p.current), true, `${graph.nodes[graph.edges[eid].parent].label} → k_input[2]: the current metric`);
  p.commit();
  t.equal(p.present[into[into.length - 1]], 0, "and such an edge can still be removed");
  // setPresent rebuilds every input from scratch: with every edge back, the bits of a fresh patcher.
  t.equal(p.setPresent(Uint8Array.from(fresh.present)), fresh.current, "every edge back: the fresh patcher's metric");
  const n = fresh.N * cfg.dModel;
  t.same(Array.from(model.engine.f32(p.value(input), n)), Array.from(model.engine.f32(fresh.value(input), n)), "and its input is kept again, as a fresh patcher has it");
});

t.test("a metric that becomes non-finite stops the search and says where", async (t) => {
  const cfg = makeConfig(base);
  const model = await Transformer.create(cfg, randomWeights(cfg, 2));
  const graph = buildGraph(cfg);
  let calls = 0;
  const metric = { ...klMetric(), name: "flaky" };
  const kl = klMetric();
  Object.assign(metric, { init: (c) => kl.init(c), compute: (l, c) => (++calls > 3 ? NaN : kl.compute(l, c)) });
  const p = new Patcher(model, graph, data, { metric });
  t.throws(() => acdc(p, { threshold: 0.01 }), { name: "InputError", message: /metric "flaky" is NaN on removing edge .* → blocks\.1\.hook_resid_post/ });
});
