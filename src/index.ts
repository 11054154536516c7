// acdc-wasm: circuit discovery for transformer language models, with SIMD
// WebAssembly kernels. Runtime-agnostic entry point (Node, Deno, browsers).
export { createEngine, Engine, kernelModule } from "./wasm/engine.js";
export { parseSafetensors, writeSafetensors, SafetensorsError, type RawTensor } from "./model/safetensors.js";
export { makeConfig, configFromJson, configFromHuggingFace, configFromTransformerLens, ConfigError, type ModelConfig } from "./model/config.js";
export { canonicalWeights, checkWeights, convertHuggingFaceGPT2, expectedWeights, WeightError, type Tensor, type WeightMap } from "./model/weights.js";
export { Transformer, InputError, checkTokens, type ForwardResult } from "./model/transformer.js";
export { loadModel } from "./model/load.js";
export { buildGraph, edgeCountFormula, type Graph, type GraphNode, type GraphEdge, type EdgeType, type NodeKind } from "./graph/graph.js";
export { hookName, nodeLabel } from "./graph/names.js";
export { Patcher, type Ablation, type PatchData, type PatcherOptions } from "./graph/patcher.js";
export { klMetric, logitDiffMetric, customMetric, type Metric, type MetricContext } from "./metrics.js";
export { acdc, type AcdcOptions, type AcdcResult, type Decision } from "./algorithms/acdc.js";
export { circuitJson, circuitDot, CIRCUIT_SCHEMA_VERSION, type CircuitJson, type CircuitEdgeJson } from "./io/circuit.js";
export { circuitSvg, plotSvg, rocSvg, type CurveSeries } from "./io/svg.js";
export { confusion, paretoFrontier, rocAuc, componentsOf, allComponents, edgeKey, type RocPoint, type Confusion } from "./eval/roc.js";
export { sweep, logspace, type SweepOptions, type SweepResult, type SweepRun } from "./eval/sweep.js";
export { tracrTask, createTracrModel, decodeTracrOutput, tracrMetric, derangement, TRACR_GROUND_TRUTH, type TracrTask, type TracrTaskName, type TracrData, type TracrTaskOptions } from "./tasks/tracr.js";
export { compileRasp, encodeInput, type CompiledModel, type CompileOptions, type Component } from "./tracr/compiler.js";
export { reverseProgram, proportionProgram, compileTracr, type TracrProgram } from "./tracr/programs.js";
export * as rasp from "./tracr/rasp.js";
export { fetchHubModel, fetchHubFile, hubFileUrl, hubRepoId, isHubRepoId, parseHubConfig, HubError, HUB_URL, HUB_ALIASES, type HubOptions, type HubErrorKind } from "./model/hub.js";
export { eap, eapScores, pruneToOutput, type EapOptions, type EapScores, type EapCircuitOptions, type EapResult } from "./algorithms/eap.js";
export { convertLlama2c, loadLlama2c, llama2cConfig, parseLlama2cHeader, Llama2cError, type Llama2cHeader } from "./model/llama2c.js";
export { Llama2cTokenizer, TokenizerError, BOS, EOS } from "./model/llama2c-tokenizer.js";
export { greedyDecode, argmaxRow, type GreedyOptions } from "./model/generate.js";
export { nameRepeatTask, NAME_REPEAT_TEMPLATE, NAME_REPEAT_PAIRS, type NameRepeatTask } from "./tasks/name-repeat.js";
