// acdc-wasm/eval: circuits against ground truths (ROC, AUC), sweeps of any
// algorithm's knob, and the plots of both.
export { sweep, scoreCircuit, checkGroundTruth, type SweepOptions, type SweepResult, type SweepRun } from "./sweep.js";
export { searchTrajectory, type Trajectory } from "./trajectory.js";
export { confusion, paretoFrontier, rocAuc, componentsOf, allComponents, type RocPoint, type Confusion } from "./roc.js";
export { rocSvg, plotSvg, type CurveSeries } from "../io/svg.js";
export { logspace } from "../thresholds.js";
export { compareMethods, defaultPlan, summarise, STOCHASTIC, type MethodPlan, type MethodResult, type CompareOptions, type AucSummary } from "./compare.js";
