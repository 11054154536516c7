// Peak RSS of a GPT-2-small-geometry run (issue 11, target 6), each stage
// in a fresh child process per build: load the f32 safetensors file the way a
// real run does, build the 10 × 16 Patcher, trials (into the output, layer
// 0's q input, the last MLP), EAP, then EAP-IG (5 steps); maxRSS after each
// stage beside the f32 weight bytes. Builds: this checkout's dist, and
// $A when given (e.g. A=/tmp/perf-base/dist). The JavaScript heap is set up as
// the acdc command sets up its own (young generation kept at its starting
// size); --default-heap leaves V8's defaults.
//   node scripts/perf/rss.mjs [--threads 1] [--default-heap]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { DIST, weightsFile, weightBytes, GPT2, f } from "./common.mjs";

if (process.argv[2] === "--child") {
  const o = JSON.parse(process.argv[3]);
  const { openBuild, loadGpt2, patchData, groups, commandHeap } = await import("./common.mjs");
  if (o.cliHeap) await commandHeap(o.dist);
  const stages = [];
  const stage = (name) => stages.push({ name, peak: process.resourceUsage().maxRSS * 1024, wasm: engine?.memory.buffer.byteLength ?? 0 });
  let engine = null;
  stage("start");
  const b = await openBuild(o.dist);
  const m = await loadGpt2(o.threads, b);
  engine = m.engine;
  stage("load");
  const g = b.api.buildGraph(m.model.cfg);
  const p = new b.api.Patcher(m.model, g, patchData(m.model.cfg.dVocab), { ablation: "corrupted", metric: b.api.klMetric() });
  stage("patcher");
  const gs = groups(g), L = m.model.cfg.nLayers, pick = (l, k) => gs.find((x) => x.layer === l && x.kind === k).edges[0];
  for (const id of [pick(L, "output"), pick(0, "q_input"), pick(L - 1, "mlp_in")]) { p.trial(id); p.reject(); }
  stage("trials");
  b.api.eapScores(p, { steps: 0 });
  stage("eap");
  b.api.eapScores(p, { steps: 5 });
  stage("eap-ig");
  engine.dispose();
  process.stdout.write(JSON.stringify(stages) + "\n");
  process.exit(0);
}

const ti = process.argv.indexOf("--threads"), threads = ti > 0 ? Number(process.argv[ti + 1]) : 1;
weightsFile();
const wb = weightBytes(GPT2), MiB = 2 ** 20;
const dists = [...(process.env.A ? [["A", process.env.A]] : []), ["B", DIST]];
const me = fileURLToPath(import.meta.url);
const res = [];
for (const [name, dist] of dists) {
  const r = spawnSync(process.execPath, [me, "--child", JSON.stringify({ dist, threads, cliHeap: !process.argv.includes("--default-heap") })], { encoding: "utf8", env: process.env, maxBuffer: 1 << 20 });
  if (r.status !== 0) { console.log(`${name}: FAILED ${r.stderr.split("\n").slice(-4).join(" | ")}`); continue; }
  res.push([name, dist, JSON.parse(r.stdout.trim().split("\n").pop())]);
}
console.log(`f32 weights ${f(wb / MiB, 0)} MiB; peak RSS (MiB, ×weights) after each stage, ${threads} thread(s), ${process.argv.includes("--default-heap") ? "V8's default heap" : "the heap as the acdc command sets it"}:`);
for (const [name, dist, st] of res) console.log(`  ${name} (${dist}): ` + st.map((s) => `${s.name} ${f(s.peak / MiB, 0)} (${f(s.peak / wb, 2)}×)`).join(", ") + `; wasm memory ${f(st[st.length - 1].wasm / MiB, 0)} MiB`);
