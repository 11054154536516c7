// The circuit explorer (explorer/, built into dist/explorer/ and served by
// `acdc explore`) driven in real Chromium through its controls: a fixture
// model and data given through the file inputs give the CLI's circuit JSON
// byte for byte (search_ms aside), and its DOT; an HF folder through the
// folder picker; a CLI circuit opened shows the same edges and exports the
// same file; diff and side by side against set arithmetic on the JSON
// files; the threshold slider over a sweep against `acdc sweep`; the tracr
// ground truth; SVG and PNG exports; bad files show the loader's message;
// cancel ends the worker; frame times with 2,000 edges drawn; keyboard use;
// offline after one visit. Skips with one line without Chromium (fails
// under CI).
import t from "tap";
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromiumOrSkip } from "../helpers/components.mjs";
import { cli, noTiming, startExplorer } from "../helpers/explorer-page.mjs";
import { fixtures, root } from "../helpers/fixtures.mjs";
import { writeRandomModel } from "../helpers/random-model.mjs";
import { startExploreServer } from "../../dist/node/commands/explore.js";
import { buildGraph, circuitFileText, loadModel } from "../../dist/index.js";
import { bytesSource } from "../../dist/model/formats/tensor.js";
import { gpt2SmallConfig } from "../../dist/tasks/paper-models.js";
import { mulberry32 } from "../../dist/random.js";

const chromiumPath = chromiumOrSkip(t, "the explorer tests");

const edgeSet = (j) => new Set(j.edges.map((e) => `${e.parent} -> ${e.child}`));

