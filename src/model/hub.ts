// Download a model (model.safetensors + config.json) from the Hugging Face
// hub with fetch. Runtime-agnostic: no file system, no cache, no Node APIs;
// the Node cache lives in src/node/hub-cache.ts. URLs follow the hub's
// `/{repo}/resolve/{revision}/{file}` route (huggingface_hub `hf_hub_url`).
import { AcdcError } from "../errors.js";
import { configFromJson } from "./config-json.js";
import { readSafetensors } from "./formats/safetensors.js";
import { bytesSource, type ByteSource } from "./formats/tensor.js";

export const HUB_URL = "https://huggingface.co";

/** What went wrong, for callers that react to it (the CLI adds a hint for "offline"). */
export type HubErrorKind = "invalid" | "offline" | "timeout" | "not-found" | "auth" | "http" | "truncated" | "bad-file";

export class HubError extends AcdcError {
  readonly kind: HubErrorKind;
  constructor(kind: HubErrorKind, message: string) { super(message, "HubError"); this.kind = kind; }
}

export interface HubOptions {
  /** Hub root; default https://huggingface.co. */
  baseUrl?: string;
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Bearer token for gated or private repos; sent to baseUrl only. */
  token?: string;
  /** fetch to use (default globalThis.fetch); tests and proxies pass their own. */
  fetch?: typeof globalThis.fetch;
  /** Called as bytes arrive; total is undefined when the server does not say. */
  onProgress?: (bytes: number, total: number | undefined, file: string) => void;
  /**
   * The watch window (ms; default 60 000): a download is abandoned when no
   * byte arrives in one window, or fewer than `minBytesPerSecond` on average.
   */
  stallTimeoutMs?: number;
  /** Slowest transfer kept going (default 1024 bytes/s over each window). */
  minBytesPerSecond?: number;
}

/**
 * Largest file downloaded: no weights file past 8 GiB (F64 halved into f32)
 * fits WebAssembly's 4 GiB memory, and a config.json is a few kilobytes.
 */
export const MAX_DOWNLOAD_BYTES = 8 * 2 ** 30 + 100e6;
const MAX_CONFIG_BYTES = 10e6;

/**
 * Hub repo ids: `name` (legacy canonical models such as gpt2) or
 * `owner/name`, each part word characters, `-` and `.`, at most 96, not
 * starting or ending with `-`/`.`, no `--` or `..` (huggingface_hub
 * `validate_repo_id`).
 */
const PART = /^[A-Za-z0-9_](?:[\w.-]{0,94}[A-Za-z0-9_])?$/;
export function isHubRepoId(s: string): boolean {
  const parts = s.split("/");
  return parts.length <= 2 && parts.every((p) => PART.test(p)) && !s.includes("--") && !s.includes("..") && !s.endsWith(".git");
}

/**
 * Short names TransformerLens accepts for repos whose id has an owner
 * (TransformerLens `loading_from_pretrained.MODEL_ALIASES`).
 */
export const HUB_ALIASES: Readonly<Record<string, string>> = { redwood_attn_2l: "ArthurConmy/redwood_attn_2l" };

/** The repo id an argument names: an alias resolved, or the argument; throws HubError when it is not a repo id. */
export function hubRepoId(s: string): string {
  const repo = HUB_ALIASES[s] ?? s;
  if (!isHubRepoId(repo)) throw new HubError("invalid", `"${s}" is not a Hugging Face repo id (expected NAME or OWNER/NAME, e.g. gpt2)`);
  return repo;
}

