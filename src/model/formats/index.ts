// acdc-wasm/formats: weights files and tokenizers as the loader reads them,
// the parameter table, and the Hugging Face hub client.
export { readSafetensors, parseSafetensors, writeSafetensors, looksLikeSafetensors } from "./safetensors.js";
export { parseLlama2cHeader, llama2cConfig, llama2cTensors, type Llama2cHeader } from "./llama2c.js";
export { readPth } from "./pth.js";
export { readCheckpoint, readShards, looksLikeZip, type ShardedWeights } from "./checkpoint.js";
export { bytesSource, DTYPE_BYTES, type ByteSource, type StoredTensor, type DType, type AnyDType } from "./tensor.js";
export { paramTable, Params, type ParamSpec, type Layout } from "../params.js";
export { configFromHuggingFace, configFromTransformerLens, type Normalization, type Positional, type ActFn, type RotaryStyle, type RopeScaling } from "../config.js";
export { hfConfig, type HfLayout } from "../config-json.js";
export { detectFormat, loadLlama2c, type WeightsFormat } from "../load.js";
export { Llama2cTokenizer, BOS, EOS } from "../llama2c-tokenizer.js";
export { fetchHubModel, fetchHubFile, hubRepoId, isHubRepoId, parseHubConfig, HubError, HUB_URL, HUB_ALIASES, type HubOptions, type HubErrorKind } from "../hub.js";
export { greedyDecode, argmaxRow, type GreedyOptions } from "../generate.js";
