// Deno driver for the text-task test: imports the self-contained tokenizers
// bundle (which carries the task-file reader), loads a task file through
// Deno.readFile and prints its data as JSON.
//   deno run --allow-read test/tasks/deno-text-task.mjs BUNDLE TASK.json CFG.json
/* global Deno */
const [bundle, taskPath, cfgPath] = Deno.args;
const { loadTextTask, parseTaskJson } = await import(new URL(`file://${bundle}`).href);
const readFile = async (p) => {
  try { return await Deno.readFile(p); } catch (e) { if (e instanceof Deno.errors.NotFound) return null; throw e; }
};
const cfg = JSON.parse(await Deno.readTextFile(cfgPath));
const task = await loadTextTask(parseTaskJson(await Deno.readTextFile(taskPath), taskPath), { cfg, readFile, baseDir: taskPath.replace(/\/[^/]*$/, ""), source: taskPath });
console.log(JSON.stringify({ data: task.data, groundTruth: task.groundTruth, thresholds: task.thresholds }));
