// The explorer and the checkpoint layouts `acdc run --model` reads beyond a
// single safetensors file, in Chromium: a fixture model written as three
// shards with their index (picked as a folder, or as files) and a PyTorch
// .pth with its config (and as a folder's pytorch_model.bin) load through
// the package's loader and give the CLI's circuit file byte for byte
// (timing aside) and a run manifest that records the files as the CLI's
// does; dropped shards are sorted as model files; a shard left out of the
// selection shows the loader's own message, a checkpoint without its
// config the CLI's.
// Skips with one line without Chromium (fails under CI).
import t from "tap";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumOrSkip } from "../helpers/components.mjs";
import { fixtures, root, readJson } from "../helpers/fixtures.mjs";
import { cli, noTiming, startExplorer } from "../helpers/explorer-page.mjs";
import { decodeSafetensors, writeHfFolder } from "../reference/safetensors-io.mjs";
import { checkRunManifest, parseManifest } from "../../dist/repro/index.js";
import { loadModel } from "../../dist/index.js";
import { bytesSource } from "../../dist/model/formats/tensor.js";

const chromiumPath = chromiumOrSkip(t, "the explorer's checkpoint tests");

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "acdc-explorer-ckpt-"));
  const F = (f) => join(fixtures, f);
  const tiny = { weights: F("tiny-ln-mlp.safetensors"), config: F("tiny-ln-mlp.config.json"), data: F("tiny-ln-mlp.data.json") };

  // tiny-ln-mlp as save_pretrained shards it: embeddings and layer 0, layer 1, the final norm and unembedding.
  const shardDir = join(tmp, "tiny-sharded");
  const tensors = decodeSafetensors(readFileSync(tiny.weights));
  const entries = [...tensors].map(([name, x]) => ({ name, dtype: x.dtype, shape: x.shape, values: x.data }));
  const names = entries.map((e) => e.name);
  const shardNames = [names.filter((n) => !n.startsWith("blocks.1.") && !/^(ln_final|unembed)\./.test(n)), names.filter((n) => n.startsWith("blocks.1.")), names.filter((n) => /^(ln_final|unembed)\./.test(n))];
  const written = writeHfFolder(shardDir, readJson(tiny.config), entries, { shards: shardNames });
  const shards = written.filter((f) => /-of-\d+\.safetensors$/.test(f));
  const index = join(shardDir, "model.safetensors.index.json");

  // A TransformerLens state dict as torch.save writes it (test/fixtures/pth, see scripts/make-pth-fixtures.mjs), with its config beside it.
  const pthJson = readJson(join(root, "test", "fixtures", "pth", "tiny-attn-only.f32.json"));
  const pth = { weights: join(tmp, "tiny-attn-only.pth"), config: join(tmp, "tiny-attn-only.config.json"), data: join(tmp, "tiny-attn-only.data.json") };
  copyFileSync(join(root, "test", "fixtures", "pth", "tiny-attn-only.f32.pth"), pth.weights);
  writeFileSync(pth.config, JSON.stringify(pthJson.config, null, 1) + "\n");
  writeFileSync(pth.data, JSON.stringify({ clean: [[1, 4, 2, 7, 3, 9], [0, 5, 5, 8, 2, 6], [3, 1, 8, 8, 4, 2]], corrupted: [[0, 5, 5, 8, 2, 6], [3, 1, 8, 8, 4, 2], [1, 4, 2, 7, 3, 9]], positions: [5, 5, 5] }));

  const dir = (name) => { const d = join(tmp, name); mkdirSync(d); return d; };
  // The same checkpoint as a Hugging Face folder names it.
  const ptDir = dir("tiny-pt");
  copyFileSync(pth.weights, join(ptDir, "pytorch_model.bin"));
  copyFileSync(pth.config, join(ptDir, "config.json"));
  const cliShard = dir("cli-sharded"), cliPth = dir("cli-pth"), cliSingle = dir("cli-single"), cliPt = dir("cli-pt");
  const runs = await Promise.all([
    cli(["run", "--model", shardDir, "--data", tiny.data, "--threshold", "0.020523", "--out", join(cliShard, "c.json"), "--quiet"]),
    cli(["run", "--model", pth.weights, "--data", pth.data, "--threshold", "0.005", "--out", join(cliPth, "c.json"), "--quiet"]),
    cli(["run", "--model", tiny.weights, "--data", tiny.data, "--threshold", "0.020523", "--out", join(cliSingle, "c.json"), "--quiet"]),
    cli(["run", "--model", ptDir, "--data", pth.data, "--threshold", "0.005", "--out", join(cliPt, "c.json"), "--quiet"]),
  ]);
  for (const r of runs) if (r.code !== 0) throw new Error(`CLI failed: ${r.stderr}`);

  const { open, text, until, download, drop } = await startExplorer(t, chromiumPath);
  /** Save a download into `d` under its suggested name; its path. */
  const save = (d, file) => { const p = join(d, file.name); writeFileSync(p, file.bytes); return p; };
  /** The manifest fields that must not depend on where the run ran: seals (inputs without paths or thread count) and results. */
  const sameRun = (m) => ({ seal: m.seal, results: m.results, kernels: m.kernels, package: m.package, trace: m.trace });
  const ref = (m, k) => ({ bytes: m.model[k].bytes, sha256: m.model[k].sha256 });

  /** Data, threshold, run: the downloaded circuit JSON and run manifest. */
  async function runOn(page, data, dataInfo, threshold) {
    await page.setInputFiles("[data-testid=data-file]", data);
    await until(page, "data-info", dataInfo);
    await page.fill("[data-testid=threshold]", threshold);
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of \d+ edges/);
    const json = await download(page, "export-json");
    const manifest = await download(page, "export-manifest");
    return { json, manifest, m: checkRunManifest(parseManifest(manifest.bytes.toString("utf8"))) };
  }

  await t.test("a sharded checkpoint through the folder picker: the CLI's circuit and manifest", async (t) => {
    t.equal(shards.length, 3, `three shards written: ${shards.join(", ")}`);
    const page = await open();
    await page.setInputFiles("[data-testid=model-folder]", shardDir);
    t.match(await until(page, "model-info", /graph of 62 nodes, 134 edges/), /^tiny-sharded: /, "named after its folder, as acdc run --model DIR names it");
    const { json, m } = await runOn(page, tiny.data, /6 prompts × 8 tokens/, "0.020523");
    const want = readFileSync(join(cliShard, "c.json"), "utf8");
    t.equal(noTiming(json.bytes.toString("utf8")), noTiming(want), "downloaded circuit JSON = acdc run --model DIR's, byte for byte apart from search_ms");
    // The shards hold the single file's tensors: the same circuit as the unsharded model's, its name aside.
    const single = JSON.parse(readFileSync(join(cliSingle, "c.json"), "utf8")), got = JSON.parse(json.bytes.toString("utf8"));
    t.same(got.edges, single.edges, "the same edges as the one-file model");
    const cliManifest = parseManifest(readFileSync(join(cliShard, "c.manifest.json"), "utf8"));
    t.equal(cliManifest.model.weights.path.split("/").pop(), "model.safetensors.index.json", "the CLI records a sharded checkpoint by its index");
    t.same(m.model.weights, { path: "model.safetensors.index.json", ...ref(cliManifest, "weights") }, "so does the page: the index's name, size and digest");
    t.same(m.model.config, { path: "config.json", ...ref(cliManifest, "config") }, "and the folder's config.json");
    t.equal(m.model.format, cliManifest.model.format, `format recorded as the CLI records it (${m.model.format})`);
    t.same(sameRun(m), sameRun(cliManifest), "seals, results and trace equal those of acdc run's manifest");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("shards picked as files: a missing one shows the loader's message; all of them load", async (t) => {
    const page = await open();
    const config = join(shardDir, "config.json");
    const partial = [index, config, ...shards.filter((_, i) => i !== 1).map((f) => join(shardDir, f))];
    let expected;
    try {
      const present = new Map(shards.filter((_, i) => i !== 1).map((f) => [f, bytesSource(new Uint8Array(readFileSync(join(shardDir, f))), f)]));
      await loadModel({ index: readJson(index), shards: present }, readJson(config));
    } catch (e) { expected = e.message; }
    t.match(expected, shards[1], `the loader refuses it in Node, naming the shard: ${expected}`);
    await page.setInputFiles("[data-testid=model-file]", partial);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), `error: ${expected}`, "the same message in the page");
    t.match(await text(page, "model-info"), /No model loaded/, "and no model is loaded");

    // Shards without their index: which file is missing is said, not guessed at.
    await page.setInputFiles("[data-testid=model-file]", [config, ...shards.map((f) => join(shardDir, f))]);
    await page.waitForFunction(() => /several weights files .*goes with its index, model\.safetensors\.index\.json/.test(document.querySelector("[data-testid=error]").textContent));
    t.pass("shards without the index: says to give the index");

    await page.setInputFiles("[data-testid=model-file]", [index, config, ...shards.map((f) => join(shardDir, f))]);
    t.match(await until(page, "model-info", /graph of 62 nodes, 134 edges/), /^model: /, "every shard with the index: loaded, named after the index");
    const { json } = await runOn(page, tiny.data, /6 prompts × 8 tokens/, "0.020523");
    t.same(JSON.parse(json.bytes.toString("utf8")).edges, JSON.parse(readFileSync(join(cliShard, "c.json"), "utf8")).edges, "the CLI's circuit");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("shards dropped on the page with their index, config and data: sorted and loaded", async (t) => {
    const page = await open();
    await drop(page, [index, join(shardDir, "config.json"), ...shards.map((f) => join(shardDir, f)), tiny.data]);
    await until(page, "data-info", /tiny-ln-mlp\.data\.json: 6 prompts/);
    t.match(await text(page, "model-info"), /^model: 2 layers.*graph of 62 nodes, 134 edges/s, "the index is a model file: the shards load with it");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("a Hugging Face folder holding pytorch_model.bin: the CLI's circuit", async (t) => {
    const page = await open();
    await page.setInputFiles("[data-testid=model-file]", [join(ptDir, "pytorch_model.bin")]);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), "error: no config for pytorch_model.bin: expected pytorch_model.config.json or config.json beside it (pick both files, or the folder)",
      "a zipped .bin is a PyTorch checkpoint, not a llama2.c one: it needs its config, as acdc run says");
    await page.setInputFiles("[data-testid=model-folder]", ptDir);
    t.match(await until(page, "model-info", /graph of \d+ nodes/), /^tiny-pt: 2 layers/, "named after its folder");
    const { json } = await runOn(page, pth.data, /3 prompts × 6 tokens/, "0.005");
    t.equal(noTiming(json.bytes.toString("utf8")), noTiming(readFileSync(join(cliPt, "c.json"), "utf8")), "downloaded circuit JSON = acdc run --model DIR's, byte for byte apart from search_ms");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("a PyTorch .pth with its config: the CLI's circuit and manifest, and acdc verify accepts it", async (t) => {
    const page = await open();
    await page.setInputFiles("[data-testid=model-file]", [pth.weights]);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), "error: no config for tiny-attn-only.pth: expected tiny-attn-only.config.json or config.json beside it (pick both files, or the folder)", "no config: says which it looked for, as acdc run does");

    await page.setInputFiles("[data-testid=model-file]", [pth.weights, pth.config]);
    t.match(await until(page, "model-info", /graph of \d+ nodes/), /^tiny-attn-only: 2 layers/, "named after the file, as acdc run --model X.pth names it");
    const { json, manifest, m } = await runOn(page, pth.data, /3 prompts × 6 tokens/, "0.005");
    const want = readFileSync(join(cliPth, "c.json"), "utf8");
    t.equal(noTiming(json.bytes.toString("utf8")), noTiming(want), "downloaded circuit JSON = acdc run --model X.pth's, byte for byte apart from search_ms");
    t.ok(JSON.parse(want).edges.length > 0, "a circuit with edges");
    const cliManifest = parseManifest(readFileSync(join(cliPth, "c.manifest.json"), "utf8"));
    t.same(m.model.weights, { path: "tiny-attn-only.pth", ...ref(cliManifest, "weights") }, "the .pth: its name, size and digest, as the CLI records it");
    t.same(m.model.config, { path: "tiny-attn-only.config.json", ...ref(cliManifest, "config") }, "its config");
    t.equal(m.model.format, cliManifest.model.format, `format recorded as the CLI records it (${m.model.format})`);
    t.same(sameRun(m), sameRun(cliManifest), "seals, results and trace equal those of acdc run's manifest");

    const d = dir("browser-pth");
    save(d, json);
    const manifestPath = save(d, manifest);
    const ok = await cli(["verify", manifestPath, "--model", pth.weights, "--config", pth.config, "--data", pth.data, "--quiet"]);
    t.equal(ok.code, 0, `acdc verify accepts the browser's manifest: ${ok.stdout}${ok.stderr}`);
    // Another checkpoint of other values fails it: the check compares the weights.
    const other = join(tmp, "other.pth");
    copyFileSync(join(root, "test", "fixtures", "pth", "tiny-attn-only.f16.pth"), other);
    const bad = await cli(["verify", manifestPath, "--model", other, "--config", pth.config, "--data", pth.data, "--quiet"]);
    t.equal(bad.code, 1, `other weights: verify fails (${(bad.stdout + bad.stderr).trim().split("\n")[0]})`);
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });
}

await main();
