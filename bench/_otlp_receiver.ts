/**
 * A local OTLP/HTTP receiver for `e2e_bench.ts`, run as a worker so that it
 * answers requests while the main thread is busy recording: it reads each
 * body, counts requests and bytes, and answers 200 with an empty
 * `Export*ServiceResponse`. It posts `{ port }` once listening, and
 * `{ requests, bytes }` when sent `"stats"`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { parentPort } from "node:worker_threads";

let requests = 0;
let bytes = 0;
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
  bytes += (await request.arrayBuffer()).byteLength;
  requests++;
  return new Response(new Uint8Array(0), {
    headers: { "content-type": "application/x-protobuf" },
  });
});
parentPort!.postMessage({ port: server.addr.port });
parentPort!.on("message", (message: string) => {
  if (message === "stats") parentPort!.postMessage({ requests, bytes });
});
