// The paper's GPT-2 and attention-only tasks (src/tasks/{ioi,greaterthan,
// docstring,induction,gpt2}.ts): the generators reproduce the paper's
// datasets (strings and token ids below were produced once by the paper's
// own code paths in CPython 3.11 + NumPy and by decoding the ids), the
// corruption rules hold, the ground truths have the paper's sizes and live in
// the right graphs, and the metrics give hand-computed values on hand-made logits.
import t from "tap";
import { encode, decode } from "gpt-tokenizer/encoding/r50k_base";
import { buildGraph, createEngine, klMetric } from "../../dist/index.js";
import * as T from "../../dist/tasks/index.js";
import { nllMetric } from "../../dist/index.js";

const counted = (g) => g.counts.addition + g.counts.direct;
const labelSet = (g) => new Set(g.edges.filter((e) => e.type !== "placeholder").map((e) => `${g.nodes[e.parent].label} -> ${g.nodes[e.child].label} ${e.type}`));
const strs = (ids) => ids.map((x) => decode([x]));

/** Evaluate a metric on hand-made logits [R,V] (row r belongs to prompt rowPrompt[r]). */
async function evalMetric(metric, logits, R, V, rowPrompt = Array.from({ length: R }, (_, i) => i), clean = logits) {
  const e = await createEngine();
  const ctx = { engine: e, rows: R, vocab: V, rowPrompt: Int32Array.from(rowPrompt), cleanLogits: e.upload(Float32Array.from(clean)) };
  metric.init(ctx);
  return metric.compute(e.upload(Float32Array.from(logits)), ctx);
}

t.test("random generators: MT19937 as CPython, NumPy and PyTorch seed it", async (t) => {
  // torch.manual_seed(0); torch.randint(0, 10, (5,)) is the well-known [4, 9, 3, 0, 3].
  t.same(new T.TorchGenerator(0).randint(0, 10, 5), [4, 9, 3, 0, 3]);
  // np.random.RandomState(5489) (init_genrand, the reference seed): first output 3499211612.
  t.equal(T.MT19937.fromInt(5489).next(), 3499211612);
  // random.seed(5); [random.getrandbits(32) for _ in range(3)] in CPython.
  const r = new T.PythonRandom(5);
  t.same([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)], [2675342405, 1097127993, 3185950873]);
  // np.random.seed(3252); [np.random.randint(99) for _ in range(5)].
  const np = new T.NumpyRandomState(3252);
  t.same(Array.from({ length: 5 }, () => np.randint(99)), [32, 41, 35, 65, 43]);
  // random.seed(0); random.sample(range(111), 4) (set branch) and random.sample(range(10), 4) (pool branch).
  t.same(new T.PythonRandom(0).sample([...Array(111).keys()], 4), [108, 49, 97, 53]);
  t.same(new T.PythonRandom(0).sample([...Array(10).keys()], 4), [6, 9, 0, 2]);
  const p = new T.TorchGenerator(42).randperm(50);
  t.same([...p].sort((a, b) => a - b), [...Array(50).keys()], "randperm is a permutation");
});

