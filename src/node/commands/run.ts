// `acdc run`: find the circuit of a behaviour with any registered algorithm,
// on a model file or hub model and a data file; writes the circuit JSON (and
// DOT). Every output path is checked before any work and files are written
// whole or not at all, so a finished search is never lost to a bad --out.
import { buildGraph } from "../../graph/graph.js";
import { Patcher, ABLATIONS, type Ablation } from "../../patch/patcher.js";
import { klMetric, logitDiffMetric, type Metric } from "../../metrics.js";
import { ALGORITHMS, getAlgorithm, type RunOptions } from "../../algorithms/registry.js";
import { MAX_IG_STEPS } from "../../algorithms/eap.js";
import { SP_DEFAULTS } from "../../algorithms/sp.js";
import { EDGE_PRUNING_DEFAULTS } from "../../algorithms/edge-pruning.js";
import { circuitDot, circuitJson } from "../../io/circuit.js";
import type { Circuit } from "../../circuit.js";
import { createEngine } from "../../wasm/engine.js";
import { checkOutputPath, loadModelFromPath, readDataFile, UsageError, writeAtomic } from "../files.js";
import { bytesBar, progressBar } from "../progress.js";
import { oneOf, parseInteger, parseNumber, parseOptions, parseThreads, parseThreshold } from "../args.js";
import { buildTaskFile, checkTaskAblation, describeTask, groundTruthLine, readTaskFile, taskMetricNames, taskModelArg } from "../task-file.js";
import { manifestPathFor, writeRunManifest } from "../manifest-files.js";

export const RUN_HELP = `acdc run --model M --data D --threshold T [options]
acdc run --model M --task F --threshold T [options]

Find the circuit of a behaviour.
  --model M        NAME.safetensors with NAME.config.json (or config.json) beside it,
                   a folder holding model.safetensors and config.json, a llama2.c
                   checkpoint .bin, or a Hugging Face repo id (gpt2, OWNER/NAME)
                   whose files are downloaded once into $ACDC_CACHE (default
                   ~/.cache/acdc-wasm); $ACDC_HUB_URL replaces https://huggingface.co;
                   a download that stalls or runs under 1 KB/s for $ACDC_HUB_TIMEOUT
                   seconds (default 60) is abandoned
  --data D         JSON with "clean" and "corrupted" token ids [batch][pos] and
                   "positions" (one position, or a non-empty list, per prompt); for
                   --metric logit-diff also "correct" and "incorrect" (one token
                   per metric position)
  --task F         a task file instead of --data: prompts as text (or token ids), the
                   tokenizer, the metric and what it reads (README "Tasks written as
                   text"); its "model" is used when --model is not given
  --threshold T    acdc, hybrid: remove an edge when the metric rises by less than T;
                   eap, eap-ig: keep edges whose |score| is at least T
  --algorithm A    ${ALGORITHMS.map((a) => a.key).join("|")} (default acdc, exact); eap scores every
                   edge from one forward and backward pass, eap-ig averages gradients
                   over --ig-steps interpolations; hybrid keeps the EAP-IG --top-k
                   edges, then runs ACDC on them
  --top-k K        eap, eap-ig: keep the K edges of largest |score| (instead of
                   --threshold); hybrid: the EAP-IG candidates (required)
  --ig-steps M     eap-ig, hybrid: integrated-gradient steps (default 5, at most ${MAX_IG_STEPS})
  --lambda L       sp (Subnetwork Probing: learned masks on each head's q/k/v and each
                   MLP): regularization strength (required; larger, smaller circuits)
  --masked K       hisp (head importance by gradient): mask the K most important of
                   the heads' q/k/v and MLPs (required)
  --sparsity S     edge-pruning (learned edge masks): target fraction of edges removed,
                   in [0, 1] (required)
  --steps N        sp, edge-pruning: optimisation steps (default ${SP_DEFAULTS.steps} for sp, ${EDGE_PRUNING_DEFAULTS.steps} for edge-pruning)
  --lr X           sp, edge-pruning: learning rate of the mask logits (default ${SP_DEFAULTS.lr}, ${EDGE_PRUNING_DEFAULTS.lr})
  --seed N         sp, edge-pruning: seed of the gate noise (default 0; same seed, same circuit)
  --metric kl|logit-diff          default kl (KL divergence to the clean output);
                   with --task, the file's metric (or kl)
  --ablation corrupted|zero|mean  default corrupted (resample from the corrupted run),
                   or the task file's
  --threads N|auto threads for the kernels (default 1; results are identical for any N)
  --out FILE       circuit JSON (default circuit.json), and beside it the run manifest
                   FILE.manifest.json (inputs' sha256, options, decisions; see acdc verify)
  --dot FILE       also write the circuit as graphviz DOT
  --quiet          no progress or information lines on stderr (warnings and errors only)
`;

