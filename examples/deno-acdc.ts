// The same search in Deno, from the bundle (wasm embedded, no npm needed):
//   npx deno run --allow-read examples/deno-acdc.ts
// @ts-nocheck: the bundle ships plain JS.
import { acdc, buildGraph, klMetric, loadModel, Patcher } from "../dist/acdc-wasm.mjs";

const dir = new URL("../../shared/fixtures/", import.meta.url);
const read = (f: string) => Deno.readFile(new URL(f, dir));
const text = async (f: string) => new TextDecoder().decode(await read(f));
const model = await loadModel(await read("tiny-attn-only.safetensors"), JSON.parse(await text("tiny-attn-only.config.json")));
const data = JSON.parse(await text("tiny-attn-only.data.json"));
const graph = buildGraph(model.cfg);
const result = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 0.05 });
console.log(`kept ${result.edges.length} edges; KL ${result.metric.toFixed(4)}`);
