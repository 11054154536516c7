// The `acdc` command line: argument parsing, file I/O and printing around
// the runtime-agnostic core. Exit codes: 0 ok, 2 bad usage or input, 1 bug.
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { buildGraph } from "../graph/graph.js";
import { Patcher, type Ablation } from "../graph/patcher.js";
import { klMetric, logitDiffMetric, type Metric } from "../metrics.js";
import { acdc, type AcdcResult } from "../algorithms/acdc.js";
import { eap } from "../algorithms/eap.js";
import { circuitDot, circuitJson } from "../io/circuit.js";
import type { Graph } from "../graph/graph.js";
import { loadModelFromPath, readDataFile, UsageError } from "./files.js";
import { progressBar } from "./progress.js";
import { oneOf, parseThreshold } from "./args.js";
import { taskCommands } from "./task-commands.js";

const VERSION = "0.1.0";

const HELP = `acdc — automated circuit discovery (ACDC) for transformer language models

Usage:
  acdc run --model M --data D --threshold T [options]
  acdc info --model M
  acdc demo [--threshold T] [--out-dir DIR]
  acdc sweep --task tracr-reverse|tracr-proportion [--ablation zero|corrupted|mean]
             [--thresholds LO:HI:N] [--out-dir DIR]
  acdc --help | --version

run: find the circuit of a behaviour with ACDC.
  --model M        NAME.safetensors with NAME.config.json (or config.json) beside it,
                   or a folder holding model.safetensors and config.json, or a
                   Hugging Face repo id (gpt2, OWNER/NAME) whose model.safetensors
                   and config.json are downloaded once into $ACDC_CACHE (default
                   ~/.cache/acdc-wasm); $ACDC_HUB_URL replaces https://huggingface.co
  --data D         JSON with "clean" and "corrupted" token ids [batch][pos] and
                   "positions" (one position, or a list, per prompt); for
                   --metric logit-diff also "correct" and "incorrect" (one token
                   per metric position)
  --threshold T    remove an edge when the metric rises by less than T (acdc, hybrid);
                   eap/eap-ig: keep edges whose |score| is at least T
  --algorithm acdc|eap|eap-ig|hybrid   default acdc (exact); eap scores every edge
                   from one forward and backward pass, eap-ig averages gradients
                   over --ig-steps interpolations (default 5); hybrid keeps the
                   EAP-IG --top-k edges, then runs ACDC on them
  --top-k K        eap/eap-ig: keep the K edges of largest |score| (instead of --threshold)
  --metric kl|logit-diff        default kl (KL divergence to the clean output)
  --ablation corrupted|zero|mean  default corrupted (resample from the corrupted run)
  --out FILE       circuit JSON (default circuit.json)
  --dot FILE       also write the circuit as graphviz DOT
  --quiet          no progress bar

info: print a model's geometry and its graph's edge counts.

demo: build the tracr-reverse model (compiled in code; no download), run ACDC
  with zero ablation, print the circuit against the ground truth and the AUC of
  the paper's threshold sweep, write circuit.json, circuit.dot, circuit.svg and
  the ROC plot.

sweep: the paper's threshold sweep (default 10^linspace(-5, -1, 21), zero
  ablation, task metric) on a tracr task; prints TPR/FPR per threshold and the
  AUCs, writes TASK-sweep.json, TASK-roc.svg, TASK-faithfulness.svg.
`;

function geometry(m: { cfg: { nLayers: number; nHeads: number; dModel: number; dVocab: number; attnOnly: boolean } }): string {
  const c = m.cfg;
  return `${c.nLayers} layers × ${c.nHeads} heads, d_model ${c.dModel}, vocab ${c.dVocab}${c.attnOnly ? ", attention-only" : ""}`;
}

/** Print the summary of a finished search. */
function summary(out: NodeJS.WriteStream, g: Graph, r: AcdcResult, counted: number) {
  out.write(`\nkept ${r.edges.length} of ${counted} edges (${r.tested} tested) in ${(r.searchMs / 1000).toFixed(2)} s` +
    ` · ${(r.tested / Math.max(r.searchMs / 1000, 1e-9)).toFixed(0)} edges/s\n`);
  out.write(`metric: ${r.baseline.toPrecision(6)} (full model) → ${r.metric.toPrecision(6)} (circuit)\n`);
  if (r.edges.length <= 40) {
    for (const e of r.edges) out.write(`  ${g.nodes[e.parent].label} → ${g.nodes[e.child].label}${e.type === "direct" ? " (direct)" : ""}\n`);
  }
}

