// A checkpoint's tensor index, whatever holds it: one safetensors file, one
// PyTorch zip checkpoint (.pth, .pt, pytorch_model.bin), or a checkpoint
// split into shards (model-0000X-of-0000N.safetensors or
// pytorch_model-0000X-of-0000N.bin) listed by an index JSON
// ({"metadata": …, "weight_map": {tensor: shard file}}, what
// save_pretrained writes). Tensors of a shard carry their ByteSource, so
// one plan executor reads from every file. Headers and pickles only: no
// tensor values are read here.
import { FormatError } from "../../errors.js";
import { readSafetensors } from "./safetensors.js";
import { readPth } from "./pth.js";
import type { ByteSource, StoredTensor } from "./tensor.js";

/** A checkpoint split over several files. */
export interface ShardedWeights {
  /** The parsed index JSON (model.safetensors.index.json, pytorch_model.bin.index.json). */
  index: Record<string, unknown>;
  /** The shard files, by the names the index's weight_map gives them. */
  shards: Map<string, ByteSource>;
}

/** Whether bytes start like a zip archive (a torch.save checkpoint). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.byteLength >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/** The tensors of one safetensors file or torch.save checkpoint, told apart by their first bytes. */
export async function readCheckpoint(src: ByteSource): Promise<Map<string, StoredTensor>> {
  const head = await src.read(0, Math.min(16, src.byteLength));
  if (looksLikeZip(head)) return readPth(src);
  return readSafetensors(src);
}

/**
 * The tensors of every shard, each tagged with its shard's source, checked
 * against the index both ways: every weight_map entry is in the shard it
 * names, every tensor of a shard is listed for that shard, and no tensor is
 * in two shards.
 */
export async function readShards(w: ShardedWeights): Promise<Map<string, StoredTensor>> {
  const fail = (msg: string) => new FormatError("shards", msg);
  const map = w.index.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) throw fail("the index has no weight_map object");
  const wanted = new Map<string, string>(); // tensor → shard
  for (const [t, f] of Object.entries(map as Record<string, unknown>)) {
    if (typeof f !== "string") throw fail(`weight_map entry "${t}" is not a file name`);
    if (!w.shards.has(f)) throw fail(`weight_map puts "${t}" in ${f}, which is missing`);
    wanted.set(t, f);
  }
  const out = new Map<string, StoredTensor>();
  for (const [file, src] of w.shards) {
    const tensors = await readCheckpoint(src);
    for (const [name, t] of tensors) {
      const listed = wanted.get(name);
      if (listed !== file) throw fail(`${file} holds "${name}", which the index ${listed ? `puts in ${listed}` : "does not list"}`);
      if (out.has(name)) throw fail(`"${name}" is in two shards`);
      out.set(name, { ...t, source: src });
    }
  }
  for (const [t, f] of wanted) if (!out.has(t)) throw fail(`the index puts "${t}" in ${f}, which does not hold it`);
  return out;
}
