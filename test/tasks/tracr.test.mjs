// The paper's tracr tasks, compiled in code (src/tracr/) and packaged as
// tasks (src/tasks/tracr.ts): the compiled models compute their programs on
// every input; their graphs have the paper's sizes; the ground truth is
// checked against the weights and the model's behaviour rather than trusted;
// and ACDC with zero ablation and the l2 metric recovers it (table in the
// test output).
import t from "tap";
import { acdc, buildGraph, createEngine, Patcher, Transformer } from "../../dist/index.js";
import { edgeCountFormula } from "../../dist/graph/graph.js";
import { logspace, sweep } from "../../dist/eval/index.js";
import { compileTracr } from "../../dist/tracr/programs.js";
import { encodeInput } from "../../dist/tracr/compiler.js";
import { evaluate } from "../../dist/tracr/rasp.js";
import { createTracrModel, decodeTracrOutput, derangement, TRACR_GROUND_TRUTH, tracrTask } from "../../dist/tasks/tracr.js";

const NAMES = ["tracr-reverse", "tracr-proportion"];
const key = (p, c) => `${p} -> ${c}`;
const edgeLabel = (g, e) => key(g.nodes[e.parent].label, g.nodes[e.child].label);
const THRESHOLDS = logspace(-5, -1, 21);

/** Every sequence of `len` values over `vocab`. */
function sequences(vocab, len) {
  let out = [[]];
  for (let i = 0; i < len; i++) out = out.flatMap((s) => vocab.map((v) => [...s, v]));
  return out;
}

t.test("relu kernel: max(x, 0) on odd sizes, SIMD body and scalar tail, in place", async (t) => {
  const e = await createEngine();
  for (const n of [1, 3, 4, 7, 13, 64, 67]) {
    const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.7) * 3 - (i % 3 === 0 ? 0 : 0.5));
    x[0] = -0; // signed zero
    const px = e.upload(x), po = e.allocF32(n);
    e.k.relu(po, px, n);
    t.same(Array.from(e.f32(po, n)), Array.from(x, (v) => Math.max(v, 0)), `n = ${n}`);
    e.k.relu(px, px, n);
    t.same(Array.from(e.f32(px, n)), Array.from(x, (v) => Math.max(v, 0)), `n = ${n}, aliased`);
  }
});

t.test("compiled models: the paper's shapes and residual layout", async (t) => {
  const rev = compileTracr("reverse").model, prop = compileTracr("proportion").model;
  const shape = (c) => ({ L: c.nLayers, D: c.dModel, H: c.nHeads, Dh: c.dHead, M: c.dMlp, V: c.dVocab, ctx: c.nCtx, act: c.actFn, norm: c.normalization, pos: c.positional, attnOnly: c.attnOnly });
  t.same(shape(rev.cfg), { L: 4, D: 41, H: 1, Dh: 12, M: 30, V: 5, ctx: 6, act: "relu", norm: "none", pos: "learned", attnOnly: false }, "reverse: 4 layers, 1 head, MLPs, no layer norm");
  t.same(shape(prop.cfg), { L: 2, D: 14, H: 1, Dh: 7, M: 1, V: 6, ctx: 6, act: "relu", norm: "none", pos: "learned", attnOnly: false }, "proportion: 2 layers, 1 head, MLPs, no layer norm");
  t.same(rev.tokens, [1, 2, 3, "BOS", "compiler_pad"], "reverse token ids as tracr's encoder: [BOS, 1, 2, 3] → [3, 0, 1, 2]");
  t.same(prop.tokens, ["BOS", "compiler_pad", "w", "x", "y", "z"], "proportion token ids as tracr's encoder (x is 3)");
  t.same(rev.residual.slice(0, 3), ["aggregate_6:1", "aggregate_6:2", "aggregate_6:3"], "reverse: the output one-hot leads the sorted residual");
  t.equal(prop.residual[0], "frac_prevs", "proportion: the fraction leads the sorted residual");
  const where = (m) => m.components.map((c) => `${c.kind === "attn" ? `${c.layer}.${c.head}` : `mlp${c.layer}`}=${c.op}`);
  t.same(where(rev), ["0.0=selector_width_2", "mlp0=selector_width_2", "mlp1=sequence_map_3", "mlp2=map_4", "3.0=aggregate_6"],
    "reverse: length (head 0.0 + mlp0), length − indices (mlp1), − 1 (mlp2), the flip (head 3.0)");
  t.same(where(prop), ["mlp0=map_1", "1.0=frac_prevs"], "proportion: is_x (mlp0), the causal mean (head 1.0)");
});

