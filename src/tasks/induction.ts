// The paper's induction task (Conmy et al. 2023, §4; code in
// acdc/induction/utils.py get_all_induction_things): Redwood's 2-layer
// attention-only model, KL divergence at the positions where induction can
// act, corrupted inputs = the batch's rows shuffled. No ground truth: the
// paper shows metric against edges only.
//
// Model: "redwood_attn_2l" (ArthurConmy/redwood_attn_2l): 2 layers × 8 heads
// of 32, d_model 256, attention only, 50,259 tokens (GPT-2's and two more),
// context 2,048. Its positional embedding is Shortformer-style (added to the
// query and key inputs only), which ModelConfig does not describe; `cfg`
// gives the geometry, which is all the graph needs (305 counted edges).
//
// Data, approximately: the paper reads the model's own validation text
// (validation_data.pt on the Hugging Face Hub, rows[:, :300]) and a mask of
// repeated-token positions (mask_repeat_candidates.pkl), neither of which
// this package ships or may fetch. By default this module builds the usual
// synthetic stand-in instead: each row is `half` random GPT-2 tokens (ids
// 0..50255, no BOS) drawn as torch.manual_seed(seed); torch.randint(0, 50256,
// (B, half)) would draw them, followed by the same `half` tokens again; the
// metric reads every position of the second half, where an induction head
// predicts the next token from the first occurrence. Pass `tokens` (rows of at
// least seqLen + 1 ids) and `mask` to use the paper's files instead: then
// rows [0, n) validate and [n, 2n) test, truncated to seqLen, exactly as the code.
// Corruption (both): shuffle_tensor(data, seed=42) = torch.manual_seed(42);
// data[torch.randperm(B)] (a permutation may keep some rows in place, as
// there). randperm is PyTorch's CPU algorithm for small n as its source reads
// (forward Fisher–Yates, swap i with i + draw % (n − i)); not run against
// PyTorch, which is not available here.
//
// Metrics: KL(clean ‖ patched) averaged over all masked positions of all
// rows (kl_divergence with mask_repeat_candidates); the task metric is the
// code's other one, "nll": the mean negative log-probability of the next
// token at the same positions (a synthetic row's label at its last position
// is what the repeat continues with: its first token).
//
// Numbers from the paper and its code: 50 validation + 50 test examples;
// seq_len 300; shuffle seed 42; thresholds 10^linspace(−4, 0, 21) for both
// metrics (GROUND_TRUTH.md; launch_spreadsheet.py base_thresholds). The
// synthetic defaults (half = 10, token seed 0) are this module's choice: the
// metric holds rows × 50,259 floats per buffer, so 50 × 300 rows would need
// several gigabytes.
import { klMetric, nllMetric } from "../metrics.js";
import { InputError } from "../errors.js";
import { logspace } from "../thresholds.js";
import { checkCount, checkSplit, type PaperTask, type Split, type TaskData } from "./task.js";
import { TorchGenerator } from "./seeded.js";
import { redwoodAttn2lConfig } from "./paper-models.js";


/** shuffle_tensor(rows, seed): rows[torch.randperm(B)] after torch.manual_seed(seed). */
export function shuffleRows<T>(rows: T[], seed = 42): T[] {
  return new TorchGenerator(seed).randperm(rows.length).map((i) => rows[i]);
}

export interface InductionTaskOptions {
  split?: Split;
  /** Rows per split (default the paper's 50). */
  numExamples?: number;
  /** Synthetic data: random tokens per half (default 10; rows are 2·half long). */
  half?: number;
  /** Synthetic data: seed of the token draw (default 0). */
  seed?: number;
  /** The paper's data: validation_data.pt as rows of ids (at least 2·numExamples rows of seqLen + 1). */
  tokens?: number[][];
  /** The paper's data: mask_repeat_candidates.pkl, the same shape as `tokens`. */
  mask?: boolean[][];
  /** Columns kept from `tokens` (default the paper's 300). */
  seqLen?: number;
}

export interface InductionTask extends PaperTask {
  data: TaskData & { positions: number[][]; labels: number[][] };
  source: "synthetic" | "paper";
}

/** The induction task: synthetic repeated random tokens, or the paper's files when given. */
export function inductionTask(opts: InductionTaskOptions = {}): InductionTask {
  const split = checkSplit(opts.split), n = checkCount(opts.numExamples, 50, "numExamples");
  let clean: number[][], positions: number[][], labels: number[][];
  const source = opts.tokens ? "paper" : "synthetic";
  if (opts.tokens) {
    const seqLen = checkCount(opts.seqLen, 300, "seqLen"), toks = opts.tokens, mask = opts.mask;
    if (!mask) throw new InputError("induction: `tokens` needs `mask` (mask_repeat_candidates)");
    if (toks.length < 2 * n || mask.length !== toks.length) throw new InputError(`induction: need ≥ ${2 * n} token rows and a mask of the same shape, got ${toks.length} and ${mask.length}`);
    const lo = split === "validation" ? 0 : n;
    clean = []; positions = []; labels = [];
    for (let b = lo; b < lo + n; b++) {
      if (toks[b].length < seqLen + 1 || mask[b].length !== toks[b].length) throw new InputError(`induction: row ${b} has ${toks[b].length} tokens and ${mask[b].length} mask entries; need ${seqLen + 1} and the same`);
      clean.push(toks[b].slice(0, seqLen));
      const ps = Array.from({ length: seqLen }, (_, p) => p).filter((p) => mask[b][p]);
      positions.push(ps);
      labels.push(ps.map((p) => toks[b][p + 1]));
    }
    if (positions.some((ps) => ps.length === 0)) throw new InputError("induction: a row has no masked position; the patcher needs at least one per prompt");
  } else {
    const half = checkCount(opts.half, 10, "half"), seed = opts.seed ?? 0;
    // Both splits come from one draw of 2n rows, validation first, as the paper's file is sliced.
    const flat = new TorchGenerator(seed).randint(0, 50256, 2 * n * half);
    const lo = split === "validation" ? 0 : n;
    clean = []; positions = []; labels = [];
    for (let b = lo; b < lo + n; b++) {
      const h = flat.slice(b * half, (b + 1) * half), row = [...h, ...h];
      clean.push(row);
      const ps = Array.from({ length: half }, (_, i) => half + i);
      positions.push(ps);
      labels.push(ps.map((p) => row[p - half + 1])); // = row[p + 1], and the first token at the end
    }
  }
  const corrupted = shuffleRows(clean, 42);
  const flatLabels = labels.flat();
  return {
    key: "induction", name: "Induction (redwood_attn_2l)", cfg: redwoodAttn2lConfig(), split, source,
    data: { clean, corrupted, positions, labels },
    metrics: { kl: () => klMetric(), task: () => nllMetric(flatLabels) },
    defaultMetric: "kl", defaultAblation: "corrupted",
    groundTruth: null,
    thresholds: { kl: logspace(-4, 0, 21), task: logspace(-4, 0, 21) },
    paper: { numExamples: 50, auc: null },
  };
}
