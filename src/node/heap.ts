// A run keeps its weights and activations in wasm memory; its JavaScript heap
// holds little. V8 still doubles the heap's young generation (up to two
// 16 MiB semispaces) each time enough objects have survived scavenges since
// the last doubling, which any long run reaches: 15–20 MiB resident that
// hold nothing. The command line owns its process, so it keeps the young
// generation at its starting size; a program embedding the library decides
// for its own process (node --max-semi-space-size=1 does the same).
// Starting a worker thread (a threaded engine's pool, sweep --workers) puts
// V8's flags back to their defaults in Node 20, at some point of the worker's
// start-up (later still when NODE_OPTIONS preloads modules), so the setting
// is made again when a worker is created and when its first message arrives,
// by which time its start-up is over.
import { setFlagsFromString } from "node:v8";

const FLAG = "--semi-space-growth-factor=1";
let watching = false;

/** Stop V8 growing the young generation, now and after every worker thread starts (process-wide; only scavenge frequency changes, never a result). */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString(FLAG);
  if (watching) return;
  watching = true;
  process.on("worker", (w) => {
    setFlagsFromString(FLAG);
    w.once("message", () => setFlagsFromString(FLAG));
  });
}
