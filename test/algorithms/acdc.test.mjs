// ACDC end to end: the reference circuits of ../shared/fixtures edge for
// edge, a hand-built model whose circuit is known in advance, the
// incremental patcher against a from-scratch float64 patched forward pass,
// and the errors a user gets for bad inputs.
import t from "tap";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  acdc, buildGraph, circuitDot, circuitJson, configFromJson, customMetric, InputError,
  klMetric, logitDiffMetric, makeConfig, Patcher, Transformer,
} from "../../dist/index.js";
import { parseSafetensors } from "../../dist/model/formats/index.js";
import { fixture, fixtures, readJson, rng } from "../helpers/fixtures.mjs";
import { slowPatchedKL } from "../reference/slow-patch.mjs";
import { walkAgainstSlow } from "../helpers/patcher-check.mjs";

const FIXTURES = ["tiny-ln-mlp", "tiny-attn-only"];
const key = (p, c, type) => `${p} -> ${c} (${type})`;

for (const name of FIXTURES) {
  t.test(`fixture ${name}: every reference circuit, edge for edge`, async (t) => {
    const { model, data, acdc: ref } = await fixture(name);
    const graph = buildGraph(model.cfg);
    t.same(graph.counts, ref.edge_counts, "edge counts");
    for (const run of ref.runs) {
      const e = model.engine, mark = e.mark();
      const p = new Patcher(model, graph, data, { ablation: run.ablation, metric: klMetric() });
      const r = acdc(p, { threshold: run.threshold });
      const got = new Set(r.edges.map((x) => key(graph.nodes[x.parent].label, graph.nodes[x.child].label, x.type)));
      const want = new Set(run.kept_edges.map(([a, b, c]) => key(a, b, c)));
      const missing = [...want].filter((x) => !got.has(x)), extra = [...got].filter((x) => !want.has(x));
      t.same({ missing, extra }, { missing: [], extra: [] }, `${run.ablation} τ=${run.threshold}: ${want.size} kept edges identical`);
      t.equal(r.stats.tested, run.num_tested, `${run.ablation} τ=${run.threshold}: ${run.num_tested} edges tested`);
      t.ok(Math.abs(r.metric - run.final_metric) <= 1e-5 * Math.max(1, Math.abs(run.final_metric)),
        `${run.ablation} τ=${run.threshold}: final metric ${r.metric.toFixed(6)} vs ${run.final_metric.toFixed(6)}`);
      e.reset(mark);
    }
  });
}

t.test("incremental patching equals a from-scratch float64 patched forward pass", async (t) => {
  for (const [name, ablation] of [["tiny-ln-mlp", "corrupted"], ["tiny-attn-only", "zero"], ["tiny-ln-mlp", "mean"]]) {
    const bytes = new Uint8Array(readFileSync(join(fixtures, `${name}.safetensors`)));
    const cfg = configFromJson(readJson(join(fixtures, `${name}.config.json`)));
    const W = await parseSafetensors(bytes); // the fixtures are under canonical names
    const model = await Transformer.create(cfg, W);
    const data = readJson(join(fixtures, `${name}.data.json`));
    const graph = buildGraph(cfg);
    const p = new Patcher(model, graph, data, { ablation, metric: klMetric() });
    const e = model.engine;
    const { B, T, N } = p;
    const ids = [];
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) ids.push(data.clean[b][i]);
    const rows = data.positions.map((pos, b) => b * T + pos);
    const ablated = (id) => Float64Array.from(e.f32(p.ablated(id), graph.nodes[id].kind === "qkv" ? N * cfg.dHead : N * cfg.dModel));
    const slow = (present, cleanLogProbs) => slowPatchedKL({ W, cfg, graph, present, ablated, ids, B, T, rows, cleanLogProbs });
    const { logProbs: cleanLogProbs } = slow(p.present);
    t.ok(Math.abs(p.baseline) < 1e-6, `${name}: unpatched KL is 0 (${p.baseline.toExponential(2)})`);

    const topBefore = e.mark();
    const { worst, n } = walkAgainstSlow(p, (present) => slow(present, cleanLogProbs).kl, rng(name.length * 7 + ablation.length), 24, 1e-2);
    const want = slow(p.present, cleanLogProbs).kl;
    t.ok(n >= 10, `${name}/${ablation}: ${n} trials checked`);
    t.ok(worst < 2e-4, `${name}/${ablation}: every trial metric within 2e-4 (relative, floor 0.01) of float64 (worst ${worst.toExponential(2)})`);
    t.ok(Math.abs(p.current - want) <= 2e-4 * Math.max(1e-2, want), `${name}/${ablation}: committed state ${p.current.toFixed(6)} vs ${want.toFixed(6)}`);
    t.equal(e.mark(), topBefore, `${name}/${ablation}: trials allocate nothing in wasm memory`);
  }
});