/** URL of one file of a repo at a revision (the revision is one path segment, so refs/pr/1 is escaped). */
export function hubFileUrl(repo: string, file: string, opts: { baseUrl?: string; revision?: string } = {}): string {
  const base = (opts.baseUrl ?? HUB_URL).replace(/\/+$/, "");
  return `${base}/${repo}/resolve/${encodeURIComponent(opts.revision ?? "main")}/${file}`;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** The cause of a failed fetch in a few words (undici puts the system error in `cause`). */
function causeOf(e: unknown): string {
  const c = (e as { cause?: { code?: string; message?: string } }).cause;
  return c?.code ?? c?.message ?? (e as Error).message ?? String(e);
}

/**
 * Download one file of a repo, handing each chunk to `sink` as it arrives
 * (so a large file can go straight to disk); resolves to the byte count.
 * Throws HubError naming the repo, the file and the cause: offline, HTTP
 * status, a redirect loop, a body cut short or longer than announced, a
 * size no model can have, a stalled or too slow transfer.
 */
export async function downloadHubFile(repo: string, file: string, opts: HubOptions, sink: (chunk: Uint8Array) => void | Promise<void>): Promise<number> {
  repo = hubRepoId(repo);
  const revision = opts.revision ?? "main";
  const url = hubFileUrl(repo, file, opts);
  const host = new URL(url).host;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const windowMs = opts.stallTimeoutMs ?? 60_000, minRate = opts.minBytesPerSecond ?? 1024;
  const ctrl = new AbortController();
  let got = 0, seen = 0, ticks = 0, lastByte = performance.now(), why: HubError | null = null;
  // Four looks per window: a window without a byte is a stall; from the second
  // window on (the first includes connecting), a trickle below the minimum rate is too slow.
  const watch = setInterval(() => {
    ticks++;
    if (performance.now() - lastByte >= windowMs) why = new HubError("timeout", `download of ${file} from ${repo} stalled: nothing received from ${host} for ${windowMs / 1000} s`);
    else if (ticks % 4 === 0) {
      const n = got - seen;
      seen = got;
      if (ticks > 4 && n < (minRate * windowMs) / 1000) why = new HubError("timeout", `download of ${file} from ${repo} is too slow: ${n} bytes in the last ${windowMs / 1000} s from ${host} (under ${minRate} bytes/s); try again later`);
    }
    if (why) ctrl.abort();
  }, windowMs / 4);
  try {
    let res: Response;
    try {
      res = await doFetch(url, { signal: ctrl.signal, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {} });
    } catch (e) {
      if (why) throw why;
      if (/redirect/i.test(causeOf(e))) throw new HubError("http", `${host} redirected the request for ${file} of ${repo} too many times (a redirect loop: ${causeOf(e)})`);
      throw new HubError("offline", `could not reach ${host} to download ${repo} (offline? ${causeOf(e)})`);
    }
    if (!res.ok) {
      // The hub says which kind of 404/401 in X-Error-Code (huggingface_hub `hf_raise_for_status`).
      const code = res.headers.get("x-error-code");
      await res.body?.cancel().catch(() => {});
      if (code === "RepoNotFound") throw new HubError("not-found", `no repo ${repo} on ${host} (or it is private and no token was given)`);
      if (code === "RevisionNotFound") throw new HubError("not-found", `no revision ${revision} in repo ${repo}`);
      if (code === "GatedRepo" || res.status === 401 || res.status === 403) {
        throw new HubError("auth", `repo ${repo} refused ${file} (HTTP ${res.status}): it is gated or private; accept its terms on ${host} and set a token (HF_TOKEN)`);
      }
      if (res.status === 404) throw new HubError("not-found", `no ${file} in repo ${repo} at revision ${revision}`);
      throw new HubError("http", `${host} answered HTTP ${res.status} ${res.statusText} for ${file} of ${repo}`);
    }
    // With a Content-Encoding, Content-Length counts compressed bytes, not what the body yields.
    const enc = res.headers.get("content-encoding");
    const len = res.headers.get("content-length");
    const total = len !== null && (!enc || enc === "identity") && /^\d+$/.test(len) ? Number(len) : undefined;
    const limit = file.endsWith(".json") ? MAX_CONFIG_BYTES : MAX_DOWNLOAD_BYTES;
    const tooBig = (n: number) => new HubError("bad-file", `${file} of ${repo} is ${mb(n)}${n === total ? "" : " and counting"}: no ${file.endsWith(".json") ? "config file" : "model that fits WebAssembly's 4 GiB memory"} is that large (at most ${mb(limit)})`);
    if (total !== undefined && total > limit) { await res.body?.cancel().catch(() => {}); throw tooBig(total); }
    const cutOff = (cause: string) => new HubError("truncated",
      `download of ${file} from ${repo} was cut off after ${mb(got)}${total !== undefined ? ` of ${mb(total)}` : ""} (${cause}); try again`);
    opts.onProgress?.(0, total, file);
    const reader = res.body?.getReader();
    while (reader) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try { r = await reader.read(); } catch (e) {
        if (why) throw why;
        throw cutOff(`connection lost: ${causeOf(e)}`);
      }
      if (r.done) break;
      if ((total !== undefined && got + r.value.length > total) || got + r.value.length > limit) {
        await reader.cancel().catch(() => {});
        throw total !== undefined && got + r.value.length > total ? new HubError("bad-file", `${file} from ${repo} is longer than its Content-Length ${total}`) : tooBig(got + r.value.length);
      }
      try { await sink(r.value); } catch (e) { await reader.cancel().catch(() => {}); throw e; }
      got += r.value.length;
      lastByte = performance.now();
      opts.onProgress?.(got, total, file);
    }
    if (total !== undefined && got < total) throw cutOff("connection closed early");
    return got;
  } finally {
    clearInterval(watch);
    // Nothing may keep the connection (and so the process) alive after an error.
    ctrl.abort();
  }
}

