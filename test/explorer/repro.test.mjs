// The explorer and the package's task files and run manifests, in Chromium:
// a run's manifest downloaded from the page is the one `acdc run` writes
// for the same inputs (the same seals and result digests) and `acdc verify`
// accepts it — and refuses it against other data, so the check can fail; a
// task file `acdc run --task` accepts loads in the page through the
// package's loader and gives the CLI's circuit file byte for byte (timing
// aside), and its manifest verifies by tokenizing the file again; bad task
// files show the loader's message, the CLI's own. Skips with one line
// without Chromium (fails under CI).
import t from "tap";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumOrSkip } from "../helpers/components.mjs";
import { fixtures, root } from "../helpers/fixtures.mjs";
import { cli, noTiming, startExplorer } from "../helpers/explorer-page.mjs";
import { writeRandomModel } from "../helpers/random-model.mjs";
import { checkRunManifest, parseManifest } from "../../dist/repro/index.js";

const chromiumPath = chromiumOrSkip(t, "the explorer's manifest and task-file tests");

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "acdc-explorer-repro-"));
  const F = (f) => join(fixtures, f);
  const tiny = { weights: F("tiny-ln-mlp.safetensors"), config: F("tiny-ln-mlp.config.json"), data: F("tiny-ln-mlp.data.json") };
  const { open, text, until, download } = await startExplorer(t, chromiumPath);

  /** Save a download into `dir` under its suggested name; its path. */
  const save = (dir, file) => { const p = join(dir, file.name); writeFileSync(p, file.bytes); return p; };
  /** The manifest fields that must not depend on where the run ran: seals (inputs without paths or thread count) and results. */
  const sameRun = (m) => ({ seal: m.seal, results: m.results, kernels: m.kernels, package: m.package, trace: m.trace });

  await t.test("a run's manifest from the page is the CLI's run, and acdc verify accepts it", async (t) => {
    const cliDir = join(tmp, "cli-tiny");
    mkdirSync(cliDir);
    const r = await cli(["run", "--model", tiny.weights, "--data", tiny.data, "--threshold", "0.020523", "--out", join(cliDir, "c.json"), "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    const cliManifest = parseManifest(readFileSync(join(cliDir, "c.manifest.json"), "utf8"));

    const page = await open();
    t.ok(await page.$eval("[data-testid=export-manifest]", (b) => b.disabled), "no circuit yet: the button is disabled");
    await page.setInputFiles("[data-testid=model-file]", [tiny.weights, tiny.config]);
    await until(page, "model-info", /graph of 62 nodes, 134 edges/);
    await page.setInputFiles("[data-testid=data-file]", tiny.data);
    await until(page, "data-info", /6 prompts × 8 tokens/);
    await page.fill("[data-testid=threshold]", "0.020523");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of \d+ edges/);
    const dir = join(tmp, "browser-tiny");
    mkdirSync(dir);
    const circuitPath = save(dir, await download(page, "export-json"));
    const file = await download(page, "export-manifest");
    t.equal(file.name, "tiny-ln-mlp-acdc-0.020523.manifest.json", "named after the circuit's JSON export");
    const manifestPath = save(dir, file);
    const m = checkRunManifest(parseManifest(file.bytes.toString("utf8")));
    t.equal(m.runtime.name, "browser", "written in the browser");
    t.equal(m.circuit, "tiny-ln-mlp-acdc-0.020523.json", "it names the JSON export beside it");
    t.same(m.model.weights, { path: "tiny-ln-mlp.safetensors", bytes: cliManifest.model.weights.bytes, sha256: cliManifest.model.weights.sha256 }, "the picked weights file: its name, size and digest");
    t.same(sameRun(m), sameRun(cliManifest), "seals, results and trace equal those of acdc run's manifest for the same inputs");

    // acdc verify re-runs it in Node, and checks the circuit file named beside it.
    const ok = await cli(["verify", manifestPath, "--model", tiny.weights, "--config", tiny.config, "--data", tiny.data, "--quiet"]);
    t.equal(ok.code, 0, `acdc verify accepts the browser's manifest: ${ok.stdout}${ok.stderr}`);
    t.match(ok.stdout, /^ok: \d+ decisions, \d+ edges, every digest matches/, "and says so");
    // Against other data the same manifest fails: the check compares, it does not just parse.
    const other = join(tmp, "other.data.json");
    const d = JSON.parse(readFileSync(tiny.data, "utf8"));
    writeFileSync(other, JSON.stringify({ ...d, corrupted: [...d.corrupted.slice(1), d.corrupted[0]] }));
    const bad = await cli(["verify", manifestPath, "--model", tiny.weights, "--config", tiny.config, "--data", other, "--quiet"]);
    t.equal(bad.code, 1, "other data: verify fails");
    t.match(bad.stdout + bad.stderr, /data differs/, "naming the data");
    // An edited circuit file beside it is caught too.
    const edited = JSON.parse(readFileSync(circuitPath, "utf8"));
    writeFileSync(circuitPath, JSON.stringify({ ...edited, num_kept: edited.num_kept + 1 }, null, 1) + "\n");
    const tampered = await cli(["verify", manifestPath, "--model", tiny.weights, "--config", tiny.config, "--data", tiny.data, "--quiet"]);
    t.equal(tampered.code, 1, "an edited circuit file beside the manifest: verify fails");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("built-in models' manifests verify with no files given; an attribution re-cut's too", async (t) => {
    const page = await open();
    await page.selectOption("[data-testid=builtin-model]", "tracr-reverse");
    await until(page, "data-info", /ground truth/);
    await page.selectOption("[data-testid=algorithm]", "eap-ig");
    await page.fill("[data-testid=threshold]", "0.001");
    await page.click("[data-testid=run]");
    t.match(await until(page, "status", /kept \d+ of 106 edges/), /kept [1-9]\d* of/, "a circuit with edges");
    const dir = join(tmp, "browser-tracr");
    mkdirSync(dir);
    const run = save(dir, await download(page, "export-manifest"));
    t.same(JSON.parse(readFileSync(run, "utf8")).model.builtin, "tracr-reverse", "the model is named, not a file");
    const a = await cli(["verify", run, "--quiet"]);
    t.equal(a.code, 0, `the run verifies: ${a.stdout}${a.stderr}`);
    // The slider cuts the same scores at τ = 0.01: its manifest is that of an eap run at 0.01.
    await page.$eval("[data-testid=threshold-slider]", (el) => { el.value = "-2"; el.dispatchEvent(new Event("input", { bubbles: true })); });
    await until(page, "status", /at τ=0\.01 \(scores reused/);
    const recut = await download(page, "export-manifest");
    const m = JSON.parse(recut.bytes.toString("utf8"));
    t.equal(m.options.threshold, 0.01, "the re-cut's threshold");
    t.not(m.results.circuit_sha256, JSON.parse(readFileSync(run, "utf8")).results.circuit_sha256, "another circuit than the run's");
    const b = await cli(["verify", save(dir, recut), "--quiet"]);
    t.equal(b.code, 0, `the re-cut verifies as a run at τ=0.01: ${b.stdout}${b.stderr}`);
    // The trained induction model, fetched by URL from the server: verify finds its files in the package's models/ by digest.
    await page.selectOption("[data-testid=builtin-model]", "induction-2l");
    await until(page, "data-info", /ground truth/);
    await page.selectOption("[data-testid=algorithm]", "acdc");
    await page.fill("[data-testid=threshold]", "0.01");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of \d+ edges/);
    const induction = await download(page, "export-manifest");
    const im = JSON.parse(induction.bytes.toString("utf8"));
    t.match(im.model.weights.url, /\/models\/induction-2l\.safetensors$/, "the weights recorded by their URL");
    t.same(im.data, { ...im.data, source: "task", task: "induction" }, "the data: the built-in induction task");
    const c = await cli(["verify", save(dir, induction), "--quiet"]);
    t.equal(c.code, 0, `the induction run verifies: ${c.stdout}${c.stderr}`);
    t.match(c.stdout, /model weights found by sha256/, "its weights found by digest");
    // Another model loaded: the earlier circuits' inputs are gone from the engine, and the page says so.
    await page.selectOption("[data-testid=circuit-select]", { index: 0 });
    await page.selectOption("[data-testid=builtin-model]", "tracr-proportion");
    await until(page, "data-info", /ground truth/);
    await page.selectOption("[data-testid=circuit-select]", { index: 0 });
    await page.click("[data-testid=export-manifest]");
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.match(await text(page, "error"), /no longer holds the model and data this circuit ran on/, "a stale circuit: says why there is no manifest");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  // A small random model with the vocabulary of test/fixtures/tokenizers' tok512, and a task file naming that tokenizer.
  const taskDir = join(tmp, "task");
  mkdirSync(taskDir);
  const model = writeRandomModel({ name: "tok512-model", nLayers: 2, dModel: 32, nHeads: 4, dMlp: 64, dVocab: 512, nCtx: 32, dir: taskDir });
  copyFileSync(join(root, "test", "fixtures", "tokenizers", "tok512-legacy.json"), join(taskDir, "tokenizer.json"));
  const cat = "Once upon a time there was a cat. The cat", dog = "Once upon a time there was a dog. The dog";
  const taskFile = join(taskDir, "pets.task.json");
  writeFileSync(taskFile, JSON.stringify({
    name: "pets", tokenizer: "tokenizer.json", clean: [cat, dog], corrupted: [dog, cat],
    metric: "logit-diff", correct: [" c", " d"], incorrect: [" d", " c"], positions: { marker: "The" },
  }, null, 2));

  await t.test("a task file acdc run --task accepts: the same circuit file in the page, and its manifest verifies", async (t) => {
    // Run from the task file's folder so the CLI labels the circuit with the file's name, as the page does.
    const r = await cli(["run", "--task", "pets.task.json", "--model", model.weights, "--threshold", "0.02", "--out", "cli.json", "--quiet"], { cwd: taskDir });
    t.equal(r.code, 0, r.stderr);
    const want = readFileSync(join(taskDir, "cli.json"), "utf8");
    t.match(want, /"task": "pets\.task\.json"/, "the CLI labels its circuit with the task file");
    const cliManifest = parseManifest(readFileSync(join(taskDir, "cli.manifest.json"), "utf8"));

    const page = await open();
    await page.setInputFiles("[data-testid=model-file]", [model.weights, model.config]);
    await until(page, "model-info", /vocab 512/);
    await page.setInputFiles("[data-testid=task-file]", [taskFile, join(taskDir, "tokenizer.json")]);
    const info = await until(page, "data-info", /pets\.task\.json: 2 prompts/);
    t.match(info, /metrics logit-diff, kl/, "the task's metric first, then kl, as acdc run --task offers them");
    t.equal(await page.inputValue("[data-testid=metric]"), "logit-diff", "the task's metric chosen");
    await page.fill("[data-testid=threshold]", "0.02");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of \d+ edges/);
    const got = await download(page, "export-json");
    t.equal(noTiming(got.bytes.toString("utf8")), noTiming(want), "the circuit file = acdc run --task's, byte for byte apart from search_ms");

    const dir = join(tmp, "browser-task");
    mkdirSync(dir);
    save(dir, got);
    const file = await download(page, "export-manifest");
    const manifestPath = save(dir, file);
    const m = checkRunManifest(parseManifest(file.bytes.toString("utf8")));
    t.equal(m.data.source, "task-file");
    t.same(m.data.tokens, cliManifest.data.tokens, "the same tokens as the CLI's");
    t.same(m.data.tokenizer, { spec: "tokenizer.json", path: "tokenizer.json", bytes: cliManifest.data.tokenizer.bytes, sha256: cliManifest.data.tokenizer.sha256 }, "the tokenizer picked beside it, by size and digest");
    t.same(sameRun(m), sameRun(cliManifest), "seals (task file, tokenizer and tokens included), results and trace equal the CLI's");
    const ok = await cli(["verify", manifestPath, "--model", model.weights, "--config", model.config, "--task", taskFile, "--quiet"]);
    t.equal(ok.code, 0, `acdc verify accepts it: ${ok.stdout}${ok.stderr}`);
    t.match(ok.stdout, /the task file, tokenized again/, "having tokenized the task file again");
    // The same manifest against an edited task file: the tokens differ, and verify says so.
    const edited = join(tmp, "pets-edited.task.json");
    writeFileSync(edited, JSON.stringify({ ...JSON.parse(readFileSync(taskFile, "utf8")), correct: [" d", " c"], incorrect: [" c", " d"] }));
    copyFileSync(join(taskDir, "tokenizer.json"), join(tmp, "tokenizer.json"));
    const bad = await cli(["verify", manifestPath, "--model", model.weights, "--config", model.config, "--task", edited, "--quiet"]);
    t.equal(bad.code, 1, "an edited task file: verify fails");
    t.match(bad.stdout + bad.stderr, /task file differs/, "naming the task file");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("bad task files: the loader's message in the page, the CLI's own", async (t) => {
    const page = await open();
    await page.setInputFiles("[data-testid=model-file]", [model.weights, model.config]);
    await until(page, "model-info", /vocab 512/);
    const cases = [
      ["typo.task.json", { tokenizer: "tokenizer.json", clean: [cat], corupted: [dog] }, "a misspelt field"],
      ["lengths.task.json", { tokenizer: "tokenizer.json", clean: [cat], corrupted: ["Once upon a time"] }, "prompts of different lengths (needs the tokenizer)"],
      ["answer.task.json", { tokenizer: "tokenizer.json", clean: [cat], corrupted: [dog], metric: "logit-diff", correct: " c", incorrect: " c" }, "the same answer twice (needs the model)"],
      ["notjson.task.json", "{ \"clean\": [", "not JSON"],
    ];
    for (const [name, body, what] of cases) {
      writeFileSync(join(taskDir, name), typeof body === "string" ? body : JSON.stringify(body));
      const r = await cli(["run", "--task", name, "--model", model.weights, "--threshold", "0.02", "--out", "never.json", "--quiet"], { cwd: taskDir });
      t.equal(r.code, 2, `${what}: the CLI refuses it`);
      const cliMessage = r.stderr.split("\n")[0].replace(/^acdc run: /, "");
      await page.setInputFiles("[data-testid=task-file]", [join(taskDir, name), join(taskDir, "tokenizer.json")]);
      await page.waitForSelector("[data-testid=error]:not([hidden])");
      t.equal(await text(page, "error"), `error: ${cliMessage}`, `${what}: the page shows the CLI's message (${cliMessage})`);
      t.match(await text(page, "data-info"), new RegExp(`^${name.replace(/\./g, "\\.")}: not usable$`), "and the data is marked unusable");
      await page.click("[data-testid=run]");
      await page.waitForFunction(() => /choose the data first/.test(document.querySelector("[data-testid=error]").textContent));
    }
    t.same(page.errors, [], "no uncaught page errors");
    await page.context().close();
  });
}

if (chromiumPath) await main();
