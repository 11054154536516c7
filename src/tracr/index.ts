// acdc-wasm/tracr: the RASP compiler the tracr tasks are built with.
export { compileRasp, encodeInput, type CompiledModel, type CompileOptions, type Component } from "./compiler.js";
export { reverseProgram, proportionProgram, compileTracr, type TracrProgram } from "./programs.js";
export * as rasp from "./rasp.js";