for (const name of ["reverse", "proportion"]) {
  t.test(`${name}: Transformer.forward computes the program on every input of length 1 to 5`, async (t) => {
    const { program, model: cm } = compileTracr(name);
    const model = await Transformer.create(cm.cfg, cm.weights);
    let checked = 0, worst = 0;
    for (let n = 1; n <= program.maxSeqLen; n++) {
      const inputs = sequences(program.vocab, n);
      const { logits } = model.forward(inputs.map((xs) => encodeInput(cm, xs)));
      const decoded = decodeTracrOutput(cm, logits, inputs.length, n + 1);
      let wrong = 0;
      inputs.forEach((xs, b) => {
        const want = program.expected(xs), rasp = evaluate(program.program, xs);
        for (let i = 0; i < n; i++) {
          if (name === "reverse") {
            if (decoded[b][i + 1] !== want[i] || rasp[i] !== want[i]) wrong++;
            // How far the output is from an exact one-hot.
            const o = (b * (n + 1) + i + 1) * cm.cfg.dVocab;
            for (let j = 0; j < 3; j++) worst = Math.max(worst, Math.abs(logits[o + j] - (cm.output.values[j] === want[i] ? 1 : 0)));
          } else {
            const err = Math.abs(decoded[b][i + 1] - want[i]);
            worst = Math.max(worst, err);
            if (err > 1e-4 || Math.abs(rasp[i] - want[i]) > 1e-12) wrong++;
          }
          checked++;
        }
      });
      t.equal(wrong, 0, `length ${n}: ${inputs.length} inputs, every position after BOS right`);
    }
    t.comment(`${name}: ${checked} positions; largest |output − exact| = ${worst.toExponential(2)}`);
    t.ok(worst < 1e-4, `outputs within 1e-4 of exact (${worst.toExponential(2)})`);
  });
}

t.test("reverse needs bidirectional attention; proportion does not care on clean inputs", async (t) => {
  for (const [name, expectSame] of [["reverse", false], ["proportion", true]]) {
    const { program, model: cm } = compileTracr(name);
    const inputs = sequences(program.vocab, 4).map((xs) => encodeInput(cm, xs));
    const causal = await Transformer.create({ ...cm.cfg, causal: true }, cm.weights);
    const bidir = await Transformer.create(cm.cfg, cm.weights);
    const a = decodeTracrOutput(cm, causal.forward(inputs).logits, inputs.length, 5);
    const b = decodeTracrOutput(cm, bidir.forward(inputs).logits, inputs.length, 5);
    const differ = a.filter((row, i) => row.some((v, j) => (typeof v === "number" ? Math.abs(v - b[i][j]) > 1e-6 : v !== b[i][j]))).length;
    if (expectSame) t.equal(differ, 0, `${name}: the causal mask changes no output`);
    else t.ok(differ > 0, `${name}: with the engine's causal mask ${differ} of ${inputs.length} length-4 inputs decode wrong`);
  }
});

