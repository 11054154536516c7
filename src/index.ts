// acdc-wasm: circuit discovery for transformer language models, with SIMD
// WebAssembly kernels. The runtime-agnostic main entry (Node, Deno,
// browsers): engine, model, graph, patcher, metrics, algorithms, circuits
// and their writers, errors. Tasks, training, evaluation, file formats,
// tracr and Node helpers are subpaths (acdc-wasm/tasks, /training, /eval,
// /formats, /tracr, /node).
export { createEngine, Engine, type EngineOptions } from "./wasm/engine.js";
export { loadModel, type LoadOptions } from "./model/load.js";
export type { ShardedWeights } from "./model/formats/checkpoint.js";
export { Transformer, type WeightMap } from "./model/transformer.js";
export { makeConfig, type ModelConfig } from "./model/config.js";
export { configFromJson } from "./model/config-json.js";
export { buildGraph, type Graph, type GraphNode, type GraphEdge } from "./graph/graph.js";
export { Patcher, type Ablation, type PatchData } from "./patch/patcher.js";
export { klMetric, logitDiffMetric, nllMetric, customMetric, type Metric } from "./metrics.js";
export { ALGORITHMS, getAlgorithm, type Algorithm, type RunOptions, type Progress } from "./algorithms/registry.js";
export { acdc } from "./algorithms/acdc.js";
export { eapScores } from "./algorithms/eap.js";
export type { Circuit, Decision } from "./circuit.js";
export { circuitJson, circuitDot, circuitFileText, readCircuitJson, type CircuitJson, type CircuitMeta } from "./io/circuit.js";
export { circuitSvg } from "./io/svg.js";
export { hook, nodeLabel } from "./names.js";
export { AcdcError, InputError, ConfigError, WeightError, FormatError } from "./errors.js";
