// Node-only disk cache for hub models: CACHE/OWNER/NAME/REVISION/{config.json,
// model.safetensors}, each file written whole (temp file + rename, so an
// interrupted download never leaves a file that looks complete) and read back
// without touching the network. The download itself is src/model/hub.ts.
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { writeAtomic } from "./files.js";
import { homedir } from "node:os";
import { join } from "node:path";
import { fetchHubFile, hubRepoId, HubError, HUB_URL, parseHubConfig, tlCheckpointError, type HubOptions } from "../model/hub.js";

export interface HubCacheOptions {
  /** Default $ACDC_CACHE, else $XDG_CACHE_HOME/acdc-wasm, else ~/.cache/acdc-wasm. */
  cacheDir?: string;
  /** Default $ACDC_HUB_URL, else https://huggingface.co. */
  baseUrl?: string;
  revision?: string;
  /** Only use the cache; fail if the model is not in it. */
  offline?: boolean;
  /** Where the progress line goes (default stderr); null for none. */
  progress?: NodeJS.WritableStream | null;
  fetch?: HubOptions["fetch"];
  stallTimeoutMs?: number;
}

export function defaultCacheDir(): string {
  return process.env.ACDC_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "acdc-wasm");
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** A download progress line: MB done / total, percent, MB/s. Redraws on a terminal, prints every 10% in logs. */
function byteProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string) {
  const t0 = performance.now();
  let lastDraw = 0, lastDecile = -1, bytes = 0, size: number | undefined;
  const line = () => {
    const s = (performance.now() - t0) / 1000;
    const rate = s > 0 ? bytes / 1e6 / s : 0;
    return `${label}: ${mb(bytes)}${size !== undefined ? `/${mb(size)} MB ${size ? ((100 * bytes) / size).toFixed(0) : 100}%` : " MB"} · ${rate.toFixed(1)} MB/s`;
  };
  return {
    update(done: number, total: number | undefined) {
      bytes = done; size = total;
      if (stream.isTTY) {
        const now = performance.now();
        if (now - lastDraw < 100) return;
        lastDraw = now;
        stream.write(`\r${line()}\x1b[K`);
      } else if (total) {
        const decile = Math.floor((10 * done) / total);
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${line()}\n`);
      }
    },
    finish() {
      if (stream.isTTY) stream.write(`\r${line()}\x1b[K\n`);
      else if (lastDecile < 10) stream.write(`${line()}\n`);
    },
  };
}

/**
 * Load a hub model's files from the cache, downloading the missing ones.
 * `downloaded` lists the files fetched in this call (empty: all from cache).
 */
export async function loadHubModelCached(repoArg: string, opts: HubCacheOptions = {}): Promise<{
  weightsPath: string; config: Record<string, unknown>; repo: string; dir: string; downloaded: string[];
}> {
  const repo = hubRepoId(repoArg);
  const revision = opts.revision ?? "main";
  const baseUrl = opts.baseUrl ?? (process.env.ACDC_HUB_URL || HUB_URL);
  const dir = join(opts.cacheDir ?? defaultCacheDir(), ...repo.split("/"), encodeURIComponent(revision));
  const out = opts.progress === undefined ? process.stderr : opts.progress;
  // The token only goes to the real hub, never to a mirror named by ACDC_HUB_URL.
  const token = baseUrl.replace(/\/+$/, "") === HUB_URL ? process.env.HF_TOKEN || undefined : undefined;
  const downloaded: string[] = [];

  /** A file's cached path, downloaded first when missing, checked by `check` (so a bad file is never cached). */
  const get = async (file: string, check: (bytes: Uint8Array) => void = () => {}): Promise<string> => {
    const path = join(dir, file);
    if (existsSync(path)) return path;
    if (opts.offline) throw new HubError("offline", `${repo} (${file}) is not in the cache ${dir} and downloads are off`);
    // config.json is a few hundred bytes: a progress line only for the weights.
    const bar = out && file !== "config.json" ? byteProgress(out, `downloading ${repo} ${file}`) : null;
    let bytes: Uint8Array;
    try {
      bytes = await fetchHubFile(repo, file, {
        baseUrl, revision, token, fetch: opts.fetch, stallTimeoutMs: opts.stallTimeoutMs,
        onProgress: bar ? (done, total) => bar.update(done, total) : undefined,
      });
    } catch (e) {
      if (bar && (out as { isTTY?: boolean }).isTTY) out!.write("\n");
      throw e;
    }
    bar?.finish();
    check(bytes);
    mkdirSync(dir, { recursive: true });
    writeAtomic(path, bytes);
    downloaded.push(file);
    return path;
  };

  const config = parseHubConfig(new Uint8Array(readFileSync(await get("config.json", (b) => parseHubConfig(b, repo)))), repo);
  let weightsPath: string;
  try { weightsPath = await get("model.safetensors"); } catch (e) {
    throw e instanceof HubError && e.kind === "not-found" && "n_layers" in config ? tlCheckpointError(e, repo) : e;
  }
  return { weightsPath, config, repo, dir, downloaded };
}