t.test("bidirectional attention: rows see future keys, sum to 1; patching trials allocate nothing", async (t) => {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const { cache } = model.forward(task.data.clean.slice(0, 2), { hooks: ["blocks.0.attn.hook_pattern"] });
  const P = cache.get("blocks.0.attn.hook_pattern").data; // [B, 1, T, T]
  const T = 4;
  let maxDev = 0;
  for (let r = 0; r < 2 * T; r++) maxDev = Math.max(maxDev, Math.abs(P.slice(r * T, r * T + T).reduce((a, b) => a + b, 0) - 1));
  t.ok(maxDev < 1e-6, `pattern rows sum to 1 (${maxDev.toExponential(1)})`);
  // Selector width attends uniformly to BOS and all 3 tokens, from every position after BOS.
  t.ok(Math.abs(P[1 * T + 3] - 0.25) < 1e-6, `position 1 attends to position 3 with weight 1/4 (${P[1 * T + 3]})`);
  const g = buildGraph(task.cfg, task.graph);
  const p = new Patcher(model, g, task.data, { ablation: "zero", metric: task.metrics.task() });
  const top = model.engine.mark();
  for (const e of g.edges.filter((x) => x.type !== "placeholder").slice(0, 40)) { p.trial(e.id); p.reject(); }
  t.equal(model.engine.mark(), top, "40 trials leave the arena where it was");
});

t.test("graphs: the paper's sizes, and the ground truth is made of counted edges", async (t) => {
  for (const [name, L, total, nTruth] of [["tracr-reverse", 4, 106, 15], ["tracr-proportion", 2, 38, 10]]) {
    const task = tracrTask(name);
    t.same(task.graph, { splitInput: true }, `${name}: hook_embed and hook_pos_embed are separate inputs`);
    const g = buildGraph(task.cfg, task.graph);
    t.equal(g.counts.addition + g.counts.direct, total, `${name}: ${total} counted edges`);
    t.same(g.counts, edgeCountFormula(L, 1, false, 2), `${name}: counts match the spec's closed form`);
    t.equal(task.groundTruth.length, nTruth, `${name}: ${nTruth} ground-truth edges`);
    const counted = new Map(g.edges.filter((e) => e.type !== "placeholder").map((e) => [edgeLabel(g, e), e.type]));
    const bad = task.groundTruth.filter(([p, c, type]) => counted.get(key(p, c)) !== type);
    t.same(bad, [], `${name}: every ground-truth edge is a counted edge of that type`);
    t.equal(new Set(task.groundTruth.map(([p, c]) => key(p, c))).size, nTruth, `${name}: no duplicates`);
  }
});

// Which residual directions each node writes or reads, read off the weights.
function readsAndWrites(task) {
  const { cfg, weights: W } = task;
  const { dModel: D, dHead: Dh, dMlp: M, dVocab: V, nCtx, nHeads: H } = cfg;
  const nz = (test) => new Set(Array.from({ length: D }, (_, d) => d).filter(test));
  const any = (n, f) => { for (let i = 0; i < n; i++) if (f(i)) return true; return false; };
  const writes = new Map(), reads = new Map();
  writes.set("hook_embed", nz((d) => any(V, (v) => W.get("embed.W_E").data[v * D + d] !== 0)));
  writes.set("hook_pos_embed", nz((d) => any(nCtx, (p) => W.get("pos_embed.W_pos").data[p * D + d] !== 0)));
  reads.set(`blocks.${cfg.nLayers - 1}.hook_resid_post`, nz((d) => any(V, (v) => W.get("unembed.W_U").data[d * V + v] !== 0)));
  for (let l = 0; l < cfg.nLayers; l++) {
    for (let h = 0; h < H; h++) {
      const O = W.get(`blocks.${l}.attn.W_O`).data;
      writes.set(`blocks.${l}.attn.hook_result[${h}]`, nz((d) => any(Dh, (j) => O[(h * Dh + j) * D + d] !== 0)));
      for (const x of "qkv") {
        const X = W.get(`blocks.${l}.attn.W_${x.toUpperCase()}`).data;
        reads.set(`blocks.${l}.hook_${x}_input[${h}]`, nz((d) => any(Dh, (j) => X[(h * D + d) * Dh + j] !== 0)));
      }
    }
    const Win = W.get(`blocks.${l}.mlp.W_in`).data, Wout = W.get(`blocks.${l}.mlp.W_out`).data;
    reads.set(`blocks.${l}.hook_mlp_in`, nz((d) => any(M, (j) => Win[d * M + j] !== 0)));
    writes.set(`blocks.${l}.hook_mlp_out`, nz((d) => any(M, (j) => Wout[j * D + d] !== 0)));
  }
  return { writes, reads };
}