t.test("IOI: the paper's prompts, token by token", async (t) => {
  const task = T.ioiTask();
  const { clean, corrupted, positions, correct, incorrect } = task.data;
  t.equal(task.split, "validation");
  t.equal(clean.length, 100);
  t.equal(corrupted.length, 100);
  t.ok(clean.every((r) => r.length === 15) && corrupted.every((r) => r.length === 15), "every prompt is 15 tokens");
  t.same(positions, Array(100).fill(14), "metric at the last position");
  // Prompt 0, as the paper's IOIDataset(ABBA, N=200, nb_templates=1, seed=0) and its ABC flips give it.
  t.equal(task.prompts.clean[0].text, "Then, Mary and Jeffrey went to the restaurant. Jeffrey gave a bone to Mary");
  t.equal(task.prompts.corrupted[0].text, "Then, Melissa and Nicole went to the restaurant. Anthony gave a bone to Melissa");
  t.same(clean[0], [6423, 11, 5335, 290, 19627, 1816, 284, 262, 7072, 13, 19627, 2921, 257, 9970, 284]);
  t.same(strs(clean[0]), ["Then", ",", " Mary", " and", " Jeffrey", " went", " to", " the", " restaurant", ".", " Jeffrey", " gave", " a", " bone", " to"]);
  t.same(corrupted[0], [6423, 11, 24164, 290, 25176, 1816, 284, 262, 7072, 13, 9953, 2921, 257, 9970, 284]);
  t.same(strs(corrupted[0]), ["Then", ",", " Melissa", " and", " Nicole", " went", " to", " the", " restaurant", ".", " Anthony", " gave", " a", " bone", " to"]);
  t.equal(correct[0], 5335, "IO = Mary");
  t.equal(incorrect[0], 19627, "S = Jeffrey");
  t.equal(task.prompts.clean[1].text, "Then, Brittany and Jamie went to the garden. Jamie gave a necklace to Brittany");
  t.equal(task.prompts.corrupted[1].text, "Then, Lauren and Alicia went to the garden. Daniel gave a necklace to Lauren");
  t.equal(task.prompts.clean[2].text, "Then, Christine and Amy went to the station. Amy gave a drink to Christine");
  t.equal(task.prompts.corrupted[2].text, "Then, Thomas and Elizabeth went to the station. Jesse gave a drink to Thomas");
  t.equal(task.prompts.clean[99].text, "Then, Daniel and Bryan went to the office. Bryan gave a drink to Daniel");
  t.equal(task.prompts.corrupted[99].text, "Then, Samantha and Vanessa went to the office. Ryan gave a drink to Samantha");
  const test = T.ioiTask({ split: "test" });
  t.equal(test.prompts.clean[0].text, "Then, Jessica and Rachel went to the garden. Rachel gave a drink to Jessica", "test split = prompts 100..199");
  t.equal(test.prompts.corrupted[0].text, "Then, Amy and Patrick went to the garden. Mark gave a drink to Amy");
  for (let i = 0; i < 100; i++) {
    const p = task.prompts.clean[i];
    t.equal(decode([...clean[i], correct[i]]), p.text, `prompt ${i} decodes back`);
    t.same(encode(p.text).slice(0, 15), clean[i]);
    t.equal(correct[i], encode(" " + p.io)[0]);
    t.equal(incorrect[i], encode(" " + p.s)[0]);
    t.equal(decode(corrupted[i]), task.prompts.corrupted[i].text.replace(/ \w+$/, ""), `corrupted prompt ${i} decodes back`);
  }
  t.ok([...T.IOI_NAMES, ...T.IOI_PLACES, ...T.IOI_OBJECTS].every((w) => encode(" " + w).length === 1), "every name, place and object is one token after a space");
});

t.test("IOI: ABC corruption", async (t) => {
  const task = T.ioiTask();
  const { clean, corrupted } = task.data;
  const names = new Set(T.IOI_NAMES.map((n) => encode(" " + n)[0]));
  const nameAt = [2, 4, 10]; // IO, S1, S2
  let distinct = 0;
  const sameS = [];
  for (let i = 0; i < 100; i++) {
    for (let j = 0; j < 15; j++) if (!nameAt.includes(j)) t.equal(corrupted[i][j], clean[i][j], `prompt ${i} token ${j} kept`);
    const [a, b, c] = nameAt.map((j) => corrupted[i][j]);
    t.ok([a, b, c].every((x) => names.has(x)), `prompt ${i}: names from NAMES`);
    t.ok([a, b, c].every((x) => x !== clean[i][2] && x !== clean[i][4]), `prompt ${i}: none is the clean IO or S`);
    if (new Set([a, b, c]).size === 3) distinct++;
    else if (b === c) sameS.push(i);
  }
  // The paper's flips do not force the S and S1 draws apart: when S draws the IO
  // flip's name, the S1 flip overwrites the IO word instead (see ioi.ts).
  t.equal(distinct, 96, "96 of 100 rows have three distinct new names");
  t.same(sameS, [16, 29, 65, 97], "the other 4 keep one name at S1 and S2");
  t.equal(task.prompts.corrupted[16].text, "Then, Alexander and Samantha went to the school. Samantha gave a drink to Samantha");
});

