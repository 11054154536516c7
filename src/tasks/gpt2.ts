// The paper's language-model tasks (Conmy et al. 2023): IOI and greater-than
// on GPT-2 small, docstring on attn-only-4l, induction on redwood_attn_2l.
// A separate entry from the package's main one, since these modules load the
// GPT-2 tokenizer. Each task gives the paper's data (clean and corrupted
// token ids and the positions the metric reads), its two metrics (KL and the
// task's own), the ground-truth circuit where there is one, the threshold
// sweeps and the AUCs the paper reports; none comes with weights.
import { ioiTask, type IoiTaskOptions } from "./ioi.js";
import type { PaperTask } from "./task.js";
import { InputError } from "../errors.js";
import { greaterThanTask, type GreaterThanTaskOptions } from "./greaterthan.js";
import { docstringTask, type DocstringTaskOptions } from "./docstring.js";
import { inductionTask, type InductionTaskOptions } from "./induction.js";

export {
  ioiTask, ioiGroundTruth, ioiCleanPrompts, ioiAbcPrompts, IOI_CIRCUIT, IOI_NAMES, IOI_PLACES, IOI_OBJECTS, IOI_TEMPLATE,
  type IoiTask, type IoiTaskOptions, type IoiPrompt,
} from "./ioi.js";
export {
  greaterThanTask, greaterThanGroundTruth, greaterThanMetric, greaterThanPrompts, greaterThanYears, yearSuffixTokens,
  GREATERTHAN_CIRCUIT, GREATERTHAN_NOUNS, GREATERTHAN_CORRUPT_TOKEN,
  type GreaterThanTask, type GreaterThanTaskOptions, type GreaterThanPrompt,
} from "./greaterthan.js";
export {
  docstringTask, docstringGroundTruth, docstringMetric, docstringPrompt, DOCSTRING_NOUNS, DOCSTRING_VARIABLE_NAMES,
  type DocstringTask, type DocstringTaskOptions, type DocstringPrompt, type DocstringTokenizer,
} from "./docstring.js";
export {
  inductionTask, shuffleRows,
  type InductionTask, type InductionTaskOptions,
} from "./induction.js";

export type TaskKey = "ioi" | "greaterthan" | "docstring" | "induction";

export interface TaskEntry<O = unknown> {
  key: TaskKey;
  name: string;
  build: (opts?: O) => PaperTask<unknown>;
}

/** The tasks as data: key, name, and a builder taking the task's options. */
export const TASKS: readonly TaskEntry[] = [
  { key: "ioi", name: "IOI (GPT-2 small)", build: (o) => ioiTask(o as IoiTaskOptions) },
  { key: "greaterthan", name: "Greater-than (GPT-2 small)", build: (o) => greaterThanTask(o as GreaterThanTaskOptions) },
  { key: "docstring", name: "Docstring (attn-only-4l)", build: (o) => docstringTask(o as DocstringTaskOptions) },
  { key: "induction", name: "Induction (redwood_attn_2l)", build: (o) => inductionTask(o as InductionTaskOptions) },
];

/** The registry entry for `key`; throws listing the keys otherwise. */
export function getTask(key: string): TaskEntry {
  const t = TASKS.find((x) => x.key === key);
  if (!t) throw new InputError(`unknown task ${JSON.stringify(key)} (${TASKS.map((x) => x.key).join(", ")})`);
  return t;
}
