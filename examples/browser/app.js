// The circuit viewer: compile a tracr model, run ACDC in the page (the wasm
// is embedded in the bundle), draw the circuit and score it.
import { acdc, buildGraph, circuitSvg, createTracrModel, Patcher, tracrTask, sweep, logspace } from "../../dist/acdc-wasm.mjs";

const $ = (id) => document.getElementById(id);
const status = (s) => { $("status").textContent = s; };

async function run() {
  const name = $("task").value, ablation = $("ablation").value, threshold = Number($("threshold").value);
  if (!Number.isFinite(threshold) || threshold < 0) { status("threshold must be a non-negative number"); return; }
  $("run").disabled = true;
  try {
    const task = tracrTask(name);
    const model = await createTracrModel(task);
    const graph = buildGraph(task.cfg, task.graph);
    const p = new Patcher(model, graph, task.data, { ablation, metric: task.metrics.task() });
    const r = acdc(p, { threshold, onProgress: (p) => { $("bar").value = p.done / p.total; } });
    const truth = new Set(task.groundTruth.map(([a, b]) => `${a}->${b}`));
    const label = (e) => `${graph.nodes[e.parent].label} → ${graph.nodes[e.child].label}`;
    const hits = r.edges.filter((e) => truth.has(`${graph.nodes[e.parent].label}->${graph.nodes[e.child].label}`)).length;
    const s = sweep({ model, graph, data: task.data, metric: task.metrics.task, ablation, values: logspace(-5, -1, 21),
      groundTruth: task.groundTruth.map(([a, b]) => [a, b]) });
    $("svg").innerHTML = circuitSvg(graph, r.edges, `${name}: ${r.edges.length} edges at τ=${threshold}`);
    $("edges").textContent = r.edges.map((e) => `${truth.has(label(e).replace(" → ", "->")) ? "✓" : "✗"} ${label(e)}`).join("\n") +
      `\n\n${hits} of ${truth.size} ground-truth edges, ${r.edges.length - hits} extra\nAUC over 21 thresholds: edges ${s.edgeAuc.toFixed(3)}, heads/MLPs ${s.nodeAuc.toFixed(3)}`;
    status(`${r.stats.tested} edges tested in ${r.stats.ms.toFixed(0)} ms · metric ${r.metric.toExponential(2)}`);
    document.body.dataset.done = JSON.stringify({ kept: r.edges.length, hits, edgeAuc: s.edgeAuc });
  } catch (e) {
    status(`error: ${e.message}`);
  } finally {
    $("run").disabled = false;
  }
}

$("run").addEventListener("click", run);
status("ready");
run();
