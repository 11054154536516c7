// `acdc explore`: serve the circuit explorer (dist/explorer, static files
// built from explorer/) on the loopback interface and print its URL. A plain
// static file server and nothing more: every computation happens in the
// page. Each response carries Cross-Origin-Opener-Policy and
// Cross-Origin-Embedder-Policy so the page is cross-origin isolated and the
// engine may use threads. /models/… falls back to a models folder (--models;
// by default ../shared/models beside the package when it exists, which is
// where this repository's checkout keeps stories260K), so the page can offer
// models that are not part of the build.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createReadStream, existsSync, statSync } from "node:fs";
import { extname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { parseInteger, parseOptions } from "../args.js";
import { UsageError } from "../files.js";

export const EXPLORE_HELP = `acdc explore [--port P] [--models DIR]

Serve the circuit explorer on http://127.0.0.1:P/ (loopback only) and print
its URL. The page runs everything itself (the engine in a Web Worker); the
server only sends files, with the headers that let the page use threads.
The same files (dist/explorer/) can be put on any static host as they are.
  --port P         port to listen on (default 8765; 0 picks a free one)
  --models DIR     a folder whose files the page may load as /models/… (default:
                   ../shared/models beside the package, when it exists)
`;

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
  ".webmanifest": "application/manifest+json", ".wasm": "application/wasm",
};

/** Headers every response carries: cross-origin isolation (threads), no sniffing, revalidation (the page's service worker keeps its own copy for offline use). */
export const EXPLORE_HEADERS: Readonly<Record<string, string>> = {
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-embedder-policy": "require-corp",
  "cross-origin-resource-policy": "same-origin",
  "x-content-type-options": "nosniff",
  "cache-control": "no-cache",
};

/** The built explorer (dist/explorer beside dist/node). */
export function explorerRoot(): string {
  return fileURLToPath(new URL("../../explorer/", import.meta.url));
}

/** The default models folder: ../shared/models beside the package root, or null. */
function defaultModelsDir(): string | null {
  const dir = fileURLToPath(new URL("../../../../shared/models/", import.meta.url));
  return existsSync(dir) ? dir : null;
}

/** A file under `base` named by the URL path `rel`, or null (outside base, missing, a folder). */
function fileUnder(base: string, rel: string): string | null {
  const root = resolve(base);
  const file = resolve(root, "." + sep + rel);
  if (file !== root && !file.startsWith(root + sep)) return null;
  return existsSync(file) && statSync(file).isFile() ? file : null;
}

export interface ExploreServer { url: string; close(): Promise<void> }

/** Start the static server on 127.0.0.1:`port` (0: any free port); resolves once it listens. */
export function startExploreServer(opts: { port: number; root?: string; modelsDir?: string | null }): Promise<ExploreServer> {
  const root = opts.root ?? explorerRoot();
  if (!existsSync(join(root, "index.html"))) throw new UsageError(`the explorer is not built: ${root} has no index.html (run npm run build)`);
  const models = opts.modelsDir === undefined ? defaultModelsDir() : opts.modelsDir;
  let port = opts.port;
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const send = (code: number, text: string) => { res.writeHead(code, { ...EXPLORE_HEADERS, "content-type": "text/plain; charset=utf-8" }).end(text); };
    // Only this machine's names: a page on another site that rebinds its DNS name to 127.0.0.1 is refused.
    const host = (req.headers.host ?? "").replace(/:\d+$/, "");
    if (!["127.0.0.1", "localhost", "[::1]"].includes(host)) return send(403, "forbidden host");
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
    let path: string;
    try { path = decodeURIComponent(new URL(req.url ?? "/", `http://127.0.0.1:${port}`).pathname); } catch { return send(400, "bad path"); }
    if (path.includes("\0")) return send(400, "bad path");
    const rel = path.endsWith("/") ? `${path}index.html` : path;
    let file = fileUnder(root, rel);
    if (!file && models && rel.startsWith("/models/")) file = fileUnder(models, rel.slice("/models/".length));
    if (!file) return send(404, "not found");
    const size = statSync(file).size;
    res.writeHead(200, { ...EXPLORE_HEADERS, "content-type": TYPES[extname(file)] ?? "application/octet-stream", "content-length": String(size) });
    if (req.method === "HEAD") { res.end(); return; }
    createReadStream(file).on("error", () => res.destroy()).pipe(res);
  };
  const server = createServer(handle);
  return new Promise((ok, fail) => {
    server.once("error", (e: NodeJS.ErrnoException) => fail(e.code === "EADDRINUSE" ? new UsageError(`port ${opts.port} is in use (pass --port 0 for any free port)`) : e));
    server.listen(opts.port, "127.0.0.1", () => {
      port = (server.address() as { port: number }).port;
      ok({ url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) });
    });
  });
}

export async function exploreCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, { port: { type: "string" }, models: { type: "string" } });
  if (values.help) { process.stdout.write(EXPLORE_HELP); return; }
  const port = values.port === undefined ? 8765 : parseInteger("port", values.port as string, 0, 65535);
  const modelsArg = values.models as string | undefined;
  if (modelsArg !== undefined && !(existsSync(modelsArg) && statSync(modelsArg).isDirectory())) throw new UsageError(`--models ${modelsArg} is not a folder`);
  const server = await startExploreServer({ port, modelsDir: modelsArg === undefined ? undefined : resolve(modelsArg) });
  process.stdout.write(`acdc explorer: ${server.url}  (loopback only; Ctrl-C stops)\n`);
  await new Promise<void>((done) => {
    const stop = () => { process.off("SIGINT", stop); process.off("SIGTERM", stop); void server.close().then(done); };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
