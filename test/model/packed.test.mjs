// Packed weights (params.ts withPacking, the default for loadModel and
// Transformer.create) against the same model stored row-major (pack:
// false): the SGEMM weights live in packB's panels and are read by
// gemmPacked, banded gemmPacked (one head's rows of W_O), gemmPackedT (the
// backward products) and the packed embedding lookup, so every result must
// be the row-major model's bits: logits, every edge trial's metric after a
// walk of commits, and EAP scores (which run the backward pass). Covers head
// sizes that are and are not a multiple of the kernel's 8 columns, GQA,
// SwiGLU, rotary, parallel attention/MLP, and the tied unembeddings of the
// Hugging Face fixtures (W_E stored as the packed W_U). Also: the parameter
// block holds no row-major copy, and readCanonical undoes the packing.
import t from "tap";
import { buildGraph, eapScores, klMetric, loadModel, makeConfig, Patcher, Transformer } from "../../dist/index.js";
import { readCanonical, storageFloats } from "../../dist/model/params.js";
import { hfDir, hfWeights } from "../helpers/hf.mjs";
import { readJson } from "../helpers/fixtures.mjs";
import { join } from "node:path";
import { randomWeights } from "../helpers/random-model.mjs";

const bitsEqual = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));

/** Forward logits, a walk of trials with commits, and EAP scores on both models: the same bits everywhere. */
function compare(t, packed, plain, data) {
  t.ok(bitsEqual(packed.forward(data.clean).logits, plain.forward(data.clean).logits), "forward logits: the same bits");
  const graph = buildGraph(packed.cfg);
  const ps = [packed, plain].map((m) => new Patcher(m, graph, data, { metric: klMetric() }));
  const eap = ps.map((p) => eapScores(p).scores);
  t.ok(bitsEqual(eap[0], eap[1]), "EAP scores (forward and backward graph passes): the same bits");
  const counted = graph.edges.filter((x) => x.type !== "placeholder");
  let same = true, n = 0;
  for (const ed of counted.slice().reverse()) {
    const m = ps.map((p) => p.trial(ed.id));
    same &&= Object.is(m[0], m[1]);
    n++;
    if (n % 3 === 0) ps.forEach((p) => p.commit()); else ps.forEach((p) => p.reject());
  }
  t.ok(same, `${n} trials (every third committed): the same metric bits`);
}

const base = { nLayers: 2, dModel: 16, nHeads: 4, dHead: 4, dMlp: 24, dVocab: 11, nCtx: 8 };
const data = { clean: [[1, 4, 2, 7, 3], [9, 0, 5, 5, 2]], corrupted: [[3, 3, 8, 1, 6], [2, 7, 7, 0, 4]], positions: [[4, 2], [3]] };
const CASES = [
  ["GPT-2 style, d_head 8 (whole panels per head)", { dModel: 32, dHead: 8, dMlp: 40, dVocab: 19 }],
  ["GPT-2 style, d_head 4 (each head padded to a panel)", {}],
  ["Llama style: RMS, rotary, SwiGLU, 4 query heads on 2 kv heads, d_head 12", { dModel: 48, dHead: 12, nKvHeads: 2, normalization: "RMS", positional: "rotary", actFn: "swiglu", rotaryStyle: "half" }],
  ["GPT-NeoX style: parallel attention and MLP, partial rotary", { normalization: "LN", positional: "rotary", actFn: "gelu", rotaryStyle: "half", rotaryDims: 2, parallelAttnMlp: true }],
];

for (const [name, over] of CASES) {
  t.test(name, async (t) => {
    const cfg = makeConfig({ ...base, ...over });
    const W = randomWeights(cfg, 5);
    const packed = await Transformer.create(cfg, W), plain = await Transformer.create(cfg, W, undefined, { pack: false });
    const specs = packed.params.specs.filter((s) => s.pack);
    t.ok(specs.length > 0 && plain.params.specs.every((s) => !s.pack), `${specs.length} matrices packed, none in the row-major model`);
    t.ok(packed.params.floats <= plain.params.floats * 1.6, `parameter block ${packed.params.floats} floats vs ${plain.params.floats} row-major (padding only: no second copy)`);
    for (const s of specs) {
      const got = readCanonical(s, packed.engine.f32(packed.params.ptr(s.name), storageFloats(s)));
      if (!bitsEqual(got, W.get(s.name).data)) { t.fail(`readCanonical(${s.name}) undoes the packing`); return; }
    }
    t.pass("readCanonical undoes every packing");
    compare(t, packed, plain, data);
  });
}

t.test("Hugging Face fixtures with a tied unembedding (W_E stored as the packed W_U), f32", async (t) => {
  for (const name of ["gpt2", "qwen2"]) {
    const dir = join(hfDir, name), config = readJson(join(dir, "config.json"));
    const packed = await loadModel(hfWeights(dir), config, { keep16: false }), plain = await loadModel(hfWeights(dir), config, { keep16: false, pack: false });
    const tied = packed.WU === packed.WE;
    t.ok(!tied || packed.params.specs.find((s) => s.name === "embed.W_E").pack?.transposed, `${name}: ${tied ? "tied: W_E is stored as the packed W_U" : "untied"}`);
    const V = packed.cfg.dVocab;
    const clean = [[1, 9, 33 % V, 2, 63 % V, 0], [5, 4, 3, 2, 1, 0]];
    compare(t, packed, plain, { clean, corrupted: clean.map((r) => r.map((x) => (x + 5) % V)), positions: [[3, 5], [4]] });
  }
});
