// The page's handle on the engine worker (worker.js): start it with a thread
// count, send requests and route their progress, and cancel by terminating
// it, which stops a search mid-kernel (nothing in the worker has to
// cooperate). After a cancel the next request starts a fresh worker; the
// caller reloads its model and data (loaded says what the worker holds).

export class CancelledError extends Error {
  constructor() { super("cancelled"); this.name = "CancelledError"; }
}

export class EngineClient {
  constructor(threads = 1) {
    this.threads = threads;
    this.worker = null;
    this.ready = null;
    this.pending = new Map();
    this.next = 1;
    /** What the current worker holds: tokens of the model and data last loaded into it. */
    this.loaded = { model: null, data: null };
    /** The worker's answer to init: threads it got, whether the page is cross-origin isolated. */
    this.engine = null;
  }

  /** Start the worker if there is none; resolves once its engine exists. */
  start() {
    if (this.ready) return this.ready;
    const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "acdc-wasm engine" });
    this.worker = w;
    w.onmessage = (ev) => this.receive(ev.data);
    w.onerror = (ev) => {
      ev.preventDefault?.();
      this.failAll(new Error(`the engine worker failed: ${ev.message || "it could not start (is the page served over http with worker.js beside it?)"}`));
      this.stop();
    };
    this.ready = this.send("init", { threads: this.threads }).then((r) => (this.engine = r));
    return this.ready;
  }

  send(type, payload = {}, handlers = {}) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, handlers });
      this.worker.postMessage({ id, type, ...payload });
    });
  }

  /** A request after the worker is ready; `handlers` get its progress messages by type. */
  async request(type, payload = {}, handlers = {}) {
    await this.start();
    return this.send(type, payload, handlers);
  }

  receive(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    if (msg.type === "done") { this.pending.delete(msg.id); p.resolve(msg); }
    else if (msg.type === "error") { this.pending.delete(msg.id); const e = new Error(msg.message); e.input = msg.input; p.reject(e); }
    else p.handlers[msg.type]?.(msg);
  }

  failAll(e) {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** End the worker now (a running search stops mid-step); pending requests reject with CancelledError. */
  stop() {
    this.worker?.terminate();
    this.worker = null;
    this.ready = null;
    this.engine = null;
    this.loaded = { model: null, data: null };
    this.failAll(new CancelledError());
  }

  get busy() { return this.pending.size > 0; }
}
