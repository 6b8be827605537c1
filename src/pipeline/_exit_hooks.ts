/**
 * Process-wide exit hooks shared by every pipeline: one listener per signal
 * (with `drainOnSignal`) that drains them all before the conventional exit,
 * and one line on stderr at exit for records lost by pipelines already shut
 * down.
 *
 * @module
 */

/** Conventional exit codes after a signal: 128 + its number. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type DrainSignal = keyof typeof SIGNAL_EXIT_CODES;

/** Exit drains of every pipeline configured with `drainOnSignal`. */
const signalDrains = new Set<() => void>();
const signalHandlers = new Map<DrainSignal, () => void>();

/**
 * One listener per signal for all pipelines: each drains, then the process
 * exits with the conventional code (a listener replaces the default action,
 * which would have been to terminate at once).
 */
export function addSignalDrain(drain: () => void): void {
  signalDrains.add(drain);
  if (signalHandlers.size > 0) return;
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as DrainSignal[]) {
    const handler = (): void => {
      for (const d of [...signalDrains]) d();
      Deno.exit(SIGNAL_EXIT_CODES[signal]);
    };
    try {
      Deno.addSignalListener(signal, handler);
      signalHandlers.set(signal, handler);
    } catch {
      // A platform without this signal (SIGTERM on Windows): nothing to drain on.
    }
  }
}

/** Removes a pipeline's signal drain; with none left, the default signal behaviour returns. */
export function removeSignalDrain(drain: () => void): void {
  if (!signalDrains.delete(drain) || signalDrains.size > 0) return;
  for (const [signal, handler] of signalHandlers) Deno.removeSignalListener(signal, handler);
  signalHandlers.clear();
}

/** Losses of pipelines already shut down, said once on stderr when the process exits. */
let closedLosses = 0;
let closedLossesReported = false;

function reportClosedLosses(): void {
  if (closedLossesReported || closedLosses === 0) return;
  closedLossesReported = true;
  console.error(
    `@spark/telemetry: ${closedLosses} records were lost (counted in stats().dropped of managers already shut down)`,
  );
}

/** Adds losses of a pipeline shut down to what is said at exit. */
export function noteClosedLosses(count: number): void {
  if (count <= 0) return;
  if (closedLosses === 0) globalThis.addEventListener("unload", reportClosedLosses);
  closedLosses += count;
}