async function cmdRun(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args, strict: true, allowPositionals: false,
    options: {
      model: { type: "string" }, data: { type: "string" }, threshold: { type: "string" },
      metric: { type: "string" }, ablation: { type: "string" }, out: { type: "string" }, dot: { type: "string" },
      quiet: { type: "boolean" }, algorithm: { type: "string" }, "top-k": { type: "string" }, "ig-steps": { type: "string" },
    },
  });
  if (!values.model) throw new UsageError("--model is required");
  if (!values.data) throw new UsageError("--data is required");
  const algorithm = oneOf("algorithm", values.algorithm, ["acdc", "eap", "eap-ig", "hybrid"] as const, "acdc");
  const topK = values["top-k"] === undefined ? undefined : Number(values["top-k"]);
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 0)) throw new UsageError(`--top-k must be a non-negative integer, got "${values["top-k"]}"`);
  const igSteps = values["ig-steps"] === undefined ? 5 : Number(values["ig-steps"]);
  if (!Number.isInteger(igSteps) || igSteps < 1) throw new UsageError(`--ig-steps must be a positive integer, got "${values["ig-steps"]}"`);
  if (algorithm === "hybrid" && topK === undefined) throw new UsageError("--algorithm hybrid needs --top-k (EAP-IG candidates for ACDC)");
  const threshold = algorithm !== "acdc" && topK !== undefined && values.threshold === undefined ? 0 : parseThreshold(values.threshold);
  const metricName = oneOf("metric", values.metric, ["kl", "logit-diff"] as const, "kl");
  const ablation = oneOf<Ablation>("ablation", values.ablation, ["corrupted", "zero", "mean"], "corrupted");
  const outPath = values.out ?? "circuit.json";
  const err = process.stderr;

  const { model, name } = await loadModelFromPath(values.model, { quiet: Boolean(values.quiet) });
  const data = readDataFile(values.data);
  err.write(`model ${name}: ${geometry(model)}\n`);
  let metric: Metric;
  if (metricName === "kl") metric = klMetric();
  else {
    if (!data.correct || !data.incorrect) throw new UsageError(`--metric logit-diff needs "correct" and "incorrect" token lists in ${values.data}`);
    metric = logitDiffMetric(data.correct, data.incorrect);
  }
  const graph = buildGraph(model.cfg);
  const counted = graph.counts.addition + graph.counts.direct;
  const tSetup = performance.now();
  const patcher = new Patcher(model, graph, data, { ablation, metric });
  err.write(`graph: ${graph.nodes.length} nodes, ${counted} edges (${graph.counts.addition} addition, ${graph.counts.direct} direct)` +
    ` · ${patcher.B} prompts × ${patcher.T} positions · clean and ${ablation} runs in ${(performance.now() - tSetup).toFixed(0)} ms\n`);
  let r: AcdcResult;
  if (algorithm === "eap" || algorithm === "eap-ig") {
    const steps = algorithm === "eap" ? 0 : igSteps;
    const x = eap(patcher, topK !== undefined ? { topK, steps } : { threshold, steps });
    err.write(`${algorithm}: scored ${counted} edges in ${x.scoreMs.toFixed(0)} ms${steps ? ` (${steps} integrated-gradient steps)` : ""}; circuit evaluated in ${x.evalMs.toFixed(0)} ms\n`);
    let largest = 0;
    for (const v of x.scores) if (Math.abs(v) > largest) largest = Math.abs(v);
    if (largest < 1e-6) err.write(`warning: every EAP score is 0 — ${metric.name === "kl" ? "KL is at its minimum in the clean run, so its gradient vanishes; use --algorithm eap-ig or --metric logit-diff" : "the metric's gradient vanishes in the clean run; try --algorithm eap-ig"}\n`);
    const trace = x.edges.map((ed) => ({ edge: ed.id, metric: x.scores[ed.id], removed: false }));
    r = { threshold, baseline: x.baseline, metric: x.metric, edges: x.edges, alive: new Uint8Array(graph.nodes.length), trace, tested: counted, searchMs: x.scoreMs + x.evalMs };
  } else {
    if (algorithm === "hybrid") {
      const x = eap(patcher, { topK: topK!, steps: igSteps });
      patcher.setPresent(x.present);
      err.write(`hybrid: EAP-IG kept ${x.edges.length} candidate edges in ${x.scoreMs.toFixed(0)} ms; ACDC runs on those\n`);
    }
    const bar = progressBar(err, `τ=${threshold}`, Boolean(values.quiet));
    r = acdc(patcher, { threshold, onProgress: (d, t) => bar.update(d, t) });
    bar.finish();
  }
  summary(process.stdout, graph, r, counted);
  const json = { ...circuitJson(graph, r, { ablation, metric: metric.name, model: { name, ...model.cfg } }), algorithm };
  writeFileSync(outPath, JSON.stringify(json, null, 1) + "\n");
  process.stdout.write(`wrote ${outPath}\n`);
  if (values.dot) {
    writeFileSync(values.dot, circuitDot(graph, r));
    process.stdout.write(`wrote ${values.dot}\n`);
  }
}

async function cmdInfo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, strict: true, options: { model: { type: "string" } } });
  if (!values.model) throw new UsageError("--model is required");
  const { model, name } = await loadModelFromPath(values.model);
  const g = buildGraph(model.cfg);
  process.stdout.write(`${name}: ${geometry(model)}\n${JSON.stringify(model.cfg)}\n`);
  process.stdout.write(`graph: ${g.nodes.length} nodes; ${g.counts.addition} addition + ${g.counts.direct} direct = ${g.counts.addition + g.counts.direct} counted edges; ${g.counts.placeholder} placeholders\n`);
}

export type Command = (args: string[]) => Promise<void>;
const commands: Record<string, Command> = { run: cmdRun, info: cmdInfo, ...taskCommands };

/** Run the CLI with argv (without node and script); resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") { process.stdout.write(HELP); return cmd ? 0 : 2; }
  if (cmd === "--version" || cmd === "-v") { process.stdout.write(`${VERSION}\n`); return 0; }
  const fn = commands[cmd];
  if (!fn) { process.stderr.write(`acdc: unknown command "${cmd}"\n\n${HELP}`); return 2; }
  try {
    await fn(rest);
    return 0;
  } catch (e) {
    const err = e as Error & { code?: string };
    const usage = err instanceof UsageError || err.code?.startsWith("ERR_PARSE_ARGS") ||
      ["InputError", "ConfigError", "WeightError", "SafetensorsError"].includes(err.name);
    process.stderr.write(`acdc ${cmd}: ${err.message}\n`);
    if (!usage) process.stderr.write(`${err.stack}\n`);
    return usage ? 2 : 1;
  }
}
