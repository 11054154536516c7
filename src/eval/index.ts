// acdc-wasm/eval: circuits against ground truths (ROC, AUC), sweeps of any
// algorithm's knob (whole, or as jobs to spread out and merge), and the plots of both.
export { sweep, scoreCircuit, scoreEdges, sweepRow, sweepResult, checkGroundTruth, type SweepOptions, type SweepResult, type SweepRun, type CircuitScores } from "./sweep.js";
export { searchTrajectory, type Trajectory } from "./trajectory.js";
export { confusion, paretoFrontier, rocAuc, componentsOf, allComponents, type RocPoint, type Confusion } from "./roc.js";
export { rocSvg, plotSvg, type CurveSeries } from "../io/svg.js";
export { logspace } from "../thresholds.js";
export { compareMethods, methodResult, defaultPlan, summarise, STOCHASTIC, type MethodPlan, type MethodResult, type CompareOptions, type AucSummary } from "./compare.js";
export {
  sweepJobs, sweepKey, runJob, mergeSweep, mergeComparison, resultRow, checkJob, describeJob, jobData, jobMetric, JOB_KIND, JOB_VERSION,
  type SweepJob, type JobBase, type JobResult, type JobSetup, type JobData, type JobTokens, type JobOptions,
} from "./jobs.js";
