// The tiny random Hugging Face models of test/fixtures/hf/ (see its README):
// each folder's config.json, weights (one file, or shards with their index)
// and expected.json (float64 reference logits).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { root, readJson } from "./fixtures.mjs";
import { loadModel } from "../../dist/index.js";
import { bytesSource } from "../../dist/model/formats/index.js";

export const hfDir = join(root, "test", "fixtures", "hf");

/** Folder names of the tiny models. */
export const HF_MODELS = readdirSync(hfDir).filter((n) => existsSync(join(hfDir, n, "config.json"))).sort();

/** The weights argument loadModel takes for a folder: bytes, or { index, shards } when sharded. */
export function hfWeights(dir) {
  const index = join(dir, "model.safetensors.index.json");
  if (!existsSync(index)) return new Uint8Array(readFileSync(join(dir, "model.safetensors")));
  const j = readJson(index);
  const files = [...new Set(Object.values(j.weight_map))];
  return { index: j, shards: new Map(files.map((f) => [f, bytesSource(new Uint8Array(readFileSync(join(dir, f))), f)])) };
}

/** Load tiny model NAME: { model, config, expected, dir }. */
export async function hfFixture(name, opts) {
  const dir = join(hfDir, name);
  const config = readJson(join(dir, "config.json"));
  const model = await loadModel(hfWeights(dir), config, opts);
  return { model, config, expected: readJson(join(dir, "expected.json")), dir };
}