async function main() {
  const tmp = mkdtempSync(join(tmpdir(), "acdc-explorer-"));
  const F = (f) => join(fixtures, f);
  const tiny = { weights: F("tiny-ln-mlp.safetensors"), config: F("tiny-ln-mlp.config.json"), data: F("tiny-ln-mlp.data.json") };
  const cliOut = join(tmp, "cli.json"), cliDot = join(tmp, "cli.dot"), cliOut05 = join(tmp, "cli-05.json");
  const runs = await Promise.all([
    cli(["run", "--model", tiny.weights, "--data", tiny.data, "--threshold", "0.020523", "--out", cliOut, "--dot", cliDot, "--quiet"]),
    cli(["run", "--model", tiny.weights, "--data", tiny.data, "--threshold", "0.05", "--out", cliOut05, "--quiet"]),
    cli(["sweep", "--task", "tracr-reverse", "--thresholds=-5:-1:5", "--out-dir", tmp, "--quiet"]),
  ]);
  for (const r of runs) if (r.code !== 0) throw new Error(`CLI failed: ${r.stderr}`);

  const { browser, open, text, until, download, drop } = await startExplorer(t, chromiumPath);
  async function loadTiny(page) {
    await page.setInputFiles("[data-testid=model-file]", [tiny.weights, tiny.config]);
    await until(page, "model-info", /graph of 62 nodes, 134 edges/);
    await page.setInputFiles("[data-testid=data-file]", tiny.data);
    await until(page, "data-info", /6 prompts × 8 tokens/);
  }

  await t.test("fixture model and data through the file inputs: the CLI's circuit JSON and DOT", async (t) => {
    const page = await open();
    await loadTiny(page);
    await page.fill("[data-testid=threshold]", "0.020523");
    await page.click("[data-testid=run]");
    const status = await until(page, "status", /kept \d+ of \d+ edges/);
    const want = readFileSync(cliOut, "utf8"), wantJson = JSON.parse(want);
    t.match(status, `kept ${wantJson.num_kept} of ${wantJson.total_edges} edges (${wantJson.num_tested} tested)`, "status names kept of total");
    const json = await download(page, "export-json");
    t.equal(noTiming(json.bytes.toString("utf8")), noTiming(want), "downloaded circuit JSON = the CLI's, byte for byte apart from search_ms");
    t.match(json.name, /^tiny-ln-mlp-acdc-0\.020523\.json$/, "file name says model, algorithm and threshold");
    const dot = await download(page, "export-dot");
    t.equal(dot.bytes.toString("utf8"), readFileSync(cliDot, "utf8"), "DOT = the CLI's --dot");
    t.equal(await page.$eval("[data-testid=views]", (e) => e.dataset.edges), String(wantJson.num_kept), "every kept edge drawn");
    // Hover the middle of a drawn curve: its labels, its score as in the JSON, and when it was tried.
    const at = await page.evaluate(() => {
      const v = window.explorer.views[0], c = window.explorer.camera, r = v.canvas.getBoundingClientRect(), g = window.explorer.state.circuits[0].graph;
      const e = v.scene.edges.find((x) => x.bend === 0 && x.members.length === 1);
      const [id] = e.members;
      return { x: r.left + ((e.x1 + e.x2) / 2) * c.s + c.tx, y: r.top + ((e.y1 + e.y2) / 2) * c.s + c.ty, parent: g.nodes[g.edges[id].parent].label, child: g.nodes[g.edges[id].child].label };
    });
    await page.mouse.move(at.x, at.y);
    await page.waitForSelector("[data-testid=tooltip]:not([hidden])");
    const tip = await text(page, "tooltip");
    const edge = wantJson.edges.find((e) => e.parent === at.parent && e.child === at.child);
    t.ok(edge, `hovered ${at.parent} → ${at.child}, an edge of the circuit`);
    t.match(tip, `${at.parent} → ${at.child}`, "the tooltip names it");
    t.match(tip, `metric with the edge removed ${+edge.score.toPrecision(4)}`, "its score, as in the JSON");
    t.match(tip, /tried #\d+ of 128 at [\d.]+ s, kept/, "when it was tried, and the decision");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("every registered algorithm is offered; EAP-IG and its slider re-cut equal the CLI's", async (t) => {
    const { ALGORITHMS } = await import("../../dist/index.js");
    const page = await open();
    t.same(await page.$$eval("[data-testid=algorithm] option", (os) => os.map((o) => o.value)), ALGORITHMS.map((a) => a.key), "the menu is the registry");
    await loadTiny(page);
    await page.selectOption("[data-testid=algorithm]", "eap-ig");
    await page.fill("[data-testid=threshold]", "0.001");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of 134 edges/);
    const ref = async (threshold) => {
      const out = join(tmp, `eap-ig-${threshold}.json`);
      const r = await cli(["run", "--model", tiny.weights, "--data", tiny.data, "--algorithm", "eap-ig", "--threshold", threshold, "--out", out, "--quiet"]);
      t.equal(r.code, 0, r.stderr);
      return noTiming(readFileSync(out, "utf8"));
    };
    t.equal(noTiming((await download(page, "export-json")).bytes.toString("utf8")), await ref("0.001"), "EAP-IG at τ=0.001: the CLI's JSON");
    // The slider cuts the same scores again (no new gradients) and measures the circuit in the worker.
    await page.$eval("[data-testid=threshold-slider]", (el) => { el.value = "-2"; el.dispatchEvent(new Event("input", { bubbles: true })); });
    await until(page, "status", /at τ=0\.01 \(scores reused/);
    t.equal(await page.inputValue("[data-testid=threshold]"), "0.01");
    t.equal(noTiming((await download(page, "export-json")).bytes.toString("utf8")), await ref("0.01"), "re-cut at τ=0.01: the CLI's JSON for τ=0.01");
    // Hybrid: EAP-IG's top 60 candidates, then ACDC; the progress switches units between the two phases.
    await page.selectOption("[data-testid=algorithm]", "hybrid");
    await page.fill("[data-testid=top-k]", "60");
    await page.fill("[data-testid=threshold]", "0.020523");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of 134 edges/);
    const out = join(tmp, "hybrid.json");
    const r = await cli(["run", "--model", tiny.weights, "--data", tiny.data, "--algorithm", "hybrid", "--top-k", "60", "--threshold", "0.020523", "--out", out, "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    t.equal(noTiming((await download(page, "export-json")).bytes.toString("utf8")), noTiming(readFileSync(out, "utf8")), "hybrid: the CLI's JSON");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("files dropped on the page are sorted: model and config, data, a circuit", async (t) => {
    const page = await open();
    await drop(page, [tiny.weights, tiny.config, tiny.data]);
    await until(page, "data-info", /tiny-ln-mlp\.data\.json: 6 prompts/);
    t.match(await text(page, "model-info"), /^tiny-ln-mlp: 2 layers/, "model and config recognised");
    await drop(page, [cliOut]);
    await until(page, "status", /Opened cli\.json/);
    t.pass("a circuit JSON opens");
    await drop(page, [join(root, "README.md")]);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), "error: not a model, data, task or circuit file: README.md", "anything else: says so");
    await page.context().close();
  });

  await t.test("an HF GPT-2 folder through the folder picker gives the CLI's circuit", async (t) => {
    const folder = join(root, "test", "fixtures", "hf", "gpt2");
    const data = join(tmp, "gpt2.data.json");
    const ids = JSON.parse(readFileSync(join(folder, "expected.json"), "utf8")).ids;
    writeFileSync(data, JSON.stringify({ clean: ids, corrupted: [ids[1], ids[0]], positions: ids.map((r) => r.length - 1) }));
    const out = join(tmp, "gpt2-cli.json");
    const r = await cli(["run", "--model", folder, "--data", data, "--threshold", "0.01", "--out", out, "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    const page = await open();
    await page.setInputFiles("[data-testid=model-folder]", folder);
    await until(page, "model-info", /^gpt2: 2 layers/);
    await page.setInputFiles("[data-testid=data-file]", data);
    await until(page, "data-info", /2 prompts/);
    await page.fill("[data-testid=threshold]", "0.01");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of/);
    const json = await download(page, "export-json");
    t.equal(noTiming(json.bytes.toString("utf8")), noTiming(readFileSync(out, "utf8")), "folder model: same JSON as acdc run --model FOLDER");
    await page.context().close();
  });

  await t.test("a CLI circuit opened shows its edges and exports the same file; diff and side by side", async (t) => {
    const page = await open();
    const want = readFileSync(cliOut, "utf8"), A = JSON.parse(want), B = JSON.parse(readFileSync(cliOut05, "utf8"));
    await page.setInputFiles("[data-testid=circuit-file]", [cliOut]);
    await until(page, "status", /Opened cli\.json/);
    t.match(await text(page, "status"), `kept ${A.num_kept} of ${A.total_edges} edges`);
    await page.click("[data-testid=edge-list] summary");
    await page.waitForFunction((n) => document.querySelectorAll("[data-testid=edge-table] tbody tr").length === n, A.edges.length);
    const rows = await page.$$eval("[data-testid=edge-table] tbody tr", (trs) => trs.map((tr) => `${tr.cells[0].textContent} -> ${tr.cells[1].textContent}`));
    t.same(new Set(rows), edgeSet(A), "the edge table lists exactly the file's edges");
    t.equal(rows.length, A.edges.length, "each once");
    const json = await download(page, "export-json");
    t.equal(json.bytes.toString("utf8"), want, "an opened circuit exports byte-identical JSON (search_ms included)");

    // Diff against a second circuit: counts from set arithmetic on the two files.
    await page.setInputFiles("[data-testid=circuit-file]", [cliOut05]);
    await until(page, "status", /Opened cli-05\.json/);
    const a = edgeSet(A), b = edgeSet(B);
    const both = [...b].filter((e) => a.has(e)).length;
    await page.selectOption("[data-testid=compare]", { label: "cli.json" });
    const info = await text(page, "compare-info");
    t.equal(info, `in both ${both} · only in cli-05.json: ${b.size - both} · only in cli.json: ${a.size - both}`, "diff counts");
    const counts = JSON.parse(await page.$eval("[data-testid=views]", (e) => e.dataset.counts));
    t.same(counts, { found: both, ...(b.size - both ? { extra: b.size - both } : {}), ...(a.size - both ? { missed: a.size - both } : {}) }, "drawn categories");
    await page.check("input[name=compare-mode][value=side]");
    t.ok(await page.isVisible("[data-testid=canvas-b]"), "second view shown side by side");
    t.match(await text(page, "compare-info"), `cli-05.json: ${b.size} edges · cli.json: ${a.size} edges · ${both} in both`);
    // Score filter: edges with |score| below the value leave the drawing.
    await page.check("input[name=compare-mode][value=diff]");
    await page.selectOption("[data-testid=compare]", "");
    const cut = [...B.edges.map((e) => Math.abs(e.score))].sort((x, y) => x - y)[Math.floor(B.edges.length / 2)];
    await page.fill("[data-testid=score-filter]", String(cut));
    t.equal(await page.$eval("[data-testid=views]", (e) => e.dataset.edges), String(B.edges.filter((e) => e.score === null || Math.abs(e.score) >= cut).length), "score filter");
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("tracr: ground truth overlay, and the threshold slider over a sweep matches acdc sweep", async (t) => {
    const page = await open("#model=tracr-reverse");
    await until(page, "data-info", /ground truth of 15 edges/);
    await page.fill("[data-testid=threshold]", "0.001");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept 15 of 106 edges/);
    await page.selectOption("[data-testid=compare]", "truth");
    t.equal(await text(page, "compare-info"), "found 15 of 15 ground-truth edges, 0 extra, 0 missed", "tracr-reverse: the paper's circuit");
    const svg = (await download(page, "export-svg")).bytes.toString("utf8");
    t.equal((svg.match(/<path /g) ?? []).length, 15, "SVG: one curve per edge");
    t.match(svg, /found \(in the ground truth\)/, "SVG legend names the overlay");
    const png = (await download(page, "export-png")).bytes;
    t.same([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
    t.ok(png.readUInt32BE(16) > 200 && png.readUInt32BE(20) > 200, `PNG ${png.readUInt32BE(16)}×${png.readUInt32BE(20)}`);

    // Sweep -5:-1:5 in the page; each slider stop shows the circuit acdc sweep kept at that threshold.
    const ref = JSON.parse(readFileSync(join(tmp, "tracr-reverse-sweep.json"), "utf8"));
    await page.fill("[data-testid=sweep-range]", "-5:-1:5");
    await page.click("[data-testid=sweep]");
    const done = await until(page, "status", /Sweep done/);
    t.match(done, `ROC AUC edges ${+ref.edgeAuc.toFixed(3)}, heads/MLPs ${+ref.nodeAuc.toFixed(3)}`, "AUCs as acdc sweep's");
    for (const run of ref.runs) {
      await page.$eval("[data-testid=threshold-slider]", (el, x) => { el.value = String(x); el.dispatchEvent(new Event("input", { bubbles: true })); }, Math.log10(run.value));
      const s = await text(page, "status");
      t.match(s, `kept ${run.numKept} of 106 edges`, `slider at τ=${run.value.toExponential(2)}: ${run.numKept} kept, as acdc sweep`);
      // Within an ulp, not equal: acdc sweep's logspace ran in Node, the page's in Chromium, and their V8s
      // round 10 ** -5 differently (Node 20: 0.000009999999999999999, Chromium 156: 0.00001).
      const shown = Number(await page.inputValue("[data-testid=threshold]"));
      t.ok(Math.abs(shown - run.value) <= 2 * Number.EPSILON * run.value, `the threshold field shows the swept value (${shown})`);
    }
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("tracr-proportion and the induction model with their ground truths", async (t) => {
    const page = await open("#model=tracr-proportion&run&threshold=0.001&compare=truth");
    await until(page, "status", /kept \d+ of/);
    await page.selectOption("[data-testid=compare]", "truth");
    t.equal(await text(page, "compare-info"), "found 10 of 10 ground-truth edges, 0 extra, 0 missed", "tracr-proportion");
    await page.selectOption("[data-testid=builtin-model]", "induction-2l");
    await until(page, "data-info", /20 prompts × 21 tokens .* ground truth of \d+ edges/);
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("bad files show the loader's message, never a blank page", async (t) => {
    const page = await open();
    // A download cut short: the fixture's first 3,000 bytes.
    const junk = join(tmp, "junk.safetensors");
    writeFileSync(junk, readFileSync(tiny.weights).subarray(0, 3000));
    let expected;
    try { await loadModel(bytesSource(new Uint8Array(readFileSync(junk)), "junk.safetensors"), JSON.parse(readFileSync(tiny.config, "utf8"))); } catch (e) { expected = e.message; }
    t.ok(expected, `the loader refuses it in Node: ${expected}`);
    await page.setInputFiles("[data-testid=model-file]", [junk, tiny.config]);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), `error: ${expected}`, "the same message in the page");
    t.match(await text(page, "model-info"), /No model loaded/);

    await page.setInputFiles("[data-testid=model-file]", [tiny.weights]);
    await page.waitForFunction(() => /no config for tiny-ln-mlp\.safetensors/.test(document.querySelector("[data-testid=error]").textContent));
    t.pass("weights without a config: says which config it looked for");

    await loadTiny(page);
    const badData = join(tmp, "bad.data.json");
    writeFileSync(badData, JSON.stringify({ clean: [[1, 2]], positions: [1], extra: 1 }));
    await page.setInputFiles("[data-testid=data-file]", badData);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.equal(await text(page, "error"), 'error: data file bad.data.json: unknown field "extra" (expected clean, corrupted, positions, correct, incorrect)', "data file: the CLI's message");
    const outOfVocab = join(tmp, "vocab.data.json");
    writeFileSync(outOfVocab, JSON.stringify({ clean: [[1, 2, 99]], corrupted: [[1, 2, 3]], positions: [2] }));
    await page.setInputFiles("[data-testid=data-file]", outOfVocab);
    await until(page, "data-info", /1 prompts/);
    await page.click("[data-testid=run]");
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.match(await text(page, "error"), /99/, "a token outside the vocabulary: the patcher's message names it");
    const badCircuit = join(tmp, "bad-circuit.json");
    writeFileSync(badCircuit, JSON.stringify({ ...JSON.parse(readFileSync(cliOut, "utf8")), total_edges: 7 }));
    await page.setInputFiles("[data-testid=circuit-file]", badCircuit);
    await page.waitForFunction(() => /circuit JSON: "total_edges" is 7/.test(document.querySelector("[data-testid=error]").textContent));
    t.pass("bad circuit JSON: names the field");
    const notJson = join(tmp, "not.json");
    writeFileSync(notJson, "{ nope");
    await page.setInputFiles("[data-testid=circuit-file]", notJson);
    await page.waitForFunction(() => /circuit file not\.json is not valid JSON/.test(document.querySelector("[data-testid=error]").textContent));
    t.pass("not JSON: says so");
    t.same(page.errors, [], "no uncaught page errors");
    await page.context().close();
  });

  await t.test("a 4-layer 256-wide model: the circuit grows on screen, and cancel ends the worker", async (t) => {
    const m = writeRandomModel({ name: "random-4l", seed: 3 });
    const page = await open();
    await page.setInputFiles("[data-testid=model-file]", [m.weights, m.config]);
    await until(page, "model-info", /1615 edges/);
    await page.setInputFiles("[data-testid=data-file]", m.data);
    await until(page, "data-info", /8 prompts/);
    await page.fill("[data-testid=threshold]", "0.0001");
    await page.click("[data-testid=run]");
    // Live: edges drawn before the run ends, with rate and ETA.
    await page.waitForFunction(() => Number(document.querySelector("[data-testid=views]").dataset.edges) > 0 && /^acdc: /.test(document.querySelector("[data-testid=status]").textContent), null, { timeout: 120_000 });
    t.match(await text(page, "status"), /^acdc: \d+ of 1615 edges · tested \d+, skipped \d+ · at blocks\./, "status: counts and the node");
    t.match(await text(page, "rate"), /tested edges\/s · ETA ~.* \(at most .*\)/, "rate and an ETA with its bound");
    const engine = page.workers().find((w) => /\/worker\.js$/.test(w.url()));
    t.ok(engine, "the engine runs in a worker");
    const closed = new Promise((r) => engine.on("close", r));
    await page.click("[data-testid=cancel]");
    t.match(await text(page, "status"), /^Cancelled after \d+ of 1615 edges tested: the engine worker was stopped\./);
    await Promise.race([closed, new Promise((_, rej) => setTimeout(() => rej(new Error("worker still alive 5 s after cancel")), 5000))]);
    t.pass("the worker is gone");
    // A new worker reloads the model; a run works again.
    await until(page, "rate", /has the model loaded again/);
    await page.fill("[data-testid=threshold]", "1");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of 1615 edges/);
    t.same(page.errors, [], "no page errors");
    await page.context().close();
  });

  await t.test("2,000 edges of a GPT-2-small graph: frame times while panning and zooming", async (t) => {
    const cfg = gpt2SmallConfig(), g = buildGraph(cfg), rand = mulberry32(7);
    const counted = g.edges.filter((e) => e.type !== "placeholder"), pick = new Set();
    while (pick.size < 2000) pick.add(counted[Math.floor(rand() * counted.length)].id);
    const scores = new Float64Array(g.edges.length).fill(NaN);
    for (const id of pick) scores[id] = rand();
    const present = Uint8Array.from(g.edges, (e) => (e.type === "placeholder" || pick.has(e.id) ? 1 : 0));
    const c = { algorithm: "acdc", graph: g, present, edges: g.edges.filter((e) => pick.has(e.id)), scores, scoreKind: "metric-when-removed", baseline: 0, metric: 1, trace: [], knob: { name: "threshold", value: 0.01 }, stats: { tested: 2000, ms: 0 } };
    const file = join(tmp, "gpt2-2000.json");
    writeFileSync(file, circuitFileText(c, { ablation: "corrupted", metric: "kl", model: { name: "gpt2-small-random-2000", ...cfg } }));
    const page = await open();
    await page.setInputFiles("[data-testid=circuit-file]", file);
    await until(page, "status", /kept 2000 of 32923 edges/);
    for (const [grouping, nodes] of [["none", "compact"], ["none", "all"], ["heads", "compact"]]) {
      await page.selectOption("[data-testid=grouping]", grouping);
      await page.selectOption("[data-testid=nodes-mode]", nodes);
      const r = await page.evaluate(async () => {
        const v = window.explorer.views[0], cam = window.explorer.camera;
        const q = (a, p) => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
        v.fit();
        // Paint cost: each frame painted and its raster forced (browsers defer it), over pans and zooms.
        const paint = [];
        for (let i = 0; i < 40; i++) { const t0 = performance.now(); cam.pan(5, 2); v.paint(); v.flush(); paint.push(performance.now() - t0); }
        for (let i = 0; i < 40; i++) { const t0 = performance.now(); cam.zoomAt(i < 20 ? 1.06 : 1 / 1.06, 500, 350); v.paint(); v.flush(); paint.push(performance.now() - t0); }
        // Frame pacing: the camera moves every animation frame for two seconds, with the scene and,
        // for the machine's own pace, without it.
        const pace = () => new Promise((res) => { const out = []; let last = 0, n = 0; const step = (ts) => { if (last) out.push(ts - last); last = ts; cam.pan(2, 1); if (++n < 120) requestAnimationFrame(step); else res(out.slice(2)); }; requestAnimationFrame(step); });
        const gaps = await pace();
        const scene = v.scene;
        v.scene = null;
        const empty = await pace();
        v.scene = scene;
        return { drawn: scene.edges.length, paintMin: q(paint, 0), paintMedian: q(paint, 0.5), paintP95: q(paint, 0.95), frameMedian: q(gaps, 0.5), frameP95: q(gaps, 0.95), emptyMedian: q(empty, 0.5) };
      });
      t.comment(`grouping ${grouping}, nodes ${nodes}: ${r.drawn} curves; paint+raster min ${r.paintMin.toFixed(1)} ms, median ${r.paintMedian.toFixed(1)} ms, p95 ${r.paintP95.toFixed(1)} ms; ` +
        `frame interval median ${r.frameMedian.toFixed(1)} ms, p95 ${r.frameP95.toFixed(1)} ms (empty view: median ${r.emptyMedian.toFixed(1)} ms)`);
      if (grouping === "none") t.equal(r.drawn, 2000, "2,000 curves drawn");
      // A frame at 60 fps has 16.7 ms. What a frame costs is the fast end of the paint times; the slow end
      // is other processes taking the core (these tests run on shared 2-core machines, rastering in
      // software, where a loaded moment doubles or triples every paint). So: a paint must fit a 60 fps
      // frame when it gets the core, and the camera must keep moving at 20 frames a second or better
      // however loaded the machine (or at the pace it keeps with an empty view, if that is slower).
      t.ok(r.paintMin < 16.7, `a frame's paint fits 16.7 ms (min ${r.paintMin.toFixed(1)} ms)`);
      t.ok(r.frameMedian <= Math.max(50.1, r.emptyMedian + 17), `median frame interval ${r.frameMedian.toFixed(1)} ms: 20 fps or better (empty view ${r.emptyMedian.toFixed(1)} ms)`);
    }
    await page.context().close();
  });

  await t.test("keyboard: controls reachable, the view pans, zooms and steps through nodes", async (t) => {
    const page = await open();
    await page.selectOption("[data-testid=builtin-model]", "tracr-reverse");
    await until(page, "data-info", /ground truth/);
    await page.focus("[data-testid=run]");
    await page.keyboard.press("Enter");
    await until(page, "status", /kept \d+ of 106 edges/);
    await page.focus("[data-testid=canvas]");
    const s0 = await page.evaluate(() => window.explorer.camera.s);
    await page.keyboard.press("+");
    t.ok(await page.evaluate(() => window.explorer.camera.s) > s0, "+ zooms in");
    const tx0 = await page.evaluate(() => window.explorer.camera.tx);
    await page.keyboard.press("ArrowLeft");
    t.not(await page.evaluate(() => window.explorer.camera.tx), tx0, "arrows pan");
    await page.keyboard.press("n");
    t.match(await text(page, "node-panel"), /Incoming: \d+.*Outgoing: \d+/s, "n selects a node and lists its edges");
    t.match(await page.getAttribute("[data-testid=canvas]", "aria-label"), /Circuit graph: 15 edges drawn/, "the canvas describes itself");
    for (const id of ["model-file", "data-file", "task-file", "threshold", "run", "export-json"]) {
      const labelled = await page.$eval(`[data-testid=${id}]`, (el) => Boolean(el.labels?.length || el.getAttribute("aria-label") || el.textContent.trim()));
      t.ok(labelled, `${id} has a label`);
    }
    await page.context().close();
  });

  await t.test("stories260K: typed prompts and a task file through the model's tokenizer", { skip: !existsSync(join(root, "..", "shared", "models", "stories260K", "tok512.bin")) && "no ../shared/models/stories260K" }, async (t) => {
    // A llama2.c checkpoint through the file picker: its header is its config.
    const picked = await open();
    await picked.setInputFiles("[data-testid=model-file]", join(root, "..", "shared", "models", "stories260K", "stories260K.bin"));
    t.match(await until(picked, "model-info", /graph of/), /^stories260K: 5 layers × 8 heads \(4 kv\), d_model 64, vocab 512, MLP 172 · graph of 292 nodes, 2581 edges$/, "a llama2.c .bin by the picker");
    await picked.context().close();
    const page = await open("#model=stories260K");
    await until(page, "data-info", /10 prompts × 42 tokens/);
    const clean = "Once upon a time there was a cat. The cat was happy. The cat";
    const corrupted = "Once upon a time there was a dog. The dog was happy. The dog";
    await page.selectOption("[data-testid=data-source]", "text");
    await page.fill("[data-testid=clean-text]", clean);
    await page.fill("[data-testid=corrupted-text]", corrupted);
    await page.click("[data-testid=use-text]");
    await until(page, "data-info", /typed prompts: 1 prompts/);
    await page.fill("[data-testid=threshold]", "0.05");
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of/);
    const got = (await download(page, "export-json")).bytes.toString("utf8");
    // The same prompts tokenized in Node, through the CLI.
    const { Llama2cBinTokenizer } = await import("../../dist/tokenizers/index.js");
    const { Llama2cTokenizer } = await import("../../dist/model/formats/index.js");
    const tok = new Llama2cBinTokenizer(Llama2cTokenizer.parse(new Uint8Array(readFileSync(join(root, "..", "shared", "models", "stories260K", "tok512.bin")))));
    const ids = [tok.encode(clean, { bos: true })], cor = [tok.encode(corrupted, { bos: true })];
    const data = join(tmp, "stories.data.json");
    writeFileSync(data, JSON.stringify({ clean: ids, corrupted: cor, positions: [ids[0].length - 1] }));
    const out = join(tmp, "stories-cli.json");
    const r = await cli(["run", "--model", join(root, "..", "shared", "models", "stories260K", "stories260K.bin"), "--data", data, "--threshold", "0.05", "--out", out, "--quiet"]);
    t.equal(r.code, 0, r.stderr);
    t.equal(noTiming(got), noTiming(readFileSync(out, "utf8")), "typed prompts = the same ids through the CLI");
    // A task file naming the model's own tokenizer (found by its name); the package reads BOS as off unless asked.
    const task = join(tmp, "cat.task.json");
    writeFileSync(task, JSON.stringify({ tokenizer: "../shared/models/stories260K/tok512.bin", bos: true, clean: [clean], corrupted: [corrupted], metric: "kl", positions: "last" }));
    await page.setInputFiles("[data-testid=task-file]", [task]);
    await until(page, "data-info", /cat\.task\.json: 1 prompts/);
    await page.click("[data-testid=run]");
    await until(page, "status", /kept \d+ of/);
    // A task file's circuit carries the file's name, as acdc run --task labels it.
    const labelled = noTiming((await download(page, "export-json")).bytes.toString("utf8"));
    t.equal(labelled.replace(/,\n "task": "cat\.task\.json"\n}\n$/, "\n}\n"), noTiming(readFileSync(out, "utf8")), "task file: the same circuit");
    const mismatched = join(tmp, "bad.task.json");
    writeFileSync(mismatched, JSON.stringify({ tokenizer: "tok512.bin", clean: [clean], corrupted: ["Once upon a time"], metric: "kl" }));
    await page.setInputFiles("[data-testid=task-file]", [mismatched]);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.match(await text(page, "error"), /^error: bad\.task\.json: clean prompt 0 ".*" → \[.*\] \(\d+ tokens\) but corrupted prompt 0 "Once upon a time" → \[.*\] \(\d+ tokens\); a prompt's clean and corrupted versions must have the same number of tokens$/, "different lengths: the prompt and its tokens, in the package's words");
    await page.context().close();
  });

  await t.test("opened from disk: says how to serve it", async (t) => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`file://${join(root, "dist", "explorer", "index.html")}`);
    await page.waitForSelector("[data-testid=error]:not([hidden])");
    t.match(await text(page, "error"), /must be served over http\(s\): run npx acdc explore/);
    await context.close();
  });

  await t.test("a plain static host (no headers): one thread, then isolated by the service worker", async (t) => {
    const { createServer } = await import("node:http");
    const dir = join(root, "dist", "explorer");
    const types = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".json": "application/json" };
    const plain = createServer((req, res) => {
      const p = new URL(req.url, "http://x").pathname, f = join(dir, p.endsWith("/") ? "index.html" : p);
      if (!f.startsWith(dir) || !existsSync(f)) { res.writeHead(404).end(); return; }
      res.writeHead(200, { "content-type": types[f.slice(f.lastIndexOf("."))] ?? "application/octet-stream" }).end(readFileSync(f));
    });
    await new Promise((r) => plain.listen(0, "127.0.0.1", r));
    t.teardown(() => plain.close());
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${plain.address().port}/`);
    await page.waitForSelector("body[data-ready]");
    t.equal(await page.evaluate(() => crossOriginIsolated), false, "first visit: not isolated");
    t.match(await text(page, "engine-info"), /1 thread .*not cross-origin isolated/, "says so, and runs on one thread");
    await page.selectOption("[data-testid=builtin-model]", "tracr-reverse");
    await until(page, "data-info", /ground truth/);
    await page.click("[data-testid=run]");
    await until(page, "status", /kept 15 of 106 edges/);
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await page.reload();
    await page.waitForSelector("body[data-ready]");
    t.equal(await page.evaluate(() => crossOriginIsolated), true, "after a reload under the service worker: isolated");
    t.ok(await page.$eval("[data-testid=threads] option[value='2']", (o) => !o.disabled), "threads offered");
    await context.close();
  });

  await t.test("offline once loaded (service worker)", async (t) => {
    const own = await startExploreServer({ port: 0 });
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
    const page = await context.newPage();
    await page.goto(own.url);
    await page.waitForSelector("body[data-ready]");
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 60_000 });
    await own.close();
    await page.reload();
    await page.waitForSelector("body[data-ready]", { timeout: 60_000 });
    await page.selectOption("[data-testid=builtin-model]", "tracr-reverse");
    await until(page, "data-info", /ground truth/);
    await page.click("[data-testid=run]");
    t.match(await until(page, "status", /kept \d+ of 106 edges/), /kept 15 of 106 edges/, "with the server gone, the page still runs ACDC");
    await context.close();
  });
}

if (chromiumPath) await main();
