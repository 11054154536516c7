// acdc-wasm/tasks: every built-in task in one shape (Task), the paper's
// GPT-2-family tasks (which load the GPT-2 tokenizer), the offline ones
// (tracr, the trained induction model, name repetition on stories260K) and
// the reproductions of the paper's random generators.
export type { Task, PaperTask, TaskData, TaskEdge, PaperAuc, Split } from "./task.js";
export { tracrTask, createTracrModel, decodeTracrOutput, tracrMetric, TRACR_GROUND_TRUTH, TRACR_THRESHOLDS, TRACR_REFERENCE_AUC, type TracrTask, type TracrTaskName, type TracrData, type TracrTaskOptions } from "./tracr.js";
export { inductionOfflineTask, inductionHeadScores, inductionGroundTruth, induction2lConfig, INDUCTION_2L_CONFIG_JSON, type InductionOfflineTask, type InductionCorruption, type HeadScores, type InductionGroundTruth } from "./induction-offline.js";
export { nameRepeatTask, NAME_REPEAT_TEMPLATE, NAME_REPEAT_PAIRS, type NameRepeatTask } from "./name-repeat.js";
export * from "./gpt2.js";
export { MT19937, PythonRandom, NumpyRandomState, TorchGenerator } from "./seeded.js";
export { gpt2SmallConfig, attnOnly4lConfig, redwoodAttn2lConfig } from "./paper-models.js";
export { gpt2Encode, gpt2Decode, gpt2Token } from "./gpt2-tokens.js";
export { logspace } from "../thresholds.js";
