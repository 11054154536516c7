// Deno driver for the runtime probe.
//   deno run --allow-read test/runtimes/deno-run.mjs [--bundle=PATH] [--fixtures=DIR] [--threads=N] [NAME...]
// Defaults: the repo's dist/acdc-wasm.mjs, ../shared/fixtures beside the repo, and
// the fixture models tiny-ln-mlp, tiny-attn-only, tiny-ln-mlp-hf. Prints a JSON
// array of probe results ({name, shape, hash, logitsHex}) to stdout. With
// --threads=N the models run on one engine with N threads.
/* global Deno */
import { runProbe } from "./probe.mjs";

function toFileUrl(p) {
  if (/^[a-z]+:\/\//i.test(p)) return new URL(p);
  const abs = p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
  return new URL(`file://${abs.split("/").map(encodeURIComponent).join("/")}`);
}

let bundle = new URL("../../../dist/acdc-wasm.mjs", import.meta.url);
let fixtures = new URL("../../../../shared/fixtures/", import.meta.url);
const names = [];
let threads = 1;
for (const a of Deno.args) {
  if (a.startsWith("--bundle=")) bundle = toFileUrl(a.slice(9));
  else if (a.startsWith("--threads=")) threads = parseInt(a.slice(10), 10);
  else if (a.startsWith("--fixtures=")) fixtures = toFileUrl(a.slice(11).replace(/\/?$/, "/"));
  else names.push(a);
}
if (names.length === 0) names.push("tiny-ln-mlp", "tiny-attn-only", "tiny-ln-mlp-hf");

const api = await import(bundle.href);
const dec = new TextDecoder();
const inputs = [];
for (const name of names) {
  const safetensors = await Deno.readFile(new URL(`${name}.safetensors`, fixtures));
  const config = JSON.parse(dec.decode(await Deno.readFile(new URL(`${name}.config.json`, fixtures))));
  const ref = JSON.parse(dec.decode(await Deno.readFile(new URL(`${name}.logits.json`, fixtures))));
  let data;
  try { data = JSON.parse(dec.decode(await Deno.readFile(new URL(`${name}.data.json`, fixtures)))); } catch { data = undefined; }
  inputs.push({ name, safetensors, config, tokens: ref.tokens, data });
}
const results = await runProbe(api, inputs, { threads });
console.log(JSON.stringify({ runtime: threads > 1 ? "deno threads" : "deno", version: Deno.version, results }));
