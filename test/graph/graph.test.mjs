// Graph structure: counts against the spec's closed form and the paper's
// numbers, naming, visiting order and parent order.
import t from "tap";
import { buildGraph, makeConfig } from "../../dist/index.js";
import { edgeCountFormula } from "../../dist/graph/graph.js";

const geom = (L, H, attnOnly) => makeConfig({ nLayers: L, dModel: 8 * H, nHeads: H, dHead: 8, dMlp: attnOnly ? 0 : 32, dVocab: 10, nCtx: 8, attnOnly });

t.test("edge counts match the spec and the paper", async (t) => {
  const gpt2 = buildGraph(geom(12, 12, false));
  t.same(gpt2.counts, { addition: 32491, direct: 432, placeholder: 444 }, "GPT-2 small: 32,491 addition, 432 direct, 444 placeholder");
  t.equal(gpt2.counts.addition + gpt2.counts.direct, 32923, "GPT-2 small counted edges: 32,923");
  const ind = buildGraph(geom(2, 8, true));
  t.equal(ind.counts.addition + ind.counts.direct, 305, "induction 2L8H attn-only: 305");
  const doc = buildGraph(geom(4, 8, true));
  t.same([doc.counts.addition, doc.counts.direct], [1281, 96], "docstring 4L8H: 1,281 + 96");
  const rev = buildGraph(geom(4, 1, false), { splitInput: true });
  t.equal(rev.counts.addition + rev.counts.direct, 106, "tracr-reverse (4 layers, 1 head, MLPs, 2 inputs): 106");
  const prop = buildGraph(geom(2, 1, false), { splitInput: true });
  t.equal(prop.counts.addition + prop.counts.direct, 38, "tracr-proportion (2 layers, 1 head, MLPs, 2 inputs): 38");
  for (const [L, H, ao] of [[1, 1, true], [1, 3, false], [3, 2, true], [3, 5, false], [6, 4, false], [5, 7, true]]) {
    t.same(buildGraph(geom(L, H, ao)).counts, edgeCountFormula(L, H, ao), `formula L=${L} H=${H} attnOnly=${ao}`);
  }
});

t.test("nodes are named as the paper's code names them", async (t) => {
  const g = buildGraph(geom(2, 2, false));
  const labels = new Set(g.nodes.map((n) => n.label));
  for (const l of ["blocks.0.hook_resid_pre", "blocks.1.hook_resid_post", "blocks.0.hook_mlp_in", "blocks.1.hook_mlp_out",
    "blocks.1.attn.hook_result[1]", "blocks.0.hook_q_input[0]", "blocks.0.attn.hook_k[1]", "blocks.1.hook_v_input[0]"]) t.ok(labels.has(l), l);
  t.equal(g.nodes.length, 1 + 2 * 2 + 2 * 2 * 7 + 1, "node count: output, 2 per MLP layer, 7 per head, input");
});

t.test("visiting order and parent order follow the spec", async (t) => {
  const g = buildGraph(geom(2, 2, false));
  const order = g.visitOrder.map((id) => g.nodes[id].label);
  t.same(order.slice(0, 13), [
    "blocks.1.hook_resid_post", "blocks.1.hook_mlp_out", "blocks.1.hook_mlp_in",
    "blocks.1.attn.hook_result[1]", "blocks.1.attn.hook_result[0]",
    "blocks.1.attn.hook_v[1]", "blocks.1.attn.hook_v[0]", "blocks.1.attn.hook_k[1]", "blocks.1.attn.hook_k[0]",
    "blocks.1.attn.hook_q[1]", "blocks.1.attn.hook_q[0]", "blocks.1.hook_v_input[1]", "blocks.1.hook_v_input[0]",
  ]);
  t.equal(order.at(-1), "blocks.0.hook_resid_pre", "input last");
  t.equal(order.length, g.nodes.length, "every node visited once");
  const outParents = g.parents[g.output].map((e) => g.nodes[g.edges[e].parent].label);
  t.same(outParents, ["blocks.1.hook_mlp_out", "blocks.1.attn.hook_result[1]", "blocks.1.attn.hook_result[0]",
    "blocks.0.hook_mlp_out", "blocks.0.attn.hook_result[1]", "blocks.0.attn.hook_result[0]", "blocks.0.hook_resid_pre"],
  "latest layer first, its MLP before its heads, heads H-1 down, input last");
  const mlpIn0 = g.byLabel.get("blocks.0.hook_mlp_in");
  t.same(g.parents[mlpIn0].map((e) => g.nodes[g.edges[e].parent].label),
    ["blocks.0.attn.hook_result[1]", "blocks.0.attn.hook_result[0]", "blocks.0.hook_resid_pre"], "a head feeds its own layer's mlp_in");
  const q = g.byLabel.get("blocks.1.attn.hook_q[0]");
  t.same(g.parents[q].map((e) => g.edges[e].type), ["direct"]);
  t.same(g.children[q].map((e) => g.edges[e].type), ["placeholder"]);
});
