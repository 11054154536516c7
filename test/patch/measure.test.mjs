// Patcher.measure(mask): the metric of a circuit by a real patched pass,
// without committing it (EAP's and the mask methods' circuits are measured
// so). It must be the bits setPresent(mask) gives on a fresh patcher, leave
// the patcher's committed state exactly as it was (its metric, mask and
// every later trial), and touch reader buffers only for one layer's inputs
// at a time, where setPresent keeps one per distinct input of a sparse circuit.
import t from "tap";
import { buildGraph, klMetric, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { pruneToOutput } from "../../dist/circuit.js";
import { rng } from "../helpers/fixtures.mjs";
import { randomWeights } from "../helpers/random-model.mjs";
import { PATCH_BASE, PATCH_DATA } from "../helpers/patcher-check.mjs";

const CASES = [
  ["GPT-2 style", {}],
  ["Llama style (RMS, rotary, SwiGLU, 4 query heads on 2 kv heads)", { normalization: "RMS", positional: "rotary", actFn: "swiglu", nKvHeads: 2 }],
  ["GPT-NeoX parallel attention and MLP", { normalization: "LN", positional: "rotary", actFn: "gelu", rotaryStyle: "half", rotaryDims: 2, parallelAttnMlp: true }],
  ["shortformer (attention only)", { positional: "shortformer", attnOnly: true, dMlp: 0, normalization: "LNPre" }],
];

/** A random circuit keeping about `keep` of the counted edges, pruned to what reaches the output. */
function randomMask(graph, seed, keep) {
  const r = rng(seed), m = new Uint8Array(graph.edges.length);
  for (const ed of graph.edges) m[ed.id] = ed.type === "placeholder" || r() < keep ? 1 : 0;
  return pruneToOutput(graph, m);
}

for (const [name, over] of CASES) {
  t.test(`${name}: measure equals setPresent bit for bit and commits nothing`, async (t) => {
    const cfg = makeConfig({ ...PATCH_BASE, ...over });
    const model = await Transformer.create(cfg, randomWeights(cfg, 5));
    const graph = buildGraph(cfg);
    const counted = graph.edges.filter((x) => x.type !== "placeholder").map((x) => x.id);
    for (const ablation of ["corrupted", "zero", "mean"]) {
      const make = () => new Patcher(model, graph, PATCH_DATA, { ablation, metric: klMetric() });
      const p = make(), fresh = make();
      // Some committed state of p's own first (two edges removed), so "left as it was" is more than the full model.
      for (const eid of counted.slice(3, 5)) { p.trial(eid); p.commit(); }
      const before = { current: p.current, present: Uint8Array.from(p.present) };
      for (const [seed, keep] of [[1, 0.3], [2, 0.6], [3, 0.9]]) {
        const mask = randomMask(graph, seed + ablation.length, keep);
        const q = make();
        const got = p.measure(mask), want = q.setPresent(mask);
        t.ok(Object.is(got, want), `${ablation}, ${counted.filter((id) => mask[id]).length} of ${counted.length} edges: measure ${got} = setPresent ${want}`);
      }
      t.ok(Object.is(p.current, before.current) && p.present.every((x, i) => x === before.present[i]), `${ablation}: p's committed metric and mask unchanged`);
      // Every later trial is what it would have been: against a twin that made the same commits and no measurement.
      for (const eid of counted.slice(3, 5)) { fresh.trial(eid); fresh.commit(); }
      const r = rng(7), trials = [];
      for (let i = 0; i < 12; i++) {
        const eid = counted[Math.floor(r() * counted.length)];
        if (!p.present[eid]) continue;
        trials.push([p.trial(eid), fresh.trial(eid)]);
        p.reject(); fresh.reject();
      }
      t.ok(trials.length > 5 && trials.every(([a, b]) => Object.is(a, b)), `${ablation}: ${trials.length} later trials equal a twin's that never measured`);
    }
  });
}

t.test("measuring a sparse circuit touches one layer's reader inputs at a time; setPresent keeps every distinct one", async (t) => {
  const cfg = makeConfig({ ...PATCH_BASE, nLayers: 6 });
  const model = await Transformer.create(cfg, randomWeights(cfg, 5));
  const graph = buildGraph(cfg);
  const mask = randomMask(graph, 4, 0.5);
  const p = new Patcher(model, graph, PATCH_DATA, { metric: klMetric() }), q = new Patcher(model, graph, PATCH_DATA, { metric: klMetric() });
  const had = p.readerBuffers;
  t.ok(Object.is(p.measure(mask), q.setPresent(mask)), "the same metric");
  const more = p.readerBuffers - had, kept = q.keptInputs;
  t.ok(more <= 3 * cfg.nHeads, `measure: ${more} reader buffers past the ${had} a fresh patcher has (one layer's q/k/v inputs at most: ${3 * cfg.nHeads})`);
  t.ok(kept > 2 * more, `setPresent: ${kept} distinct inputs kept over ${cfg.nLayers} layers`);
});

t.test("a bad mask is refused as setPresent refuses it", async (t) => {
  const cfg = makeConfig(PATCH_BASE);
  const model = await Transformer.create(cfg, randomWeights(cfg, 5));
  const graph = buildGraph(cfg);
  const p = new Patcher(model, graph, PATCH_DATA, { metric: klMetric() });
  t.throws(() => p.measure(new Uint8Array(3)), /measure: mask has 3 entries/);
  const noPlaceholder = new Uint8Array(graph.edges.length).fill(1);
  noPlaceholder[graph.edges.find((x) => x.type === "placeholder").id] = 0;
  t.throws(() => p.measure(noPlaceholder), /placeholder edges cannot be removed/);
});
