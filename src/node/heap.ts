// A run keeps its weights and activations in wasm memory; its JavaScript heap
// holds little. V8 still doubles the heap's young generation (up to two
// 16 MiB semispaces) each time enough objects have survived scavenges since
// the last doubling, which any long run reaches: 15–20 MiB resident that
// hold nothing. The command line owns its process, so it keeps the young
// generation at its starting size; a program embedding the library decides
// for its own process (node --max-semi-space-size=1 does the same).
import { setFlagsFromString } from "node:v8";

/** Stop V8 growing the young generation (process-wide; only scavenge frequency changes, never a result). */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString("--semi-space-growth-factor=1");
}
