// A pool of worker threads over the engine's shared wasm memory. The calling
// thread is worker 0: it writes a kernel call's chunks into a shared table,
// wakes the workers, works through chunks with them and returns when all are
// done, so a kernel call stays synchronous. Not here: how a call is cut
// (parallel.ts) or which build runs (engine.ts).
//
// One adapter starts the workers: `worker_threads` (`new Worker(code, {eval:
// true})`, unref'd so a script can end without dispose()) where it exists,
// that is Node and Deno (Deno's own Web Workers keep the process alive for as
// long as they live, and terminate() cannot stop one blocked in Atomics.wait);
// module Web Workers from a Blob URL in browsers. Either way the worker's
// source is a string in this bundle, so no extra file is needed at run time.
//
// Waiting: workers block in Atomics.wait (allowed in every worker). The
// calling thread blocks in Atomics.wait where it may (Node, Deno, a Worker);
// a browser page's main thread may not, so there it spins on Atomics.load
// until the others finish. Its own slice is as long as theirs, so the spin is
// short, and the page is blocked for the call anyway, as with one thread.

// Scheduling is dynamic: a call is cut into chunks (more than threads when
// it is large), and every thread, the caller included, takes the next chunk
// with a compare-and-swap on one ticket word until none are left. On a busy
// machine, where a worker may not get a core for a while, the caller simply
// takes more chunks; which thread computes a chunk never changes its bits.
//
// Control block (Int32 indices; hot words on separate 64-byte lines):
//   WAKE   bumped and notified once per call; idle workers wait on it
//   TICKET gen (15 bits) << 15 | next chunk (15 bits); chunks are taken by CAS
//   DONE   chunks finished; the thread finishing the last one notifies
//   ERROR  index of a worker whose chunk threw (0: none)
//   STOP   set by close()
//   COUNT  chunk count of each generation, ring of 256 (a late worker checks
//          a ticket against its own generation's count, never a newer one's)
//   WORK   each thread's SGEMM workspace offset (a chunk packs into the
//          workspace of the thread running it)
const WAKE = 0, TICKET = 16, DONE = 32, ERROR = 48, STOP = 64, COUNT = 80, WORK = COUNT + 256;
/** Threads a pool can have. */
export const MAX_THREADS = 256;
const CTRL_INTS = WORK + MAX_THREADS;
/** Chunks per call at most, kernel calls per chunk, arguments per call. */
export const MAX_CHUNKS = 64;
export const MAX_CALLS = 4;
export const MAX_ARGS = 18;
const CALL = 1 + MAX_ARGS; // op index, then arguments
/** Float64s per chunk: call count, then calls. */
export const CHUNK = 1 + MAX_CALLS * CALL;
/**
 * Milliseconds an idle worker polls before it sleeps: waking a sleeping thread
 * takes tens of microseconds, and in a forward pass or an edge trial the next
 * large kernel call usually comes sooner. Longer polls gained nothing on an
 * idle machine and, on a busy one, took CPU from the calling thread (2-thread
 * edge trials with another process on one of 2 cores: 0.77× one thread
 * polling 1 ms, 0.87× polling 0.2 ms).
 */
const WORKER_SPIN_MS = 0.2;
/** Polls before the calling thread sleeps while the others finish. */
const JOIN_SPIN = 20000;

type Post = (msg: unknown) => void;
interface WorkerInit {
  module: WebAssembly.Module; memory: WebAssembly.Memory; ctrl: SharedArrayBuffer; table: SharedArrayBuffer;
  names: string[]; index: number; layout: number[];
  /** SGEMM's op code and the argument index of its workspace. */
  gemm: [number, number];
}

