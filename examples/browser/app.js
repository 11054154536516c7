// The circuit viewer: compile a tracr model, run ACDC in the page (the wasm
// is embedded in the bundle), draw the circuit and score it. A threshold
// that is not a plain non-negative number runs nothing and clears the old
// circuit, so what is on screen always belongs to the threshold shown.
import { acdc, buildGraph, circuitSvg, createTracrModel, Patcher, tracrTask, sweep, logspace } from "../../dist/acdc-wasm.mjs";

const $ = (id) => document.getElementById(id);
const status = (s) => { $("status").textContent = s; };
// As the CLI reads numbers: decimal only (no "", "0x10", "Infinity").
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Take the last circuit off the screen (before a run, and when a run cannot start or fails). */
function clear() {
  $("svg").innerHTML = "";
  $("edges").textContent = "";
  $("bar").value = 0;
  delete document.body.dataset.done;
  delete document.body.dataset.error;
}

function fail(message) {
  clear();
  status(message);
  document.body.dataset.error = message;
}

async function run() {
  const name = $("task").value, ablation = $("ablation").value, text = $("threshold").value.trim();
  const threshold = Number(text);
  if (!DECIMAL.test(text) || !Number.isFinite(threshold) || threshold < 0) {
    fail(`threshold must be a non-negative decimal number such as 0.001, got "${text}"`);
    return;
  }
  clear();
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
    document.body.dataset.done = JSON.stringify({ kept: r.edges.length, hits, edgeAuc: s.edgeAuc, threshold });
  } catch (e) {
    fail(`error: ${e.message}`);
  } finally {
    $("run").disabled = false;
  }
}

$("run").addEventListener("click", run);
status("ready");
run();