/** Edges whose removal can change anything: the parent writes a direction the child reads (direct: the head reads something). */
function structurallyLive(task, g) {
  const { writes, reads } = readsAndWrites(task);
  const live = new Set();
  for (const e of g.edges) {
    if (e.type === "placeholder") continue;
    const p = g.nodes[e.parent].label, c = g.nodes[e.child].label;
    if (e.type === "direct" ? reads.get(p).size > 0 : [...writes.get(p)].some((d) => reads.get(c).has(d))) live.add(key(p, c));
  }
  return live;
}

/** Metric change when each counted edge alone is removed (zero ablation) from the full model. */
function singleEdgeEffects(task, model, g) {
  const p = new Patcher(model, g, task.data, { ablation: "zero", metric: task.metrics.task() });
  const effects = new Map();
  for (const e of g.edges) {
    if (e.type === "placeholder") continue;
    effects.set(edgeLabel(g, e), p.trial(e.id) - p.baseline);
    p.reject();
  }
  return { p, effects };
}

t.test("the ground truth is derived, not assumed: weights and ablations agree with it", async (t) => {
  for (const name of NAMES) {
    const task = tracrTask(name);
    const model = await createTracrModel(task);
    const g = buildGraph(task.cfg, task.graph);
    const truth = new Set(task.groundTruth.map(([p, c]) => key(p, c)));

    // Components: unused ones are all zeros; used ones are exactly those the ground truth touches.
    const W = task.weights;
    const zero = (n) => W.get(n).data.every((x) => x === 0);
    const unused = [];
    for (let l = 0; l < task.cfg.nLayers; l++) {
      if (["W_Q", "W_K", "W_V", "W_O"].every((m) => zero(`blocks.${l}.attn.${m}`))) unused.push(`${l}.0`);
      if (["W_in", "W_out"].every((m) => zero(`blocks.${l}.mlp.${m}`))) unused.push(`mlp${l}`);
    }
    const inTruth = new Set(task.groundTruth.flatMap(([p, c]) => [p, c]).map((lbl) => {
      const n = g.nodes[g.byLabel.get(lbl)];
      return n.head !== null ? `${n.layer}.${n.head}` : n.kind === "mlp_in" || n.kind === "mlp_out" ? `mlp${n.layer}` : null;
    }).filter(Boolean));
    const all = [];
    for (let l = 0; l < task.cfg.nLayers; l++) all.push(`${l}.0`, `mlp${l}`);
    t.same(unused.sort(), all.filter((c) => !inTruth.has(c)).sort(), `${name}: components outside the ground truth (${unused.join(", ")}) have all-zero weights, the rest do not`);

    // Edges: the ground truth only uses edges along which something is written and read.
    const live = structurallyLive(task, g);
    t.same([...truth].filter((x) => !live.has(x)), [], `${name}: every ground-truth edge carries a direction its child reads`);
    const { p, effects } = singleEdgeEffects(task, model, g);
    const nonzero = [...effects].filter(([k, v]) => v !== 0 && !live.has(k));
    t.same(nonzero, [], `${name}: the ${effects.size - live.size} edges sharing no direction have exactly zero effect`);

    // Behaviour: every ground-truth edge matters; every other live edge does not.
    const weak = task.groundTruth.map(([a, b]) => key(a, b)).filter((k) => !(effects.get(k) > 1e-3));
    t.same(weak, [], `${name}: removing any one ground-truth edge raises the metric by > 1e-3 (smallest ${Math.min(...[...truth].map((k) => effects.get(k))).toExponential(2)})`);
    const extra = [...live].filter((k) => !truth.has(k));
    const strong = extra.filter((k) => !(Math.abs(effects.get(k)) < 1e-10));
    t.same(strong, [], `${name}: the ${extra.length} other live edges change the metric by < 1e-10 each`);
    t.comment(`${name}: live edges outside the ground truth: ${extra.map((k) => `${k} (${effects.get(k).toExponential(1)})`).join("; ")}`);

    // All of them at once: the ground truth alone reproduces the clean output.
    for (const e of g.edges) if (e.type !== "placeholder" && !truth.has(edgeLabel(g, e))) { p.trial(e.id); p.commit(); }
    t.ok(p.current < 1e-10, `${name}: only the ground-truth edges left, metric ${p.current.toExponential(2)} < 1e-10`);
  }
});

