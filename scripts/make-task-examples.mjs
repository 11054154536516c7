// Write examples/tasks/*.json: built-in tasks rewritten as task files, from
// the generators that define them (src/tasks/), so the files hold text a
// person can read and edit, and test/tasks/text-task.test.mjs checks that
// they tokenize to the generators' token ids exactly.
//   ioi.json          IOI, validation split, logit difference (GPT-2, "gpt2")
//   greaterthan.json  greater-than, validation split, KL (GPT-2, "gpt2")
//   name-repeat.json  name repetition on stories260K (tok512.bin, BOS)
//   induction-2l.json the trained induction model's task, as token ids, with
//                     the ground truth measured on the shipped model
// Run after the build: node scripts/make-task-examples.mjs
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { loadModel } from "../dist/index.js";
import { ioiTask, greaterThanTask, nameRepeatTask, inductionOfflineTask, inductionGroundTruth, NAME_REPEAT_TEMPLATE } from "../dist/tasks/index.js";
import { Llama2cTokenizer } from "../dist/model/formats/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "examples", "tasks");
mkdirSync(out, { recursive: true });

/** JSON with one prompt (or edge) per line: lists of lists or strings are spread out unless short. */
function format(obj) {
  const entries = Object.entries(obj);
  const lines = ["{"];
  entries.forEach(([k, v], i) => {
    const comma = i < entries.length - 1 ? "," : "";
    const inline = JSON.stringify(v);
    if (Array.isArray(v) && inline.length > 100 && v.every((x) => typeof x === "string" || Array.isArray(x))) {
      lines.push(` ${JSON.stringify(k)}: [`);
      v.forEach((x, j) => lines.push(`  ${JSON.stringify(x)}${j < v.length - 1 ? "," : ""}`));
      lines.push(` ]${comma}`);
    } else lines.push(` ${JSON.stringify(k)}: ${inline}${comma}`);
  });
  lines.push("}");
  return lines.join("\n") + "\n";
}
const write = (name, obj) => { writeFileSync(join(out, name), format(obj)); console.log(`wrote examples/tasks/${name}`); };
const pairs = (edges) => edges.map(([a, b]) => [a, b]);
/** The prompt without its last word (IOI texts end with the answer). */
const dropLastWord = (s) => s.slice(0, s.lastIndexOf(" "));

const ioi = ioiTask();
write("ioi.json", {
  name: "IOI (Conmy et al. 2023; Wang et al. 2022), validation split",
  description: "Indirect object identification on GPT-2 small: 100 prompts of the paper's one ABBA template, ABC-corrupted (ioiTask() in src/tasks/ioi.ts); the metric is the logit difference of the indirect object's name over the subject's at the last token. Run with --model gpt2.",
  tokenizer: "gpt2",
  clean: ioi.prompts.clean.map((p) => dropLastWord(p.text)),
  corrupted: ioi.prompts.corrupted.map((p) => dropLastWord(p.text)),
  metric: "logit-diff",
  correct: ioi.prompts.clean.map((p) => ` ${p.io}`),
  incorrect: ioi.prompts.clean.map((p) => ` ${p.s}`),
  positions: "last",
  thresholds: "-4:0:21",
  ground_truth: pairs(ioi.groundTruth),
});

const gt = greaterThanTask();
write("greaterthan.json", {
  name: "Greater-than (Conmy et al. 2023; Hanna et al. 2023), validation split",
  description: "GPT-2 small completes 'The {noun} lasted from the year {YYYY} to {YY}' with a later year; the corruption writes 01 as the year's last two digits (greaterThanTask() in src/tasks/greaterthan.ts). KL at the last token; the paper's probability-difference metric is not expressible in a task file. Run with --model gpt2.",
  tokenizer: "gpt2",
  clean: gt.prompts.map((p) => p.text),
  corrupted: gt.prompts.map((p) => p.text.replace(/ (\d\d)\d\d to /, " $101 to ")),
  metric: "kl",
  positions: "last",
  thresholds: "-6:-4:11",
  ground_truth: pairs(gt.groundTruth),
});

const stories = join(root, "..", "shared", "models", "stories260K");
if (existsSync(join(stories, "stories260K.bin")) && existsSync(join(stories, "tok512.bin"))) {
  const model = await loadModel(new Uint8Array(readFileSync(join(stories, "stories260K.bin"))));
  const tok = Llama2cTokenizer.parse(new Uint8Array(readFileSync(join(stories, "tok512.bin"))), model.cfg.dVocab);
  const nr = nameRepeatTask(tok, model.cfg);
  // The answer is the name's first token, written as the text it adds after the prompt (" S" for Sara).
  const after = (ids, id) => tok.decode([...ids, id]).slice(tok.decode(ids).length);
  write("name-repeat.json", {
    name: "Name repetition (TinyStories, stories260K)",
    description: "The story names a character twice; at 'One day,' the model should name them again. The corrupted story uses another name. Names are three tokens in this 512-token vocabulary, so the answers are their first tokens. Same data as nameRepeatTask() in src/tasks/name-repeat.ts.",
    model: "../../../shared/models/stories260K/stories260K.bin",
    tokenizer: "../../../shared/models/stories260K/tok512.bin",
    bos: true,
    clean: nr.texts,
    corrupted: nr.corruptedNames.map((y) => NAME_REPEAT_TEMPLATE.replaceAll("{A}", y)),
    metric: "logit-diff",
    correct: nr.data.correct.map((id, i) => after(nr.data.clean[i], id)),
    incorrect: nr.data.incorrect.map((id, i) => after(nr.data.clean[i], id)),
    positions: "last",
    thresholds: "-3:0:16",
  });
} else console.log(`skipped name-repeat.json: ${stories} has no stories260K.bin and tok512.bin`);

const ind = inductionOfflineTask();
const dir = join(root, "models");
const indModel = await loadModel(new Uint8Array(readFileSync(join(dir, "induction-2l.safetensors"))), JSON.parse(readFileSync(join(dir, "induction-2l.config.json"), "utf8")));
write("induction-2l.json", {
  name: "Induction on the trained 2-layer model (offline)",
  description: "The shipped models/induction-2l model has no text tokenizer: its vocabulary is 64 symbols, token 0 the BOS. Prompts are BOS + x + x, x ten distinct random tokens; the corruption permutes the rows. KL at the second copy's positions. Ground truth: the previous-token and induction heads measured on this model (inductionGroundTruth). Same data as inductionOfflineTask() and `acdc sweep --task induction`.",
  model: "../../models/induction-2l.safetensors",
  clean: ind.data.clean,
  corrupted: ind.data.corrupted,
  metric: "kl",
  positions: ind.data.positions,
  thresholds: "-4:0:21",
  ground_truth: pairs(inductionGroundTruth(indModel, ind.data.clean).edges),
});
