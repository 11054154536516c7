// ROC scoring against hand-computed cases.
import t from "tap";
import { buildGraph, makeConfig } from "../../dist/index.js";
import { allComponents, componentsOf, confusion, paretoFrontier, rocAuc } from "../../dist/eval/roc.js";

t.test("confusion counts", async (t) => {
  const c = confusion(new Set(["a", "b", "x"]), new Set(["a", "b", "c", "d"]), 10);
  t.same(c, { tp: 2, fp: 1, fn: 2, tn: 5, tpr: 0.5, fpr: 1 / 6 });
  t.same(confusion(new Set(), new Set(["a"]), 3), { tp: 0, fp: 0, fn: 1, tn: 2, tpr: 0, fpr: 0 });
});

t.test("frontier and staircase AUC", async (t) => {
  t.equal(rocAuc([]), 0, "no points: the (0,0)→(1,1) staircase has area 0");
  t.equal(rocAuc([{ fpr: 0, tpr: 1 }]), 1, "a perfect circuit");
  // (0.2, 0.6), (0.5, 0.9): area = (1-0.2)*0.6 + (1-0.5)*0.3 + (1-1)*0.1 = 0.63
  t.ok(Math.abs(rocAuc([{ fpr: 0.2, tpr: 0.6 }, { fpr: 0.5, tpr: 0.9 }]) - 0.63) < 1e-12, "two points: 0.63");
  // A dominated point (0.4, 0.5) changes nothing.
  t.ok(Math.abs(rocAuc([{ fpr: 0.2, tpr: 0.6 }, { fpr: 0.4, tpr: 0.5 }, { fpr: 0.5, tpr: 0.9 }]) - 0.63) < 1e-12, "dominated point dropped");
  t.same(paretoFrontier([{ fpr: 0.2, tpr: 0.6 }, { fpr: 0.4, tpr: 0.5 }, { fpr: 0.2, tpr: 0.6 }]).map((p) => [p.fpr, p.tpr]),
    [[0, 0], [0.2, 0.6], [1, 1]]);
});

t.test("components of edges", async (t) => {
  const g = buildGraph(makeConfig({ nLayers: 2, dModel: 8, nHeads: 2, dHead: 4, dMlp: 8, dVocab: 5, nCtx: 4 }));
  t.same([...allComponents(g)].sort(), ["0.0", "0.1", "1.0", "1.1", "mlp0", "mlp1"]);
  t.same([...componentsOf(g, [["blocks.0.attn.hook_result[1]", "blocks.1.hook_mlp_in"], ["blocks.0.hook_resid_pre", "blocks.1.hook_q_input[0]"]])].sort(),
    ["0.1", "1.0", "mlp1"]);
  t.throws(() => componentsOf(g, [["nope", "blocks.1.hook_mlp_in"]]), /unknown node "nope"/);
});
