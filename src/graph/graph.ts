// The ACDC computational graph: nodes are hook points (with a head index for
// per-head ones), edges are addition (residual writer → later reader), direct
// (q/k/v input → q/k/v) or placeholder (never tested). Built from the output
// backward in the order ../shared/ACDC_SPEC.md gives, which fixes both the
// order nodes are visited and the order each node's parents are tried.
// Frozen data with dense integer ids; nothing here touches weights.
import type { ModelConfig } from "../model/config.js";
import { hook as hookName, LETTERS, nodeLabel, type Letter } from "../names.js";
import { InputError } from "../errors.js";

export type NodeKind = "input" | "embed" | "pos_embed" | "output" | "mlp_in" | "mlp_out" | "result" | "qkv" | "qkv_input";
export type EdgeType = "addition" | "direct" | "placeholder";

export interface GraphNode {
  id: number;
  kind: NodeKind;
  /** Layer (−1 for input nodes, nLayers for the output). */
  layer: number;
  head: number | null;
  letter: Letter | null;
  name: string;
  label: string;
}

export interface GraphEdge {
  id: number;
  parent: number;
  child: number;
  type: EdgeType;
}

export interface Graph {
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** Edge ids into each node, in the order they were attached (the order ACDC tries them). */
  parents: number[][];
  /** Edge ids out of each node. */
  children: number[][];
  /** Node ids in ACDC's visiting order (output first, input last). */
  visitOrder: number[];
  output: number;
  counts: { addition: number; direct: number; placeholder: number };
  /** Node id by label ("blocks.1.attn.hook_result[3]"). */
  byLabel: Map<string, number>;
}

export interface GraphOptions {
  /** Tracr-style graphs split the input into hook_embed and hook_pos_embed nodes. */
  splitInput?: boolean;
}

/** The most edges a graph may have (GPT-2 XL has 2.3 million). */
export const MAX_EDGES = 50_000_000;

/** Build the graph of a model's geometry. */
export function buildGraph(cfg: ModelConfig, opts: GraphOptions = {}): Graph {
  const { nLayers: L, nHeads: H } = cfg;
  // Counted before building: past this the edge objects alone outgrow a JavaScript heap.
  const c = edgeCountFormula(L, H, cfg.attnOnly, opts.splitInput ? 2 : 1);
  const total = c.addition + c.direct + c.placeholder;
  if (total > MAX_EDGES) throw new InputError(`the graph of ${L} layers × ${H} heads would have ${total.toExponential(2)} edges, more than the ${MAX_EDGES.toLocaleString("en-US")} this package can hold (check n_layers and n_heads in the config)`);
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  const parents: number[][] = [];
  const children: number[][] = [];
  const addNode = (kind: NodeKind, layer: number, name: string, head: number | null = null, letter: Letter | null = null): number => {
    const id = nodes.length;
    nodes.push({ id, kind, layer, head, letter, name, label: nodeLabel(name, head) });
    parents.push([]);
    children.push([]);
    return id;
  };
  const addEdge = (parent: number, child: number, type: EdgeType) => {
    const id = edges.length;
    edges.push({ id, parent, child, type });
    parents[child].push(id);
    children[parent].push(id);
  };

  const output = addNode("output", L, hookName.output(L));
  const readers: number[] = [output];
  for (let l = L - 1; l >= 0; l--) {
    // With parallel attention and MLP (GPT-NeoX), the MLP reads the layer's
    // input, as its heads do: it becomes a reader only after them, so no head
    // of its own layer sends to it.
    let parallelMlpIn = -1;
    if (!cfg.attnOnly) {
      const mo = addNode("mlp_out", l, hookName.mlpOut(l));
      for (const r of readers) addEdge(mo, r, "addition");
      const mi = addNode("mlp_in", l, hookName.mlpIn(l));
      addEdge(mi, mo, "placeholder");
      if (cfg.parallelAttnMlp) parallelMlpIn = mi;
      else readers.push(mi);
    }
    const inputs: number[] = [];
    for (let h = H - 1; h >= 0; h--) {
      const res = addNode("result", l, hookName.result(l), h);
      for (const r of readers) addEdge(res, r, "addition");
      for (const letter of LETTERS) {
        const x = addNode("qkv", l, hookName.qkv(l, letter), h, letter);
        addEdge(x, res, "placeholder");
        const xi = addNode("qkv_input", l, hookName.qkvInput(l, letter), h, letter);
        addEdge(xi, x, "direct");
        inputs.push(xi);
      }
    }
    readers.push(...inputs);
    if (parallelMlpIn >= 0) readers.push(parallelMlpIn);
  }
  if (opts.splitInput) {
    // Tracr: token and position embeddings are separate senders.
    const emb = addNode("embed", -1, hookName.embed());
    for (const r of readers) addEdge(emb, r, "addition");
    const pos = addNode("pos_embed", -1, hookName.posEmbed());
    for (const r of readers) addEdge(pos, r, "addition");
  } else {
    const inp = addNode("input", -1, hookName.input());
    for (const r of readers) addEdge(inp, r, "addition");
  }

  const counts = { addition: 0, direct: 0, placeholder: 0 };
  for (const e of edges) counts[e.type]++;
  const byLabel = new Map(nodes.map((n) => [n.label, n.id]));
  return { nodes, edges, parents, children, visitOrder: visitOrder(nodes, cfg, L), output, counts, byLabel };
}

// Reverse of the order hooks fire in a forward pass; within one hook name,
// heads in the order they were added (H−1 down to 0).
function visitOrder(nodes: GraphNode[], cfg: ModelConfig, L: number): number[] {
  const byKey = new Map<string, number[]>();
  for (const n of nodes) {
    const key = n.name;
    if (!byKey.has(key)) byKey.set(key, []);
    byKey.get(key)!.push(n.id);
  }
  const order: number[] = [...byKey.get(hookName.output(L))!];
  for (let l = L - 1; l >= 0; l--) {
    const names = [
      ...(cfg.attnOnly ? [] : [hookName.mlpOut(l), hookName.mlpIn(l)]),
      hookName.result(l),
      hookName.qkv(l, "v"), hookName.qkv(l, "k"), hookName.qkv(l, "q"),
      hookName.qkvInput(l, "v"), hookName.qkvInput(l, "k"), hookName.qkvInput(l, "q"),
    ];
    for (const nm of names) order.push(...byKey.get(nm)!);
  }
  for (const nm of [hookName.posEmbed(), hookName.embed(), hookName.input()]) if (byKey.has(nm)) order.push(...byKey.get(nm)!);
  return order;
}

/** Expected edge counts from the spec's closed form (for tests and sanity checks; sequential attention and MLP). */
export function edgeCountFormula(L: number, H: number, attnOnly: boolean, nInputs = 1): { addition: number; direct: number; placeholder: number } {
  let addition = 0;
  for (let l = 0; l < L; l++) {
    const writersBefore = nInputs + l * (attnOnly ? H : H + 1);
    addition += 3 * H * writersBefore;
    if (!attnOnly) addition += writersBefore + H;
  }
  addition += nInputs + L * (attnOnly ? H : H + 1);
  return { addition, direct: 3 * H * L, placeholder: 3 * H * L + (attnOnly ? 0 : L) };
}
