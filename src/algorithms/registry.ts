// Discovery algorithms as data: a key, a name, the knob a sweep varies, and
// run(patcher, options) → Circuit. The CLI, the sweep and the explorer list
// and call them from here; a new method is one new entry.
import type { Patcher } from "../patch/patcher.js";
import type { Circuit } from "../circuit.js";
import { InputError } from "../errors.js";
import type { Progress } from "./progress.js";

export type { Progress } from "./progress.js";
import { acdc } from "./acdc.js";
import { attributionCircuit } from "./attribution.js";
import { subnetworkProbing } from "./sp.js";
import { hisp } from "./hisp.js";
import { edgePruning } from "./edge-pruning.js";

/** Options every algorithm understands; each reads the ones it needs. */
export interface RunOptions {
  /** ACDC: remove an edge when the metric rises by less; attribution: keep |score| ≥ threshold. */
  threshold?: number;
  /** Attribution, hybrid: how many edges to keep. */
  topK?: number;
  /** Integrated-gradient steps (eap-ig, hybrid); default 5. */
  igSteps?: number;
  /** sp: regularization strength λ. */
  lambda?: number;
  /** hisp: how many components (head q/k/v, MLPs) to mask in rank order. */
  masked?: number;
  /** edge-pruning: target edge sparsity in [0, 1]. */
  sparsity?: number;
  /** sp, edge-pruning: optimisation steps, learning rate, seed of the gate noise. */
  steps?: number;
  lr?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
}

export interface Algorithm {
  key: string;
  name: string;
  /** The option a sweep varies, and whether larger values give smaller circuits. */
  knob: { option: "threshold" | "topK" | "lambda" | "masked" | "sparsity"; shrinks: boolean };
  /** Options this algorithm needs besides its knob ("topK" for hybrid). */
  requires?: (keyof RunOptions)[];
  run(p: Patcher, o: RunOptions): Circuit;
}

const IG_STEPS = 5;

export const ALGORITHMS: readonly Algorithm[] = [
  {
    key: "acdc", name: "ACDC (exact, edge by edge)", knob: { option: "threshold", shrinks: true },
    run: (p, o) => acdc(p, { threshold: need(o.threshold, "threshold", "acdc"), onProgress: o.onProgress }),
  },
  {
    key: "eap", name: "EAP (attribution patching)", knob: { option: "threshold", shrinks: true },
    run: (p, o) => attributionCircuit(p, "eap", { topK: o.topK, threshold: o.threshold, steps: 0, onProgress: o.onProgress }),
  },
  {
    key: "eap-ig", name: "EAP-IG (attribution with integrated gradients)", knob: { option: "threshold", shrinks: true },
    run: (p, o) => attributionCircuit(p, "eap-ig", { topK: o.topK, threshold: o.threshold, steps: o.igSteps ?? IG_STEPS, onProgress: o.onProgress }),
  },
  {
    key: "hybrid", name: "EAP-IG candidates, then ACDC", knob: { option: "threshold", shrinks: true }, requires: ["topK"],
    run: (p, o) => {
      const t0 = performance.now();
      // The EAP-IG circuit is left set on the patcher (commit); ACDC starts from there.
      const first = attributionCircuit(p, "eap-ig", { topK: need(o.topK, "topK", "hybrid"), steps: o.igSteps ?? IG_STEPS, commit: true, onProgress: o.onProgress });
      const c = acdc(p, { threshold: need(o.threshold, "threshold", "hybrid"), onProgress: o.onProgress });
      return { ...c, algorithm: "hybrid", stats: { tested: c.stats.tested, ms: performance.now() - t0, candidates: first.edges.length } };
    },
  },
  {
    key: "sp", name: "Subnetwork Probing (learned head/MLP masks)", knob: { option: "lambda", shrinks: true },
    run: (p, o) => subnetworkProbing(p, { lambda: need(o.lambda, "lambda", "sp"), steps: o.steps, lr: o.lr, seed: o.seed, onProgress: o.onProgress }),
  },
  {
    key: "hisp", name: "HISP (gradient head/MLP importance)", knob: { option: "masked", shrinks: true },
    run: (p, o) => hisp(p, { masked: need(o.masked, "masked", "hisp"), onProgress: o.onProgress }),
  },
  {
    key: "edge-pruning", name: "Edge Pruning (learned edge masks)", knob: { option: "sparsity", shrinks: true },
    run: (p, o) => edgePruning(p, { sparsity: need(o.sparsity, "sparsity", "edge-pruning"), steps: o.steps, lr: o.lr, seed: o.seed, onProgress: o.onProgress }),
  },
];

function need<T>(v: T | undefined, what: string, key: string): T {
  if (v === undefined) throw new InputError(`${key} needs ${what}`);
  return v;
}

/** The algorithm registered under `key`; an InputError listing the keys otherwise. */
export function getAlgorithm(key: string): Algorithm {
  const a = ALGORITHMS.find((x) => x.key === key);
  if (!a) throw new InputError(`unknown algorithm ${JSON.stringify(key)} (${ALGORITHMS.map((x) => x.key).join(", ")})`);
  return a;
}
