/**
 * {@linkcode PipelineError}: an error from the pipeline or a worker, with the
 * stable `code` it carried across the thread boundary (structured clone
 * drops subclasses, so errors travel as `{ code, message }` and are rebuilt
 * here).
 *
 * @module
 */
import { BackendError } from "../backend_error.ts";
import type { WireError } from "./messages.ts";

/**
 * An error from the pipeline or the worker's backend, with the stable `code`
 * it carried across the thread boundary (e.g. `"CONNECTION"`,
 * `"WRITE_FAILED"`, `"QUERY_FAILED"`, `"BAD_QUERY"`, `"EXPORT_ONLY"`,
 * `"CLOSED"`).
 *
 * @example
 * ```ts
 * import { PipelineError } from "@spark/telemetry";
 * import assert from "node:assert/strict";
 *
 * const error = new PipelineError("CLOSED", "Cannot flush: the manager is shut down");
 * assert.equal(error.code, "CLOSED");
 * assert.ok(error instanceof Error);
 * ```
 */
export class PipelineError extends Error {
  /** Stable code. */
  readonly code: string;

  /**
   * Creates the error.
   *
   * @param code Stable code.
   * @param message "Cannot <action>: <why>".
   */
  constructor(code: string, message: string) {
    super(message);
    this.name = "PipelineError";
    this.code = code;
  }
}

/** The error a worker sent, rebuilt. */
export function fromWire(error: WireError): PipelineError {
  return new PipelineError(error.code, error.message);
}

/** A query's error from either worker; a timeout is a `BackendError` wherever it was decided. */
export function queryError(error: WireError): Error {
  return error.code === "QUERY_TIMEOUT"
    ? new BackendError("QUERY_TIMEOUT", error.message)
    : fromWire(error);
}
