// acdc-wasm/tokenizers: text tokenizers behind one interface, and tasks
// written as text (task files) that use them; kept out of the main entry so
// that only code that tokenizes text loads gpt-tokenizer's r50k table or
// @huggingface/tokenizers.
export { type Tokenizer } from "./tokenizer.js";
export { loadTokenizer, resolvePath, normalizePath, type ReadFile } from "./load.js";
export { R50kTokenizer } from "./r50k.js";
export { HfTokenizer } from "./hf.js";
export { Llama2cBinTokenizer } from "./llama2c.js";
export { buildTextTask, type TextTask, type TextTaskData } from "../tasks/text-task.js";
export { loadTextTask, loadTaskTokenizer } from "../tasks/text-task-load.js";
export { readTaskSpec, parseTaskJson, type TaskSpec, type PositionsSpec, type PromptSpec, type AnswerSpec } from "../tasks/task-file.js";
