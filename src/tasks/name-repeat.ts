// Name repetition on a TinyStories model: the story names a character twice,
// and at "One day," the model should name them again. The corrupted prompt
// is the same story with another name whose first token differs, so the
// answer flips; the logit difference is first token of the clean name minus
// first token of the corrupted one. Names are paired both ways (A→B and
// B→A) so the clean and corrupted sets are the same stories. Built for
// llama2.c's 512-token TinyStories vocabulary (stories260K), where each of
// these names is three tokens, every prompt 42.
import { InputError } from "../errors.js";
import type { Llama2cTokenizer } from "../model/llama2c-tokenizer.js";
import type { ModelConfig } from "../model/config.js";
import { klMetric, logitDiffMetric } from "../metrics.js";
import { logspace } from "../thresholds.js";
import type { Task, TaskData } from "./task.js";

export const NAME_REPEAT_TEMPLATE = "Once upon a time, there was a boy named {A}. {A} had a big red ball. He liked to play with it every day. One day,";
export const NAME_REPEAT_PAIRS: [string, string][] = [["Sara", "Mark"], ["Sue", "Lisa"], ["Max", "Luna"], ["Sally", "Mia"], ["Tommy", "Lila"]];

export interface NameRepeatTask extends Task<TaskData & { positions: number[]; correct: number[]; incorrect: number[] }> {
  /** Prompt texts, clean names and corrupted names, one per prompt. */
  texts: string[];
  names: string[];
  corruptedNames: string[];
}

/** The task on a model of geometry `cfg` (BOS + prompt); throws when lengths or first tokens do not line up. */
export function nameRepeatTask(tok: Llama2cTokenizer, cfg: ModelConfig, pairs = NAME_REPEAT_PAIRS, template = NAME_REPEAT_TEMPLATE): NameRepeatTask {
  const t = { texts: [] as string[], names: [] as string[], corruptedNames: [] as string[], clean: [] as number[][], corrupted: [] as number[][], positions: [] as number[], correct: [] as number[], incorrect: [] as number[] };
  // Encoding "Sara" alone gives the dummy-prefix space merged into " S", the
  // piece the name starts with after "named " and "One day,".
  const firstToken = (name: string) => tok.encode(name, { bos: false })[0];
  for (const [a, b] of pairs) {
    for (const [x, y] of [[a, b], [b, a]]) {
      const text = template.replaceAll("{A}", x);
      const clean = tok.encode(text), corrupted = tok.encode(template.replaceAll("{A}", y));
      if (clean.length !== corrupted.length) throw new InputError(`name-repeat: "${x}" and "${y}" tokenize to prompts of ${clean.length} and ${corrupted.length} tokens`);
      if (t.clean.length && clean.length !== t.clean[0].length) throw new InputError(`name-repeat: the prompt with "${x}" has ${clean.length} tokens, the first had ${t.clean[0].length}`);
      const cx = firstToken(x), cy = firstToken(y);
      if (!clean.includes(cx) || !corrupted.includes(cy)) throw new InputError(`name-repeat: the first token of "${x}" or "${y}" does not occur in its prompt`);
      if (cx === cy) throw new InputError(`name-repeat: "${x}" and "${y}" start with the same token`);
      t.texts.push(text); t.names.push(x); t.corruptedNames.push(y);
      t.clean.push(clean); t.corrupted.push(corrupted);
      t.positions.push(clean.length - 1);
      t.correct.push(cx); t.incorrect.push(cy);
    }
  }
  const data = { clean: t.clean, corrupted: t.corrupted, positions: t.positions, correct: t.correct, incorrect: t.incorrect };
  return {
    key: "name-repeat", name: "Name repetition (TinyStories)", cfg, data, texts: t.texts, names: t.names, corruptedNames: t.corruptedNames,
    metrics: { kl: () => klMetric(), task: () => logitDiffMetric(data.correct, data.incorrect) },
    defaultMetric: "task", defaultAblation: "corrupted", groundTruth: null,
    thresholds: { kl: logspace(-4, 0, 21), task: logspace(-3, 0, 16) },
  };
}
