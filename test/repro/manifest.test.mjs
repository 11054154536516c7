// Run manifests, unit level: the pure-TS SHA-256 against node:crypto, the
// float64-bits encoding, canonical and pretty JSON, the digests of a real
// run (trace, circuit, kernels, parameters) against independent
// recomputations, and every way a manifest can be malformed refused with a
// message naming the field.
import t from "tap";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { root, fixtures, readJson } from "../helpers/fixtures.mjs";
import {
  Sha256, sha256Hex, memorySha256, MemorySha256, f64Hex, hexF64, canonicalJson, formatJson, manifestText, kernelDigest, traceDigest, circuitDigest,
  paramsDigest, dataDigest, checkRunManifest, parseManifest, buildManifest, sealOf, PreparedRun, optionsSection, replayText, runtimeInfo,
} from "../../dist/repro/index.js";
import { loadModel, createEngine, makeConfig, Transformer } from "../../dist/index.js";
import { nodeParamsDigest } from "../../dist/node/manifest-files.js";
import { randomWeights } from "../helpers/random-model.mjs";
import { PACKAGE_VERSION } from "../../dist/version.js";

const nodeSha = (b) => createHash("sha256").update(b).digest("hex");

t.test("sha256 equals node:crypto for every length around the block edges, fed whole or in pieces", async (t) => {
  t.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "FIPS 180-2 example");
  t.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
  let bad = 0;
  for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65537]) {
    const b = new Uint8Array(randomBytes(n));
    const want = nodeSha(b);
    const h = new Sha256();
    for (let i = 0; i < n;) { const k = Math.min(n - i, 1 + ((i * 13) % 71)); h.update(b.subarray(i, i + k)); i += k; }
    if (sha256Hex(b) !== want || h.hex() !== want) bad++;
  }
  t.equal(bad, 0, "12 lengths agree");
  t.equal(sha256Hex("é✓"), nodeSha(Buffer.from("é✓", "utf8")), "strings hash as UTF-8");
  const shared = new Uint8Array(new SharedArrayBuffer(100)).fill(7);
  t.equal(sha256Hex(shared), nodeSha(Buffer.alloc(100, 7)), "shared memory hashes too");
});

t.test("memorySha256 (the rounds in wasm, in place) equals node:crypto at every length around the block edges and any offset", async (t) => {
  for (const threads of [1, 2]) {
    const e = await createEngine({ threads });
    try {
      const n = 70000, at = e.alloc(n + 64);
      const bytes = new Uint8Array(e.memory.buffer, at, n + 64);
      bytes.set(randomBytes(n + 64));
      let bad = [];
      for (const len of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65537]) for (const off of [0, 1, 3, 8, 61]) {
        const got = memorySha256(e, at + off, len), want = nodeSha(new Uint8Array(e.memory.buffer, at + off, len));
        if (got !== want) bad.push(`${len}@${off}`);
      }
      t.same(bad, [], `${threads} thread(s): 13 lengths × 5 offsets agree`);
      const mark = e.mark();
      memorySha256(e, at, 100);
      t.equal(e.mark(), mark, "the arena is left as it was");
    } finally {
      e.dispose();
    }
  }
});

t.test("MemorySha256 fed in pieces, from wasm memory and from other buffers, equals node:crypto", async (t) => {
  for (const threads of [1, 2]) {
    const e = await createEngine({ threads });
    try {
      const n = 3 << 20, at = e.alloc(n);
      new Uint8Array(e.memory.buffer, at, n).set(randomBytes(n));
      const bad = [];
      for (const len of [0, 63, 64, 65, 1000, n - 5]) for (const where of ["wasm", "js"]) {
        const want = nodeSha(new Uint8Array(e.memory.buffer, at, len));
        const own = where === "js" ? new Uint8Array(new Uint8Array(e.memory.buffer, at, len)) : null;
        const mark = e.mark(), h = new MemorySha256(e);
        // Pieces of 1 to 1.3 MiB, odd sizes included, so blocks straddle updates and the 1 MiB copies.
        for (let i = 0, k = 0; i < len; k++) {
          const m = Math.min(len - i, [1, 63, 200_001, 1_300_000, 7][k % 5]);
          h.update(own ? own.subarray(i, i + m) : new Uint8Array(e.memory.buffer, at + i, m));
          i += m;
        }
        if (h.hex() !== want || e.mark() !== mark) bad.push(`${len} from ${where}`);
      }
      t.same(bad, [], `${threads} thread(s): 6 lengths × 2 sources agree, the arena left as it was`);
    } finally {
      e.dispose();
    }
  }
});