// A one-layer attention-only model with no normalization whose answer is
// carried by one path: token one-hot (dims 0-3) → head 0's values → W_O into
// dims 4-7 → the unembedding, which reads only dims 4-7. Head 1 writes
// nothing; queries and keys are zero (uniform attention). The circuit is
// input → v_input[0] → v[0] (direct), result[0] → output.
async function obviousModel() {
  const cfg = makeConfig({ nLayers: 1, dModel: 8, nHeads: 2, dHead: 4, dVocab: 4, nCtx: 8, attnOnly: true, normalization: "none" });
  const W = new Map();
  const put = (name, shape, fill) => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (fill) fill(data);
    W.set(name, { shape, data });
  };
  const r = rng(99);
  put("embed.W_E", [4, 8], (d) => { for (let v = 0; v < 4; v++) d[v * 8 + v] = 1; });
  put("pos_embed.W_pos", [8, 8]);
  put("blocks.0.attn.W_Q", [2, 8, 4]);
  put("blocks.0.attn.W_K", [2, 8, 4]);
  put("blocks.0.attn.W_V", [2, 8, 4], (d) => {
    for (let i = 0; i < 4; i++) d[(0 * 8 + i) * 4 + i] = 1; // head 0 copies the token
    for (let i = 32; i < 64; i++) d[i] = r() - 0.5; // head 1 reads noise…
  });
  put("blocks.0.attn.W_O", [2, 4, 8], (d) => { for (let i = 0; i < 4; i++) d[(0 * 4 + i) * 8 + 4 + i] = 1; }); // …and writes nothing
  put("unembed.W_U", [8, 4], (d) => { for (let v = 0; v < 4; v++) d[(4 + v) * 4 + v] = 6; });
  return { cfg, model: await Transformer.create(cfg, W) };
}

t.test("hand-built model: ACDC finds exactly the one path that carries the answer", async (t) => {
  const { cfg, model } = await obviousModel();
  const graph = buildGraph(cfg);
  const data = { clean: [[0, 1, 2, 3], [3, 3, 1, 0], [2, 0, 0, 1]], corrupted: [[3, 2, 1, 0], [0, 1, 3, 2], [1, 3, 2, 0]], positions: [3, 3, 2] };
  const want = [
    "blocks.0.attn.hook_result[0] -> blocks.0.hook_resid_post (addition)",
    "blocks.0.hook_v_input[0] -> blocks.0.attn.hook_v[0] (direct)",
    "blocks.0.hook_resid_pre -> blocks.0.hook_v_input[0] (addition)",
  ].sort();
  for (const ablation of ["corrupted", "zero", "mean"]) {
    const p = new Patcher(model, graph, data, { ablation, metric: klMetric() });
    const r = acdc(p, { threshold: 1e-3 });
    const got = r.edges.map((x) => key(graph.nodes[x.parent].label, graph.nodes[x.child].label, x.type)).sort();
    t.same(got, want, `${ablation}: circuit is input → v_input[0] → v[0], result[0] → output`);
    t.ok(r.metric < 1e-3, `${ablation}: the circuit alone reproduces the clean output (KL ${r.metric.toExponential(2)})`);
  }
  // With logit difference (clean answer = current token, wrong = corrupted token) the same path carries it.
  const rowsAns = data.positions.map((pos, b) => data.clean[b][pos]);
  const rowsWrong = data.positions.map((pos, b) => data.corrupted[b][pos]);
  const p = new Patcher(model, graph, data, { ablation: "corrupted", metric: logitDiffMetric(rowsAns, rowsWrong) });
  t.ok(p.baseline < 0, `logit diff favours the clean answer (metric ${p.baseline.toFixed(3)} < 0)`);
  const r = acdc(p, { threshold: 1e-3 });
  t.same(r.edges.map((x) => key(graph.nodes[x.parent].label, graph.nodes[x.child].label, x.type)).sort(), want, "logit-diff metric: same circuit");

  // Removing the carrying edge costs exactly what the hand computation says:
  // the output becomes the corrupted prompt's (uniform-average one-hot ×6) logits.
  const custom = customMetric("neg-logit-of-clean", (lg, R, V) => {
    let s = 0;
    for (let i = 0; i < R; i++) s -= lg[i * V + rowsAns[i]];
    return s / R;
  });
  const q = new Patcher(model, graph, data, { ablation: "corrupted", metric: custom });
  const avg = (toks, pos, tok) => (6 * toks.slice(0, pos + 1).filter((x) => x === tok).length) / (pos + 1);
  const clean = -data.positions.reduce((s, pos, b) => s + avg(data.clean[b], pos, rowsAns[b]), 0) / 3;
  const corrupt = -data.positions.reduce((s, pos, b) => s + avg(data.corrupted[b], pos, rowsAns[b]), 0) / 3;
  t.ok(Math.abs(q.baseline - clean) < 1e-5, `clean metric ${q.baseline.toFixed(5)} = hand value ${clean.toFixed(5)}`);
  const resultEdge = graph.parents[graph.output].find((eid) => graph.nodes[graph.edges[eid].parent].label === "blocks.0.attn.hook_result[0]");
  t.ok(Math.abs(q.trial(resultEdge) - corrupt) < 1e-5, `result[0] → output removed: metric = hand value ${corrupt.toFixed(5)}`);
  q.reject();
  const inputEdge = graph.parents[graph.output].find((eid) => graph.nodes[graph.edges[eid].parent].kind === "input");
  t.equal(q.trial(inputEdge), q.baseline, "input → output removed: nothing changes (W_U ignores dims 0-3)");
  q.reject();
});