function geometry(m: { cfg: { nLayers: number; nHeads: number; dModel: number; dVocab: number; attnOnly: boolean } }): string {
  const c = m.cfg;
  return `${c.nLayers} layers × ${c.nHeads} heads, d_model ${c.dModel}, vocab ${c.dVocab}${c.attnOnly ? ", attention-only" : ""}`;
}

/** Print the summary of a finished search. */
function summary(out: NodeJS.WriteStream, c: Circuit) {
  const g = c.graph, counted = g.counts.addition + g.counts.direct;
  const work = c.algorithm === "sp" || c.algorithm === "edge-pruning" ? `${c.stats.tested} optimisation steps`
    : c.algorithm === "hisp" ? `${c.stats.tested} components ranked` : `${c.stats.tested} tested`;
  out.write(`\nkept ${c.edges.length} of ${counted} edges (${work}) in ${(c.stats.ms / 1000).toFixed(2)} s` +
    (c.trace.length ? ` · ${(c.stats.tested / Math.max(c.stats.ms / 1000, 1e-9)).toFixed(0)} edges/s` : "") + "\n");
  out.write(`metric: ${c.baseline.toPrecision(6)} (full model) → ${c.metric.toPrecision(6)} (circuit)\n`);
  if (c.edges.length <= 40) {
    for (const e of c.edges) out.write(`  ${g.nodes[e.parent].label} → ${g.nodes[e.child].label}${e.type === "direct" ? " (direct)" : ""}\n`);
  }
}

/** The knob and training options of the mask-learning and node-ranking methods (each refused elsewhere). */
function maskOptions(key: string, str: (k: string) => string | undefined): RunOptions {
  const own: Record<string, string> = { lambda: "sp", masked: "hisp", sparsity: "edge-pruning" };
  for (const [k, alg] of Object.entries(own)) {
    if (str(k) !== undefined && key !== alg) throw new UsageError(`--${k} applies to --algorithm ${alg}, not ${key}`);
    if (str(k) === undefined && key === alg) throw new UsageError(`--algorithm ${alg} needs --${k} (see acdc run --help)`);
  }
  const o: RunOptions = {};
  if (str("lambda") !== undefined) {
    o.lambda = parseNumber("lambda", str("lambda")!);
    if (!(o.lambda >= 0)) throw new UsageError(`--lambda must be a non-negative number, got ${str("lambda")}`);
  }
  if (str("masked") !== undefined) o.masked = parseInteger("masked", str("masked")!, 0, 1e6);
  if (str("sparsity") !== undefined) {
    o.sparsity = parseNumber("sparsity", str("sparsity")!);
    if (!(o.sparsity >= 0 && o.sparsity <= 1)) throw new UsageError(`--sparsity must be a fraction in [0, 1], got ${str("sparsity")}`);
  }
  if (str("steps") !== undefined) o.steps = parseInteger("steps", str("steps")!, 1, 1e6);
  if (str("lr") !== undefined) {
    o.lr = parseNumber("lr", str("lr")!);
    if (!(o.lr > 0)) throw new UsageError(`--lr must be a positive number, got ${str("lr")}`);
  }
  if (str("seed") !== undefined) o.seed = parseInteger("seed", str("seed")!, 0, 2 ** 32 - 1);
  return o;
}

