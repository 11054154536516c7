// Loading what a task file names before it becomes a Task: its tokenizer
// (through tokenizers/load.ts, which brings gpt-tokenizer's r50k table and
// @huggingface/tokenizers), and the whole file in one call. Kept apart from
// text-task.ts so that code which only rebuilds a task from a tokenizer it
// was given (run manifests, the fetch handler) does not load those libraries.
// Files come through the caller's readFile, so this runs anywhere.
import { AcdcError, InputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { loadTokenizer, type ReadFile } from "../tokenizers/load.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { readTaskSpec, type TaskSpec } from "./task-file.js";
import { buildTextTask, type TextTask } from "./text-task.js";

/** The tokenizer a task spec names (null when it names none); "not found" says where it looked. */
export async function loadTaskTokenizer(spec: TaskSpec, readFile: ReadFile, baseDir?: string): Promise<Tokenizer | null> {
  if (spec.tokenizer === undefined) return null;
  try {
    return await loadTokenizer(spec.tokenizer, readFile, baseDir);
  } catch (e) {
    if (!(e instanceof AcdcError)) throw e;
    // A bare word ("llama3") was meant as a name, not a file beside the task.
    const bare = !/[\\/.]/.test(spec.tokenizer) && /not found/.test(e.message) ? `; the built-in tokenizers are "gpt2" and "r50k", anything else is a path to a tokenizer.json or a llama2.c .bin` : "";
    throw new InputError(`${spec.source}: ${e.message}${bare}`);
  }
}

/** Read, tokenize and check a task file (parsed JSON) for a model of geometry `cfg`. */
export async function loadTextTask(json: unknown, opts: { cfg: ModelConfig; readFile: ReadFile; baseDir?: string; source?: string }): Promise<TextTask> {
  const spec = readTaskSpec(json, opts.source);
  return buildTextTask(spec, await loadTaskTokenizer(spec, opts.readFile, opts.baseDir), opts.cfg);
}