// Runs inside each worker; its source text is embedded (Function.prototype
// toString), so it uses nothing from this module's scope: the constants it
// needs come in `init.layout`.
function workerMain(init: WorkerInit, post: Post): void {
  const [wake, ticket, done, error, stop, count, work, chunk, call, spin] = init.layout;
  const [gemmOp, workArg] = init.gemm;
  const imports = { env: { memory: init.memory, abort: () => { throw new Error("acdc-wasm: kernel abort"); } } };
  WebAssembly.instantiate(init.module, imports).then((instance) => {
    const ex = instance.exports as Record<string, (...a: number[]) => void>;
    const fns = init.names.map((n) => ex[n]);
    const c = new Int32Array(init.ctrl);
    const s = new Float64Array(init.table);
    post({ ready: init.index });
    let seen = 0;
    for (;;) {
      let g = Atomics.load(c, wake);
      // Poll for up to `spin` ms before sleeping.
      if (g === seen) {
        const until = performance.now() + spin;
        for (let i = 1; g === seen; i++) {
          g = Atomics.load(c, wake);
          if ((i & 1023) === 0 && performance.now() > until) break;
        }
      }
      while (g === seen) { Atomics.wait(c, wake, seen); g = Atomics.load(c, wake); }
      seen = g;
      if (Atomics.load(c, stop)) break;
      for (;;) {
        const w = Atomics.load(c, ticket), n = c[count + ((w >>> 15) & 255)], k = w & 0x7fff;
        if (k >= n) break;
        if (Atomics.compareExchange(c, ticket, w, w + 1) !== w) continue;
        try {
          const base = k * chunk, calls = s[base];
          for (let j = 0; j < calls; j++) {
            const o = base + 1 + j * call;
            if (s[o] === gemmOp) s[o + 1 + workArg] = c[work + init.index];
            // Always 18 arguments: a kernel ignores those past its own.
            fns[s[o]](s[o + 1], s[o + 2], s[o + 3], s[o + 4], s[o + 5], s[o + 6], s[o + 7], s[o + 8], s[o + 9],
              s[o + 10], s[o + 11], s[o + 12], s[o + 13], s[o + 14], s[o + 15], s[o + 16], s[o + 17], s[o + 18]);
          }
        } catch (e) {
          Atomics.store(c, error, init.index); // ≥ 1: the calling thread is 0
          post({ error: String(e) });
        }
        if (Atomics.add(c, done, 1) + 1 === n) Atomics.notify(c, done);
      }
    }
    post({ stopped: init.index });
  }, (e) => post({ failed: String(e) }));
}

const nodeSource = () =>
  `import("node:worker_threads").then(({ parentPort }) => parentPort.once("message", (init) => (${workerMain.toString()})(init, (m) => parentPort.postMessage(m))));\n`;
const webSource = () =>
  `self.onmessage = (e) => { self.onmessage = null; (${workerMain.toString()})(e.data, (m) => self.postMessage(m)); };\n`;

/** The least a pool needs of a worker, whichever API made it. */
interface PoolWorker {
  post(msg: unknown): void;
  /** Resolves on the worker's first message (ready or failed). */
  first: Promise<Record<string, unknown>>;
  terminate(): void;
}

type NodeWorkerThreads = typeof import("node:worker_threads");
let nodeWorkers: Promise<NodeWorkerThreads | null> | null = null;

/** node:worker_threads where the runtime has it (Node, Deno, Bun), else null. */
function workerThreads(): Promise<NodeWorkerThreads | null> {
  if (!nodeWorkers) {
    const g = globalThis as { process?: { versions?: { node?: string } } };
    // A variable specifier keeps browser bundlers from resolving a Node built-in.
    const name = "node:worker_threads";
    nodeWorkers = g.process?.versions?.node
      ? (import(/* @vite-ignore */ /* webpackIgnore: true */ name) as Promise<NodeWorkerThreads>).catch(() => null)
      : Promise.resolve(null);
  }
  return nodeWorkers;
}

async function spawn(n: number): Promise<PoolWorker[]> {
  const wt = await workerThreads();
  const out: PoolWorker[] = [];
  if (wt) {
    const code = nodeSource();
    for (let i = 0; i < n; i++) {
      const w = new wt.Worker(code, { eval: true });
      w.unref();
      out.push({
        post: (m) => w.postMessage(m),
        first: new Promise((res, rej) => { w.once("message", res); w.once("error", rej); }),
        terminate: () => { void w.terminate(); },
      });
    }
    return out;
  }
  if (typeof Worker === "undefined" || typeof Blob === "undefined" || typeof URL?.createObjectURL !== "function") {
    throw new Error("no Worker API in this runtime");
  }
  const url = URL.createObjectURL(new Blob([webSource()], { type: "text/javascript" }));
  try {
    // A page's Content-Security-Policy may forbid blob: workers: the
    // constructor throws, and the caller falls back to one thread.
    for (let i = 0; i < n; i++) {
      const w = new Worker(url, { type: "module", name: `acdc-wasm kernels ${i + 1}` });
      out.push({
        post: (m) => w.postMessage(m),
        first: new Promise((res, rej) => {
          w.onmessage = (e) => res(e.data);
          w.onerror = (e) => { e.preventDefault?.(); rej(new Error(e.message || "worker failed to start")); };
        }),
        terminate: () => w.terminate(),
      });
    }
  } catch (e) {
    for (const w of out) w.terminate();
    throw e;
  } finally {
    // Each worker has fetched the URL once it answers; revoke after that.
    void Promise.allSettled(out.map((w) => w.first)).then(() => URL.revokeObjectURL(url));
  }
  return out;
}

