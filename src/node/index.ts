// acdc-wasm/node: Node-only helpers (files read in chunks, the hub disk cache, progress lines, the heap set-up the acdc command uses).
export { loadModelFromPath, readDataFile, readJsonFile, resolveModelPath, fileSource, checkOutputPath, writeAtomic, UsageError } from "./files.js";
export { loadHubModelCached, defaultCacheDir, type HubCacheOptions } from "./hub-cache.js";
export { progressBar, type ProgressBar } from "./progress.js";
export { keepYoungGenerationSmall } from "./heap.js";
