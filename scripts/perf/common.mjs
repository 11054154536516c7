// Shared pieces of the issue-11 measurement scripts (scripts/perf/): a
// GPT-2-small-geometry model with seeded random weights written once to a
// safetensors file and loaded from it the way a real run loads weights, the
// 10 × 16 random-token patching set-up, and best-of-N timing. DIST (an
// environment variable) picks the build measured, so two builds can be
// compared A/B in one run: DIST=/tmp/perf-base/dist node scripts/perf/x.mjs.
// Not a test and not the bench (bench/ is reorganised elsewhere): numbers only.
import { closeSync, existsSync, openSync, writeSync, renameSync } from "node:fs";
import os from "node:os";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { trialGroups } from "../../bench/lib/layer-trials.js";

const here = fileURLToPath(new URL(".", import.meta.url));
export const DIST = process.env.DIST ?? join(here, "../../dist");

/** One build's API (index.js), paramTable and fileSource, from its dist directory. */
export async function openBuild(dist) {
  const api = await import(join(dist, "index.js"));
  const { paramTable } = await import(join(dist, "model/params.js"));
  const { fileSource } = await import(join(dist, "node/index.js"));
  return { api, paramTable, fileSource, dist };
}
const main = await openBuild(DIST);
export const { api, paramTable, fileSource } = main;

/** GPT-2 small's geometry (LayerNorm, gelu_new, learned positions: makeConfig's defaults). */
export const GPT2 = { nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 };
export const B = 10, T = 16;

/** LCG through Math.imul, uniform in [0, 1). */
export function rng(seed) {
  let s = seed | 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) | 0; return (s >>> 8) / 16777216; };
}
export const randomTokens = (b, t, V, r) => Array.from({ length: b }, () => Array.from({ length: t }, () => Math.floor(r() * V)));

/** One parameter's random values: norm scales 1, biases 0, matrices uniform with std 0.02. */
function randomTensor(name, n, r) {
  const last = name.split(".").pop();
  if (last === "w") return new Float32Array(n).fill(1);
  if (last === "b" || last.startsWith("b_")) return new Float32Array(n);
  const a = new Float32Array(n), s = 0.02 * Math.sqrt(12);
  for (let i = 0; i < n; i++) a[i] = (r() - 0.5) * s;
  return a;
}

/** f32 bytes of a geometry's parameters (untied). */
export const weightBytes = (cfg) => paramTable(api.makeConfig(cfg)).reduce((a, s) => a + s.size, 0) * 4;

/** Path of the random GPT-2-small safetensors file (canonical names, F32, untied), written once. */
export function weightsFile(cfg = GPT2, seed = 3) {
  const path = join(process.env.PERF_DIR ?? os.tmpdir(), `acdc-perf-gpt2-${seed}.safetensors`);
  if (existsSync(path)) return path;
  const specs = paramTable(api.makeConfig(cfg));
  const header = {};
  let off = 0;
  for (const s of specs) { header[s.name] = { dtype: "F32", shape: s.shape, data_offsets: [off, off + s.size * 4] }; off += s.size * 4; }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const hbytes = new Uint8Array(raw.length + ((8 - ((8 + raw.length) % 8)) % 8)).fill(0x20);
  hbytes.set(raw);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  const tmp = path + ".part";
  const fd = openSync(tmp, "w");
  try {
    writeSync(fd, len); writeSync(fd, hbytes);
    const r = rng(seed);
    for (const s of specs) { const d = randomTensor(s.name, s.size, r); writeSync(fd, new Uint8Array(d.buffer, d.byteOffset, d.byteLength)); }
  } finally { closeSync(fd); }
  renameSync(tmp, path);
  return path;
}

/** The JavaScript heap set up as the acdc command sets up its own (young generation kept at its starting size), by build `dist`'s own helper where it has one. */
export async function commandHeap(dist = DIST) {
  const heap = join(dist, "node/heap.js");
  if (existsSync(heap)) (await import(heap)).keepYoungGenerationSmall();
  else (await import("node:v8")).setFlagsFromString("--semi-space-growth-factor=1"); // a build from before the command line did this
}

/** The model loaded from weightsFile() on an engine of `threads` (with build `b`, default DIST's). */
export async function loadGpt2(threads = 1, b = main) {
  const engine = await b.api.createEngine({ threads });
  const src = b.fileSource(weightsFile());
  const t = performance.now();
  const model = await b.api.loadModel(src, GPT2, { engine });
  src.close();
  return { model, engine, loadMs: performance.now() - t };
}

/** The 10 × 16 random clean/corrupted prompts, KL at the last position. */
export function patchData(V) {
  const r = rng(21);
  const clean = randomTokens(B, T, V, r), corrupted = randomTokens(B, T, V, r);
  return { clean, corrupted, positions: clean.map(() => T - 1) };
}

/**
 * Best (least) wall ms of `reps` calls of fn after `warm` uncounted ones, the
 * mean, and the best process CPU ms (user + system: on a machine shared with
 * other work, CPU time of a one-thread run moves far less than wall time).
 */
export function best(fn, reps = 5, warm = 1) {
  for (let i = 0; i < warm; i++) fn();
  const ts = [], cs = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage(), t = performance.now();
    fn();
    ts.push(performance.now() - t);
    const d = process.cpuUsage(c);
    cs.push((d.user + d.system) / 1e3);
  }
  return { best: Math.min(...ts), mean: ts.reduce((a, b) => a + b, 0) / ts.length, cpu: Math.min(...cs), all: ts };
}

export const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(" ");
export const f = (x, d = 1) => (x === undefined || x === null || Number.isNaN(x) ? "-" : x.toFixed(d));

/** Counted edges grouped by (receiver layer, receiver kind), output first; bench's grouping, with "direct" for its "q/k/v (direct)". */
export function groups(g) {
  return trialGroups(g).map((x) => ({ ...x, kind: x.kind === "q/k/v (direct)" ? "direct" : x.kind }));
}