t.test("the ground truth on the well-formed \"all\" data: reverse agrees, proportion's BOS edges stop mattering", async (t) => {
  for (const [name, length, inert] of [
    ["tracr-reverse", 3, []],
    ["tracr-reverse", 5, ["blocks.0.attn.hook_result[0] -> blocks.0.hook_mlp_in", "hook_embed -> blocks.0.hook_v_input[0]", "blocks.0.hook_v_input[0] -> blocks.0.attn.hook_v[0]"]],
    ["tracr-proportion", 3, ["hook_embed -> blocks.1.hook_q_input[0]", "hook_embed -> blocks.1.hook_k_input[0]"]],
  ]) {
    const task = tracrTask(name, { data: "all", length });
    const model = await createTracrModel(task);
    const g = buildGraph(task.cfg, task.graph);
    const truth = new Set(task.groundTruth.map(([p, c]) => key(p, c)));
    const { effects } = singleEdgeEffects(task, model, g);
    t.same([...truth].filter((k) => !(effects.get(k) > 1e-3)), inert, `${name}, all ${task.data.clean.length} inputs of length ${length}: ground-truth edges without effect: ${inert.length ? inert.join("; ") : "none"}`);
    t.same([...effects].filter(([k, v]) => !truth.has(k) && !(Math.abs(v) < 1e-10)), [], `${name}, length ${length}: no edge outside the ground truth has an effect`);
  }
});

t.test("ACDC, zero ablation, l2 metric, thresholds 10^linspace(−5, −1, 21)", async (t) => {
  const runs = [
    // [task, options, thresholds at which the circuit must equal the ground truth, expected edge AUC]
    ["tracr-reverse", { data: "paper" }, THRESHOLDS, 1],
    ["tracr-proportion", { data: "paper" }, THRESHOLDS.slice(0, 17), 1],
    ["tracr-reverse", { data: "all", length: 3 }, THRESHOLDS, 1],
    ["tracr-proportion", { data: "all", length: 3 }, [], 0.8],
  ];
  for (const [name, opts, exact, auc] of runs) {
    const task = tracrTask(name, opts);
    const model = await createTracrModel(task);
    const g = buildGraph(task.cfg, task.graph);
    const truth = new Set(task.groundTruth.map(([p, c]) => key(p, c)));
    const circuits = [];
    const res = sweep({
      model, graph: g, data: task.data, metric: task.metrics.task, ablation: "zero", values: THRESHOLDS,
      groundTruth: task.groundTruth.map(([p, c]) => [p, c]),
      onRun: (_i, _n, threshold, r) => circuits.push({ threshold, edges: new Set(r.edges.map((e) => edgeLabel(g, e))) }),
    });
    t.comment(`${name} ${JSON.stringify(opts)}: ${task.data.clean.length} prompts; edge AUC ${res.edgeAuc.toFixed(3)}, component AUC ${res.nodeAuc.toFixed(3)}`);
    t.comment("  threshold  kept  TP  FP  FN  metric     missing / extra");
    res.runs.forEach((r, i) => {
      const got = circuits[i].edges;
      const missing = [...truth].filter((k) => !got.has(k)), extra = [...got].filter((k) => !truth.has(k));
      t.comment(`  ${r.value.toExponential(2)}  ${String(r.numKept).padStart(4)}  ${String(r.edges.tp).padStart(2)}  ${String(r.edges.fp).padStart(2)}  ${String(r.edges.fn).padStart(2)}  ${r.metric.toExponential(2)}  ${[...missing.map((k) => `−${k}`), ...extra.map((k) => `+${k}`)].join("; ")}`);
    });
    const exactAt = res.runs.filter((r, i) => circuits[i].edges.size === truth.size && [...truth].every((k) => circuits[i].edges.has(k))).map((r) => r.value);
    t.same(exactAt, exact, `${name} ${JSON.stringify(opts)}: exactly the ground truth at ${exact.length} of 21 thresholds`);
    t.equal(res.runs.filter((r) => r.edges.fp > 0).length, 0, `${name} ${JSON.stringify(opts)}: no false-positive edge at any threshold`);
    t.ok(Math.abs(res.edgeAuc - auc) < 1e-9, `${name} ${JSON.stringify(opts)}: edge AUC ${res.edgeAuc.toFixed(3)} (paper: 1.000)`);
  }
});

