// `acdc demo` and `acdc sweep`: the paper's tracr tasks end to end, offline.
// demo runs ACDC once on tracr-reverse (compiled in code, nothing
// downloaded), scores it against the ground truth over the paper's threshold
// sweep and writes circuit.json / .dot / .svg; sweep prints the ROC table.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildGraph, type Graph } from "../graph/graph.js";
import { Patcher, type Ablation } from "../graph/patcher.js";
import { acdc } from "../algorithms/acdc.js";
import { circuitDot, circuitJson } from "../io/circuit.js";
import { circuitSvg, plotSvg, rocSvg } from "../io/svg.js";
import { logspace, sweep, type SweepResult } from "../eval/sweep.js";
import { paretoFrontier } from "../eval/roc.js";
import { createTracrModel, tracrTask, type TracrTask, type TracrTaskName } from "../tasks/tracr.js";
import type { Transformer } from "../model/transformer.js";
import { UsageError } from "./files.js";
import { progressBar } from "./progress.js";
import { oneOf, parseThreshold } from "./args.js";

const TASKS: TracrTaskName[] = ["tracr-reverse", "tracr-proportion"];
/** The paper's tracr sweep: 10^linspace(−5, −1, 21), zero ablation, task metric. */
const PAPER_THRESHOLDS = logspace(-5, -1, 21);
const PAPER_AUC: Record<TracrTaskName, number> = { "tracr-reverse": 1.0, "tracr-proportion": 1.0 };

function parseTask(s: string | undefined): TracrTaskName {
  if (!s) throw new UsageError(`--task is required (one of ${TASKS.join(", ")})`);
  if (!(TASKS as string[]).includes(s)) throw new UsageError(`unknown task "${s}" (one of ${TASKS.join(", ")})`);
  return s as TracrTaskName;
}

/** "lo:hi:n" exponents → 10^linspace(lo, hi, n). */
function parseThresholds(s: string | undefined): number[] {
  if (s === undefined) return PAPER_THRESHOLDS;
  const m = s.match(/^(-?[\d.]+):(-?[\d.]+):(\d+)$/);
  if (!m || Number(m[3]) < 1) throw new UsageError(`--thresholds must be LO:HI:N (exponents of 10 and a count, e.g. -5:-1:21), got "${s}"`);
  return logspace(Number(m[1]), Number(m[2]), Number(m[3]));
}

const pct = (x: number) => x.toFixed(3);

function printSweep(out: NodeJS.WriteStream, name: string, s: SweepResult, paper?: number) {
  out.write(`\n${name}: ${s.runs.length} thresholds\n`);
  out.write("  threshold   kept  tested  TP  FP  FN   edge TPR  edge FPR   node TPR  node FPR   metric\n");
  for (const r of s.runs) {
    out.write(`  ${r.threshold.toExponential(2).padStart(9)}  ${String(r.numKept).padStart(5)}  ${String(r.numTested).padStart(6)}` +
      `  ${String(r.edges.tp).padStart(2)}  ${String(r.edges.fp).padStart(2)}  ${String(r.edges.fn).padStart(2)}` +
      `   ${pct(r.edges.tpr).padStart(8)}  ${pct(r.edges.fpr).padStart(8)}   ${pct(r.nodes.tpr).padStart(8)}  ${pct(r.nodes.fpr).padStart(8)}   ${r.metric.toExponential(2)}\n`);
  }
  out.write(`  AUC (edges) ${s.edgeAuc.toFixed(3)}   AUC (heads and MLPs) ${s.nodeAuc.toFixed(3)}${paper !== undefined ? `   paper (ACDC, edges): ${paper.toFixed(3)}` : ""}\n`);
}

function writeSweepFiles(dir: string, name: string, s: SweepResult): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, `${name}-sweep.json`), join(dir, `${name}-roc.svg`), join(dir, `${name}-faithfulness.svg`)];
  writeFileSync(files[0], JSON.stringify({ task: name, ...s, edgeFrontier: paretoFrontier(s.edgeRoc), nodeFrontier: paretoFrontier(s.nodeRoc) }, null, 1) + "\n");
  writeFileSync(files[1], rocSvg(`${name}: ROC against the ground truth`, [
    { name: `edges (AUC ${s.edgeAuc.toFixed(3)})`, frontier: paretoFrontier(s.edgeRoc) },
    { name: `heads/MLPs (AUC ${s.nodeAuc.toFixed(3)})`, frontier: paretoFrontier(s.nodeRoc) },
  ]));
  writeFileSync(files[2], plotSvg([{ name: "circuit metric", points: s.faithfulness }],
    { title: `${name}: metric vs. edges kept`, xLabel: "edges kept", yLabel: "metric (higher is worse)" }));
  return files;
}

async function runSweep(task: TracrTask, model: Transformer, graph: Graph, ablation: Ablation, thresholds: number[], quiet: boolean): Promise<SweepResult> {
  const bar = progressBar(process.stderr, `sweep ${task.name}`, quiet, "thresholds");
  const result = sweep({
    model, graph, data: task.data, metric: () => task.metric, ablation, thresholds,
    groundTruth: task.groundTruth.map(([p, c]) => [p, c] as [string, string]),
    onRun: (i, n) => bar.update(i + 1, n),
  });
  bar.finish();
  return result;
}

