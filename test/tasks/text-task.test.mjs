// Tasks written as text (src/tasks/task-file.ts, text-task.ts): the issue's
// minimal file works as written; the example task files tokenize to exactly
// the token ids of the generators they were written from (IOI, greater-than,
// name repetition, induction); markers, indices, answers and targets land
// where an independent reading of the tokens says; the metrics read what a
// plain forward pass gives; and every bad file is refused with one line that
// names the problem (and, for a prompt, its text and tokens).
import t from "tap";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { loadModel, buildGraph, Patcher, InputError } from "../../dist/index.js";
import { loadTextTask, readTaskSpec, buildTextTask, parseTaskJson, R50kTokenizer } from "../../dist/tokenizers/index.js";
import { ioiTask, greaterThanTask, nameRepeatTask, inductionOfflineTask, inductionGroundTruth, gpt2SmallConfig } from "../../dist/tasks/index.js";
import { Llama2cTokenizer } from "../../dist/model/formats/index.js";

const readFile = async (p) => (existsSync(p) ? new Uint8Array(readFileSync(p)) : null);
const examples = join(root, "examples", "tasks");
const example = (name) => JSON.parse(readFileSync(join(examples, name), "utf8"));
const stories = join(root, "..", "shared", "models", "stories260K");
const haveStories = existsSync(join(stories, "stories260K.bin")) && existsSync(join(stories, "tok512.bin"));
const skipStories = haveStories ? false : `${stories} has no stories260K.bin and tok512.bin (not committed; see ../shared/models/)`;
const bytes = (p) => new Uint8Array(readFileSync(p));
const inductionModel = () => loadModel(bytes(join(root, "models", "induction-2l.safetensors")), JSON.parse(readFileSync(join(root, "models", "induction-2l.config.json"), "utf8")));
const edgeSet = (edges) => new Set(edges.map(([a, b, type]) => `${a} ${b} ${type}`));

const MINIMAL = `{"tokenizer": "../shared/models/stories260K/tok512.bin",
 "clean": ["Once upon a time there was a cat. The cat was happy. The cat"],
 "corrupted": ["Once upon a time there was a dog. The dog was happy. The dog"],
 "metric": "kl", "positions": "last"}`;