t.test("circuit JSON and DOT", async (t) => {
  const { cfg, model } = await obviousModel();
  const graph = buildGraph(cfg);
  const data = { clean: [[0, 0, 1, 2]], corrupted: [[3, 3, 2, 1]], positions: [3] };
  const r = acdc(new Patcher(model, graph, data, { metric: klMetric() }), { threshold: 1e-3 });
  const j = circuitJson(r, { ablation: "corrupted", metric: "kl", model: { name: "obvious" } });
  t.equal(j.version, 1, "schema version");
  t.equal(j.threshold, 1e-3);
  t.equal(j.num_kept, 3);
  t.equal(j.edges.length, 3);
  t.equal(j.total_edges, graph.counts.addition + graph.counts.direct);
  t.same(j.nodes, ["blocks.0.hook_resid_post", "blocks.0.attn.hook_result[0]", "blocks.0.attn.hook_v[0]", "blocks.0.hook_v_input[0]", "blocks.0.hook_resid_pre"], "nodes in visiting order");
  const direct = j.edges.find((x) => x.type === "direct");
  t.same(direct.sender, { hook: "blocks.0.hook_v_input", head: 0, layer: 0 });
  t.same(direct.receiver, { hook: "blocks.0.attn.hook_v", head: 0, layer: 0 });
  t.ok(j.edges.every((x) => typeof x.score === "number" && x.score - j.baseline >= 1e-3), "each kept edge scored above the threshold");
  t.same(JSON.parse(JSON.stringify(j)), j, "JSON round trip");
  const dot = circuitDot(r);
  t.match(dot, /^digraph circuit \{/);
  t.match(dot, /"blocks\.0\.hook_v_input\[0\]" -> "blocks\.0\.attn\.hook_v\[0\]" \[style=dashed\];/);
  t.equal((dot.match(/->/g) || []).length, 3, "three edges in DOT");
});

t.test("bad inputs get clear errors", async (t) => {
  const { model, data } = await fixture("tiny-attn-only");
  const graph = buildGraph(model.cfg);
  const V = model.cfg.dVocab, nCtx = model.cfg.nCtx;
  const make = (d, o = {}) => () => new Patcher(model, graph, { ...data, ...d }, { metric: klMetric(), ...o });
  t.throws(make({ corrupted: data.corrupted.slice(1) }), { name: "InputError", message: /shapes must match|corrupted/ }, "corrupted batch of another size");
  t.throws(make({ corrupted: data.corrupted.map((r) => r.slice(1)) }), InputError, "corrupted of another length");
  t.throws(make({ clean: data.clean.map((r, i) => (i === 0 ? [V, ...r.slice(1)] : r)) }), { message: new RegExp(`${V}|vocab`) }, "token out of vocabulary");
  t.throws(make({ clean: data.clean.map(() => Array(nCtx + 1).fill(0)), corrupted: data.clean.map(() => Array(nCtx + 1).fill(0)) }), { message: /n_ctx|context|longer/ }, "sequence longer than n_ctx");
  t.throws(make({ positions: data.positions.map(() => 99) }), { message: /positions/ }, "position outside the prompt");
  t.throws(make({ positions: [0] }), { message: /positions/ }, "one position for many prompts");
  t.throws(make({ corrupted: undefined }), { message: /corrupted/ }, "corrupted ablation without corrupted inputs");
  t.throws(make({}, { ablation: "random" }), { message: /ablation/ }, "unknown ablation");
  const p = new Patcher(model, graph, data, { metric: klMetric() });
  t.throws(() => acdc(p, { threshold: Number.NaN }), /threshold/, "NaN threshold");
  t.throws(() => p.commit(), /without a pending trial/, "commit without a trial");
  t.throws(() => new Patcher(model, graph, data, { metric: logitDiffMetric([0], [1]) }), /one correct and one incorrect/, "logit-diff answers of the wrong length");
});
