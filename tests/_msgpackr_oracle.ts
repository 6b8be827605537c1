/**
 * Frames encoded by msgpackr's generic encoder (plain MessagePack, no
 * references to earlier records): an encoder independent of ours, for tests.
 * msgpackr is a test and bench dependency only.
 *
 * @module
 */
import { Packr } from "msgpackr";
import type { RecordTuple } from "../src/frame/format.ts";

const packr = new Packr({ useRecords: false, mapsAsObjects: true });

/**
 * Encodes a frame of record tuples.
 *
 * @param records The tuples.
 * @returns A view into msgpackr's reused buffer: copy it before the next call.
 */
export function encodeFrame(records: RecordTuple[]): Uint8Array {
  return packr.pack(records);
}
