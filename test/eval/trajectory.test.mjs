// The search path behind the faithfulness plot: on tracr-reverse (zero
// ablation, τ = 0.001) every accepted removal raised the metric by less
// than τ, every refused one by at least τ, the path runs edge by edge from
// the full graph to the circuit, and the refused points are the kept edges'
// scores in the circuit JSON.
import t from "tap";
import { acdc, buildGraph, circuitJson, Patcher } from "../../dist/index.js";
import { searchTrajectory, plotSvg } from "../../dist/eval/index.js";
import { createTracrModel, tracrTask } from "../../dist/tasks/index.js";

t.test("tracr-reverse: the path obeys ACDC's rule and ends at the circuit", async (t) => {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graph);
  const tau = 0.001;
  const c = acdc(new Patcher(model, graph, task.data, { ablation: "zero", metric: task.metrics.task() }), { threshold: tau });
  const { path, refused } = searchTrajectory(c);
  t.same(path[0], [106, c.baseline], "starts at the full graph and the full model's metric");
  t.same(path.at(-1), [c.edges.length, c.metric], "ends at the circuit (15 edges) and its measured metric");
  t.equal(c.edges.length, 15);
  for (let i = 1; i < path.length - 1; i++) {
    if (path[i][0] !== path[i - 1][0] - 1 || !(path[i][1] - path[i - 1][1] < tau)) { t.fail(`step ${i}: ${path[i - 1]} → ${path[i]}`); break; }
  }
  t.equal(path.length - 2, c.trace.filter((d) => d.removed).length, "one step per accepted removal");
  // Each refused removal sits at least τ above the path where it was tried.
  const at = (x) => path.filter((p) => p[0] >= x).at(-1)[1];
  t.ok(refused.every(([x, y]) => y - at(x) >= tau), "every refused removal would have raised the metric by ≥ τ");
  const scores = circuitJson(c, { ablation: "zero", metric: "l2" }).edges.map((e) => e.score).sort((a, b) => a - b);
  t.same(refused.map((p) => p[1]).sort((a, b) => a - b), scores, "the refused points are the kept edges' JSON scores");
  const svg = plotSvg([{ name: "path", points: path, step: true }, { name: "refused", points: refused, line: false }], { title: "t", xLabel: "x", yLabel: "y" });
  t.equal((svg.match(/<path d=/g) || []).length, 1, "markers-only series draws no line");
  t.equal((svg.match(/<circle/g) || []).length, path.length + refused.length, "one marker per point");
});

t.test("one-shot methods have no path", async (t) => {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graph);
  const fake = { graph, trace: [], baseline: 0, metric: 0, edges: [] };
  t.same(searchTrajectory(fake), { path: [], refused: [] });
  model.engine.dispose?.();
});
