/**
 * The OTLP exporter is an entry point of its own: importing the library
 * loads none of it, and the exporter itself loads no OpenTelemetry package
 * or protobufjs (those are test and bench oracles only). Checked on the
 * module graph `deno info --json` reports, following the imports that run
 * (static, not type-only, not dynamic).
 */
import assert from "node:assert/strict";

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface Module {
  specifier: string;
  dependencies?: Dependency[];
}

/** The modules and npm packages loaded when `file` is imported. */
async function loadedBy(file: string): Promise<{ modules: string[]; packages: Set<string> }> {
  const root = new URL(file, import.meta.url).href;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", root],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const info = JSON.parse(new TextDecoder().decode(stdout)) as { modules: Module[] };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const modules: string[] = [];
  const packages = new Set<string>();
  const seen = new Set<string>();
  const stack = [root];
  while (stack.length > 0) {
    const specifier = stack.pop()!;
    if (seen.has(specifier)) continue;
    seen.add(specifier);
    if (specifier.startsWith("npm:")) {
      // "npm:name@1.2.3" or "npm:@scope/name@1.2.3/sub": keep the package name.
      packages.add(specifier.replace(/^npm:\/?/, "").replace(/^(@?[^@]+)@.*$/, "$1"));
      continue;
    }
    modules.push(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code === undefined || dependency.isDynamic === true) continue;
      stack.push(dependency.code.specifier);
    }
  }
  return { modules, packages };
}

function isOtlpOracle(name: string): boolean {
  return name.startsWith("@opentelemetry/") || name === "protobufjs" || name === "long";
}

Deno.test('import "@spark/telemetry" loads no OTLP module, OpenTelemetry package or protobufjs', async () => {
  const { modules, packages } = await loadedBy("../../mod.ts");
  assert.ok(modules.some((m) => m.endsWith("/src/manager.ts")), "the graph was followed");
  assert.deepEqual(modules.filter((m) => m.includes("/src/backends/otlp")), []);
  assert.deepEqual([...packages].filter(isOtlpOracle), []);
  // npm packages were followed too (the query parser's; msgpackr is the
  // flusher worker's only, which is not a static import).
  assert.ok(packages.has("chevrotain"), [...packages].join(", "));
});

Deno.test('import "@spark/telemetry/otlp" loads our encoder, and no OpenTelemetry package or protobufjs', async () => {
  const { modules, packages } = await loadedBy("../../src/backends/otlp/mod.ts");
  assert.ok(modules.some((m) => m.endsWith("/src/backends/otlp/_protobuf.ts")));
  assert.deepEqual([...packages].filter(isOtlpOracle), []);
});

Deno.test('deno.json exports "./otlp" as the OTLP entry point', async () => {
  const config = JSON.parse(
    await Deno.readTextFile(new URL("../../deno.json", import.meta.url)),
  ) as { exports: Record<string, string> };
  assert.equal(config.exports["./otlp"], "./src/backends/otlp/mod.ts");
});
