// Shared test helpers: where ../shared/fixtures is, and loading a fixture model.
import { readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../../dist/index.js";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const fixtures = join(root, "..", "shared", "fixtures");
export const readJson = (p) => JSON.parse(readFileSync(p, "utf8"));

/** Load fixture NAME (safetensors + NAME.config.json) and its data/acdc JSON when present. */
export async function fixture(name) {
  const model = await loadModel(new Uint8Array(readFileSync(join(fixtures, `${name}.safetensors`))), readJson(join(fixtures, `${name}.config.json`)));
  let data, acdc;
  try { data = readJson(join(fixtures, `${name}.data.json`)); } catch {}
  try { acdc = readJson(join(fixtures, `${name}.acdc.json`)); } catch {}
  return { model, data, acdc };
}

/** mulberry32: the package's seeded PRNG, so test failures reproduce. */
export { mulberry32 as rng } from "../../dist/random.js";
