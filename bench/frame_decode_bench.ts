/**
 * Decoding one frame of 512 span records (5 attributes each), written by the
 * production writer (`RecordEncoder`): msgpackr's `Unpackr`
 * (what `decodeFrame` used) against `decodeMessagePack`. Both decode the
 * same bytes into the same values (tests/frame/msgpack_reader_test.ts).
 *
 * `deno bench -A bench/frame_decode_bench.ts` for Deno.bench's figures per
 * frame; `deno run -A bench/frame_decode_bench.ts --paired [rounds]` for ns per record from
 * alternating rounds of both decoders in one process (paired).
 *
 * @module
 */
import { Unpackr } from "msgpackr";
import { RecordEncoder } from "../src/frame/encoder.ts";
import { decodeMessagePack } from "../src/frame/msgpack_reader.ts";
import { spanRows } from "./_rows.ts";

const RECORDS = 512;

function spanFrame(): Uint8Array {
  const encoder = new RecordEncoder();
  const w = encoder.writer;
  const header = w.reserveArray32();
  for (const row of spanRows("0af7651916cd43dd8448eb211c80319c", RECORDS)) encoder.writeSpan(row);
  w.patchArray32(header, RECORDS);
  return w.buf.slice(0, w.pos);
}

const frame = spanFrame();
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
let sink: unknown = null;

Deno.bench({
  name: "msgpackr Unpackr.unpack (frame of 512 spans)",
  group: "frame decode",
  baseline: true,
  fn() {
    sink = unpackr.unpack(frame);
  },
});

Deno.bench({
  name: "decodeMessagePack (frame of 512 spans)",
  group: "frame decode",
  fn() {
    sink = decodeMessagePack(frame);
  },
});

/** ns per record of `decode` over `frames` decodes of the frame. */
function nsPerRecord(decode: (bytes: Uint8Array) => unknown, frames: number): number {
  const start = performance.now();
  for (let i = 0; i < frames; i++) sink = decode(frame);
  return ((performance.now() - start) * 1e6) / (frames * RECORDS);
}

if (import.meta.main && Deno.args[0] === "--paired") {
  const theirs = (bytes: Uint8Array) => unpackr.unpack(bytes);
  // Warm both up, then alternate rounds so load on the machine hits both alike.
  // (twice: the shared loop sees both call targets before it is measured).
  for (let i = 0; i < 2; i++) {
    nsPerRecord(theirs, 1000);
    nsPerRecord(decodeMessagePack, 1000);
  }
  const rounds = Number(Deno.args[1] ?? 7);
  const a: number[] = [];
  const b: number[] = [];
  for (let r = 0; r < rounds; r++) {
    a.push(nsPerRecord(theirs, 1000));
    b.push(nsPerRecord(decodeMessagePack, 1000));
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
  console.log(`frame: ${frame.length} bytes, ${RECORDS} span records`);
  console.log(`msgpackr          ns/record: ${fmt(a)}  median ${median(a).toFixed(0)}`);
  console.log(`decodeMessagePack ns/record: ${fmt(b)}  median ${median(b).toFixed(0)}`);
  console.log(
    `ratio (ours / msgpackr, per round): ${a.map((x, i) => (b[i]! / x).toFixed(2)).join(" ")}`,
  );
}
if (sink === undefined) console.log(sink);