t.test("IOI: ground truth from the rules, 1,041 counted edges of GPT-2 small", async (t) => {
  const g = buildGraph(T.gpt2SmallConfig());
  t.equal(counted(g), 32923);
  const gt = T.ioiGroundTruth();
  t.equal(gt.length, 1041);
  t.equal(new Set(gt.map(([p, c]) => `${p} -> ${c}`)).size, 1041, "no duplicates");
  const all = labelSet(g);
  t.ok(gt.every(([p, c, ty]) => all.has(`${p} -> ${c} ${ty}`)), "every edge is a counted edge of the graph");
  t.same(gt.filter((e) => e[2] === "direct").length, 78, "26 heads × q, k, v direct edges");
  // Independent check: the code's procedure over the whole graph (mask the
  // other heads; cut circuit heads' input/head/output edges; add the special connections).
  const groups = {}; for (const [k, hs] of Object.entries(T.IOI_CIRCUIT)) for (const [l, h] of hs) groups[`${l}.${h}`] = k;
  const conn = [["INPUT", "previous token", "qkv"], ["INPUT", "duplicate token", "qkv"], ["INPUT", "s2 inhibition", "q"], ["INPUT", "negative", "kv"], ["INPUT", "name mover", "kv"], ["INPUT", "backup name mover", "kv"], ["previous token", "induction", "kv"], ["induction", "s2 inhibition", "kv"], ["duplicate token", "s2 inhibition", "kv"], ["s2 inhibition", "negative", "q"], ["s2 inhibition", "name mover", "q"], ["s2 inhibition", "backup name mover", "q"], ["negative", "OUTPUT", ""], ["name mover", "OUTPUT", ""], ["backup name mover", "OUTPUT", ""]];
  const expect = new Set();
  for (const e of g.edges) {
    if (e.type === "placeholder") continue;
    const p = g.nodes[e.parent], c = g.nodes[e.child];
    const grp = (n) => (n.head === null ? null : groups[`${n.layer}.${n.head}`]);
    if ((p.head !== null && !grp(p)) || (c.head !== null && !grp(c))) continue; // masked head
    let keep = true;
    if (c.kind === "qkv_input" && (p.kind === "input" || p.kind === "result")) keep = false;
    if (c.kind === "output" && p.kind === "result") keep = false;
    const pIn = p.kind === "input" || p.kind === "mlp_out" ? "INPUT" : grp(p), cOut = c.kind === "output" || c.kind === "mlp_in" ? "OUTPUT" : grp(c);
    for (const [a, b, letters] of conn) if (a === pIn && b === cOut && (b === "OUTPUT" || letters.includes(c.letter)) && c.layer > p.layer) keep = true;
    if (keep) expect.add(`${p.label} -> ${c.label}`);
  }
  t.same([...expect].sort(), gt.map(([p, c]) => `${p} -> ${c}`).sort(), "same edges as the code's procedure");
});

