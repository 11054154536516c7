// `acdc run --task F` and `acdc sweep --task F.json` from the command line:
// the issue's minimal file runs offline on stories260K and finds the same
// circuit as the same tokens given as a --data file; the induction task file
// sweeps to the built-in `--task induction` sweep exactly; a file with no
// ground truth gives the faithfulness curve only; and bad task files stop
// with exit code 2 and one line on stderr.
import t from "tap";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { root } from "../helpers/fixtures.mjs";
import { Llama2cTokenizer } from "../../dist/model/formats/index.js";

const bin = join(root, "bin", "acdc.js");
const dir = mkdtempSync(join(tmpdir(), "acdc-cli-task-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
// The issue's layout: a project folder with ../shared beside it.
symlinkSync(join(root, "..", "shared"), join(dir, "shared"));
const proj = join(dir, "proj");
mkdirSync(proj);

const acdc = (args, cwd = proj) => new Promise((resolve) => {
  execFile(process.execPath, [bin, ...args], { cwd, timeout: 120_000 }, (err, stdout, stderr) => {
    resolve({ code: err ? (typeof err.code === "number" ? err.code : -1) : 0, stdout, stderr });
  });
});
const write = (name, obj) => { const p = join(proj, name); writeFileSync(p, typeof obj === "string" ? obj : JSON.stringify(obj)); return p; };

const stories = join(root, "..", "shared", "models", "stories260K");
const haveStories = existsSync(join(stories, "stories260K.bin")) && existsSync(join(stories, "tok512.bin"));
const skipStories = haveStories ? false : `${stories} has no stories260K.bin and tok512.bin (not committed; see ../shared/models/)`;
const STORIES_MODEL = "../shared/models/stories260K/stories260K.bin";

const MINIMAL = `{"tokenizer": "../shared/models/stories260K/tok512.bin",
 "clean": ["Once upon a time there was a cat. The cat was happy. The cat"],
 "corrupted": ["Once upon a time there was a dog. The dog was happy. The dog"],
 "metric": "kl", "positions": "last"}`;
const edgesOf = (path) => JSON.parse(readFileSync(path, "utf8")).edges.map((e) => `${e.parent} -> ${e.child}`).sort();

t.test("run --task: the issue's minimal file runs offline on stories260K and prints the circuit", { skip: skipStories }, async (t) => {
  write("task.json", MINIMAL);
  const r = await acdc(["run", "--model", STORIES_MODEL, "--task", "task.json", "--threshold", "0.05", "--out", "task-circuit.json"]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /task task\.json: 1 prompt × 19 tokens, metric kl at 1 position per prompt/);
  t.match(r.stderr, /clean prompt 0 "Once upon a time there was a cat\. The cat was happy\. The cat" → \["▁Once", "▁upon"/, "shows the tokens");
  const kept = /kept (\d+) of 2581 edges/.exec(r.stdout);
  t.ok(kept, "summary line");
  const lines = r.stdout.split("\n").filter((l) => /^  \S+ → \S+/.test(l));
  t.ok(Number(kept[1]) > 0 && lines.length === Number(kept[1]), `prints the circuit: ${lines.length} edges`);
  const c = JSON.parse(readFileSync(join(proj, "task-circuit.json"), "utf8"));
  t.equal(c.task, "task.json");
  t.equal(c.metric, "kl");

  // The same tokens as a --data file (tokenized here by llama2.c's own encoder) give the same circuit.
  const tok = Llama2cTokenizer.parse(new Uint8Array(readFileSync(join(stories, "tok512.bin"))), 512);
  const json = JSON.parse(MINIMAL);
  const clean = [tok.encode(json.clean[0], { bos: false })], corrupted = [tok.encode(json.corrupted[0], { bos: false })];
  write("data.json", { clean, corrupted, positions: [clean[0].length - 1] });
  const d = await acdc(["run", "--model", STORIES_MODEL, "--data", "data.json", "--threshold", "0.05", "--out", "data-circuit.json", "--quiet"]);
  t.equal(d.code, 0, d.stderr);
  t.strictSame(edgesOf(join(proj, "task-circuit.json")), edgesOf(join(proj, "data-circuit.json")), "same edges as the token-id data file");
});

t.test("run --task: the file's model, metric and ground truth (induction-2l.json)", async (t) => {
  const r = await acdc(["run", "--task", join(root, "examples", "tasks", "induction-2l.json"), "--threshold", "0.05", "--quiet", "--out", "ind.json"]);
  t.equal(r.code, 0, r.stderr);
  const written = JSON.parse(readFileSync(join(proj, "ind.json"), "utf8"));
  t.same([written.model.name, written.model.nLayers, written.model.nHeads], ["induction-2l", 2, 8], "the model named in the file, relative to it");
  t.match(r.stdout, /ground truth \(task file\): \d+ of 55 edges found, \d+ extra/);
  const k = await acdc(["run", "--task", join(root, "examples", "tasks", "induction-2l.json"), "--threshold", "0.05", "--metric", "logit-diff", "--quiet"]);
  t.equal(k.code, 2);
  t.match(k.stderr, /--metric must be one of kl/, "only the file's metric (and kl) are offered");
});

t.test("sweep --task FILE: the induction task file sweeps exactly as the built-in induction task", async (t) => {
  const a = await acdc(["sweep", "--task", "induction", "--quiet", "--out-dir", join(dir, "builtin")]);
  t.equal(a.code, 0, a.stderr);
  const b = await acdc(["sweep", "--task", join(root, "examples", "tasks", "induction-2l.json"), "--quiet", "--out-dir", join(dir, "file")]);
  t.equal(b.code, 0, b.stderr);
  const sa = JSON.parse(readFileSync(join(dir, "builtin", "induction-sweep.json"), "utf8"));
  const sb = JSON.parse(readFileSync(join(dir, "file", "induction-2l-sweep.json"), "utf8"));
  const strip = (s) => s.runs.map(({ searchMs, ...r }) => r);
  t.strictSame(strip(sb), strip(sa), "same 21 runs: kept, tested, TP/FP/FN, metric");
  t.equal(sb.edgeAuc, sa.edgeAuc, `edge AUC ${sa.edgeAuc.toFixed(3)}`);
  t.match(b.stdout, /AUC \(edges\) \d\.\d{3}/);
  t.ok(existsSync(join(dir, "file", "induction-2l-roc.svg")));
});

t.test("sweep --task FILE without ground truth: the faithfulness curve only, said so", { skip: skipStories }, async (t) => {
  const r = await acdc(["sweep", "--task", join(root, "examples", "tasks", "stories-cat.json"), "--thresholds=-2:0:3", "--quiet", "--out-dir", join(dir, "cat")]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /the task file has no "ground_truth", so the faithfulness curve only \(no ROC, no AUC\)/);
  t.equal(r.stdout.split("\n").filter((l) => /^\s+\d\.\d\de[+-]\d+\s+\d+\s+\d+\s+/.test(l)).length, 3, "3 threshold rows");
  const s = JSON.parse(readFileSync(join(dir, "cat", "stories-cat-sweep.json"), "utf8"));
  t.equal(s.runs.length, 3);
  t.equal(s.groundTruth, null);
  t.ok(existsSync(join(dir, "cat", "stories-cat-faithfulness.svg")));
  t.notOk(existsSync(join(dir, "cat", "stories-cat-roc.svg")), "no ROC without a ground truth");
});

/** Run `acdc run` on each [what, file, expected stderr] case: exit 2, one line. */
async function refused(t, cases, extra = []) {
  for (const [what, json, want] of cases) {
    const name = `${what.replaceAll(" ", "-")}.json`;
    write(name, json);
    const r = await acdc(["run", ...extra, "--task", name, "--threshold", "0.1", "--quiet"]);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.equal(r.stderr.trimEnd().split("\n").length, 1, `${what}: one line (${r.stderr.trimEnd()})`);
    t.match(r.stderr, want, what);
  }
}

const IND = join(root, "models", "induction-2l.safetensors");
const gpt2 = { tokenizer: "gpt2", clean: ["The cat sat"], corrupted: ["The dog sat"] };

t.test("bad task files, refused before any model is loaded: exit 2, one line", async (t) => {
  await refused(t, [
    ["mismatched lengths", { ...gpt2, corrupted: ["The elephant-like dog sat"] }, /^acdc run: mismatched-lengths\.json: clean prompt 0 "The cat sat" → \["The", "Ġcat", "Ġsat"\] \(3 tokens\) but corrupted prompt 0 "The elephant-like dog sat" → \[.*\] \(\d+ tokens\); a prompt's clean and corrupted versions must have the same number of tokens\n$/],
    ["unknown tokenizer", { ...gpt2, tokenizer: "llama3" }, /tokenizer "llama3" not found \(looked for .*proj\/llama3\); the built-in tokenizers are "gpt2" and "r50k"/],
    ["tokenizer not on disk", { ...gpt2, tokenizer: "../models/Llama-2-7b/tokenizer.json" }, /tokenizer "\.\.\/models\/Llama-2-7b\/tokenizer\.json" not found \(looked for .*\/models\/Llama-2-7b\/tokenizer\.json\)/],
    ["empty prompt lists", { ...gpt2, clean: [], corrupted: [] }, /"clean" is an empty list; give at least one prompt/],
    ["bad JSON types", { ...gpt2, positions: [["last"]] }, /positions\[0\] must be an index or a non-empty list of indices/],
    ["unknown field", { ...gpt2, metrics: "kl" }, /unknown field "metrics"/],
    ["not JSON", '{"clean": ["a"],}', /^acdc run: not-JSON\.json is not valid JSON \(.*\)\n$/],
  ], ["--model", IND]);
});

t.test("bad task files, refused against the model: exit 2, one line", async (t) => {
  const ids = { model: IND, clean: [[0, 1, 2, 3]], corrupted: [[0, 4, 5, 6]] };
  await refused(t, [
    ["prompt longer than n_ctx", { ...ids, clean: [Array(40).fill(1)], corrupted: [Array(40).fill(2)] }, /clean prompt 0 \[1, 1, .*\] \(40 tokens\): longer than the model's context \(n_ctx = 32\)/],
    ["token outside the vocabulary", { ...ids, clean: [[0, 1, 99, 3]] }, /clean prompt 0 \[0, 1, 99, 3\] \(4 tokens\): token 99 at position 2 is outside the model's vocabulary \[0, 64\)/],
    ["id marker not found", { ...ids, positions: { token: 9 } }, /clean prompt 0 \[0, 1, 2, 3\] \(4 tokens\): token 9 not found/],
    ["ground truth typo", { ...ids, ground_truth: [["blocks.0.hook_resid_pre", "blocks.1.attn.hook_result[9]"]] }, /ground_truth\[0\] .*: the model's graph \(2 layers × 8 heads, attention only\) has no node "blocks\.1\.attn\.hook_result\[9\]"/],
  ]);
});

t.test("bad text task files on stories260K: answers, markers, positions", { skip: skipStories }, async (t) => {
  const sto = { model: join(stories, "stories260K.bin"), tokenizer: join(stories, "tok512.bin"), clean: ["The cat sat"], corrupted: ["The dog sat"] };
  const TOKENS = /clean prompt 0 "The cat sat" → \["▁The", "▁c", "at", "▁s", "at"\] \(5 tokens\)/;
  await refused(t, [
    ["multi-token answer", { ...sto, metric: "logit-diff", correct: " on the mat", incorrect: " down" }, /correct " on the mat" is \d+ tokens after the prompt \["▁on", "▁the", .*\]; logit-diff compares single tokens/],
    ["marker not found", { ...sto, positions: { marker: " mat" } }, /: marker " mat" not found/],
    ["position out of range", { ...sto, positions: 7 }, /: position 7 is outside its 5 tokens/],
  ].map(([what, json, want]) => [what, json, new RegExp(TOKENS.source + ".*" + want.source)]));
});

t.test("bad options with task files: exit 2, one line", async (t) => {
  const ind = "../../models/induction-2l.safetensors";
  const runs = [
    [["run", "--task", "none.json", "--model", ind, "--threshold", "1"], /task file not found: none\.json/],
    [["run", "--task", "task.json", "--data", "data.json", "--model", ind, "--threshold", "1"], /give --data or --task, not both/],
    [["run", "--task", write("nomodel.json", gpt2), "--threshold", "1"], /--model is required: .*nomodel\.json names no "model"/],
    [["run", "--task", write("zero.json", { model: IND, clean: [[0, 1, 2]], ablation: "zero" }), "--ablation", "corrupted", "--threshold", "1"], /--ablation corrupted needs "corrupted" prompts, and .*zero\.json has none/],
    [["sweep", "--task", "tracr-reverse", "--model", ind], /--model applies to task files/],
    [["sweep", "--task", "none.json"], /task file not found: none\.json/],
  ];
  for (const [args, want] of runs) {
    const r = await acdc(args);
    t.equal(r.code, 2, args.join(" "));
    t.equal(r.stderr.trimEnd().split("\n").length, 1, `one line (${r.stderr.trimEnd()})`);
    t.match(r.stderr, want);
  }
});