t.test("task API: data shapes, corrupted permutation, ground-truth table, errors", async (t) => {
  const rev = tracrTask("tracr-reverse"), prop = tracrTask("tracr-proportion");
  t.same(rev.data.clean.map((r) => r[0]), Array(6).fill(3), "reverse paper data: 6 rows, each starts with BOS (id 3)");
  t.same(rev.data.clean.map((r) => r.slice(1).sort().join("")), Array(6).fill("012"), "reverse paper data: permutations of 1, 2, 3 (ids 0, 1, 2)");
  t.equal(prop.data.clean.length, 50, "proportion paper data: 50 rows");
  t.ok(prop.data.clean.every((r) => r.length === 4 && r.every((x) => x >= 0 && x <= 3)), "proportion paper data: 4 ids in 0..3 (BOS, pad, w, x)");
  for (const task of [rev, prop, tracrTask("tracr-proportion", { data: "all", length: 2 })]) {
    const { clean, corrupted, positions } = task.data;
    t.ok(positions.every((p) => p.join() === Array.from({ length: clean[0].length - 1 }, (_, i) => i + 1).join()), `${task.key}/${task.dataVariant}: every position after the first is read`);
    const idx = corrupted.map((row) => clean.indexOf(row));
    t.ok(idx.every((j, i) => j >= 0 && j !== i) && new Set(idx).size === clean.length, `${task.key}/${task.dataVariant}: corrupted is a fixed-point-free permutation of the rows`);
  }
  t.same(tracrTask("tracr-reverse", { data: "all" }).data.clean.length, 27, "\"all\" defaults to the paper's length, 3");
  t.same(derangement(5, 7), derangement(5, 7), "the permutation is seeded");
  t.same(rev.groundTruth, TRACR_GROUND_TRUTH["tracr-reverse"], "ground truth table exported");
  const model = await createTracrModel(rev);
  const { logits } = model.forward(rev.data.clean);
  t.same(decodeTracrOutput(rev.compiled, logits, 6, 4)[0], ["BOS", ...[...rev.data.clean[0].slice(1)].reverse().map((id) => rev.compiled.tokens[id])], "decode: BOS then the reversed tokens");
  t.throws(() => tracrTask("tracr-sort"), /unknown tracr task/);
  t.throws(() => tracrTask("tracr-reverse", { data: "everything" }), /"paper" or "all"/);
  t.throws(() => tracrTask("tracr-reverse", { data: "all", length: 6 }), /length must be an integer in \[1, 5\]/);
  t.throws(() => encodeInput(rev.compiled, [1, 4]), /not in the vocabulary/);
});

t.test("resample ablation runs too (not in the paper's tracr results)", async (t) => {
  const task = tracrTask("tracr-reverse");
  const model = await createTracrModel(task);
  const g = buildGraph(task.cfg, task.graph);
  const r = acdc(new Patcher(model, g, task.data, { ablation: "corrupted", metric: task.metrics.task() }), { threshold: 1e-3 });
  t.comment(`tracr-reverse, corrupted ablation, τ = 1e-3: ${r.edges.length} edges: ${r.edges.map((e) => edgeLabel(g, e)).join("; ")}`);
  t.ok(r.metric < 1e-3, `circuit metric ${r.metric.toExponential(2)}`);
});
