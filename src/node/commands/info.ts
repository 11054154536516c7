// `acdc info`: a model's geometry and its graph's edge counts, from the
// weights file's header and the config alone (no weights are read).
import { buildGraph } from "../../graph/graph.js";
import { configFromJson } from "../../model/config-json.js";
import { paramTable } from "../../model/params.js";
import { detectFormat } from "../../model/load.js";
import { readCheckpoint, readShards } from "../../model/formats/checkpoint.js";
import { LLAMA2C_HEADER_BYTES, llama2cConfig, parseLlama2cHeader } from "../../model/formats/llama2c.js";
import type { ModelConfig } from "../../model/config.js";
import { fileSource, modelFiles, shardedWeights, UsageError } from "../files.js";
import { parseOptions } from "../args.js";

export const INFO_HELP = `acdc info --model M [--quiet]

Print a model's geometry, its parameter count and its graph's edge counts.
Reads the config and the weights file's header only.
  --model M        as for acdc run (a hub model is downloaded into the cache first)
  --quiet          no download progress on stderr
`;

export async function infoCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, { model: { type: "string" }, quiet: { type: "boolean" } });
  if (values.help) { process.stdout.write(INFO_HELP); return; }
  const arg = values.model as string | undefined;
  if (!arg) throw new UsageError("--model is required (see acdc info --help)");
  const { files, config } = await modelFiles(arg, { quiet: Boolean(values.quiet) });
  const sharded = files.shards ? shardedWeights(files.index!, files.shards) : null;
  const sources = sharded ? [...sharded.shards.values()] : [fileSource(files.weights)];
  const src = sources[0];
  let cfg: ModelConfig, tensors = 0, format: string;
  try {
    format = files.shards ? `${files.shards.length} shards` : await detectFormat(src);
    if (format === "llama2c") {
      cfg = llama2cConfig(parseLlama2cHeader(await src.read(0, Math.min(src.byteLength, LLAMA2C_HEADER_BYTES))));
    } else {
      tensors = (sharded ? await readShards(sharded) : await readCheckpoint(src)).size;
      cfg = configFromJson(config!);
    }
  } finally {
    for (const s of sources) s.close();
  }
  const bytes = sources.reduce((a, s) => a + s.byteLength, 0);
  const params = paramTable(cfg).reduce((a, s) => a + s.size, 0);
  const g = buildGraph(cfg);
  const c = cfg;
  process.stdout.write(`${files.name}: ${c.nLayers} layers × ${c.nHeads} heads${c.nKvHeads !== c.nHeads ? ` (${c.nKvHeads} kv)` : ""}, d_model ${c.dModel}, vocab ${c.dVocab}` +
    `${c.attnOnly ? ", attention-only" : `, MLP ${c.dMlp} (${c.actFn})`}, ${c.normalization} norm, ${c.positional} positions\n`);
  process.stdout.write(`${format}${tensors ? ` with ${tensors} tensors` : ""}, ${(bytes / 1e6).toFixed(1)} MB; ${params.toLocaleString("en-US")} parameters (${((params * 4) / 2 ** 20).toFixed(1)} MiB as f32)\n`);
  process.stdout.write(`${JSON.stringify(cfg)}\n`);
  process.stdout.write(`graph: ${g.nodes.length} nodes; ${g.counts.addition} addition + ${g.counts.direct} direct = ${g.counts.addition + g.counts.direct} counted edges; ${g.counts.placeholder} placeholders\n`);
}