export async function runCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, {
    model: { type: "string" }, data: { type: "string" }, task: { type: "string" }, threshold: { type: "string" },
    metric: { type: "string" }, ablation: { type: "string" }, out: { type: "string" }, dot: { type: "string" },
    quiet: { type: "boolean" }, algorithm: { type: "string" }, "top-k": { type: "string" }, "ig-steps": { type: "string" },
    threads: { type: "string" }, lambda: { type: "string" }, masked: { type: "string" }, sparsity: { type: "string" },
    steps: { type: "string" }, lr: { type: "string" }, seed: { type: "string" },
  });
  if (values.help) { process.stdout.write(RUN_HELP); return; }
  const str = (k: string) => values[k] as string | undefined;
  if (!str("model") && !str("task")) throw new UsageError("--model is required (see acdc run --help)");
  if (!str("data") && !str("task")) throw new UsageError("--data is required (or --task, a task file; see acdc run --help)");
  if (str("data") && str("task")) throw new UsageError("give --data or --task, not both");
  const algorithm = getAlgorithm(oneOf("algorithm", str("algorithm"), ALGORITHMS.map((a) => a.key), "acdc"));
  const topK = str("top-k") === undefined ? undefined : parseInteger("top-k", str("top-k")!, 0, 1e9);
  const igSteps = str("ig-steps") === undefined ? undefined : parseInteger("ig-steps", str("ig-steps")!, 1, MAX_IG_STEPS);
  if (topK !== undefined && algorithm.key === "acdc") throw new UsageError("--top-k does not apply to --algorithm acdc (it keeps what the threshold decides); use eap, eap-ig or hybrid");
  if (topK !== undefined && ["sp", "hisp", "edge-pruning"].includes(algorithm.key)) throw new UsageError(`--top-k does not apply to --algorithm ${algorithm.key} (it is cut by its --${algorithm.knob.option}); use eap, eap-ig or hybrid`);
  if (igSteps !== undefined && !["eap-ig", "hybrid"].includes(algorithm.key)) throw new UsageError(`--ig-steps applies to eap-ig and hybrid, not ${algorithm.key}`);
  if (algorithm.key === "hybrid" && topK === undefined) throw new UsageError("--algorithm hybrid needs --top-k (EAP-IG candidates for ACDC)");
  if ((algorithm.key === "eap" || algorithm.key === "eap-ig") && topK !== undefined && str("threshold") !== undefined) throw new UsageError(`give --threshold or --top-k to ${algorithm.key}, not both`);
  const learned = algorithm.key === "sp" || algorithm.key === "edge-pruning";
  const knobs = maskOptions(algorithm.key, str);
  if (!["acdc", "hybrid", "eap", "eap-ig"].includes(algorithm.key) && str("threshold") !== undefined) throw new UsageError(`--threshold does not apply to ${algorithm.key} (it sweeps its ${algorithm.knob.option})`);
  for (const k of ["steps", "lr", "seed"]) if (str(k) !== undefined && !learned) throw new UsageError(`--${k} applies to sp and edge-pruning, not ${algorithm.key}`);
  const threshold = ((algorithm.key === "eap" || algorithm.key === "eap-ig") && topK !== undefined) || !["acdc", "hybrid", "eap", "eap-ig"].includes(algorithm.key)
    ? undefined : parseThreshold(str("threshold"));
  const taskFile = str("task") ? await readTaskFile(str("task")!) : null;
  const modelArg = taskFile ? taskModelArg(taskFile, str("model")) : str("model")!;
  const metricName = oneOf<string>("metric", str("metric"), taskFile ? taskMetricNames(taskFile) : ["kl", "logit-diff"], taskFile?.spec.metric ?? "kl");
  const ablation = oneOf<Ablation>("ablation", str("ablation"), ABLATIONS, taskFile?.spec.ablation ?? "corrupted");
  if (taskFile) checkTaskAblation(taskFile, ablation);
  const threads = parseThreads(str("threads"));
  const outPath = str("out") ?? "circuit.json";
  const quiet = Boolean(values.quiet);
  checkOutputPath(outPath, "--out");
  checkOutputPath(manifestPathFor(outPath), "--out");
  if (str("dot")) checkOutputPath(str("dot")!, "--dot");
  const dataFile = taskFile ? null : readDataFile(str("data")!);
  if (dataFile && metricName === "logit-diff" && (!dataFile.correct || !dataFile.incorrect)) throw new UsageError(`--metric logit-diff needs "correct" and "incorrect" token lists in ${str("data")}`);
  const err = process.stderr;

  const engine = await createEngine({ threads });
  const { model, name, files } = await loadModelFromPath(modelArg, { quiet, engine, onProgress: bytesBar(err, "loading weights", quiet) });
  // A task file is checked against the model before anything is printed, so a bad one is one line.
  const task = taskFile ? buildTaskFile(taskFile, model.cfg) : null;
  if (!quiet) err.write(`model ${name}: ${geometry(model)}${engine.threads > 1 ? ` · ${engine.threads} threads` : ""}\n`);
  if (task && !quiet) err.write(describeTask(task));
  const data = task ? task.data : dataFile!;
  const metric: Metric = task ? task.metrics[metricName]() : metricName === "kl" ? klMetric() : logitDiffMetric(data.correct!, data.incorrect!);
  const graph = buildGraph(model.cfg);
  const counted = graph.counts.addition + graph.counts.direct;
  const tSetup = performance.now();
  const patcher = new Patcher(model, graph, data, { ablation, metric });
  if (!quiet) err.write(`graph: ${graph.nodes.length} nodes, ${counted} edges (${graph.counts.addition} addition, ${graph.counts.direct} direct)` +
    ` · ${patcher.B} prompts × ${patcher.T} positions · clean and ${ablation} runs in ${(performance.now() - tSetup).toFixed(0)} ms\n`);
  const knob = algorithm.knob.option;
  const label = algorithm.key === "acdc" || algorithm.key === "hybrid" ? `${algorithm.key} τ=${threshold}` : knobs[knob] !== undefined ? `${algorithm.key} ${knob}=${knobs[knob]}` : algorithm.key;
  const bar = progressBar(err, label, quiet, algorithm.key === "eap-ig" || learned ? "steps" : algorithm.key === "hisp" ? "passes" : "edges");
  const opts: RunOptions = { threshold, topK, igSteps, ...knobs, onProgress: (p) => bar.update(p) };
  const c = algorithm.run(patcher, opts);
  bar.finish();
  if (!quiet && c.algorithm.startsWith("eap")) err.write(`${c.algorithm}: scored ${counted} edges${c.algorithm === "eap-ig" ? ` with ${igSteps ?? 5} integrated-gradient steps` : ""}; circuit measured by a patched pass (${(c.stats.ms / 1000).toFixed(2)} s in all)\n`);
  if (!quiet && c.stats.candidates !== undefined) err.write(`hybrid: EAP-IG kept ${c.stats.candidates} candidate edges; ACDC tested ${c.stats.tested} of them\n`);
  if (c.algorithm.startsWith("eap")) {
    let largest = 0;
    for (const v of c.scores) if (Math.abs(v) > largest) largest = Math.abs(v);
    if (largest < 1e-6) err.write(`warning: every EAP score is 0 — ${metric.name === "kl" ? "KL is at its minimum in the clean run, so its gradient vanishes; use --algorithm eap-ig or --metric logit-diff" : "the metric's gradient vanishes in the clean run; try --algorithm eap-ig"}\n`);
  }
  summary(process.stdout, c);
  if (task?.groundTruth) process.stdout.write(groundTruthLine(graph, c, task));
  const json = circuitJson(c, { ablation, metric: metric.name, model: { name, ...model.cfg } });
  writeAtomic(outPath, JSON.stringify(task ? { ...json, task: str("task") } : json, null, 1) + "\n");
  process.stdout.write(`wrote ${outPath}\n`);
  const manifest = writeRunManifest({
    outPath, circuit: c, json, model, name, files, engine, data,
    ...(taskFile ? { taskFile } : { dataPath: str("data")! }),
    spec: { algorithm: algorithm.key, threshold, topK, igSteps, ...knobs, metric: metricName, ablation },
  });
  process.stdout.write(`wrote ${manifest}\n`);
  if (str("dot")) {
    writeAtomic(str("dot")!, circuitDot(c));
    process.stdout.write(`wrote ${str("dot")}\n`);
  }
  engine.dispose();
}

