// The table and files of a multi-method sweep (`acdc sweep --algorithm all`):
// edge and head/MLP AUC per method (mean ± spread over seeds), the
// reference's AUCs beside them where it reports the task, one ROC SVG per
// level with every method's curve, and the whole comparison as JSON.
import { join } from "node:path";
import type { MethodResult } from "../../eval/compare.js";
import { paretoFrontier } from "../../eval/roc.js";
import { rocSvg, plotSvg } from "../../io/svg.js";
import type { PaperAuc } from "../../tasks/task.js";
import { writeAtomic } from "../files.js";

export interface ReferenceAuc { edges: PaperAuc; nodes: PaperAuc }

/** File names a comparison of `name` writes under `dir`. */
export function compareFiles(dir: string, name: string): string[] {
  return ["compare.json", "roc.svg", "node-roc.svg", "faithfulness.svg"].map((f) => join(dir, `${name}-${f}`));
}

const auc = (m: MethodResult, level: "edgeAuc" | "nodeAuc" | "graphNodeAuc") => {
  const s = m[level];
  return m.sweeps.length > 1 ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)} [${s.min.toFixed(3)}, ${s.max.toFixed(3)}]` : s.mean.toFixed(3);
};

const label = (m: MethodResult) => (m.sweeps.length > 1 ? `${m.algorithm} (${m.sweeps.length} seeds)` : m.algorithm);

/** Print the per-method AUC table (with the reference's numbers when given). */
export function printComparison(out: NodeJS.WritableStream, title: string, results: MethodResult[], ref?: ReferenceAuc): void {
  const refOf = (m: MethodResult, level: "edges" | "nodes") => {
    const v = ref?.[level][m.algorithm as keyof PaperAuc];
    return v === undefined ? "" : v.toFixed(3);
  };
  const rows = results.map((m) => [label(m), `${m.knob} ×${m.sweeps[0].runs.length}`, auc(m, "edgeAuc"), refOf(m, "edges"), auc(m, "graphNodeAuc"), refOf(m, "nodes"),
    auc(m, "nodeAuc"), `${(m.ms / 1000).toFixed(1)} s`]);
  const head = ["method", "knob", "edge AUC", ref ? "reference" : "", "node AUC", ref ? "reference" : "", "head/MLP AUC", "time"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  out.write(`\n${title}\n`);
  for (const r of [head, ...rows]) out.write(`  ${r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ").trimEnd()}\n`);
  out.write(`  (node AUC: graph nodes as the reference's roc_nodes counts them, MLP inputs left out; head/MLP AUC: components)\n`);
  if (results.some((m) => m.sweeps.length > 1)) out.write(`  (stochastic methods: mean ± standard deviation [min, max] over seeds)\n`);
}

/** The comparison as NAME-compare.json holds it: the context, then per method its AUCs, time and sweeps (with their Pareto frontiers). */
export function comparisonJson(context: Record<string, unknown>, results: MethodResult[]): { methods: Record<string, unknown>[] } & Record<string, unknown> {
  return {
    ...context,
    methods: results.map((m) => ({
      algorithm: m.algorithm, knob: m.knob, seeds: m.seeds, edgeAuc: m.edgeAuc, graphNodeAuc: m.graphNodeAuc, nodeAuc: m.nodeAuc, ms: m.ms,
      sweeps: m.sweeps.map((s) => ({ ...s, edgeFrontier: paretoFrontier(s.edgeRoc), graphNodeFrontier: paretoFrontier(s.graphNodeRoc), nodeFrontier: paretoFrontier(s.nodeRoc) })),
    })),
  };
}

/** Write NAME-compare.json and the edge ROC, node ROC and faithfulness SVGs (seed 0's curve per stochastic method). */
export function writeComparisonFiles(dir: string, name: string, context: Record<string, unknown>, results: MethodResult[]): string[] {
  const files = compareFiles(dir, name);
  writeAtomic(files[0], JSON.stringify(comparisonJson(context, results), null, 1) + "\n");
  const curve = (m: MethodResult, level: "edge" | "graphNode") => ({
    name: `${m.algorithm} (AUC ${m[`${level}Auc`].mean.toFixed(3)})`,
    frontier: paretoFrontier(m.sweeps[0][`${level}Roc`]),
  });
  writeAtomic(files[1], rocSvg(`${name}: edge ROC per method`, results.map((m) => curve(m, "edge"))));
  writeAtomic(files[2], rocSvg(`${name}: node ROC per method`, results.map((m) => curve(m, "graphNode"))));
  writeAtomic(files[3], plotSvg(results.map((m) => ({ name: m.algorithm, points: m.sweeps[0].faithfulness })),
    { title: `${name}: metric vs. edges kept`, xLabel: "edges kept", yLabel: "metric (higher is worse)" }));
  return files;
}
