// `acdc serve`: the fetch handler (src/serve/handler.ts) on a Node HTTP
// server, loopback by default. The handler does the work; this file only
// turns Node's request into a standard Request and streams the Response
// back, line by line.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { Readable } from "node:stream";
import { createHandler, DEFAULT_LIMITS } from "../../serve/handler.js";
import { loadTokenizer } from "../../tokenizers/load.js";
import { parseInteger, parseNumber, parseOptions, parseThreads } from "../args.js";
import { UsageError } from "../files.js";

export const SERVE_HELP = `acdc serve [--port P] [--host H] [limits]

Serve circuit discovery over HTTP: POST /v1/run with a JSON body
{"model": …, "data": …, "options": …} answers application/x-ndjson progress
lines, then {"type":"result","circuit":…,"manifest":…} (see the README). Data
may be a task file ({"task": {…}}) whose tokenizer is "gpt2" or a URL.
  --port P            port (default 8787; 0 picks a free one, printed)
  --host H            address to listen on (default 127.0.0.1: this machine only)
  --max-model-mb N    weights bytes accepted (default ${DEFAULT_LIMITS.maxModelBytes / 2 ** 20})
  --max-body-mb N     request body bytes (default ${DEFAULT_LIMITS.maxBodyBytes / 2 ** 20})
  --max-prompts N     prompts in the data (default ${DEFAULT_LIMITS.maxPrompts})
  --max-positions N   tokens in the longest prompt (default ${DEFAULT_LIMITS.maxPositions})
  --max-seconds N     search time per request (default ${DEFAULT_LIMITS.maxSeconds})
  --threads N|auto    kernel threads per request (default 1)
`;

/** A standard Request from Node's incoming message. */
function toRequest(req: IncomingMessage, origin: string): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(new URL(req.url ?? "/", origin), {
    method: req.method, headers,
    body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
    // Node's fetch needs this for a streamed request body.
    ...(hasBody ? { duplex: "half" } : {}),
  } as RequestInit);
}

/** Stream a Response into Node's response, chunk by chunk. */
async function send(res: ServerResponse, r: Response): Promise<void> {
  const headers: Record<string, string> = {};
  r.headers.forEach((v, k) => { headers[k] = v; });
  res.writeHead(r.status, headers);
  if (r.body) {
    const reader = r.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
  }
  res.end();
}

export async function serveCommand(args: string[]): Promise<void> {
  const values = parseOptions(args, {
    port: { type: "string" }, host: { type: "string" }, threads: { type: "string" },
    "max-model-mb": { type: "string" }, "max-body-mb": { type: "string" }, "max-prompts": { type: "string" },
    "max-positions": { type: "string" }, "max-seconds": { type: "string" },
  });
  if (values.help) { process.stdout.write(SERVE_HELP); return; }
  const str = (k: string) => values[k] as string | undefined;
  const port = str("port") === undefined ? 8787 : parseInteger("port", str("port")!, 0, 65535);
  const host = str("host") ?? "127.0.0.1";
  const positive = (k: string) => {
    if (str(k) === undefined) return undefined;
    const v = parseNumber(k, str(k)!);
    if (!(v > 0)) throw new UsageError(`--${k} must be positive, got ${str(k)}`);
    return v;
  };
  const mb = (k: string) => (positive(k) === undefined ? undefined : positive(k)! * 2 ** 20);
  const limits = Object.fromEntries(Object.entries({
    maxModelBytes: mb("max-model-mb"), maxBodyBytes: mb("max-body-mb"), maxPrompts: positive("max-prompts"),
    maxPositions: positive("max-positions"), maxSeconds: positive("max-seconds"),
  }).filter(([, v]) => v !== undefined));
  const threads = parseThreads(str("threads"));
  // Task files with text prompts: their tokenizer ("gpt2", or by URL) through the package's loader
  // (already in memory: the CLI loads every command, and acdc run the tokenizers).
  const handler = createHandler({ limits, threads, loadTokenizer });
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? `${host}:${port}`}`;
    handler.fetch(toRequest(req, origin)).then((r) => send(res, r)).catch((e) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/x-ndjson" });
      res.end(JSON.stringify({ type: "error", message: `internal error: ${(e as Error)?.message ?? e}` }) + "\n");
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new UsageError(`cannot listen on ${host}:${port}: ${(e as Error).message}`)));
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const actual = typeof addr === "object" && addr ? addr.port : port;
  process.stdout.write(`acdc serve: listening on http://${host.includes(":") ? `[${host}]` : host}:${actual} (POST /v1/run)\n`);
  // Serve until the process is stopped.
  await new Promise<void>((resolve) => {
    const stop = () => server.close(() => resolve());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
