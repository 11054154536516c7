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
import { buildGraph, makeConfig } from "../../dist/index.js";
import { checkPatcherCases, PATCH_BASE } from "../helpers/patcher-check.mjs";

const base = PATCH_BASE;
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

checkPatcherCases(t, CASES, { weightSeed: 7, walkSalt: 17 });

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
