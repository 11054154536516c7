// External components some suites need (Chromium, Redis, …): present, or the
// suite skips with one line saying how to enable it — except under CI
// (CI set, as .ci/run sets it), where a missing component is a failure.
import { existsSync } from "node:fs";

/** The Chromium binary tests drive, or null after recording a skip (or, under CI, a failure) on `t`. */
export function chromiumOrSkip(t, what = "browser tests") {
  const path = process.env.ACDC_CHROMIUM || "/usr/bin/chromium";
  if (existsSync(path)) return path;
  if (process.env.CI) t.fail(`Chromium not found at ${path} (CI requires it; .ci/run installs Debian's chromium)`);
  else t.skip(`${what} skipped: no Chromium at ${path} (apt-get install chromium, or set ACDC_CHROMIUM; required when CI is set)`);
  return null;
}

/** Flags every headless launch here uses (no sandbox as root, no background network on a closed machine). */
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];

/** The redis-server binary queue tests start, or null after recording a skip (or, under CI, a failure) on `t`. */
export function redisServerOrSkip(t, what = "queue tests") {
  const path = process.env.ACDC_REDIS_SERVER || "/usr/bin/redis-server";
  if (existsSync(path)) return path;
  if (process.env.CI) t.fail(`redis-server not found at ${path} (CI requires it; .ci/run installs Debian's redis-server)`);
  else t.skip(`${what} skipped: no redis-server at ${path} (apt-get install redis-server, or set ACDC_REDIS_SERVER; required when CI is set)`);
  return null;
}

/** A free TCP port on 127.0.0.1 (free when asked; the caller binds it next). */
export async function freePort() {
  const { createServer } = await import("node:net");
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

/**
 * Start a private redis-server on 127.0.0.1 (a free port, nothing saved to
 * disk), ready for connections; `stop()` ends it by its PID.
 */
export async function startRedis(bin) {
  const { spawn } = await import("node:child_process");
  const port = await freePort();
  const proc = spawn(bin, ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--loglevel", "warning"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${log}`)), 10_000);
    const poll = async () => {
      const { connect } = await import("node:net");
      const c = connect(port, "127.0.0.1");
      c.once("connect", () => { c.write("PING\r\n"); });
      c.once("data", (d) => { c.destroy(); if (String(d).startsWith("+PONG")) { clearTimeout(timer); resolve(); } else setTimeout(poll, 50); });
      c.once("error", () => { c.destroy(); setTimeout(poll, 50); });
    };
    proc.once("exit", (code) => { clearTimeout(timer); reject(new Error(`redis-server exited (${code}): ${log}`)); });
    poll();
  });
  proc.stdout.on("data", (d) => { log += d; });
  proc.stderr.on("data", (d) => { log += d; });
  await ready;
  proc.removeAllListeners("exit");
  return {
    url: `redis://127.0.0.1:${port}`, port, pid: proc.pid,
    stop: () => new Promise((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once("exit", () => resolve());
      process.kill(proc.pid, "SIGTERM");
    }),
  };
}
