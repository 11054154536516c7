// The models the bench runs: a GPT-2-small-shaped model with seeded random
// weights (no download), the small random model of the ACDC sections, their
// matmul flop counts, and the random weights written as a safetensors file
// (for the peak-RSS child, which loads a file the way a real run does).
import { closeSync, openSync, writeSync } from "node:fs";
import { makeConfig, Transformer, buildGraph } from "../../dist/index.js";
import { paramTable } from "../../dist/model/params.js";
import { rng, randomArray, randomTokens } from "./random.js";

/** GPT-2 small's geometry (LayerNorm, gelu_new, learned positions are makeConfig's defaults). */
export const GPT2 = { nLayers: 12, dModel: 768, nHeads: 12, dHead: 64, dMlp: 3072, dVocab: 50257, nCtx: 1024 };

/** The small random model of the acdc, eap and threads sections. */
export const SMALL = {
  quick: { nLayers: 2, dModel: 128, nHeads: 4, dHead: 32, dMlp: 512, dVocab: 1024, nCtx: 64 },
  full: { nLayers: 4, dModel: 256, nHeads: 8, dHead: 32, dMlp: 1024, dVocab: 4096, nCtx: 64 },
};

const SCALE = 0.02 * Math.sqrt(12); // uniform with std 0.02, as GPT-2's initialisation

/** One parameter's random values: LN scales 1, biases 0, everything else uniform with std 0.02. */
function randomTensor(name, n, r) {
  const last = name.split(".").pop();
  if (last === "w") return new Float32Array(n).fill(1); // layer norm scale
  if (last === "b" || last.startsWith("b_")) return new Float32Array(n); // biases
  return randomArray(n, SCALE, r);
}

/** Random canonical weights for cfg, in parameter-table order (the order fixes which numbers each tensor gets). */
export function randomWeights(cfg, seed) {
  const r = rng(seed);
  const w = new Map();
  for (const { name, shape, size } of paramTable(cfg)) w.set(name, { shape, data: randomTensor(name, size, r) });
  return w;
}

/** A model of geometry c with random weights on `engine` (a new 1-thread engine by default), and how long each step took. */
export async function buildModel(c, seed = 3, engine = undefined) {
  const cfg = makeConfig(c);
  const t = performance.now();
  let w = randomWeights(cfg, seed);
  const tw = performance.now() - t;
  const model = await Transformer.create(cfg, w, engine);
  w = null;
  return { model, cfg, weightsMs: tw, createMs: performance.now() - t - tw };
}

/** f32 bytes of a geometry's parameters. */
export const weightBytes = (cfg) => paramTable(cfg).reduce((a, s) => a + s.size, 0) * 4;

/**
 * Write randomWeights(cfg, seed) to `path` as safetensors (canonical names,
 * F32), one tensor at a time, so the writer never holds the whole model.
 */
export function writeRandomSafetensors(path, cfg, seed) {
  const specs = paramTable(cfg);
  const header = {};
  let off = 0;
  for (const s of specs) { header[s.name] = { dtype: "F32", shape: s.shape, data_offsets: [off, off + s.size * 4] }; off += s.size * 4; }
  const raw = new TextEncoder().encode(JSON.stringify(header));
  const hbytes = new Uint8Array(raw.length + ((8 - ((8 + raw.length) % 8)) % 8)).fill(0x20); // data 8-byte aligned
  hbytes.set(raw);
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(hbytes.length), true);
  const fd = openSync(path, "w");
  try {
    writeSync(fd, len);
    writeSync(fd, hbytes);
    const r = rng(seed);
    for (const s of specs) {
      const data = randomTensor(s.name, s.size, r); // little-endian hosts only, as wasm itself
      writeSync(fd, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    }
  } finally {
    closeSync(fd);
  }
  return 8 + hbytes.length + off;
}

/** Matmul flops of one forward over B×T tokens: linear layers + unembed, and causal attention (QKᵀ, PV). */
export function forwardFlops(cfg, B, T) {
  const { nLayers: L, dModel: D, nHeads: H, dHead: Dh, dMlp: M, dVocab: V } = cfg;
  const N = B * T;
  const linear = 2 * N * (L * (3 * D * H * Dh + H * Dh * D + 2 * D * M) + D * V);
  const unembed = 2 * N * D * V;
  const attention = L * B * H * 2 * (2 * Dh * (T * (T + 1)) / 2);
  return { total: linear + attention, linear, unembed, attention };
}

/** The small random model with 10 prompts of 16 random tokens (corrupted: other random tokens) and its graph. */
export async function smallTask(quick, engine = undefined) {
  const small = quick ? SMALL.quick : SMALL.full;
  const { model, cfg } = await buildModel(small, 9, engine);
  const r = rng(31);
  const B = 10, T = 16;
  const clean = randomTokens(B, T, cfg.dVocab, r), corrupted = randomTokens(B, T, cfg.dVocab, r);
  return { small, model, cfg, B, T, clean, corrupted, g: buildGraph(cfg) };
}
