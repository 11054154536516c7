// Hook names of graph nodes, formatted in one place (TransformerLens's
// vocabulary, as the ACDC paper's code names its nodes).
import type { Letter } from "../model/transformer.js";

export const hookName = {
  input: () => "blocks.0.hook_resid_pre",
  embed: () => "hook_embed",
  posEmbed: () => "hook_pos_embed",
  output: (nLayers: number) => `blocks.${nLayers - 1}.hook_resid_post`,
  mlpIn: (l: number) => `blocks.${l}.hook_mlp_in`,
  mlpOut: (l: number) => `blocks.${l}.hook_mlp_out`,
  result: (l: number) => `blocks.${l}.attn.hook_result`,
  qkv: (l: number, letter: Letter) => `blocks.${l}.attn.hook_${letter}`,
  qkvInput: (l: number, letter: Letter) => `blocks.${l}.hook_${letter}_input`,
};

/** "name[h]" for per-head nodes, "name" for whole-stream ones (the spec's node label). */
export function nodeLabel(name: string, head: number | null): string {
  return head === null ? name : `${name}[${head}]`;
}
