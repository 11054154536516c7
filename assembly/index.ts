// The exported kernel surface. Every export takes byte offsets into this
// module's one linear memory and integers; nothing allocates.
export { sgemm, sgemmWorkspaceBytes, sgemmPacked, packB, packedBFloats, packedBOffset } from "./matmul";
export { widen16 } from "./half";
export { layernorm, rmsnorm } from "./norm";
export { gelu, relu, swiglu, softmax, logSoftmax, logSumExp, klRows, klLogits, tanh, exp } from "./activation";
export { attention, rope } from "./attention";
export { ropeHalf } from "./rope";
export { geluErf, geluErfBackward } from "./gelu-erf";
export { add, sub, axpy, lerp, fill, addBias, sumSlices, sumInputs, embed, addDiff, gatherRows, batchMean } from "./patch";
export { biasGrad, layernormBackward, layernormDx, rmsnormBackward, rmsnormDx, geluBackward, reluBackward, swigluBackward, softmaxBackward, logSoftmaxBackward,
  attentionBackward, embedBackward, klBackward, klLogitsBackward, crossEntropy, crossEntropyBackward } from "./backward";
export { adamw } from "./optim";
export { sha256Blocks, sha256State } from "./sha256";
export { scatterRows, scatterRows16 } from "./scatter";

/** First free byte after the module's static data: where the host's arena starts. */
export function heapBase(): usize { return __heap_base; }
