// Node-only disk cache for hub models: CACHE/OWNER/NAME/REVISION/{config.json,
// model.safetensors}. A download streams into a temp file beside its place
// (never held in memory), is checked (config fields; safetensors header,
// shapes and sizes against the file) and only then renamed into place, so
// the cache never holds a cut-off or garbage file; a cached file is checked
// again on each use and named in any error. The download itself is
// src/model/hub.ts.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { checkHubWeights, downloadHubFile, hubRepoId, HubError, HUB_URL, parseHubConfig, tlCheckpointError, type HubOptions } from "../model/hub.js";
import { fileSource, removeOnExit, UsageError } from "./local-io.js";

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
  /** The stall / slow-transfer window; default $ACDC_HUB_TIMEOUT seconds, else 60 s. */
  stallTimeoutMs?: number;
}

/** $ACDC_HUB_TIMEOUT (seconds) as milliseconds, or undefined when unset. */
function envTimeoutMs(): number | undefined {
  const v = process.env.ACDC_HUB_TIMEOUT;
  if (v === undefined || v === "") return undefined;
  const s = Number(v);
  if (!/^\d+(\.\d+)?$/.test(v) || !(s > 0)) throw new UsageError(`ACDC_HUB_TIMEOUT must be a positive number of seconds, got "${v}"`);
  return s * 1000;
}

export function defaultCacheDir(): string {
  return process.env.ACDC_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "acdc-wasm");
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** A download progress line: MB done / total, percent, MB/s. Redraws on a terminal; in logs, every 10% and at least every 5 s. */
function byteProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string) {
  const t0 = performance.now();
  let lastDraw = 0, lastDecile = -1, lastLine = t0, bytes = 0, size: number | undefined;
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
      } else {
        const decile = total ? Math.floor((10 * done) / total) : -1;
        const now = performance.now();
        if (decile === lastDecile && now - lastLine < 5000) return;
        lastDecile = decile;
        lastLine = now;
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

  const stallTimeoutMs = opts.stallTimeoutMs ?? envTimeoutMs();
  /** A cached file's check, naming the file: a damaged cache is never used silently. */
  const checkCached = async (path: string, check: (path: string) => Promise<void>) => {
    try { await check(path); } catch (e) {
      if (e instanceof HubError) throw new HubError("bad-file", `the cached file ${path} is damaged: ${e.message}; delete it to download it again`);
      throw e;
    }
  };

  /** A file's cached path, downloaded first when missing and checked by `check` before it is renamed into the cache. */
  const get = async (file: string, check: (path: string) => Promise<void>): Promise<string> => {
    const path = join(dir, file);
    if (existsSync(path)) { await checkCached(path, check); return path; }
    if (opts.offline) throw new HubError("offline", `${repo} (${file}) is not in the cache ${dir} and downloads are off`);
    mkdirSync(dir, { recursive: true });
    // config.json is a few hundred bytes: a progress line only for the weights.
    const bar = out && file !== "config.json" ? byteProgress(out, `downloading ${repo} ${file}`) : null;
    const tmp = join(dir, `.${basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.part`);
    const forget = removeOnExit(tmp);
    const fd = openSync(tmp, "w");
    let open = true;
    try {
      try {
        await downloadHubFile(repo, file, {
          baseUrl, revision, token, fetch: opts.fetch, stallTimeoutMs,
          onProgress: bar ? (done, total) => bar.update(done, total) : undefined,
        }, (chunk) => {
          for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
        });
      } catch (e) {
        if (bar && (out as { isTTY?: boolean }).isTTY) out!.write("\n");
        throw e;
      }
      bar?.finish();
      closeSync(fd);
      open = false;
      await check(tmp);
      renameSync(tmp, path);
    } finally {
      if (open) closeSync(fd);
      rmSync(tmp, { force: true });
      forget();
    }
    downloaded.push(file);
    return path;
  };

  const readConfig = (path: string) => parseHubConfig(new Uint8Array(readFileSync(path)), repo);
  const config = readConfig(await get("config.json", async (p) => { readConfig(p); }));
  const checkWeights = async (p: string) => {
    const src = fileSource(p);
    try { await checkHubWeights(src, repo); } finally { src.close(); }
  };
  let weightsPath: string;
  try { weightsPath = await get("model.safetensors", checkWeights); } catch (e) {
    throw e instanceof HubError && e.kind === "not-found" && "n_layers" in config ? tlCheckpointError(e, repo) : e;
  }
  return { weightsPath, config, repo, dir, downloaded };
}
