// The one place names are made: TransformerLens hook names (the vocabulary
// the ACDC paper's code names its graph nodes with), node labels ("name" or
// "name[head]") and canonical weight names. Everything else calls these;
// nothing parses a name back into its parts (a graph node, a parameter and a
// task edge carry their layer, head and letter as fields).

/** Which of a head's three inputs: query, key or value. */
export type Letter = "q" | "k" | "v";
export const LETTERS: readonly Letter[] = ["q", "k", "v"];

const block = (l: number) => `blocks.${l}`;

/** Hook names, as TransformerLens's HookedTransformer fires them. */
export const hook = {
  /** The residual stream entering layer 0 (the graph's input node for GPT-2-style models). */
  input: () => "blocks.0.hook_resid_pre",
  embed: () => "hook_embed",
  posEmbed: () => "hook_pos_embed",
  residPre: (l: number) => `${block(l)}.hook_resid_pre`,
  residMid: (l: number) => `${block(l)}.hook_resid_mid`,
  residPost: (l: number) => `${block(l)}.hook_resid_post`,
  /** The graph's output node: the stream leaving the last layer. */
  output: (nLayers: number) => `${block(nLayers - 1)}.hook_resid_post`,
  ln1: (l: number) => `${block(l)}.ln1.hook_normalized`,
  ln2: (l: number) => `${block(l)}.ln2.hook_normalized`,
  lnFinal: () => "ln_final.hook_normalized",
  qkv: (l: number, letter: Letter) => `${block(l)}.attn.hook_${letter}`,
  qkvInput: (l: number, letter: Letter) => `${block(l)}.hook_${letter}_input`,
  pattern: (l: number) => `${block(l)}.attn.hook_pattern`,
  z: (l: number) => `${block(l)}.attn.hook_z`,
  result: (l: number) => `${block(l)}.attn.hook_result`,
  attnOut: (l: number) => `${block(l)}.hook_attn_out`,
  mlpIn: (l: number) => `${block(l)}.hook_mlp_in`,
  mlpPre: (l: number) => `${block(l)}.mlp.hook_pre`,
  mlpPost: (l: number) => `${block(l)}.mlp.hook_post`,
  mlpOut: (l: number) => `${block(l)}.hook_mlp_out`,
};

/** "name[h]" for per-head nodes, "name" for whole-stream ones (the spec's node label). */
export function nodeLabel(name: string, head: number | null = null): string {
  return head === null ? name : `${name}[${head}]`;
}

/** Node labels of the standard graph, for ground truths written in code. */
export const label = {
  input: () => hook.input(),
  embed: () => hook.embed(),
  posEmbed: () => hook.posEmbed(),
  output: (nLayers: number) => hook.output(nLayers),
  mlpIn: (l: number) => hook.mlpIn(l),
  mlpOut: (l: number) => hook.mlpOut(l),
  result: (l: number, h: number) => nodeLabel(hook.result(l), h),
  qkv: (l: number, letter: Letter, h: number) => nodeLabel(hook.qkv(l, letter), h),
  qkvInput: (l: number, letter: Letter, h: number) => nodeLabel(hook.qkvInput(l, letter), h),
};

/** Canonical (TransformerLens) weight names. */
export const weight = {
  embed: () => "embed.W_E",
  posEmbed: () => "pos_embed.W_pos",
  /** norm "ln1" | "ln2", part "w" | "b". */
  norm: (l: number, norm: "ln1" | "ln2", part: "w" | "b") => `${block(l)}.${norm}.${part}`,
  lnFinal: (part: "w" | "b") => `ln_final.${part}`,
  /** W_Q, W_K, W_V [heads, D, Dh]. */
  attnW: (l: number, letter: Letter) => `${block(l)}.attn.W_${letter.toUpperCase()}`,
  /** b_Q, b_K, b_V [heads, Dh]. */
  attnB: (l: number, letter: Letter) => `${block(l)}.attn.b_${letter.toUpperCase()}`,
  WO: (l: number) => `${block(l)}.attn.W_O`,
  bO: (l: number) => `${block(l)}.attn.b_O`,
  Win: (l: number) => `${block(l)}.mlp.W_in`,
  bin: (l: number) => `${block(l)}.mlp.b_in`,
  Wgate: (l: number) => `${block(l)}.mlp.W_gate`,
  /** The gate's bias (Llama with mlp_bias; TransformerLens has none). */
  bgate: (l: number) => `${block(l)}.mlp.b_gate`,
  Wout: (l: number) => `${block(l)}.mlp.W_out`,
  bout: (l: number) => `${block(l)}.mlp.b_out`,
  unembed: () => "unembed.W_U",
  unembedBias: () => "unembed.b_U",
};
