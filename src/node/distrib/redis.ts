// Redis as the queue's coordinator and workers reach it: the queue's name,
// the --queue URL checked and shown without its password, and a quick
// reachability check (one line when Redis is not there, instead of a client
// retrying forever). Light on purpose: the Redis client is imported only
// when a queue is used, so other commands start without it.
import { UsageError } from "../files.js";

/** The one queue every coordinator and worker uses (jobs carry all they need, so any worker can run any sweep's job). */
export const QUEUE_NAME = "acdc-sweep-jobs";

/** Check a --queue URL: redis:// or rediss:// with a host. */
export function parseRedisUrl(s: string | undefined, option = "--queue"): string {
  if (!s) throw new UsageError(`${option} needs a Redis URL (redis://HOST:PORT)`);
  let u: URL;
  try { u = new URL(s); } catch { throw new UsageError(`${option} ${s}: not a URL (redis://HOST:PORT)`); }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new UsageError(`${option} ${s}: the URL must start with redis:// (or rediss:// for TLS)`);
  if (!u.hostname) throw new UsageError(`${option} ${s}: no host`);
  return s;
}

/** The URL without its password, for printing. */
export function shownUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = "***";
  return u.toString().replace(/\/$/, "");
}

/** Fail fast, with one line, when Redis cannot be reached (a BullMQ connection would retry forever). */
export async function checkRedis(url: string, option = "--queue"): Promise<void> {
  const { default: IORedis } = await import("ioredis");
  const r = new IORedis(url, { lazyConnect: true, connectTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  // The socket's error (ECONNREFUSED, …) says more than the rejection ("Connection is closed").
  let first: Error | undefined;
  r.on("error", (e) => { first ??= e; });
  try {
    await r.connect();
    await r.ping();
  } catch (e) {
    throw new UsageError(`${option} ${shownUrl(url)}: cannot reach Redis (${(first ?? (e as Error)).message})`);
  } finally {
    r.disconnect();
  }
}