t.test("float64 bits survive what JSON does not", async (t) => {
  for (const x of [0, -0, 1.5, -1e-300, 5e-324, Infinity, -Infinity, 0.1 + 0.2]) t.ok(Object.is(hexF64(f64Hex(x)), x), `${Object.is(x, -0) ? "-0" : x}`);
  t.ok(Number.isNaN(hexF64(f64Hex(NaN))), "NaN");
  t.equal(f64Hex(1), "3ff0000000000000", "big-endian IEEE bits");
});

t.test("canonical and pretty JSON", async (t) => {
  t.equal(canonicalJson({ b: [1, { d: 2, c: null }], a: "x", u: undefined }), '{"a":"x","b":[1,{"c":null,"d":2}]}');
  const v = { kind: "k", trace: [["a", "b", "kept", 0.5, "3fe0000000000000"]], nested: { list: [1, 2], objs: [{ x: 1 }] }, empty: [] };
  const text = formatJson(v);
  t.same(JSON.parse(text), v, "parses back to the same value");
  t.match(text, /\n  \["a","b","kept",0\.5,"3fe0000000000000"\]/, "one decision per line");
});

t.test("the package version is package.json's", async (t) => {
  t.equal(PACKAGE_VERSION, readJson(join(root, "package.json")).version);
});

