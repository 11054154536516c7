// acdc-wasm/repro: run manifests (what went into a circuit search and
// digests of what came out), their verification by re-running, replay of the
// recorded decisions, and the one-call search the fetch handler and verify
// share. Runtime-agnostic; src/node/ adds files and the CLI.
export {
  buildManifest, parseManifest, checkRunManifest, manifestText, formatJson, traceOf, traceDigest, circuitDigest, dataDigest, paramsDigest,
  kernelDigest, sealOf, sweepDigest, diffSweeps, runtimeInfo, canonicalJson, f64Hex, hexF64, ManifestError, MANIFEST_KIND, SWEEP_MANIFEST_KIND, MANIFEST_VERSION,
  COMPARE_MANIFEST_KIND, compareDigest, runLabel, decisionKind, optionsSection, specOf,
  type RunManifest, type SweepManifest, type SweepRunRecord, type TraceEntry, type FileRef, type ModelSection, type DataSection, type OptionsSection,
  type CompareManifest, type CompareRunRecord, type TokenizerRef, type DecisionKind,
} from "./manifest.js";
export { verifyRun, replayText, checkCircuitFile, digestOf, dataFrom, decisionText, type VerifyInputs, type VerifyReport, type Difference } from "./verify.js";
export {
  PreparedRun, builtinTask, checkRunData, checkRunOptions, resolveMetric, builtinOptionContext, BUILTIN_TASKS, MASK_METHODS,
  type RunSpec, type RunData, type BuiltinTask, type OptionContext,
} from "./run.js";
export { Sha256, sha256Hex, memorySha256, MemorySha256 } from "./sha256.js";
