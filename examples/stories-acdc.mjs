// ACDC on a real pretrained language model: llama2.c's 260K-parameter
// TinyStories model (5 layers, d_model 64, 8 query heads on 4 key/value heads,
// RMSNorm, rotary positions, SwiGLU, 512-token vocabulary). Loads the
// checkpoint and tokenizer, shows greedy text, then finds the circuit that
// repeats a character's name ("…a boy named Sara. Sara had a big red ball. …
// One day," → " S") against stories with another name.
//
// Run from the repo root after the build:
//   node examples/stories-acdc.mjs [threshold] [out.json]
// The weights are not in the repository: ../shared/models/stories260K/
// holds stories260K.bin and tok512.bin (karpathy/tinyllamas on Hugging Face).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { acdc, buildGraph, circuitJson, klMetric, logitDiffMetric, loadModel, Patcher } from "../dist/index.js";
import { Llama2cTokenizer, BOS, greedyDecode } from "../dist/model/formats/index.js";
import { nameRepeatTask } from "../dist/tasks/index.js";
import { fileURLToPath } from "node:url";

const threshold = Number(process.argv[2] ?? 0.01);
const outPath = process.argv[3] ?? "stories-circuit.json";
const dir = new URL("../../shared/models/stories260K/", import.meta.url);
for (const f of ["stories260K.bin", "tok512.bin"]) {
  if (!existsSync(new URL(f, dir))) {
    console.error(`missing ${fileURLToPath(new URL(f, dir))}: this example needs llama2.c's stories260K checkpoint and tokenizer`);
    process.exit(1);
  }
}
const read = (f) => new Uint8Array(readFileSync(new URL(f, dir)));

const model = await loadModel(read("stories260K.bin")); // a llama2.c checkpoint carries its own config
const tok = Llama2cTokenizer.parse(read("tok512.bin"), model.cfg.dVocab);
const c = model.cfg;
console.log(`stories260K: ${c.nLayers} layers, d_model ${c.dModel}, ${c.nHeads} query heads on ${c.nKvHeads} kv heads, d_mlp ${c.dMlp} (SwiGLU), vocab ${c.dVocab}`);

// Greedy decoding, as llama2.c's `run stories260K.bin -z tok512.bin -t 0 -i "Once upon a time"`.
const prompt = tok.encode("Once upon a time");
const cont = greedyDecode(model, prompt, { steps: 40, stop: [BOS] });
console.log(`greedy: ${JSON.stringify(tok.decode([...prompt, ...cont]))}`);

// The task: 10 prompts of 42 tokens, clean name vs. corrupted name.
const task = nameRepeatTask(tok, model.cfg), data = task.data;
console.log(`task: ${data.clean.length} prompts of ${data.clean[0].length} tokens, e.g. ${JSON.stringify(task.texts[0])} (corrupted: ${task.corruptedNames[0]})`);

const graph = buildGraph(c);
const total = graph.counts.addition + graph.counts.direct;
console.log(`graph: ${graph.nodes.length} nodes, ${graph.counts.addition} addition + ${graph.counts.direct} direct = ${total} edges (+ ${graph.counts.placeholder} placeholder)`);

// Logit difference (clean name − corrupted name, first token) of the model, the
// corrupted run and the circuit: a patcher with the logit-diff metric replays the removals.
const logitDiffAfter = (removed) => {
  const p = new Patcher(model, graph, data, { ablation: "corrupted", metric: logitDiffMetric(data.correct, data.incorrect) });
  for (const e of removed) { p.trial(e); p.commit(); }
  return -p.current;
};
const ldClean = logitDiffAfter([]);
const ldCorrupted = logitDiffAfter(graph.parents[graph.output]);

const t0 = performance.now();
const patcher = new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() });
const setupMs = performance.now() - t0;
const r = acdc(patcher, { threshold });
const ldCircuit = logitDiffAfter(r.trace.filter((d) => d.removed).map((d) => d.edge));
const recovered = (ldCircuit - ldCorrupted) / (ldClean - ldCorrupted);

console.log(`ACDC (KL, corrupted ablation, threshold ${threshold}): tested ${r.stats.tested} of ${total} edges, kept ${r.edges.length}; KL ${r.metric.toFixed(4)}; ${r.stats.ms.toFixed(0)} ms search + ${setupMs.toFixed(0)} ms setup`);
console.log(`logit difference: clean ${ldClean.toFixed(3)}, corrupted ${ldCorrupted.toFixed(3)}, circuit ${ldCircuit.toFixed(3)} (${(100 * recovered).toFixed(1)}% recovered)`);

// Importance of a kept edge: how much removing it raised the KL when it was tried.
const before = new Map();
let cur = r.baseline;
for (const d of r.trace) { before.set(d.edge, { cost: d.metric - cur, metric: d.metric }); if (d.removed) cur = d.metric; }
const ranked = r.edges.map((e) => ({ e, cost: before.get(e.id)?.cost ?? NaN })).sort((a, b) => b.cost - a.cost);
console.log("kept edges, by KL increase when removed:");
for (const { e, cost } of ranked) console.log(`  ${cost.toFixed(4).padStart(8)}  ${graph.nodes[e.parent].label} -> ${graph.nodes[e.child].label}`);

const json = circuitJson(r, { ablation: "corrupted", metric: "kl", model: { name: "stories260K", format: "llama2.c", ...c } });
json.task = {
  name: "name-repeat", texts: task.texts, names: task.names, corrupted_names: task.corruptedNames, positions: data.positions,
  logit_diff: { clean: ldClean, corrupted: ldCorrupted, circuit: ldCircuit, recovered },
};
writeFileSync(outPath, JSON.stringify(json, null, 1) + "\n");
console.log(`wrote ${outPath}`);
