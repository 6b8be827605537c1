/**
 * Samples the process's RSS every 5 ms on a timer, from a worker so that it
 * keeps sampling while the main thread runs a synchronous loop. Messages:
 * `"reset"` starts a new peak, `"peak"` answers with the peak in bytes. It
 * posts `"ready"` once started.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { parentPort } from "node:worker_threads";

const INTERVAL_MS = 5;
let peak = 0;
setInterval(() => {
  const rss = Deno.memoryUsage().rss;
  if (rss > peak) peak = rss;
}, INTERVAL_MS);
parentPort!.on("message", (message: string) => {
  if (message === "reset") peak = Deno.memoryUsage().rss;
  else if (message === "peak") parentPort!.postMessage(Math.max(peak, Deno.memoryUsage().rss));
});
parentPort!.postMessage("ready");
