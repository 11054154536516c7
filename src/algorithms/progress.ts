// What a running algorithm reports: the events progress bars, the explorer
// and the fetch handler's NDJSON stream are drawn from.
import type { Decision } from "../circuit.js";

/** Progress of a running algorithm: what it is doing, how far, and (ACDC) tested/skipped edges and the node it is on. */
export interface Progress {
  phase: string;
  done: number;
  total: number;
  tested?: number;
  skipped?: number;
  node?: string;
  /** Milliseconds since the run started. */
  ms: number;
  /** Method-specific figures (loss, expected circuit size, …). */
  extra?: Record<string, number>;
  /** Edge-by-edge methods: the decision just made, so a viewer can draw the circuit as it is decided. */
  decision?: Decision;
}
