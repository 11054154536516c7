// Node-only helpers (file system, disk cache), exported as "acdc-wasm/node".
export { loadModelFromPath, readDataFile, readJsonFile, resolveModelPath, UsageError } from "./files.js";
export { loadHubModelCached, defaultCacheDir, type HubCacheOptions } from "./hub-cache.js";
export { progressBar, type ProgressBar } from "./progress.js";