/** Download one file of a repo into memory (see downloadHubFile); throws HubError with a message naming the repo and file. */
export async function fetchHubFile(repo: string, file: string, opts: HubOptions = {}): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let held = 0;
  const n = await downloadHubFile(repo, file, opts, (c) => {
    // One JavaScript byte array holds at most 4 GiB; larger files need a sink that writes to disk.
    if ((held += c.length) >= 2 ** 32) throw new HubError("bad-file", `${file} of ${repo} is larger than 4 GiB, more than one in-memory download can hold`);
    chunks.push(c);
  });
  const all = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { all.set(c, off); off += c.length; }
  return all;
}

/** Parse a downloaded config.json, naming the repo when it is not a JSON object or not a model config this package reads. */
export function parseHubConfig(bytes: Uint8Array, repo: string): Record<string, unknown> {
  let j: unknown;
  try { j = JSON.parse(new TextDecoder().decode(bytes)); } catch (e) { throw new HubError("bad-file", `config.json of ${repo} is not valid JSON: ${(e as Error).message}`); }
  if (j === null || typeof j !== "object" || Array.isArray(j)) throw new HubError("bad-file", `config.json of ${repo} is not a JSON object`);
  // Checked before the weights are fetched: an unreadable config makes a large download useless.
  try { configFromJson(j as Record<string, unknown>); } catch (e) {
    if (e instanceof AcdcError) throw new HubError("bad-file", `config.json of ${repo}: ${e.message}`);
    throw e;
  }
  return j as Record<string, unknown>;
}

/** Check a downloaded model.safetensors' header (names, dtypes, shapes, offsets within the file); the values are not read. */
export async function checkHubWeights(src: ByteSource, repo: string): Promise<void> {
  try { await readSafetensors(src); } catch (e) {
    if (e instanceof AcdcError) throw new HubError("bad-file", `model.safetensors of ${repo} is not a valid safetensors file (${e.message})`);
    throw e;
  }
}

/**
 * Repos trained with TransformerLens (NeelNanda/*, ArthurConmy/redwood_attn_2l)
 * hold a TransformerLens config.json and a PyTorch pickle `model_final.pth`
 * (TransformerLens `get_pretrained_state_dict`), which this package does not read.
 */
export function tlCheckpointError(e: HubError, repo: string): HubError {
  return new HubError(e.kind, `${e.message}: ${repo} has a TransformerLens config, so its weights are probably a PyTorch .pth checkpoint, ` +
    "which cannot be read here; convert them to model.safetensors under TransformerLens names (embed.W_E, blocks.0.attn.W_Q, …) and load that");
}

/**
 * Download `config.json` (first: small, so a missing repo fails fast) and
 * `model.safetensors` of a hub repo. Pass the result to loadModel.
 */
export async function fetchHubModel(repo: string, opts: HubOptions = {}): Promise<{ safetensors: Uint8Array; config: Record<string, unknown>; configBytes: Uint8Array; repo: string }> {
  repo = hubRepoId(repo);
  // The bytes as downloaded are kept too: a run manifest records their digest, which a re-serialized config would not match.
  const configBytes = await fetchHubFile(repo, "config.json", opts);
  const config = parseHubConfig(configBytes, repo);
  let safetensors: Uint8Array;
  try { safetensors = await fetchHubFile(repo, "model.safetensors", opts); } catch (e) {
    throw e instanceof HubError && e.kind === "not-found" && "n_layers" in config ? tlCheckpointError(e, repo) : e;
  }
  await checkHubWeights(bytesSource(safetensors, "model.safetensors"), repo);
  return { safetensors, config, configBytes, repo };
}