let blockingAllowed: boolean | null = null;
/** Whether this thread may block in Atomics.wait (not a browser page's main thread). */
export function canBlock(): boolean {
  if (blockingAllowed === null) {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      blockingAllowed = true;
    } catch {
      blockingAllowed = false;
    }
  }
  return blockingAllowed;
}

export class Pool {
  /** Threads in all, the calling thread included. */
  readonly size: number;
  /** Chunk i's calls: [call count, (op, args × MAX_ARGS) × MAX_CALLS] at i·CHUNK. */
  readonly table: Float64Array;
  private readonly ctrl: Int32Array;
  private readonly workers: PoolWorker[];
  private readonly block: boolean;
  private gen = 0;
  private closed = false;

  private constructor(size: number, ctrl: SharedArrayBuffer, table: SharedArrayBuffer, workers: PoolWorker[]) {
    this.size = size;
    this.ctrl = new Int32Array(ctrl);
    this.table = new Float64Array(table);
    this.workers = workers;
    this.block = canBlock();
  }

  /**
   * Start size − 1 workers, each instantiating `module` over `memory` and
   * resolving the kernels named in `names` (an op is its index there).
   */
  static async create(size: number, module: WebAssembly.Module, memory: WebAssembly.Memory, names: string[], gemm: [number, number]): Promise<Pool> {
    if (!(size >= 2 && size <= MAX_THREADS)) throw new RangeError(`acdc-wasm: a pool has 2 to ${MAX_THREADS} threads, not ${size}`);
    const ctrl = new SharedArrayBuffer(CTRL_INTS * 4);
    const table = new SharedArrayBuffer(MAX_CHUNKS * CHUNK * 8);
    const workers = await spawn(size - 1);
    const layout = [WAKE, TICKET, DONE, ERROR, STOP, COUNT, WORK, CHUNK, CALL, WORKER_SPIN_MS];
    try {
      workers.forEach((w, i) => w.post({ module, memory, ctrl, table, names, index: i + 1, layout, gemm } satisfies WorkerInit));
      const first = await Promise.all(workers.map((w) => w.first));
      const bad = first.find((m) => !m || m.failed !== undefined);
      if (bad) throw new Error(`a worker could not instantiate the kernels: ${bad?.failed}`);
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new Pool(size, ctrl, table, workers);
  }

  /** Thread i's SGEMM workspace offset (set before the first run). */
  setWorkspace(i: number, offset: number): void { Atomics.store(this.ctrl, WORK + i, offset); }

  /**
   * Run chunks 0..n−1 of the table on every thread: wake the workers, take
   * chunks here too (runChunk(i) runs chunk i on this thread), and return once
   * all are done. Throws what a chunk threw here, or names the failed worker.
   */
  run(n: number, runChunk: (i: number) => void, what: string): void {
    if (this.closed) throw new Error("acdc-wasm: this engine was disposed");
    const c = this.ctrl;
    this.gen = (this.gen + 1) & 0x7fff;
    c[COUNT + (this.gen & 255)] = n;
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERROR, 0);
    Atomics.store(c, TICKET, this.gen << 15);
    Atomics.add(c, WAKE, 1);
    Atomics.notify(c, WAKE);
    let failure: unknown = null;
    for (;;) {
      const w = Atomics.load(c, TICKET), k = w & 0x7fff;
      if (k >= n) break;
      if (Atomics.compareExchange(c, TICKET, w, w + 1) !== w) continue;
      try { runChunk(k); } catch (e) { failure ??= e; }
      Atomics.add(c, DONE, 1);
    }
    // Always wait: workers may still be writing into memory.
    let d = Atomics.load(c, DONE);
    for (let i = 0; d !== n && (i < JOIN_SPIN || !this.block); i++) d = Atomics.load(c, DONE);
    while (d !== n) { Atomics.wait(c, DONE, d); d = Atomics.load(c, DONE); }
    if (failure) throw failure;
    const bad = Atomics.load(c, ERROR);
    if (bad) throw new Error(`acdc-wasm: kernel ${what} failed on worker ${bad} (a WebAssembly trap: an offset outside memory?)`);
  }

  /** Stop and end every worker; the pool cannot run again. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Wake them into a clean exit first: a worker blocked in Atomics.wait
    // ignores terminate() in some runtimes (Deno).
    Atomics.store(this.ctrl, STOP, 1);
    Atomics.add(this.ctrl, WAKE, 1);
    Atomics.notify(this.ctrl, WAKE);
    for (const w of this.workers) w.terminate();
  }
}
