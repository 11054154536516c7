// acdc-wasm/node: Node-only helpers (files read in chunks, the hub disk cache, progress lines).
export { loadModelFromPath, readDataFile, readJsonFile, resolveModelPath, fileSource, checkOutputPath, writeAtomic, UsageError } from "./files.js";
export { loadHubModelCached, defaultCacheDir, type HubCacheOptions } from "./hub-cache.js";
export { progressBar, type ProgressBar } from "./progress.js";
