// stories260K (llama2.c, interleaved rotary pairs) converted to the Hugging
// Face Llama layout by scripts/llama2c-to-hf.mjs (q/k rows permuted for
// rotate_half) must be the same model: the HF loader's logits equal the
// llama2.c loader's (max |diff| printed), and `acdc run` finds the same
// circuit through `--model <hf folder>` as through `--model
// stories260K.bin` on the same data; so does the folder split into two
// shards with model.safetensors.index.json.
// The checkpoint is in ../shared/models/stories260K/ (not in the repository).
import t from "tap";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { hfWeights } from "../helpers/hf.mjs";
import { loadModel } from "../../dist/index.js";
import { loadLlama2c, Llama2cTokenizer } from "../../dist/model/formats/index.js";
import { nameRepeatTask } from "../../dist/tasks/index.js";
import { llama2cToHf } from "../../scripts/llama2c-to-hf.mjs";
import { writeHfFolder } from "../reference/safetensors-io.mjs";

const dir = join(root, "..", "shared", "models", "stories260K");
const modelPath = join(dir, "stories260K.bin"), tokPath = join(dir, "tok512.bin");
const skip = existsSync(modelPath) && existsSync(tokPath) ? false : `${modelPath} and ${tokPath} are absent (the TinyStories 260K checkpoint is not committed; see ../shared/models/)`;
const tmp = mkdtempSync(join(tmpdir(), "stories-hf-"));
t.teardown(() => rmSync(tmp, { recursive: true, force: true }));

const acdc = (args) => new Promise((resolve) => {
  execFile(process.execPath, [join(root, "bin", "acdc.js"), ...args], { cwd: tmp, timeout: 300_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});

t.test("stories260K in the Hugging Face Llama layout: same logits, same ACDC circuit", { skip }, async (t) => {
  const bin = new Uint8Array(readFileSync(modelPath));
  const { config, entries } = llama2cToHf(bin);
  const hfDir = join(tmp, "stories260K-hf"), shardDir = join(tmp, "stories260K-hf-sharded");
  writeHfFolder(hfDir, config, entries);
  const names = entries.map((e) => e.name), half = Math.ceil(names.length / 2);
  writeHfFolder(shardDir, config, entries, { shards: [names.slice(0, half), names.slice(half)] });

  const ref = await loadLlama2c(bin);
  const hf = await loadModel(hfWeights(hfDir), config);
  const sharded = await loadModel(hfWeights(shardDir), config);
  t.equal(hf.cfg.rotaryStyle, "half", "the HF model rotates halves");
  t.equal(ref.cfg.rotaryStyle, undefined, "the llama2.c model rotates interleaved pairs");
  const tok = Llama2cTokenizer.parse(new Uint8Array(readFileSync(tokPath)), ref.cfg.dVocab);
  const task = nameRepeatTask(tok, ref.cfg);
  const a = ref.forward(task.data.clean).logits, b = hf.forward(task.data.clean).logits, c = sharded.forward(task.data.clean).logits;
  let d = 0, big = 0;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); big = Math.max(big, Math.abs(a[i])); }
  console.log(`# stories260K: HF-layout vs llama2.c logits over ${task.data.clean.length}×${task.data.clean[0].length} tokens: max |diff| ${d.toExponential(2)} (largest |logit| ${big.toFixed(2)})`);
  t.ok(d < 1e-4, `HF-layout logits equal the llama2.c loader's (max |diff| ${d.toExponential(2)})`);
  t.ok(b.every((x, i) => Object.is(x, c[i])), "the sharded folder gives bit-identical logits");

  const dataPath = join(tmp, "name-repeat.json");
  writeFileSync(dataPath, JSON.stringify(task.data));
  const circuits = [];
  for (const [label, m] of [["bin", modelPath], ["hf", hfDir], ["sharded", shardDir]]) {
    const out = join(tmp, `${label}.json`);
    const r = await acdc(["run", "--model", m, "--data", dataPath, "--threshold", "0.01", "--quiet", "--out", out]);
    t.equal(r.code, 0, `acdc run --model ${label}: exit 0`, { stderr: r.stderr });
    circuits.push(JSON.parse(readFileSync(out, "utf8")));
  }
  const edges = (j) => j.edges.map((e) => `${e.parent ?? e[0]}→${e.child ?? e[1]}`).sort();
  const [fromBin, fromHf, fromShards] = circuits;
  t.ok(edges(fromBin).length > 0, `the llama2.c run keeps ${edges(fromBin).length} edges`);
  t.same(edges(fromHf), edges(fromBin), "--model <hf folder> finds the same circuit as --model stories260K.bin");
  t.same(edges(fromShards), edges(fromHf), "and so does the sharded folder");

  // EAP-IG (gradients through rotate-half vs interleaved rotary) keeps the same top edges too.
  const ig = [];
  for (const [label, m] of [["bin", modelPath], ["hf", hfDir]]) {
    const out = join(tmp, `${label}-ig.json`);
    const r = await acdc(["run", "--model", m, "--data", dataPath, "--algorithm", "eap-ig", "--top-k", "40", "--quiet", "--out", out]);
    t.equal(r.code, 0, `acdc run --algorithm eap-ig --model ${label}: exit 0`, { stderr: r.stderr });
    ig.push(JSON.parse(readFileSync(out, "utf8")));
  }
  t.same(edges(ig[1]), edges(ig[0]), `EAP-IG top 40: the same ${edges(ig[0]).length} edges after pruning from either layout`);
  t.ok(Math.abs(ig[1].final_metric - ig[0].final_metric) < 1e-4 * Math.max(1, Math.abs(ig[0].final_metric)), `and the same circuit metric (${ig[0].final_metric} vs ${ig[1].final_metric})`);
});