async function cmdSweep(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: {
    task: { type: "string" }, ablation: { type: "string" }, thresholds: { type: "string" }, "out-dir": { type: "string" }, quiet: { type: "boolean" },
  } });
  const name = parseTask(values.task), ablation = oneOf<Ablation>("ablation", values.ablation, ["corrupted", "zero", "mean"], "zero"), thresholds = parseThresholds(values.thresholds);
  const task = tracrTask(name);
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graphOptions);
  process.stderr.write(`${name}: compiled from RASP, ${task.cfg.nLayers} layers, d_model ${task.cfg.dModel}; ${graph.counts.addition + graph.counts.direct} edges; ` +
    `${task.data.clean.length} prompts; ${ablation} ablation; task metric (squared output difference)\n`);
  const s = await runSweep(task, model, graph, ablation, thresholds, Boolean(values.quiet));
  printSweep(process.stdout, name, s, ablation === "zero" ? PAPER_AUC[name] : undefined);
  for (const f of writeSweepFiles(values["out-dir"] ?? ".", name, s)) process.stdout.write(`wrote ${f}\n`);
}

async function cmdDemo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { threshold: { type: "string" }, "out-dir": { type: "string" }, quiet: { type: "boolean" } } });
  const threshold = parseThreshold(values.threshold, 1e-3);
  const dir = values["out-dir"] ?? ".";
  const quiet = Boolean(values.quiet);
  const out = process.stdout;
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const graph = buildGraph(task.cfg, task.graphOptions);
  const counted = graph.counts.addition + graph.counts.direct;
  out.write(`acdc-wasm demo: tracr-reverse, a transformer compiled in code from the RASP program\n` +
    `  length = SelectorWidth(Select(tokens, tokens, TRUE)); opp = length − indices − 1;\n` +
    `  reverse = Aggregate(Select(indices, opp, EQ), tokens)\n` +
    `  ${task.cfg.nLayers} layers × ${task.cfg.nHeads} head, MLPs, d_model ${task.cfg.dModel}; graph of ${counted} edges; ` +
    `${task.data.clean.length} prompts (BOS + permutations of 1 2 3); zero ablation; metric: squared output difference\n\n`);

  const bar = progressBar(process.stderr, `ACDC τ=${threshold}`, quiet);
  const p = new Patcher(model, graph, task.data, { ablation: "zero", metric: task.metric });
  const r = acdc(p, { threshold, onProgress: (d, t) => bar.update(d, t) });
  bar.finish();
  const truth = new Set(task.groundTruth.map(([a, b]) => `${a}->${b}`));
  out.write(`\ncircuit at τ=${threshold}: ${r.edges.length} of ${counted} edges (${r.tested} tested, ${r.searchMs.toFixed(0)} ms); metric ${r.metric.toExponential(2)}\n`);
  for (const e of r.edges) {
    const a = graph.nodes[e.parent].label, b = graph.nodes[e.child].label;
    out.write(`  ${truth.has(`${a}->${b}`) ? "✓" : "✗"} ${a} → ${b}${e.type === "direct" ? " (direct)" : ""}\n`);
  }
  const found = r.edges.filter((e) => truth.has(`${graph.nodes[e.parent].label}->${graph.nodes[e.child].label}`)).length;
  out.write(`  ${found} of ${truth.size} ground-truth edges found, ${r.edges.length - found} extra\n`);

  const s = await runSweep(task, model, graph, "zero", PAPER_THRESHOLDS, quiet);
  out.write(`\nthreshold sweep 10^linspace(−5, −1, 21): AUC (edges) ${s.edgeAuc.toFixed(3)}, AUC (heads and MLPs) ${s.nodeAuc.toFixed(3)}; paper: ${PAPER_AUC["tracr-reverse"].toFixed(3)}\n\n`);

  mkdirSync(dir, { recursive: true });
  const json = circuitJson(graph, r, { ablation: "zero", metric: "l2", model: { name: "tracr-reverse", ...task.cfg } });
  const files: [string, string][] = [
    ["circuit.json", JSON.stringify({ ...json, task: "tracr-reverse", auc: { edges: s.edgeAuc, nodes: s.nodeAuc } }, null, 1) + "\n"],
    ["circuit.dot", circuitDot(graph, r)],
    ["circuit.svg", circuitSvg(graph, r.edges, `tracr-reverse: ACDC circuit at τ=${threshold} (${r.edges.length} edges)`)],
  ];
  for (const [f, text] of files) { writeFileSync(join(dir, f), text); out.write(`wrote ${join(dir, f)}\n`); }
  for (const f of writeSweepFiles(dir, "tracr-reverse", s)) out.write(`wrote ${f}\n`);
}

export const taskCommands = { demo: cmdDemo, sweep: cmdSweep };
