/**
 * Turns postgres.js and socket errors into {@linkcode BackendError}s whose
 * code tells the worker whether the connection failed (retry later, the
 * client reconnects by itself) or the request itself did, and whose message
 * says where we tried to connect — never with the password.
 *
 * @module
 */
import { BackendError, type BackendErrorCode } from "../backend.ts";
import { CONNECTION_ERROR_CODES } from "../../transient.ts";

/** Where a backend connects, for messages: `user@host:port/database`. */
export interface PgTarget {
  user: string;
  host: string;
  port: number;
  database: string;
}

/** `user@host:port/database`, without any password. */
export function describeTarget(target: PgTarget): string {
  return `${target.user}@${target.host}:${target.port}/${target.database}`;
}

/**
 * SQLSTATEs meaning the session is gone or cannot start yet: class 08
 * (connection exception), 57P01-57P03 (admin/crash shutdown, cannot connect
 * now), 57P05 (idle session timeout), 53300 (too many connections).
 */
function isConnectionState(state: string): boolean {
  return state.startsWith("08") || state === "57P01" || state === "57P02" ||
    state === "57P03" || state === "57P05" || state === "53300";
}

/** Whether `error` means the connection, not the statement, failed. */
export function isConnectionError(error: unknown): boolean {
  if (error === null || typeof error !== "object") return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return false;
  return CONNECTION_ERROR_CODES.has(code) || isConnectionState(code);
}

/** The error's message and code, with `password` masked should it appear. */
export function describeError(error: unknown, password: string | undefined): string {
  let message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && !message.includes(code)) message += ` (${code})`;
  // Belt and braces: no library message should carry it, but never print it.
  // (Very short ones are skipped: masking every "a" would garble the message.)
  if (password && password.length >= 4) message = message.replaceAll(password, "***");
  return message;
}

/**
 * Wraps a failure of `action` ("write a batch", "query spans", ...) as a
 * {@linkcode BackendError}: `"CONNECTION"` when the connection failed, else
 * `fallback`.
 */
export function toBackendError(
  action: string,
  error: unknown,
  target: PgTarget,
  password: string | undefined,
  fallback: BackendErrorCode,
): BackendError {
  if (error instanceof BackendError) return error;
  if (isConnectionError(error)) {
    return new BackendError(
      "CONNECTION",
      `Cannot ${action}: connection to PostgreSQL at ${describeTarget(target)} failed: ${
        describeError(error, password)
      }`,
      { cause: error },
    );
  }
  return new BackendError(
    fallback,
    `Cannot ${action} in PostgreSQL at ${describeTarget(target)}: ${
      describeError(error, password)
    }`,
    { cause: error },
  );
}
