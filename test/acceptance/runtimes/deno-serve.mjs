// Deno host for the fetch handler: Deno.serve on 127.0.0.1 and a free port,
// printed as one JSON line. Run: deno run --allow-read --allow-net deno-serve.mjs --bundle=dist/acdc-wasm-serve.mjs
const bundle = Deno.args.find((a) => a.startsWith("--bundle="))?.slice(9);
const { default: handler } = await import(new URL(bundle, `file://${Deno.cwd()}/`).href);
Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(JSON.stringify({ port, deno: Deno.version.deno })) }, handler.fetch);
