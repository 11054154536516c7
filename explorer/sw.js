// The explorer's service worker: makes the page work offline once it has
// loaded (every file of the build, listed in files.json, is cached at
// install; later responses refresh the cache, and the cache answers only
// when the network does not), and adds the cross-origin isolation headers
// to what it serves, so threads work on static hosts that cannot set
// headers (after the first reload). Same-origin GET and HEAD only.
const CACHE = "acdc-explorer";
const ISOLATION = { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" };

self.addEventListener("install", (ev) => {
  ev.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    const list = await (await fetch("files.json", { cache: "no-store" })).json();
    await cache.addAll(["./", ...list.files.map((f) => f === "index.html" ? "./" : f)].filter((f, i, a) => a.indexOf(f) === i));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (ev) => ev.waitUntil(self.clients.claim()));

function isolate(res) {
  if (res.type === "opaque" || res.headers.get("cross-origin-embedder-policy")) return res;
  const headers = new Headers(res.headers);
  for (const [k, v] of Object.entries(ISOLATION)) headers.set(k, v);
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

self.addEventListener("fetch", (ev) => {
  const req = ev.request, url = new URL(req.url);
  if (url.origin !== self.location.origin || (req.method !== "GET" && req.method !== "HEAD")) return;
  ev.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const res = await fetch(req);
      if (req.method === "GET" && res.ok && res.status === 200) await cache.put(req, res.clone());
      return isolate(res);
    } catch (e) {
      const hit = await cache.match(url.pathname.endsWith("/") ? url.pathname : req, { ignoreSearch: true });
      if (!hit) throw e;
      return isolate(req.method === "HEAD" ? new Response(null, { status: 200, headers: hit.headers }) : hit);
    }
  })());
});
