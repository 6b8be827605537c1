/**
 * Converts our float-second timestamps to OTLP nanoseconds without losing the
 * sub-millisecond part.
 *
 * @module
 */

/** `[seconds, nanoseconds]`, the OpenTelemetry SDK's `HrTime`. */
export type HrTime = [number, number];

/** The zero time, OTLP's "unset". */
export const ZERO_TIME: HrTime = [0, 0];

/**
 * Splits float seconds into whole seconds and nanoseconds. The fraction is
 * taken before scaling: `seconds * 1e9` would exceed 2^53 and round away the
 * sub-microsecond digits, while `seconds - floor(seconds)` is exact.
 */
export function toHrTime(seconds: number): HrTime {
  if (!(seconds > 0)) return [0, 0];
  let whole = Math.floor(seconds);
  let nanos = Math.round((seconds - whole) * 1e9);
  if (nanos >= 1e9) {
    whole += 1;
    nanos -= 1e9;
  }
  return [whole, nanos];
}

/** Formats an `HrTime` as the decimal string of nanoseconds OTLP/JSON uses for 64-bit times. */
export function hrTimeToNanos(time: HrTime): string {
  const [seconds, nanos] = time;
  if (seconds === 0) return String(nanos);
  return `${seconds}${String(nanos).padStart(9, "0")}`;
}
