/**
 * What `import "@spark/telemetry"` costs at start-up: a `deno run` of a file
 * that imports mod.ts against one that imports nothing (the baseline: the
 * runtime's own start-up). The difference is the time to load the library's
 * module graph; the OTLP exporter is not part of it (it is loaded when a
 * configuration names it).
 *
 *   deno bench -A bench/import_bench.ts
 */
const here = (file: string): string => new URL(file, import.meta.url).pathname;

async function run(file: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", "--cached-only", here(file)],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`Cannot run ${file}: exit code ${code}\n${new TextDecoder().decode(stderr)}`);
  }
}

// Fill the module caches once, so that every timed run loads the same way.
await run("./_import_nothing.ts");
await run("./_import_mod.ts");

Deno.bench("deno run of an empty module", {
  group: "start-up",
  baseline: true,
  n: 20,
  warmup: 2,
}, async () => {
  await run("./_import_nothing.ts");
});

Deno.bench('deno run of import "@spark/telemetry" (mod.ts)', {
  group: "start-up",
  n: 20,
  warmup: 2,
}, async () => {
  await run("./_import_mod.ts");
});
