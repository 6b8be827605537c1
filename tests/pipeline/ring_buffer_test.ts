import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { RingBuffer } from "../../src/pipeline/ring_buffer.ts";
import { decodeFrame } from "../../src/frame/decoder.ts";
import { encodeFrame } from "../_msgpackr_oracle.ts";
import { RecordEncoder, type SpanFields } from "../../src/frame/encoder.ts";
import { METRIC, type MetricTuple } from "../../src/frame/format.ts";
import { FrameWriter } from "../../src/frame/frame_writer.ts";

function bytes(n: number, fill: number): Uint8Array {
  return new Uint8Array(n).fill(fill);
}

Deno.test("RingBuffer.read() returns frames in order, copied out of shared memory", () => {
  const ring = RingBuffer.create(4096);
  assert.equal(ring.tryWrite(bytes(3, 1), 1), true);
  assert.equal(ring.tryWrite(bytes(10, 2), 4), true);
  const consumer = new RingBuffer(ring.buffer);
  const a = consumer.read(consumer.readPosition)!;
  assert.deepEqual([...a.payload], [1, 1, 1]);
  assert.equal(a.records, 1);
  const b = consumer.read(a.next)!;
  assert.equal(b.payload.length, 10);
  assert.equal(b.records, 4);
  assert.equal(consumer.read(b.next), null);
  assert.ok(!(a.payload.buffer instanceof SharedArrayBuffer));
});

Deno.test("RingBuffer frames stay until committed; a new consumer replays from the committed position", () => {
  const ring = RingBuffer.create(4096);
  ring.tryWrite(bytes(8, 1), 2);
  ring.tryWrite(bytes(8, 2), 3);
  const first = new RingBuffer(ring.buffer);
  const f1 = first.read(first.readPosition)!;
  first.commit(f1.next, f1.records);
  first.read(f1.next); // read but not committed, then the consumer "dies"
  const second = new RingBuffer(ring.buffer);
  assert.equal(second.committedRecords, 2);
  const replay = second.read(second.readPosition)!;
  assert.deepEqual([...replay.payload], new Array(8).fill(2));
  assert.equal(ring.isEmpty(), false);
  second.commit(replay.next, replay.records);
  assert.equal(ring.isEmpty(), true);
  assert.equal(second.committedRecords, 5);
});

Deno.test("RingBuffer.tryWrite() refuses a frame that does not fit, never filling the ring completely", () => {
  const ring = RingBuffer.create(4096);
  let written = 0;
  while (ring.tryWrite(bytes(1000, 7), 1)) written++;
  // Four 1008-byte frames would leave 64 bytes; the ring is never filled, so four fit and a fifth not.
  assert.equal(written, 4);
  assert.ok(ring.usedBytes() < ring.capacity);
  assert.throws(() => ring.tryWrite(bytes(ring.maxPayloadBytes + 1, 0), 1), RangeError);
});

Deno.test("RingBuffer.tryWrite() wraps at capacity with a wrap marker", () => {
  const ring = RingBuffer.create(4096);
  const consumer = new RingBuffer(ring.buffer);
  let cursor = consumer.readPosition;
  let sequence = 0;
  let expected = 0;
  // Many laps of variable-size frames through a small ring.
  for (let round = 0; round < 500; round++) {
    const size = 1 + ((round * 37) % 900);
    while (ring.tryWrite(bytes(size, sequence & 0xff), 1)) sequence++;
    for (let frame = consumer.read(cursor); frame !== null; frame = consumer.read(cursor)) {
      assert.equal(frame.payload[0], expected & 0xff);
      expected++;
      cursor = frame.next;
      consumer.commit(cursor, 1);
    }
  }
  assert.equal(expected, sequence);
  assert.ok(sequence > 1000);
  assert.equal(ring.isEmpty(), true);
});

Deno.test("An empty ring accepts a maximum-size frame wherever its cursors stand", () => {
  for (const offset of [0, 8, 1000, 2040, 2048, 3000, 4088]) {
    const ring = RingBuffer.create(4096);
    const consumer = new RingBuffer(ring.buffer);
    // Move both cursors to `offset` with committed frames.
    let position = 0;
    while (position < offset) {
      const left = offset - position;
      assert.ok(ring.tryWrite(bytes(Math.min(left - 8, ring.maxPayloadBytes), 0), 1));
      const f = consumer.read(position)!;
      consumer.commit(f.next, 1);
      position = f.next;
    }
    assert.equal(ring.readPosition, offset);
    assert.ok(ring.tryWrite(bytes(ring.maxPayloadBytes, 9), 1), `offset ${offset}`);
  }
});

Deno.test("RingBuffer.waitForSpace() is bounded and returns when the consumer commits", async () => {
  const ring = RingBuffer.create(4096);
  const started = performance.now();
  assert.equal(ring.waitForSpace(30), false);
  assert.ok(performance.now() - started >= 25);
  // A consumer on another thread commits while this thread waits.
  const source = `
    import { workerData } from "node:worker_threads";
    const control = new Int32Array(workerData, 0, 16);
    setTimeout(() => { Atomics.add(control, 4, 1); Atomics.notify(control, 4); }, 20);
  `;
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(source)}`), {
    workerData: ring.buffer,
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(ring.waitForSpace(5000), true);
  await worker.terminate();
});

Deno.test("frames written by RecordEncoder decode to the same tuples as the generic encoder's", () => {
  const w = new FrameWriter(16);
  const encoder = new RecordEncoder(w);
  const header = w.reserveArray32();
  const span = {
    spanId: "00f067aa0ba902b7",
    traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
    parentSpanId: null,
    name: "Ünïcode ✓ " + "x".repeat(300),
    kind: "tool_call" as const,
    startTime: 1700000000.123456,
    endTime: 1700000001.5,
    status: "error" as const,
    attributes: {
      int: 7,
      big: 70000,
      neg: -5,
      negBig: -100000,
      huge: 2 ** 40,
      float: 0.1,
      yes: true,
      no: false,
      none: null,
      skipped: undefined,
      list: [1, "two", null, [3]],
      nested: { deep: { deeper: "ok" } },
      long: "y".repeat(70000),
    },
    error: { type: "TypeError", message: "bad", stack: null },
    droppedEvents: 3,
  };
  // `undefined` is not an AttributeValue, but JavaScript callers can pass one.
  encoder.writeSpan(span as unknown as SpanFields);
  w.patchArray32(header, 1);
  const [tuple] = decodeFrame(w.buf.slice(0, w.pos));
  const { skipped: _, ...stored } = span.attributes;
  assert.deepEqual(tuple, [
    1,
    span.spanId,
    span.traceId,
    null,
    span.name,
    "tool_call",
    span.startTime,
    span.endTime,
    "error",
    stored,
    span.error,
    3,
  ]);
  const metric: MetricTuple = [METRIC, "a".repeat(32), "m", 1.5, "s", "gauge", 1, null, {}];
  assert.deepEqual(decodeFrame(encodeFrame([metric]).slice()), [metric]);
});
