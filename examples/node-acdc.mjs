// ACDC from a Node script with the package API: load a fixture model, run the
// search at one threshold, print the circuit. Run from the repo root after
// the build: node examples/node-acdc.mjs
import { readFileSync } from "node:fs";
import { acdc, buildGraph, circuitJson, klMetric, loadModel, Patcher } from "../dist/index.js";

const dir = new URL("../../shared/fixtures/", import.meta.url);
const read = (f) => readFileSync(new URL(f, dir));
const model = await loadModel(new Uint8Array(read("tiny-ln-mlp.safetensors")), JSON.parse(read("tiny-ln-mlp.config.json")));
const data = JSON.parse(read("tiny-ln-mlp.data.json")); // { clean, corrupted, positions }

const graph = buildGraph(model.cfg);
const patcher = new Patcher(model, graph, data, { ablation: "corrupted", metric: klMetric() });
const result = acdc(patcher, { threshold: 0.05 });

console.log(`kept ${result.edges.length} of ${graph.counts.addition + graph.counts.direct} edges; KL ${result.metric.toFixed(4)}`);
for (const e of result.edges) console.log(`  ${graph.nodes[e.parent].label} -> ${graph.nodes[e.child].label}`);
const json = circuitJson(result, { ablation: "corrupted", metric: "kl" });
console.log(`circuit JSON v${json.version}: ${json.num_kept} edges, ${json.num_tested} tested`);