t.test("a real run's manifest: every digest recomputed independently", async (t) => {
  const weights = new Uint8Array(readFileSync(join(fixtures, "tiny-ln-mlp.safetensors")));
  const configBytes = readFileSync(join(fixtures, "tiny-ln-mlp.config.json"));
  const data = readJson(join(fixtures, "tiny-ln-mlp.data.json"));
  const engine = await createEngine();
  const model = await loadModel(weights, JSON.parse(configBytes), { engine });
  const spec = { algorithm: "acdc", threshold: 0.05, metric: "kl", ablation: "corrupted" };
  const run = new PreparedRun(model, "tiny-ln-mlp", data, spec);
  const { circuit, json } = run.search();
  const m = buildManifest({
    model: { source: "file", format: "safetensors", name: "tiny-ln-mlp", weights: { path: "w", bytes: weights.length, sha256: nodeSha(weights) }, config: { bytes: configBytes.length, sha256: nodeSha(configBytes) }, params_sha256: paramsDigest(model) },
    data: { source: "file", sha256: dataDigest(data), prompts: data.clean.length },
    options: optionsSection(spec, engine.threads, engine.deterministic), kernels: { build: engine.build },
  }, circuit, json);

  t.equal(m.kernels.sha256, nodeSha(readFileSync(join(root, "build", "kernels.wasm"))), "kernel digest = sha256 of build/kernels.wasm");
  t.equal(kernelDigest("simd-threads"), nodeSha(readFileSync(join(root, "build", "kernels.threads.wasm"))), "and of the threads build");
  const p = model.params;
  t.equal(m.model.params_sha256, nodeSha(new Uint8Array(engine.memory.buffer, p.base, p.floats * 4)), "params digest = sha256 of the parameter block");
  t.equal(nodeParamsDigest(model), m.model.params_sha256, "the command line's digest (node:crypto) is the portable one");
  // On a threaded engine (shared memory) too, and past one 16 MiB chunk: a model of 4.6 M parameters.
  const big = await createEngine({ threads: 2 });
  try {
    const cfg = makeConfig({ nLayers: 1, dModel: 64, nHeads: 2, dHead: 32, dMlp: 256, dVocab: 35000, nCtx: 8 });
    const bigModel = await Transformer.create(cfg, randomWeights(cfg, 4), big);
    const want = nodeSha(new Uint8Array(big.memory.buffer, bigModel.params.base, bigModel.params.floats * 4));
    t.ok(bigModel.params.floats * 4 > 1 << 24, `${bigModel.params.floats} parameters: more than one chunk`);
    t.equal(paramsDigest(bigModel), want, "portable digest (wasm rounds) on shared memory");
    t.equal(paramsDigest(bigModel, new Sha256()), want, "streamed through the TypeScript Sha256");
    t.equal(nodeParamsDigest(bigModel), want, "node:crypto digest on shared memory");
  } finally {
    big.dispose();
  }
  t.equal(m.trace.length, circuit.trace.length, `one entry per ACDC decision (${circuit.trace.length})`);
  const lines = circuit.trace.map((d) => {
    const e = circuit.graph.edges[d.edge];
    const bits = Buffer.alloc(8); bits.writeDoubleBE(d.metric);
    return `${circuit.graph.nodes[e.parent].label}\t${circuit.graph.nodes[e.child].label}\t${bits.toString("hex")}\t${d.removed ? "removed" : "kept"}\n`;
  }).join("");
  t.equal(m.results.trace_sha256, nodeSha(lines), "trace digest = sha256 of parent\\tchild\\tbits\\toutcome lines");
  const { search_ms, ...rest } = json;
  t.equal(m.results.circuit_sha256, nodeSha(JSON.stringify(rest)), "circuit digest = sha256 of the compact circuit JSON without search_ms");
  t.equal(m.results.num_kept, json.num_kept);
  t.same(sealOf(m), m.seal, "seals recompute");
  t.same(m.runtime, { name: "node", version: process.versions.node }, "runtime detected");
  t.same(runtimeInfo(), m.runtime);
  t.same(checkRunManifest(JSON.parse(manifestText(m))), JSON.parse(manifestText(m)), "its text parses and checks");
  const text = replayText(m);
  t.equal(text.split("\n").filter((l) => /^\s*\d+\s+(kept|removed)\s/.test(l)).length, m.trace.length, "replay prints every decision");
  t.match(text, /matches its \d+ entries/);

  // EAP: one decision per counted edge, its score, kept or not.
  const eap = new PreparedRun(model, "tiny-ln-mlp", data, { algorithm: "eap", topK: 10, metric: "kl", ablation: "corrupted" }).search();
  const me = buildManifest({ model: m.model, data: m.data, options: optionsSection({ algorithm: "eap", topK: 10, metric: "kl", ablation: "corrupted" }, 1, true), kernels: m.kernels }, eap.circuit, eap.json);
  t.equal(me.results.decisions, "attribution");
  t.equal(me.trace.length, circuit.graph.counts.addition + circuit.graph.counts.direct, "eap: one score per counted edge");
  t.equal(me.trace.filter((e) => e[2] === "kept").length, eap.json.num_kept, "kept entries = the circuit's edges");
  engine.dispose();

  t.test("malformed manifests are refused naming the field", async (t) => {
    const good = JSON.parse(manifestText(m));
    const cases = [
      ["not JSON", "{", /manifest is not valid JSON/],
      ["wrong kind", { ...good, kind: "x" }, /"kind" must be "acdc-run-manifest"/],
      ["future version", { ...good, version: 2 }, /version 2 is not one this package reads/],
      ["bad kernel build", { ...good, kernels: { build: "avx", sha256: good.kernels.sha256 } }, /kernels must name a kernel build/],
      ["model source", { ...good, model: { ...good.model, source: "hub" } }, /model.source must be "file" or "builtin"/],
      ["weights digest", { ...good, model: { ...good.model, weights: { ...good.model.weights, sha256: "abc" } } }, /model.weights.sha256 must be 64 hex digits/],
      ["data source", { ...good, data: { ...good.data, source: "ftp" } }, /data.source must be file, inline or task/],
      ["threshold type", { ...good, options: { ...good.options, threshold: "0.05" } }, /options.threshold must be a number or null/],
      ["threads", { ...good, options: { ...good.options, threads: 0 } }, /options.threads must be a positive integer/],
      ["seal", { ...good, seal: {} }, /seal must hold model, data and options digests/],
      ["trace entry", { ...good, trace: [["a", "b", "maybe", 1, "00"], ...good.trace.slice(1)] }, /trace\[0\] must be \[parent, child/],
      ["trace cut short", { ...good, trace: good.trace.slice(1), results: { ...good.results, num_decisions: good.trace.length - 1 } }, /trace does not hash to results.trace_sha256/],
      ["count", { ...good, results: { ...good.results, num_decisions: 1 } }, /num_decisions is 1 but the trace holds/],
      ["edited decision", { ...good, trace: [[...good.trace[0].slice(0, 2), good.trace[0][2] === "kept" ? "removed" : "kept", ...good.trace[0].slice(3)], ...good.trace.slice(1)] }, /does not hash/],
    ];
    for (const [what, v, re] of cases) t.throws(() => parseManifest(typeof v === "string" ? v : JSON.stringify(v)), { name: "ManifestError", message: re }, what);
  });
});

t.test("diffSweeps: a sweep rebuilt from its runs equals itself; a changed run is named", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { diffSweeps } = await import("../../dist/repro/index.js");
  const dir = mkdtempSync(join(tmpdir(), "acdc-diffsweeps-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(root, "bin", "acdc.js"), "sweep", "--task", "tracr-reverse", "--thresholds=-3:-1:3", "--out-dir", dir, "--quiet"], { stdio: "ignore" });
  const a = readJson(join(dir, "tracr-reverse-sweep.manifest.json"));
  // Runs gathered in another order (as distributed jobs finish) and put back in value order.
  const merged = { ...a, runs: [a.runs[2], a.runs[0], a.runs[1]].sort((x, y) => x.manifest.options.threshold - y.manifest.options.threshold) };
  merged.runs[1] = structuredClone(merged.runs[1]);
  merged.runs[1].manifest.runtime = { name: "workerd", version: "" };
  merged.runs[1].manifest.options.threads = 4;
  t.same(diffSweeps(a, merged), [], "where and how it ran does not matter");
  const bad = structuredClone(a);
  bad.runs[2].circuit.edges.pop();
  bad.runs[2].manifest.results.trace_sha256 = "0".repeat(64);
  t.same(diffSweeps(a, bad), ["run 3 (threshold 0.1): trace differs", "run 3 (threshold 0.1): circuit JSON differs"]);
});

t.test("mask methods' manifests: their options, and decisions recomputed from the API's own run", async (t) => {
  const { createHash } = await import("node:crypto");
  const { Patcher, buildGraph, logitDiffMetric, getAlgorithm } = await import("../../dist/index.js");
  const { hispRanking } = await import("../../dist/algorithms/hisp.js");
  const { decisionKind } = await import("../../dist/repro/index.js");
  const weights = new Uint8Array(readFileSync(join(fixtures, "tiny-ln-mlp.safetensors")));
  // Answers for a logit difference, so HISP's gradients (zero for KL at the clean run) are not all zero.
  const data = { ...readJson(join(fixtures, "tiny-ln-mlp.data.json")), correct: [1, 2, 3, 4, 5, 6], incorrect: [7, 8, 9, 10, 11, 12] };
  const engine = await createEngine();
  const model = await loadModel(weights, readJson(join(fixtures, "tiny-ln-mlp.config.json")), { engine });
  const g = buildGraph(model.cfg);
  const section = (spec) => buildManifest({
    model: { source: "file", format: "safetensors", name: "tiny", weights: { bytes: weights.length, sha256: nodeSha(weights) }, config: { bytes: 1, sha256: "0".repeat(64) }, params_sha256: paramsDigest(model) },
    data: { source: "file", sha256: dataDigest(data), prompts: 6 }, options: optionsSection(spec, 1, true), kernels: { build: engine.build },
  }, ...Object.values(new PreparedRun(model, "tiny", data, spec).search()));
  const label = (id) => [g.nodes[g.edges[id].parent].label, g.nodes[g.edges[id].child].label];
  const bits = (x) => { const b = Buffer.alloc(8); b.writeDoubleBE(x); return b.toString("hex"); };
  const digest = (rows) => createHash("sha256").update(rows.map(([p, c, d, v]) => `${p}\t${c}\t${bits(v)}\t${d}\n`).join("")).digest("hex");
  const api = (key, opts) => getAlgorithm(key).run(new Patcher(model, g, data, { ablation: "corrupted", metric: logitDiffMetric(data.correct, data.incorrect) }), opts);

  // SP: one entry per edge a component's gate scales (each head q/k/v's input edge, each MLP's output edges), its final logit.
  const sp = section({ algorithm: "sp", lambda: 0.5, steps: 40, seed: 3, metric: "logit-diff", ablation: "corrupted" });
  t.same(sp.options, { algorithm: "sp", threshold: null, top_k: null, ig_steps: null, lambda: 0.5, steps: 40, lr: 0.001, metric: "logit-diff", ablation: "corrupted", split_input: false, seed: 3, threads: 1, deterministic: true },
    "λ, steps, the default lr (the reference's 0.001) and the seed");
  t.equal(sp.results.decisions, "mask-logit");
  const spc = api("sp", { lambda: 0.5, steps: 40, seed: 3 });
  const spRows = g.edges.filter((e) => !Number.isNaN(spc.scores[e.id])).map((e) => [...label(e.id), spc.present[e.id] ? "kept" : "removed", spc.scores[e.id]]);
  // 2 layers × 4 heads × q,k,v direct edges = 24; MLP 0 writes to layer 1's 12 q/k/v inputs, its MLP input and the output (14); MLP 1 to the output (1).
  t.equal(spRows.length, 24 + 14 + 1, "39 masked edges");
  t.same(sp.trace.map((e) => e.slice(0, 3)), spRows.map((r) => r.slice(0, 3)), "edges in graph order, kept as the circuit keeps them");
  t.equal(sp.results.trace_sha256, digest(spRows), "trace digest over the API run's logits");
  t.equal(sp.results.num_kept, spc.edges.length);

  // Edge Pruning: every addition edge's logit.
  const ep = section({ algorithm: "edge-pruning", sparsity: 0.9, steps: 30, lr: 0.05, metric: "logit-diff", ablation: "corrupted" });
  t.match(ep.options, { sparsity: 0.9, steps: 30, lr: 0.05, seed: 0 }, "the default seed 0 recorded");
  t.notOk("lambda" in ep.options || "masked" in ep.options, "only its own knob");
  const epc = api("edge-pruning", { sparsity: 0.9, steps: 30, lr: 0.05 });
  const epRows = g.edges.filter((e) => e.type === "addition").map((e) => [...label(e.id), epc.present[e.id] ? "kept" : "removed", epc.scores[e.id]]);
  t.equal(ep.trace.length, g.counts.addition, "one logit per addition edge");
  t.equal(ep.results.trace_sha256, digest(epRows));

  // HISP: one importance per component, on the edge into it, graph order; removed when the component is masked.
  const hi = section({ algorithm: "hisp", masked: 5, metric: "logit-diff", ablation: "corrupted" });
  t.same(Object.keys(hi.options), ["algorithm", "threshold", "top_k", "ig_steps", "masked", "metric", "ablation", "split_input", "seed", "threads", "deterministic"]);
  t.equal(hi.options.seed, null, "HISP draws no random numbers");
  t.equal(hi.results.decisions, "importance");
  const rank = hispRanking(new Patcher(model, g, data, { ablation: "corrupted", metric: logitDiffMetric(data.correct, data.incorrect) }));
  const masked = new Set(rank.components.slice(0, 5).map((c) => c.node));
  const score = new Map(rank.components.map((c, i) => [c.node, rank.scores[i]]));
  const hiRows = rank.components.map((c) => g.parents[c.node][0]).sort((a, b) => a - b).map((id) => [...label(id), masked.has(g.edges[id].child) ? "removed" : "kept", score.get(g.edges[id].child)]);
  t.equal(hiRows.length, 26, "24 head q/k/v components and 2 MLPs");
  t.ok(hiRows.some((r) => r[3] !== 0), "non-zero importances under a logit difference");
  t.same(hi.trace.map((e) => e.slice(0, 3)), hiRows.map((r) => r.slice(0, 3)), "each component's edge, removed exactly for the 5 masked first");
  t.equal(hi.results.trace_sha256, digest(hiRows));
  t.equal(decisionKind(api("hisp", { masked: 5 })), "importance");

  const text = replayText(sp);
  t.match(text, /^sp λ=0\.5, 40 steps, lr 0\.001, seed 3, metric logit-diff, corrupted ablation$/m);
  t.match(text, /^mask logits \(one per masked edge, graph order\):$/m);
  t.match(replayText(hi), /^hisp masked 5, metric logit-diff/m);
  t.match(replayText(ep), /^edge-pruning sparsity 0\.9, 30 steps, lr 0\.05, seed 0,/m);

  // Checked before a search starts (the fetch handler refuses these with a 4xx).
  t.throws(() => new PreparedRun(model, "tiny", data, { algorithm: "hisp", masked: 27, metric: "kl", ablation: "corrupted" }), /hisp: masked must be an integer from 0 to 26/);
  const good = JSON.parse(manifestText(sp));
  for (const [what, v, re] of [
    ["lambda type", { ...good, options: { ...good.options, lambda: "0.5" } }, /options.lambda must be a number or null/],
    ["steps type", { ...good, options: { ...good.options, steps: null } }, /options.steps must be a number/],
    ["decision kind", { ...good, results: { ...good.results, decisions: "logits" } }, /results.decisions must be one of "metric-when-removed", "attribution", "mask-logit", "importance"/],
  ]) t.throws(() => parseManifest(JSON.stringify(v)), { name: "ManifestError", message: re }, what);
  engine.dispose();
});

t.test("a task file's data section: its recorded tokens must hash to its digest; verify re-runs from them or from the file", async (t) => {
  const { verifyRun, canonicalJson } = await import("../../dist/repro/index.js");
  const { buildTextTask, readTaskSpec } = await import("../../dist/tokenizers/index.js");
  const weights = new Uint8Array(readFileSync(join(fixtures, "tiny-ln-mlp.safetensors")));
  const config = new Uint8Array(readFileSync(join(fixtures, "tiny-ln-mlp.config.json")));
  const d = readJson(join(fixtures, "tiny-ln-mlp.data.json"));
  const file = { clean: d.clean, corrupted: d.corrupted, positions: d.positions.map((p) => [p]), metric: "kl" };
  const engine = await createEngine();
  const model = await loadModel(weights, JSON.parse(new TextDecoder().decode(config)), { engine });
  const task = buildTextTask(readTaskSpec(file, "t.json"), null, model.cfg);
  const spec = { algorithm: "acdc", threshold: 0.05, metric: "kl", ablation: "corrupted" };
  const { circuit, json } = new PreparedRun(model, "tiny", task.data, spec).search();
  const m = JSON.parse(manifestText(buildManifest({
    model: { source: "file", format: "safetensors", name: "tiny", weights: { bytes: weights.length, sha256: nodeSha(weights) }, config: { bytes: config.length, sha256: nodeSha(config) }, params_sha256: paramsDigest(model) },
    data: { source: "task-file", sha256: dataDigest(task.data), prompts: 6, task_sha256: sha256Hex(canonicalJson(file)), tokenizer: null, tokens: task.data },
    options: optionsSection(spec, 1, true), kernels: { build: engine.build },
  }, circuit, json)));
  engine.dispose();
  t.equal(m.data.sha256, nodeSha(JSON.stringify({ clean: d.clean, corrupted: d.corrupted, positions: d.positions })), "the token data's canonical JSON: the --data file's, key for key");
  t.same(checkRunManifest(m).data.tokens, task.data);
  const edited = structuredClone(m);
  edited.data.tokens.clean[0][0] = (edited.data.tokens.clean[0][0] + 1) % 40;
  t.throws(() => checkRunManifest(edited), { name: "ManifestError", message: /data.tokens do not hash to data.sha256/ });
  t.throws(() => checkRunManifest({ ...m, data: { ...m.data, task_sha256: undefined } }), /data.task_sha256 must be 64 hex digits/);

  const recorded = await verifyRun(m, { weights, config });
  t.ok(recorded.ok, recorded.differences.map((x) => x.message).join("; "));
  t.equal(recorded.dataFrom, "the manifest's recorded tokens (the task file came inline)");
  const again = await verifyRun(m, { weights, config, task: { file: JSON.stringify(file, null, 4), source: "t.json" } });
  t.ok(again.ok, "the file re-spaced is the same task file");
  t.equal(again.dataFrom, "the task file, tokenized again");
  const changed = { ...file, corrupted: file.corrupted.map((r, i) => (i === 2 ? [...r.slice(0, -1), (r.at(-1) + 1) % 40] : r)) };
  const bad = await verifyRun(m, { weights, config, task: { file: JSON.stringify(changed), source: "t.json" } });
  t.same(bad.differences.map((x) => x.kind).slice(0, 2), ["data", "data"]);
  t.match(bad.differences[0].message, /^task file differs: t\.json as parsed has sha256 [0-9a-f]{12}…, the manifest's [0-9a-f]{12}…/);
  t.match(bad.differences[1].message, /^data differs: the task file tokenized again gives token data with sha256/);
});

t.test("comparison manifests: diffSweeps names a changed run by method, seed and value", async (t) => {
  const { execFileSync } = await import("node:child_process");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { diffSweeps, compareDigest, runLabel } = await import("../../dist/repro/index.js");
  const dir = mkdtempSync(join(tmpdir(), "acdc-diffcompare-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync(process.execPath, [join(root, "bin", "acdc.js"), "sweep", "--task", "tracr-reverse", "--algorithm", "hisp,edge-pruning", "--steps", "3", "--seeds", "2", "--out-dir", dir, "--quiet"], { stdio: "ignore" });
  const a = parseManifest(readFileSync(join(dir, "tracr-reverse-zero-compare.manifest.json"), "utf8"));
  t.equal(a.result_sha256, compareDigest(readJson(join(dir, "tracr-reverse-zero-compare.json"))), "result digest = the comparison JSON without timings");
  const i = a.runs.findIndex((r) => r.algorithm === "edge-pruning" && r.seed === 1);
  t.equal(runLabel(a, i), `run ${i + 1} of ${a.runs.length} (edge-pruning seed 1, sparsity 0.5)`);
  const moved = structuredClone(a);
  moved.runs[i].manifest.options.threads = 2;
  t.same(diffSweeps(a, moved), [], "threads do not matter");
  moved.runs[i].manifest.results.trace_sha256 = "0".repeat(64);
  t.same(diffSweeps(a, moved), [`run ${i + 1} (edge-pruning seed 1, sparsity 0.5): trace differs`]);
  t.same(diffSweeps(a, { ...a, kind: "acdc-sweep-manifest" }), ["kind: acdc-compare-manifest vs acdc-sweep-manifest"]);
});
