// The kernel surface (generated at build from assembly/: see
// scripts/build.mjs): the exports' signatures and SGEMM's block sizes.
export type { KernelExports } from "./kernel-surface.generated.js";
export { SGEMM_BLOCKS, KERNEL_NAMES } from "./kernel-surface.generated.js";
