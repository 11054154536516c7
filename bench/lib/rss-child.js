// The peak-RSS probe, run as its own process by the trials section: load a
// GPT-2-small-geometry safetensors file the way a real run does (file →
// wasm memory in chunks), build a Patcher over 10 × 16 random tokens, run a
// few ACDC trials and one EAP pass, and print one JSON line with the
// process's peak resident set size after each stage. Its own process, so
// nothing the bench did before counts. The JavaScript heap is set up as the
// acdc command sets up its own (young generation held at its starting size),
// unless "cliHeap" is false (V8's defaults, as a program embedding the library
// may leave them).
//   node bench/lib/rss-child.js '{"weights": PATH, "config": ModelConfig, "threads": 1, "trials": 2, "cliHeap": true}'
import { createEngine, buildGraph, Patcher, klMetric, eapScores } from "../../dist/index.js";
import { loadModel } from "../../dist/model/load.js";
import { fileSource } from "../../dist/node/index.js";
import { keepYoungGenerationSmall } from "../../dist/node/heap.js";
import { rng, randomTokens } from "./random.js";
import { trialGroups } from "./layer-trials.js";

const args = JSON.parse(process.argv[2]);
if (args.cliHeap !== false) keepYoungGenerationSmall();
const peakBytes = () => process.resourceUsage().maxRSS * 1024; // maxRSS is in KiB
const stages = [];
const t0 = performance.now();
const stage = (name) => stages.push({ name, peakBytes: peakBytes(), rssBytes: process.memoryUsage().rss, sec: (performance.now() - t0) / 1e3 });

stage("start");
const engine = await createEngine({ threads: args.threads });
stage("engine");
const src = fileSource(args.weights);
const model = await loadModel(src, args.config, { engine });
src.close();
stage("load");
const r = rng(21);
const B = 10, T = 16;
const clean = randomTokens(B, T, model.cfg.dVocab, r), corrupted = randomTokens(B, T, model.cfg.dVocab, r);
const g = buildGraph(model.cfg);
const p = new Patcher(model, g, { clean, corrupted, positions: clean.map(() => T - 1) }, { ablation: "corrupted", metric: klMetric() });
stage("patcher");
// Into the output, into layer 0's q input (the trial that touches the most buffers), into the last layer's MLP.
const groups = trialGroups(g);
const pick = (layer, kind) => groups.find((x) => x.layer === layer && x.kind === kind).edges[0];
const L = model.cfg.nLayers;
for (const id of [pick(L, "output"), pick(0, "q_input"), pick(L - 1, "mlp_in")].slice(0, args.trials)) { p.trial(id); p.reject(); }
stage("trials");
eapScores(p, { steps: 0 });
stage("eap");
engine.dispose();
process.stdout.write(JSON.stringify({ threads: engine.threads, wasmBytes: engine.memory.buffer.byteLength, stages }) + "\n");
