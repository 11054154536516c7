// The single-file browser and Deno bundle (dist/acdc-wasm.mjs, the wasm
// embedded): the main entry plus everything that runs offline without the
// GPT-2 tokenizer — evaluation, training, tracr and the offline tasks, run
// manifests with their verification and replay, the fetch handler — and
// what the explorer (explorer/) needs besides: data-file checks, progress
// rates, hub downloads, and the task-file reader and builder (the tokenizer
// a file names is loaded through the tokenizers bundle, which this one
// leaves out).
export * from "./index.js";
export * from "./eval/index.js";
export * from "./train/index.js";
export * from "./tracr/index.js";
export { tracrTask, createTracrModel, decodeTracrOutput, TRACR_GROUND_TRUTH, TRACR_THRESHOLDS, type TracrTask } from "./tasks/tracr.js";
export { inductionOfflineTask, inductionGroundTruth, inductionHeadScores, induction2lConfig } from "./tasks/induction-offline.js";
export { nameRepeatTask, NAME_REPEAT_TEMPLATE, NAME_REPEAT_PAIRS } from "./tasks/name-repeat.js";
export { parseDataJson, parseDataText, type DataJson } from "./io/data.js";
export { rateMeter, type RateEstimate } from "./algorithms/rate.js";
export { ABLATIONS } from "./patch/patcher.js";
export { pruneToOutput, keptEdges } from "./circuit.js";
export { fetchHubModel, HubError, hubRepoId, hubFileUrl, HUB_ALIASES } from "./model/hub.js";
export type { Task } from "./tasks/task.js";
export { parseTaskJson, readTaskSpec, type TaskSpec } from "./tasks/task-file.js";
export { buildTextTask, type TextTask, type TextTaskData } from "./tasks/text-task.js";
export { parseSafetensors, writeSafetensors, bytesSource, Llama2cTokenizer, parseLlama2cHeader, type ByteSource } from "./model/formats/index.js";
export { createTestEngine, type TestHooks } from "./wasm/engine.js";
export * from "./repro/index.js";
export { createHandler, DEFAULT_LIMITS, type ServeLimits, type HandlerOptions } from "./serve/handler.js";
export { provideKernelModule } from "./wasm/engine.js";