t.test("the issue's minimal task file works exactly as written (paths relative to its folder)", { skip: skipStories }, async (t) => {
  // A folder with the task file in it and ../shared beside it, as in the issue.
  const dir = mkdtempSync(join(tmpdir(), "acdc-texttask-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(root, "..", "shared"), join(dir, "shared"));
  mkdirSync(join(dir, "proj"));
  writeFileSync(join(dir, "proj", "task.json"), MINIMAL);
  const model = await loadModel(bytes(join(stories, "stories260K.bin")));
  const task = await loadTextTask(parseTaskJson(readFileSync(join(dir, "proj", "task.json"), "utf8")), { cfg: model.cfg, readFile, baseDir: join(dir, "proj"), source: "task.json" });
  // Independent tokenization: llama2.c's run.c encoder (no BOS, as the file asks for none).
  const tok = Llama2cTokenizer.parse(bytes(join(stories, "tok512.bin")), model.cfg.dVocab);
  const json = JSON.parse(MINIMAL);
  t.strictSame(task.data.clean, [tok.encode(json.clean[0], { bos: false })]);
  t.strictSame(task.data.corrupted, [tok.encode(json.corrupted[0], { bos: false })]);
  t.equal(task.data.clean[0].length, 19);
  t.strictSame(task.data.positions, [18], "last position");
  t.equal(task.defaultMetric, "kl");
  t.equal(task.defaultAblation, "corrupted");
  t.equal(task.groundTruth, null);
  const p = new Patcher(model, buildGraph(model.cfg), task.data, { metric: task.metrics.kl() });
  t.equal(p.baseline, 0, "KL of the clean run to itself");
});

t.test("ioi.json tokenizes to ioiTask()'s token ids, answers, thresholds and ground truth", async (t) => {
  const ref = ioiTask();
  const task = await loadTextTask(example("ioi.json"), { cfg: gpt2SmallConfig(), readFile, baseDir: examples, source: "ioi.json" });
  t.strictSame(task.data.clean, ref.data.clean, "clean: 100 × 15 tokens");
  t.strictSame(task.data.corrupted, ref.data.corrupted, "corrupted (ABC)");
  t.strictSame(task.data.positions, ref.data.positions);
  t.strictSame(task.data.correct, ref.data.correct, "correct: the IO name, in context");
  t.strictSame(task.data.incorrect, ref.data.incorrect, "incorrect: the S name");
  t.strictSame(task.thresholds["logit-diff"], ref.thresholds.task);
  t.equal(task.defaultMetric, "logit-diff");
  t.strictSame(edgeSet(task.groundTruth), edgeSet(ref.groundTruth), `ground truth: ${ref.groundTruth.length} edges, types from the graph`);
});

t.test("greaterthan.json tokenizes to greaterThanTask()'s token ids, thresholds and ground truth", async (t) => {
  const ref = greaterThanTask();
  const task = await loadTextTask(example("greaterthan.json"), { cfg: gpt2SmallConfig(), readFile, baseDir: examples, source: "greaterthan.json" });
  t.strictSame(task.data.clean, ref.data.clean, "clean: 100 × 10 tokens");
  t.strictSame(task.data.corrupted, ref.data.corrupted, "corrupted: the year's last two digits as the token 01");
  t.strictSame(task.data.positions, ref.data.positions);
  t.strictSame(task.thresholds.kl, ref.thresholds.kl);
  t.strictSame(edgeSet(task.groundTruth), edgeSet(ref.groundTruth), `ground truth: ${ref.groundTruth.length} edges`);
});

t.test("name-repeat.json tokenizes to nameRepeatTask()'s token ids and answers (stories260K)", { skip: skipStories }, async (t) => {
  const model = await loadModel(bytes(join(stories, "stories260K.bin")));
  const ref = nameRepeatTask(Llama2cTokenizer.parse(bytes(join(stories, "tok512.bin")), model.cfg.dVocab), model.cfg);
  const task = await loadTextTask(example("name-repeat.json"), { cfg: model.cfg, readFile, baseDir: examples, source: "name-repeat.json" });
  for (const k of ["clean", "corrupted", "positions", "correct", "incorrect"]) t.strictSame(task.data[k], ref.data[k], k);
  t.strictSame(task.thresholds["logit-diff"], ref.thresholds.task);

  // The same prompts through a tokenizer.json (the SentencePiece layout of tok512) give the same ids.
  const json = { ...example("name-repeat.json"), tokenizer: join(root, "test", "fixtures", "tokenizers", "tok512-metaspace.json") };
  const viaJson = await loadTextTask(json, { cfg: model.cfg, readFile, source: "hf.json" });
  t.strictSame(viaJson.data, task.data, "tokenizer.json and llama2.c .bin give the same task");
});

t.test("induction-2l.json holds inductionOfflineTask()'s rows and the model's measured ground truth", async (t) => {
  const model = await inductionModel();
  const ref = inductionOfflineTask();
  const task = await loadTextTask(example("induction-2l.json"), { cfg: model.cfg, readFile, baseDir: examples, source: "induction-2l.json" });
  t.strictSame(task.data.clean, ref.data.clean);
  t.strictSame(task.data.corrupted, ref.data.corrupted);
  t.strictSame(task.data.positions, ref.data.positions);
  t.strictSame(task.thresholds.kl, ref.thresholds.kl);
  t.equal(task.tokenizer, null, "token ids, no tokenizer");
  t.strictSame(edgeSet(task.groundTruth), edgeSet(inductionGroundTruth(model, ref.data.clean).edges));
});

t.test("positions: markers, tokens and indices land where the tokens say", async (t) => {
  const tok = new R50kTokenizer("gpt2");
  const text = "Then, Mary and John went to the store. John gave a ring to";
  // The tokens, read off one by one: what the expected positions below count.
  const words = ["Then", ",", " Mary", " and", " John", " went", " to", " the", " store", ".", " John", " gave", " a", " ring", " to"];
  t.strictSame(tok.encode(text).map((id) => tok.decode([id])), words);
  const cfg = gpt2SmallConfig();
  const pos = (positions, extra = {}) => buildTextTask(readTaskSpec({ tokenizer: "gpt2", clean: [text], corrupted: [text.replace("Mary", "Anna")], positions, ...extra }, "p.json"), tok, cfg).data.positions;
  t.strictSame(pos("last"), [14]);
  t.strictSame(pos({ marker: " to" }), [14], "marker: last occurrence by default");
  t.strictSame(pos({ marker: " to", occurrence: "first" }), [6]);
  t.strictSame(pos({ marker: " to", occurrence: "all" }), [[6, 14]], "all occurrences: a list for the prompt");
  t.strictSame(pos({ marker: "sto" }), [8], "a marker ending inside a token reads that token");
  t.strictSame(pos({ marker: "store. John" }), [10], "a marker over several tokens reads the one it ends in");
  t.strictSame(pos({ token: " John", occurrence: "all" }), [[4, 10]], "token by text");
  t.strictSame(pos({ token: "ĠJohn", occurrence: "first" }), [4], "token by piece");
  t.strictSame(pos({ token: tok.encode(" ring")[0] }), [13], "token by id");
  t.strictSame(pos(-1), [14]);
  t.strictSame(pos(3), [3]);
  t.strictSame(pos([[0, -2]]), [[0, 13]], "a list per prompt; negative from the end");
  t.strictSame(pos({ marker: " to" }, { bos: true }), [15], "BOS shifts every position by one");
  t.equal(buildTextTask(readTaskSpec({ tokenizer: "gpt2", bos: true, clean: [text], corrupted: [text] }, "p.json"), tok, cfg).data.clean[0][0], 50256, "BOS is <|endoftext|>");

  // A multi-byte character split over byte tokens: the marker after it is still found.
  const emoji = "I like 🦜 parrots and cats";
  const e = buildTextTask(readTaskSpec({ tokenizer: "gpt2", clean: [emoji], corrupted: [emoji], positions: { marker: " parrots" } }, "p.json"), tok, cfg);
  const ids = e.data.clean[0];
  t.equal(tok.decode(ids.slice(0, e.data.positions[0] + 1)), "I like 🦜 parrots", "the marker's last token ends where the marker does");
});

t.test("metrics read what a plain forward pass gives (logit-diff, nll with a target)", async (t) => {
  const model = await inductionModel();
  const graph = buildGraph(model.cfg);
  const clean = [[0, 5, 6, 7, 5, 6], [0, 9, 10, 11, 9, 10]], corrupted = [[0, 12, 13, 14, 5, 6], [0, 15, 16, 17, 9, 10]];
  const logSoftmax = (x) => { const m = Math.max(...x); const lse = m + Math.log(x.reduce((a, v) => a + Math.exp(v - m), 0)); return x.map((v) => v - lse); };
  const V = model.cfg.dVocab;
  const logitsAt = (rows, b, p) => { const T = rows[0].length; return Array.from(model.forward(rows).logits.subarray((b * T + p) * V, (b * T + p + 1) * V)); };

  const ld = buildTextTask(readTaskSpec({ clean, corrupted, metric: "logit-diff", correct: [7, 11], incorrect: 3, positions: -1 }, "ld.json"), null, model.cfg);
  t.strictSame(ld.data.positions, [5, 5]);
  t.strictSame(ld.data.correct, [7, 11]); t.strictSame(ld.data.incorrect, [3, 3], "one answer for every prompt");
  const want = -((logitsAt(clean, 0, 5)[7] - logitsAt(clean, 0, 5)[3]) + (logitsAt(clean, 1, 5)[11] - logitsAt(clean, 1, 5)[3])) / 2;
  const got = new Patcher(model, graph, ld.data, { metric: ld.metrics["logit-diff"]() }).baseline;
  t.ok(Math.abs(got - want) < 1e-4, `logit-diff baseline ${got} = −mean(logit[correct] − logit[incorrect]) ${want}`);

  // nll: the target follows the prompt in both runs; rows are the positions that predict each target token.
  const nt = buildTextTask(readTaskSpec({ clean, corrupted, metric: "nll", target: [[7, 5], [11, 9]] }, "nll.json"), null, model.cfg);
  t.strictSame(nt.data.clean, [[...clean[0], 7, 5], [...clean[1], 11, 9]]);
  t.strictSame(nt.data.corrupted, [[...corrupted[0], 7, 5], [...corrupted[1], 11, 9]]);
  t.strictSame(nt.data.positions, [[5, 6], [5, 6]]);
  t.strictSame(nt.data.labels, [7, 5, 11, 9]);
  let s = 0;
  for (const [b, p, y] of [[0, 5, 7], [0, 6, 5], [1, 5, 11], [1, 6, 9]]) s -= logSoftmax(logitsAt(nt.data.clean, b, p))[y];
  const nll = new Patcher(model, graph, nt.data, { metric: nt.metrics.nll() }).baseline;
  t.ok(Math.abs(nll - s / 4) < 1e-4, `nll baseline ${nll} = mean −log p(target) ${s / 4}`);
  t.strictSame(Object.keys(nt.metrics).sort(), ["kl", "nll"], "kl is always offered beside the file's metric");

  // zero ablation needs no corrupted prompts.
  const z = buildTextTask(readTaskSpec({ clean, ablation: "zero" }, "z.json"), null, model.cfg);
  t.equal(z.data.corrupted, undefined);
  t.equal(z.defaultAblation, "zero");
});

t.test("a text target and text answers are tokenized in context (stories260K)", { skip: skipStories }, async (t) => {
  const model = await loadModel(bytes(join(stories, "stories260K.bin")));
  const tok = Llama2cTokenizer.parse(bytes(join(stories, "tok512.bin")), model.cfg.dVocab);
  const base = JSON.parse(MINIMAL);
  const load = (extra) => loadTextTask({ ...base, ...extra }, { cfg: model.cfg, readFile, baseDir: root, source: "t.json" });
  const prompt = base.clean[0], own = tok.encode(prompt, { bos: false });
  const nt = await load({ metric: "nll", target: " was very happy", positions: undefined, bos: true });
  const full = tok.encode(prompt + " was very happy", { bos: true });
  t.strictSame(nt.data.clean[0], full, "BOS + prompt + target, as the whole text tokenizes");
  t.strictSame(nt.data.labels, full.slice(own.length + 1));
  t.strictSame(nt.data.positions, [full.slice(own.length + 1).map((_, j) => own.length + j)]);
  const ld = await load({ metric: "logit-diff", correct: " was", incorrect: " had" });
  t.strictSame([ld.data.correct[0], ld.data.incorrect[0]], [tok.encode(prompt + " was", { bos: false }).at(-1), tok.encode(prompt + " had", { bos: false }).at(-1)]);
  t.strictSame([tok.pieces[ld.data.correct[0]], tok.pieces[ld.data.incorrect[0]]], [" was", " had"], "one token each");
});

// ---- bad files: one line each, naming the problem --------------------------------------------

const SOURCE = "bad.json";
/** The error a task file gives, or null; each must be one InputError line starting with the file name. */
async function refusal(t, json, { cfg = gpt2SmallConfig(), baseDir = root } = {}) {
  try {
    await loadTextTask(json, { cfg, readFile, baseDir, source: SOURCE });
  } catch (e) {
    t.ok(e instanceof InputError, `an InputError (${e.name})`);
    t.notOk(e.message.includes("\n"), "one line");
    t.ok(e.message.startsWith(`${SOURCE}: `), "names the file");
    return e.message;
  }
  return null;
}

const IOI_TEXT = "Then, Mary and John went to the store. John gave a ring to";
const gpt2 = { tokenizer: "gpt2", clean: [IOI_TEXT], corrupted: [IOI_TEXT.replace("Mary", "Anna")] };
const PIECES = /\["Then", ",", "ĠMary", "Ġand", "ĠJohn", "Ġwent", "Ġto", "Ġthe", "Ġstore", "\.", "ĠJohn", "Ġgave", "Ġa", "Ġring", "Ġto"\] \(15 tokens\)/;

const CASES = [
  // [what, file, expected message, shows the prompt's tokens?]
  ["mismatched lengths", { ...gpt2, corrupted: [IOI_TEXT.replace("Mary", "Maryanne-Louise")] },
    /clean prompt 0 "Then, Mary and John went to the store\. John gave a ring to" → \["Then".*\(15 tokens\) but corrupted prompt 0 "Then, Maryanne-Louise.*" → \[.*"ĠMary", "anne", "-".*\] \(\d+ tokens\); a prompt's clean and corrupted versions must have the same number of tokens/, true],
  ["prompts of different lengths", { ...gpt2, clean: [IOI_TEXT, "Then, Mary went"], corrupted: [IOI_TEXT, "Then, Anna went"] },
    /clean prompt 1 "Then, Mary went" → \["Then", ",", "ĠMary", "Ġwent"\] \(4 tokens\): 4 tokens, but prompt 0 has 15; every prompt must have the same number of tokens/],
  ["multi-token answer", { ...gpt2, metric: "logit-diff", correct: " Maryanne", incorrect: " John" },
    /clean prompt 0 .*: correct " Maryanne" is 2 tokens after the prompt \["ĠMary", "anne"\]; logit-diff compares single tokens \(give one token, e\.g\. its first: " Mary" or id 5335\)/, true],
  ["answer that re-tokenizes the prompt", { ...gpt2, clean: ["Hello wor"], corrupted: ["Hello bar"], metric: "logit-diff", correct: "ld", incorrect: "k" },
    /clean prompt 0 "Hello wor" → \["Hello", "Ġwor"\] \(2 tokens\): appending correct "ld" changes the prompt's own tokens \(prompt \+ correct → \["Hello", "Ġworld"\]\); give correct as token ids/],
  ["correct = incorrect", { ...gpt2, metric: "logit-diff", correct: " Mary", incorrect: 5335 }, /correct and incorrect are the same token \(\["ĠMary"\]\)/, true],
  ["unknown tokenizer name", { ...gpt2, tokenizer: "llama3" },
    /^bad\.json: tokenizer "llama3" not found \(looked for \/.*\/llama3\); the built-in tokenizers are "gpt2" and "r50k"/],
  ["tokenizer file not there", { ...gpt2, tokenizer: "models/none/tokenizer.json" }, /tokenizer "models\/none\/tokenizer\.json" not found \(looked for \/.*\/models\/none\/tokenizer\.json\)/],
  ["tokenizer file that is not a tokenizer", { ...gpt2, tokenizer: "models/induction-2l.config.json" }, /tokenizer\.json: .*induction-2l\.config\.json: no "model" object/],
  ["empty clean list", { ...gpt2, clean: [], corrupted: [] }, /"clean" is an empty list; give at least one prompt/],
  ["empty corrupted list", { ...gpt2, corrupted: [] }, /"corrupted" is an empty list/],
  ["clean and corrupted counts differ", { ...gpt2, corrupted: [IOI_TEXT, IOI_TEXT] }, /"clean" has 1 prompts but "corrupted" has 2/],
  ["empty prompt text", { ...gpt2, clean: [""] }, /clean\[0\] is an empty string/],
  ["marker not found", { ...gpt2, positions: { marker: "zebra" } }, /clean prompt 0 .*: marker "zebra" not found/, true],
  ["token marker not found", { ...gpt2, positions: { token: " zebra" } }, /token " zebra" \(as a piece or as text\) not found/, true],
  ["position out of range", { ...gpt2, positions: 15 }, /position 15 is outside its 15 tokens \(0 … 14, or -15 … -1 from the end\)/, true],
  ["negative position out of range", { ...gpt2, positions: [[-16]] }, /position -16 is outside its 15 tokens/, true],
  ["unknown field", { ...gpt2, promts: [] }, /unknown field "promts" \(the fields are name, description, model, tokenizer, bos, clean/],
  ["top level not an object", [IOI_TEXT], /the top level must be a JSON object/],
  ["clean not a list", { ...gpt2, clean: IOI_TEXT }, /"clean" must be a list of prompts \(text or token-id lists\), got "Then, Mary/],
  ["a prompt of the wrong type", { ...gpt2, clean: [{ text: IOI_TEXT }] }, /clean\[0\] must be text or a non-empty list of token ids \(integers ≥ 0\), got \{"text"/],
  ["negative token id", { ...gpt2, clean: [[1, -2]], corrupted: [[1, 2]] }, /clean\[0\] must be text or a non-empty list of token ids/],
  ["unknown metric", { ...gpt2, metric: "l2" }, /"metric" must be "kl" \| "logit-diff" \| "nll", got "l2"/],
  ["logit-diff without answers", { ...gpt2, metric: "logit-diff" }, /"metric": "logit-diff" needs "correct"/],
  ["answers with kl", { ...gpt2, correct: " Mary" }, /"correct" applies to "metric": "logit-diff", not "kl"/],
  ["answers one short", { ...gpt2, clean: [IOI_TEXT, IOI_TEXT], corrupted: [IOI_TEXT, IOI_TEXT], metric: "logit-diff", correct: [" Mary"], incorrect: " John" }, /"correct" has 1 entries for 2 prompts/],
  ["nll with positions", { ...gpt2, metric: "nll", target: " Mary", positions: "last" }, /"positions" does not apply to "metric": "nll"/],
  ["bos not a boolean", { ...gpt2, bos: "yes" }, /"bos" must be true or false, got "yes"/],
  ["bad positions object", { ...gpt2, positions: { marker: " to", where: 1 } }, /"positions" as an object is \{"marker": text\} or \{"token": text, piece or id\}/],
  ["bad occurrence", { ...gpt2, positions: { marker: " to", occurrence: 2 } }, /positions\.occurrence must be "last" \| "first" \| "all", got 2/],
  ["positions per prompt miscounted", { ...gpt2, positions: [1, 2] }, /"positions" has 2 entries for 1 prompts/],
  ["bad thresholds", { ...gpt2, thresholds: "0.001:0.1" }, /"thresholds" as text is "LO:HI:N"/],
  ["negative threshold", { ...gpt2, thresholds: [0.1, -1] }, /"thresholds" must be a non-empty list of numbers ≥ 0/],
  ["bad ablation", { ...gpt2, ablation: "resample" }, /"ablation" must be "corrupted" \| "zero" \| "mean", got "resample"/],
  ["no corrupted under corrupted ablation", { tokenizer: "gpt2", clean: [IOI_TEXT] }, /"corrupted" is missing/],
  ["text without a tokenizer", { clean: [IOI_TEXT], corrupted: [IOI_TEXT] }, /clean\[0\] is text but the file names no "tokenizer"/],
  ["ground truth of the wrong shape", { ...gpt2, ground_truth: [["blocks.0.hook_resid_pre"]] }, /ground_truth\[0\] must be \[parent label, child label\]/],
  ["ground truth with a typo", { ...gpt2, ground_truth: [["blocks.0.hook_resid_pre", "blocks.11.hook_resid_pots"]] },
    /ground_truth\[0\] \["blocks\.0\.hook_resid_pre","blocks\.11\.hook_resid_pots"\]: the model's graph \(12 layers × 12 heads\) has no node "blocks\.11\.hook_resid_pots"/],
  ["ground truth that is no edge", { ...gpt2, ground_truth: [["blocks.11.hook_resid_post", "blocks.0.hook_resid_pre"]] }, /not an edge of the model's graph/],
  ["ground truth of the wrong type", { ...gpt2, ground_truth: [["blocks.0.hook_resid_pre", "blocks.11.hook_resid_post", "direct"]] }, /is a addition edge, not direct/],
  ["repeated ground-truth edge", { ...gpt2, ground_truth: [["blocks.0.hook_resid_pre", "blocks.11.hook_resid_post"], ["blocks.0.hook_resid_pre", "blocks.11.hook_resid_post"]] }, /ground_truth\[1\] repeats ground_truth\[0\]/],
];

t.test("bad task files: one line each, naming the prompt, its tokens and the problem", async (t) => {
  for (const [what, json, re, showsTokens] of CASES) {
    const msg = await refusal(t, json);
    t.match(msg, re, what);
    if (showsTokens) t.match(msg, PIECES, `${what}: shows the prompt's tokens as the tokenizer spells them`);
  }
});

t.test("bad task files against the model: vocabulary, n_ctx, the tokenizer of another model", async (t) => {
  const model = await inductionModel(); // 64 tokens, n_ctx 32
  const cfg = model.cfg;
  const row = (n) => Array.from({ length: n }, (_, i) => 1 + (i % 60));
  t.match(await refusal(t, { clean: [row(40)], corrupted: [row(40)] }, { cfg }), /clean prompt 0 \[1, 2, 3, .*\] \(40 tokens\): longer than the model's context \(n_ctx = 32\)/, "prompt longer than n_ctx");
  t.match(await refusal(t, { clean: [[0, 1, 2, 64]], corrupted: [[0, 1, 2, 3]] }, { cfg }), /clean prompt 0 \[0, 1, 2, 64\] \(4 tokens\): token 64 at position 3 is outside the model's vocabulary \[0, 64\)/, "token outside the vocabulary");
  t.match(await refusal(t, { clean: [[0, 1, 2]], corrupted: [[0, 1, 2]], metric: "nll", target: [[3, 99]] }, { cfg }), /token 99 at position 4 is outside the model's vocabulary/, "target outside the vocabulary");
  t.match(await refusal(t, { clean: [[0, 1, 2]], corrupted: [[0, 1, 2]], metric: "logit-diff", correct: 70, incorrect: 1 }, { cfg }), /correct 70 is outside the model's vocabulary \[0, 64\)/);
  t.match(await refusal(t, { tokenizer: "gpt2", clean: ["The cat"], corrupted: ["The dog"] }, { cfg }),
    /clean prompt 0 "The cat" → \["The", "Ġcat"\] \(2 tokens\): token 464 at position 0 is outside the model's vocabulary \[0, 64\) \(the tokenizer has 50257 tokens: is it the model's\?\)/, "another model's tokenizer");
  t.match(await refusal(t, { clean: [[0, 1, 2]], corrupted: [[0, 1, 2]], positions: { marker: "x" } }, { cfg }), /the prompt is token ids, so a text marker cannot be placed/);
});

t.test("invalid JSON text is one line naming the file", async (t) => {
  t.throws(() => parseTaskJson('{"clean": ["a",]}', "task.json"), { name: "InputError", message: /^task\.json is not valid JSON \(.+\)$/ });
});

t.test("the tokenizers bundle reads a task file in Deno as Node does (ioi.json)", async (t) => {
  const deno = join(root, "node_modules", ".bin", "deno");
  if (!existsSync(deno)) return t.skip("no deno in node_modules/.bin");
  const dir = mkdtempSync(join(tmpdir(), "acdc-texttask-deno-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const cfgPath = join(dir, "cfg.json");
  writeFileSync(cfgPath, JSON.stringify(gpt2SmallConfig()));
  const { execFileSync } = await import("node:child_process");
  const out = execFileSync(deno, ["run", "--allow-read", join(root, "test", "tasks", "deno-text-task.mjs"), join(root, "dist", "acdc-wasm-tokenizers.mjs"), join(examples, "ioi.json"), cfgPath],
    { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
  const node = await loadTextTask(example("ioi.json"), { cfg: gpt2SmallConfig(), readFile, baseDir: examples, source: "ioi.json" });
  const got = JSON.parse(out);
  t.strictSame(got.data, JSON.parse(JSON.stringify(node.data)), "same token ids, positions and answers");
  t.strictSame(got.groundTruth, node.groundTruth, "same ground truth");
  // 10 ** x is not correctly rounded in V8 and Deno's V8 rounds some powers differently from Node 20's (1e-4 vs 0.00009999999999999999).
  for (const k of Object.keys(node.thresholds)) t.ok(got.thresholds[k].every((v, i) => Math.abs(v - node.thresholds[k][i]) <= 1e-15 * v), `thresholds ${k} within 1 ulp or so`);
});