t.test("greater-than: the paper's prompts and the 01 corruption", async (t) => {
  const years = T.greaterThanYears();
  t.equal(years.length, 604);
  t.equal(years[0], "1112");
  t.equal(years[years.length - 1], "1797");
  t.ok(years.every((y) => { const c = Number(y.slice(0, 2)); return c >= 11 && c <= 17; }), "centuries 11–17");
  t.ok(T.GREATERTHAN_NOUNS.every((n) => encode(" " + n).length === 1) && T.GREATERTHAN_NOUNS.length === 120, "120 one-token nouns");
  const task = T.greaterThanTask();
  const { clean, corrupted, positions } = task.data;
  t.equal(clean.length, 100);
  t.same(positions, Array(100).fill(9));
  t.same(task.prompts.slice(0, 4).map((p) => p.text), [
    "The demonstrations lasted from the year 1289 to 12",
    "The assaults lasted from the year 1537 to 15",
    "The affair lasted from the year 1282 to 12",
    "The stature lasted from the year 1163 to 11",
  ], "torch.manual_seed(54) draws");
  t.same(T.greaterThanTask({ split: "test" }).prompts.slice(0, 2).map((p) => p.text), ["The warfare lasted from the year 1246 to 12", "The outcome lasted from the year 1614 to 16"]);
  t.same(clean[0], [464, 18721, 15436, 422, 262, 614, 1105, 4531, 284, 1105]);
  t.same(strs(clean[0]), ["The", " demonstrations", " lasted", " from", " the", " year", " 12", "89", " to", " 12"]);
  t.same(corrupted[0], [464, 18721, 15436, 422, 262, 614, 1105, 486, 284, 1105]);
  t.equal(decode(corrupted[0]), "The demonstrations lasted from the year 1201 to 12");
  t.equal(decode([T.GREATERTHAN_CORRUPT_TOKEN]), "01");
  for (let i = 0; i < 100; i++) {
    const p = task.prompts[i];
    t.equal(clean[i].length, 10);
    t.equal(decode(clean[i]), p.text);
    t.equal(clean[i][6], clean[i][9], `prompt ${i}: " YY" twice`);
    t.equal(decode([clean[i][7]]), p.year.slice(2));
    t.equal(task.yearEnds[i], Number(p.year.slice(2)));
    t.same(corrupted[i], clean[i].map((x, j) => (j === 7 ? 486 : x)), `prompt ${i}: only the year's end changes, to 01`);
  }
  t.same(T.yearSuffixTokens().map((x) => decode([x])), Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0")));
});

t.test("greater-than: ground truth, 262 counted edges of GPT-2 small", async (t) => {
  const gt = T.greaterThanGroundTruth();
  t.equal(gt.length, 262);
  t.equal(new Set(gt.map(([p, c]) => `${p} -> ${c}`)).size, 262);
  const all = labelSet(buildGraph(T.gpt2SmallConfig()));
  t.ok(gt.every(([p, c, ty]) => all.has(`${p} -> ${c} ${ty}`)), "every edge is a counted edge of the graph");
  const has = (p, c) => gt.some((e) => e[0] === p && e[1] === c);
  t.ok(has("blocks.8.attn.hook_result[11]", "blocks.8.hook_mlp_in"), "AMID head → its own layer's MLP");
  t.ok(has("blocks.0.attn.hook_result[1]", "blocks.0.hook_mlp_in"), "0.1 → MLP 0");
  t.ok(has("blocks.7.hook_mlp_out", "blocks.8.hook_mlp_in"), "MLP chain up to 8");
  t.ok(has("blocks.8.hook_mlp_out", "blocks.9.hook_mlp_in"), "MLP 8 → 9 inside the late group");
  t.ok(has("blocks.8.hook_mlp_out", "blocks.9.hook_q_input[1]"), "earlier MLP → AMID q");
  t.notOk(has("blocks.4.hook_mlp_out", "blocks.9.hook_k_input[1]"), "but not k");
});

t.test("docstring: prompts, random_random corruption, 37-edge ground truth", async (t) => {
  const task = T.docstringTask();
  t.equal(task.data, null, "no token ids without the model's tokenizer");
  t.throws(() => task.metrics.task(), /tokenizer/);
  t.equal(task.prompts.length, 50);
  t.same(task.prompts[0], {
    clean: '\ndef old(self, first, files, page, names, size, read):\n    """sector gap population\n\n    :param page: message tree\n    :param names: detail mine\n    :param',
    corrupted: '\ndef old(self, first, files, project, target, new, read):\n    """sector gap population\n\n    :param image: message tree\n    :param update: detail mine\n    :param',
    correct: " size",
    wrong: [" instance", " project", " target", " new", " image", " update", " required", " run", " page", " names", " first", " files", " read"],
  }, "prompt 0 = docstring_induction_prompt_generator(seed=0)");
  t.ok(T.docstringTask({ split: "test" }).prompts[7].clean.startsWith('\ndef new(self, names, fields, create, code, order, root):\n    """feature resolut'), "test prompt 7 = seed 57");
  const parse = (s) => ({ def: s.match(/\(self, (.*)\):/)[1].split(", "), doc: [...s.matchAll(/:param (\w+):/g)].map((m) => m[1]) });
  for (const [i, p] of task.prompts.entries()) {
    const c = parse(p.clean), x = parse(p.corrupted);
    t.equal(c.def.length, 6);
    t.same(c.doc, c.def.slice(2, 4), `prompt ${i}: the docstring documents m1, m2`);
    t.equal(p.correct, " " + c.def[4]);
    t.same([x.def[0], x.def[1], x.def[5]], [c.def[0], c.def[1], c.def[5]], `prompt ${i}: prefix and suffix arguments kept`);
    const fresh = [...x.def.slice(2, 5), ...x.doc];
    t.equal(new Set(fresh).size, 5, `prompt ${i}: five distinct replacement names`);
    t.ok(fresh.every((n) => !c.def.includes(n)), `prompt ${i}: none of them in the clean definition`);
    t.equal(p.wrong.length, 13);
    t.equal(p.corrupted.replace(/\(self, .*\):/, "").replace(/:param \w+:/g, ""), p.clean.replace(/\(self, .*\):/, "").replace(/:param \w+:/g, ""), `prompt ${i}: nothing else changes`);
  }
  const gt = T.docstringGroundTruth();
  t.equal(gt.length, 37);
  const g = buildGraph(T.attnOnly4lConfig());
  t.equal(counted(g), 1377);
  const all = labelSet(g);
  t.ok(gt.every(([p, c, ty]) => all.has(`${p} -> ${c} ${ty}`)), "every edge is a counted edge of the 4L8H attention-only graph");
  t.equal(gt.filter((e) => e[2] === "direct").length, 13, "24 addition + 13 direct edges");
});

t.test("docstring: token ids with a supplied tokenizer", async (t) => {
  // A stand-in tokenizer (words, punctuation, spaces and newlines) to exercise the path.
  const vocab = new Map();
  const encodeWords = (s) => (s.match(/ ?\w+| ?[^\w\s]|\n| +/g) ?? []).map((w) => { if (!vocab.has(w)) vocab.set(w, vocab.size + 1); return vocab.get(w); });
  const task = T.docstringTask({ tokenizer: { encode: encodeWords, bos: 0 } });
  const d = task.data;
  const T0 = d.clean[0].length;
  t.ok(d.clean.every((r) => r.length === T0 && r[0] === 0) && d.corrupted.every((r) => r.length === T0), "equal lengths, BOS first");
  t.same(d.positions, Array(50).fill(T0 - 1));
  t.equal(d.correct[0], vocab.get(" size"));
  t.same(d.wrong[0], task.prompts[0].wrong.map((w) => vocab.get(w)));
  t.throws(() => T.docstringTask({ tokenizer: { encode: (s) => [...s].map((ch) => ch.charCodeAt(0)), bos: 0 } }), /tokenises to/, "unequal lengths are refused");
});

t.test("induction: repeated random tokens, shuffled rows, 2-layer graph", async (t) => {
  const task = T.inductionTask();
  const { clean, corrupted, positions, labels } = task.data;
  t.equal(task.source, "synthetic");
  t.equal(clean.length, 50);
  t.ok(clean.every((r) => r.length === 20 && r.slice(0, 10).every((x, i) => x === r[10 + i])), "each row is 10 tokens twice");
  t.ok(clean.flat().every((x) => Number.isInteger(x) && x >= 0 && x < 50256));
  t.same(positions, Array(50).fill([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]), "metric over the second half");
  t.same(labels[3], [...clean[3].slice(11), clean[3][0]], "labels: the next token, and the repeat's continuation at the end");
  const perm = new T.TorchGenerator(42).randperm(50);
  t.same(corrupted, perm.map((i) => clean[i]), "corrupted = rows[randperm(50)] after manual_seed(42)");
  t.same(T.inductionTask().data.clean, clean, "deterministic");
  t.notSame(T.inductionTask({ split: "test" }).data.clean[0], clean[0]);
  t.equal(task.groundTruth, null);
  t.equal(counted(buildGraph(task.cfg)), 305);
  // The paper's files, when supplied: rows sliced to seqLen, labels the next token, positions from the mask.
  const toks = Array.from({ length: 4 }, (_, b) => Array.from({ length: 7 }, (_, i) => 100 * b + i));
  const mask = toks.map((r, b) => r.map((_, i) => i === 2 || (i === 5 && b % 2 === 0)));
  const pt = T.inductionTask({ tokens: toks, mask, numExamples: 2, seqLen: 6, split: "test" });
  t.same(pt.data.clean, [toks[2].slice(0, 6), toks[3].slice(0, 6)]);
  t.same(pt.data.positions, [[2, 5], [2]]);
  t.same(pt.data.labels, [[203, 206], [303]]);
});

t.test("metrics on hand-made logits", async (t) => {
  // IOI logit difference: rows r with logit[IO] = 2 + r/10, logit[S] = 1; value −mean(1 + r/10) = −(1 + 99/20).
  const ioi = T.ioiTask(), V = 50257;
  const x = new Float32Array(100 * V);
  ioi.data.correct.forEach((c, r) => { x[r * V + c] = 2 + r / 10; x[r * V + ioi.data.incorrect[r]] = 1; });
  t.ok(Math.abs((await evalMetric(ioi.metrics.task(), x, 100, V)) - -(1 + 99 / 20)) < 1e-5, "IOI logit difference");
  // KL: two tokens, clean p = (0.5, 0.5), patched q = (0.8, 0.2): KL = 0.5 ln(0.5/0.8) + 0.5 ln(0.5/0.2).
  const kl = await evalMetric(ioi.metrics.kl(), [Math.log(0.8), Math.log(0.2)], 1, 2, [0], [0, 0]);
  t.ok(Math.abs(kl - (0.5 * Math.log(0.5 / 0.8) + 0.5 * Math.log(0.5 / 0.2))) < 1e-6, "KL");
  // Greater-than with suffix tokens 0..99 in a vocabulary of 102 and flat logits: p = 1/102 each;
  // csum[99] = 100/102, csum[y] = (y + 1)/102. Rows y = 10, 89: −mean(78, −80)/102 = 1/102.
  const sfx = [...Array(100).keys()];
  t.ok(Math.abs((await evalMetric(T.greaterThanMetric([10, 89], sfx), new Float32Array(2 * 102), 2, 102)) - 1 / 102) < 1e-7, "greater-than, flat");
  t.ok(Math.abs((await evalMetric(T.greaterThanMetric([0], sfx), new Float32Array(102), 1, 102)) - -100 / 102) < 1e-7, "greater-than, y = 0 counts nothing as ≤ (the code's quirk)");
  // All mass on "99" after year 50: P(>) = 1, metric −1; on "50" itself: P(≤) = 1, metric +1.
  const gt = T.greaterThanTask(), tok = T.yearSuffixTokens();
  const one = (tk) => { const a = new Float32Array(V); a[tk] = 100; return a; };
  t.ok(Math.abs((await evalMetric(T.greaterThanMetric([50]), one(tok[99]), 1, V)) - -1) < 1e-6);
  t.ok(Math.abs((await evalMetric(T.greaterThanMetric([50]), one(tok[50]), 1, V)) - 1) < 1e-6);
  // Rows map to prompts: two rows of prompt 1 (year end gt.yearEnds[1]).
  const y1 = gt.yearEnds[1], two = new Float32Array(2 * V); two[tok[99]] = 100; two[V + tok[0]] = 100;
  t.ok(Math.abs((await evalMetric(gt.metrics.task(), two, 2, V, [1, 1])) - 0) < 1e-6, `rows of prompt 1 (YY ${y1}): −(1 + −1)/2`);
  // Docstring: correct 1, wrong 2 and 3, logits (0, 3, 1, 2.5, 9): −(3 − 2.5).
  t.ok(Math.abs((await evalMetric(T.docstringMetric([1], [[2, 3]]), [0, 3, 1, 2.5, 9], 1, 5)) - -0.5) < 1e-6, "docstring");
  // NLL: logits (0, ln 2, 0), label 1: ln 4 − ln 2 = ln 2.
  t.ok(Math.abs((await evalMetric(nllMetric([1]), [0, Math.log(2), 0], 1, 3)) - Math.log(2)) < 1e-6, "nll");
  t.equal(klMetric().name, "kl");
});

t.test("registry, thresholds and the paper's numbers", async (t) => {
  t.same(T.TASKS.map((x) => x.key), ["ioi", "greaterthan", "docstring", "induction"]);
  t.throws(() => T.getTask("nope"), /unknown task/);
  const ioi = T.getTask("ioi").build({ numExamples: 3 });
  t.equal(ioi.data.clean.length, 3);
  t.equal(ioi.thresholds.kl.length, 31);
  t.ok(Math.abs(ioi.thresholds.kl[0] - 1e-6) < 1e-18 && ioi.thresholds.kl[30] === 1);
  t.same(ioi.paper.auc.kl, { acdc: 0.869, hisp: 0.239, sp: 0.888 });
  t.same(T.getTask("greaterthan").build().paper.auc.task, { acdc: 0.461, hisp: 0.275, sp: 0.848 });
  t.same(T.getTask("docstring").build().thresholds.kl.length, 21);
  t.equal(T.getTask("induction").build().paper.auc, null);
  t.throws(() => T.ioiTask({ split: "train" }), /split/);
  t.throws(() => T.ioiTask({ numExamples: 0 }), /positive integer/);
});
