// acdc-wasm/training: the AdamW trainer over the parameter table and the
// recipe that trains the shipped induction model.
export { Trainer, initWeights, type Batch, type AdamWOptions, type LossResult, type Param } from "./trainer.js";
export { trainInduction, INDUCTION_RECIPE, repeatBatch, halvesBatches, halvesLoss, evalRows, type InductionRecipe, type InductionEval } from "./induction.js";
export { mulberry32, gaussian } from "../random.js";
