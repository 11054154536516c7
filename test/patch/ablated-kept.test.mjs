// The patcher keeps an ablated value only where nothing cheap gives it
// back (a head's under resample ablation comes from its ablated z, a
// zero-ablated writer's is 0) and computes the others when a trial needs
// one. These must be the bits a kept value has: a fresh patcher and one
// whose every ablated value was asked for first (so kept) make the same
// random walk of trials and commits and must agree bit for bit on every
// metric, on EAP and EAP-IG scores and on setPresent; a resample-ablated
// value must be the node's value in a clean run on the corrupted prompts;
// and a trial must keep nothing.
import t from "tap";
import { buildGraph, eapScores, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { rng } from "../helpers/fixtures.mjs";
import { randomWeights } from "../helpers/random-model.mjs";
import { PATCH_BASE, PATCH_DATA } from "../helpers/patcher-check.mjs";
import { same } from "../helpers/bits.mjs";

const CASES = [
  ["GPT-2 style", {}],
  ["Llama style (RMS, rotary, SwiGLU, 4 query heads on 2 kv heads)", { normalization: "RMS", positional: "rotary", actFn: "swiglu", nKvHeads: 2 }],
  ["GPT-NeoX parallel attention and MLP", { normalization: "LN", positional: "rotary", actFn: "gelu", rotaryStyle: "half", rotaryDims: 2, parallelAttnMlp: true }],
  ["shortformer (attention only)", { positional: "shortformer", attnOnly: true, dMlp: 0, normalization: "LNPre" }],
];
const READERS = new Set(["qkv_input", "mlp_in", "output"]);
/** Two lists of numbers equal bit for bit (NaN and −0 included). */
const sameBits = (a, b) => a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]));

/** Metrics of `steps` random trials (60% committed) over the testable edges, in order. */
function walk(p, seed, steps) {
  const r = rng(seed), testable = p.graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id), out = [];
  for (let i = 0; i < steps; i++) {
    const eid = testable[Math.floor(r() * testable.length)];
    if (!p.present[eid]) continue;
    out.push(p.trial(eid));
    if (r() < 0.6) p.commit(); else p.reject();
  }
  return out;
}

for (const [name, over] of CASES) {
  t.test(`${name}: ablated values computed when needed have the bits of kept ones`, async (t) => {
    const cfg = makeConfig({ ...PATCH_BASE, ...over });
    const model = await Transformer.create(cfg, randomWeights(cfg, 5));
    const graph = buildGraph(cfg), e = model.engine;
    const others = graph.nodes.filter((n) => !READERS.has(n.kind));
    for (const ablation of ["corrupted", "zero", "mean"]) {
      const make = (data = PATCH_DATA) => new Patcher(model, graph, data, { ablation, metric: klMetric() });
      const lazy = make(), kept = make();
      const fresh = lazy.keptAblated;
      // The ablated run's q/k/v inputs are needed only until that layer's q/k/v nodes have read them: one pool buffer serves every layer.
      t.equal(lazy.readerBuffers, lazy.keptInputs + 1, `${ablation}: the ablated run touches one reader buffer past the ${lazy.keptInputs} kept inputs (${cfg.nLayers} layers)`);
      for (const n of others) kept.ablated(n.id);
      t.equal(kept.keptAblated, others.length, `${ablation}: asking keeps every writer's and q/k/v node's`);
      const wantFresh = others.filter((n) => n.kind === "qkv" || ablation === "mean" || (ablation === "corrupted" && n.kind !== "result")).length;
      t.equal(fresh, wantFresh, `${ablation}: a fresh patcher keeps ${wantFresh} (${ablation === "mean" ? "every one" : ablation === "zero" ? "no writer's" : "no head's"})`);
      const a = walk(lazy, 11 + ablation.length, 60), b = walk(kept, 11 + ablation.length, 60);
      t.ok(a.length >= 20, `${ablation}: ${a.length} trials`);
      t.ok(sameBits(a, b), `${ablation}: every trial's metric is the same bits`);
      t.equal(lazy.keptAblated, fresh, `${ablation}: trials and commits keep nothing more`);
      // Asked for late, a value is the bits the kept patcher had from the start.
      const size = (id) => lazy.N * (graph.nodes[id].kind === "qkv" ? cfg.dHead : cfg.dModel);
      for (const n of others) same(t, e.f32(lazy.ablated(n.id), size(n.id)), e.f32(kept.ablated(n.id), size(n.id)), `${ablation}: ${n.label}'s ablated value asked for after the walk equals the kept one`);
      if (ablation === "corrupted") {
        // Independently: a resample-ablated value is the node's value in a clean run on the corrupted prompts.
        const swapped = make({ ...PATCH_DATA, clean: PATCH_DATA.corrupted, corrupted: PATCH_DATA.clean });
        for (const n of others) same(t, e.f32(lazy.ablated(n.id), size(n.id)), e.f32(swapped.value(n.id), size(n.id)), `${n.label}: the ablated value is its value on the corrupted prompts`);
      }
      t.ok(sameBits([lazy.setPresent(lazy.present)], [kept.setPresent(kept.present)]), `${ablation}: setPresent on the walk's circuit agrees`);
      for (const steps of [0, 3]) {
        const x = make(), y = make();
        for (const n of others) y.ablated(n.id);
        t.ok(sameBits(eapScores(x, { steps }).scores, eapScores(y, { steps }).scores), `${ablation}: ${steps ? "EAP-IG" : "EAP"} scores agree`);
        t.equal(x.keptAblated, fresh, `${ablation}: ${steps ? "EAP-IG" : "EAP"} keeps nothing more`);
      }
    }
  });
}

t.test("readers' ablated inputs are not kept", async (t) => {
  const cfg = makeConfig(PATCH_BASE);
  const model = await Transformer.create(cfg, randomWeights(cfg, 5));
  const graph = buildGraph(cfg);
  const p = new Patcher(model, graph, PATCH_DATA, { ablation: "corrupted", metric: klMetric() });
  for (const kind of ["qkv_input", "mlp_in", "output"]) {
    const n = graph.nodes.find((x) => x.kind === kind);
    t.throws(() => p.ablated(n.id), { name: "InputError", message: /not kept/ }, `${n.label}: refused, saying it is not kept`);
  }
});
