/**
 * The import graph of the library: every relative import (static, `export
 * ... from`, and dynamic `import("...")`) of mod.ts, src/, query/ and
 * workers/, checked against the layer order below. docs/architecture.md
 * describes the same order.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Parts from the bottom up: a file may import its own part and the parts of
 * lower layers, never a higher one. A part is a folder of src/ (its
 * subfolders included, e.g. every backend is part of src/backends), a
 * top-level file of src/, query/, workers/ or mod.ts.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["src/model"], // records and their ids: depends on nothing of ours
  ["src/transient", "src/suggest", "src/version", "src/backend_error"], // shared leaves
  ["src/context"], // the current trace and span of an async flow
  ["query"], // query language: lexer, parser, plan, compilers, dialects
  ["src/analysis", "src/frame"], // plans built from plans; the frame format
  ["src/backends"], // storage and export, one folder per backend
  ["src/config"], // names a backend and the pipeline's sizes
  ["src/pipeline"], // ring buffer, batching, spill, worker link
  ["src/query_options", "src/manager"], // the application's entry point
  ["src/instrumentation"], // helpers over a manager: LLM calls, HTTP propagation
  ["src/cli", "workers"], // entry points of processes and threads
  ["mod.ts"], // the public API
];

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["'](\.{1,2}\/[^"']+)["']/g;

interface Import {
  from: string;
  to: string;
}

async function sources(): Promise<string[]> {
  const files = ["mod.ts"];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(join(ROOT, dir))) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) files.push(path);
    }
  }
  for (const dir of ["src", "query", "workers"]) await walk(dir);
  return files.sort();
}

/** Every relative import in `text` of the file `file`, as paths from the root. */
function importsOf(file: string, text: string): Import[] {
  // Imports in comments (a doc example names "@spark/telemetry", never a
  // relative path) would still count: good, a comment that shows an upward
  // import is as misleading as the import.
  const found: Import[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const to = relative(ROOT, join(ROOT, dirname(file), match[1]!)).replaceAll("\\", "/");
    found.push({ from: file, to });
  }
  return found;
}

function partOf(file: string): string {
  const segments = file.split("/");
  if (segments[0] === "src") {
    return segments.length === 2
      ? `src/${segments[1]!.replace(/\.ts$/, "")}`
      : `src/${segments[1]}`;
  }
  return segments.length === 1 ? file : segments[0]!;
}

function layerOf(part: string): number {
  const layer = LAYERS.findIndex((parts) => parts.includes(part));
  if (layer < 0) throw new Error(`${part} has no layer: add it to LAYERS in tests/layout_test.ts`);
  return layer;
}

/** Whether `to` is a `_private.ts` file outside the folder of `from` (its subfolders may use it). */
function isForeignPrivate({ from, to }: Import): boolean {
  const name = to.split("/").pop()!;
  return name.startsWith("_") && !dirname(from).startsWith(dirname(to));
}

/** The cycles between parts, each as the parts along it. */
function cycles(edges: Map<string, Set<string>>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  function visit(part: string): void {
    state.set(part, "open");
    stack.push(part);
    for (const next of edges.get(part) ?? []) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(part, "done");
  }
  for (const part of [...edges.keys()].sort()) if (!state.has(part)) visit(part);
  return found;
}

/** The problems of a set of imports: upward imports, cycles, foreign private files. */
function layoutProblems(imports: readonly Import[]): string[] {
  const problems: string[] = [];
  const edges = new Map<string, Set<string>>();
  for (const edge of imports) {
    const from = partOf(edge.from);
    const to = partOf(edge.to);
    if (from !== to) {
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      if (layerOf(to) > layerOf(from)) {
        problems.push(`upward import: ${edge.from} (${from}) imports ${edge.to} (${to})`);
      }
    }
    if (isForeignPrivate(edge)) {
      problems.push(`private file of another folder: ${edge.from} -> ${edge.to}`);
    }
  }
  for (const cycle of cycles(edges)) problems.push(`cycle: ${cycle.join(" -> ")}`);
  return problems;
}

async function libraryImports(): Promise<Import[]> {
  const imports: Import[] = [];
  for (const file of await sources()) {
    imports.push(...importsOf(file, await Deno.readTextFile(join(ROOT, file))));
  }
  return imports;
}

Deno.test("the library imports only downward by its layer order, with no cycle", async () => {
  const imports = await libraryImports();
  assert.ok(imports.length > 100, `found only ${imports.length} imports: is the parser broken?`);
  assert.deepEqual(layoutProblems(imports), []);
});

Deno.test("the layout check finds static, re-exported and dynamic imports", () => {
  const text = [
    'import { a } from "../manager.ts";',
    'export * from "./b.ts";',
    'import type { C } from "../../query/plan.ts";',
    'const m = await import("./otlp/mod.ts");',
    'import "./side_effect.ts";',
    'import x from "npm:postgres";',
  ].join("\n");
  assert.deepEqual(importsOf("src/backends/open_backend.ts", text).map((i) => i.to), [
    "src/manager.ts",
    "src/backends/b.ts",
    "query/plan.ts",
    "src/backends/otlp/mod.ts",
    "src/backends/side_effect.ts",
  ]);
});

Deno.test("the layout check refuses an upward import, a cycle and another folder's private file", async () => {
  const imports = await libraryImports();
  const upward = { from: "src/model/span.ts", to: "src/manager.ts" };
  assert.deepEqual(layoutProblems([...imports, upward]).filter((p) => p.startsWith("upward")), [
    "upward import: src/model/span.ts (src/model) imports src/manager.ts (src/manager)",
  ]);
  assert.ok(layoutProblems([...imports, upward]).some((p) => p.startsWith("cycle: ")));
  const sideways = { from: "src/analysis/analysis.ts", to: "src/frame/codec.ts" };
  const back = { from: "src/frame/codec.ts", to: "src/analysis/analysis.ts" };
  assert.deepEqual(layoutProblems([sideways, back]), [
    "cycle: src/analysis -> src/frame -> src/analysis",
  ]);
  assert.deepEqual(
    layoutProblems([{ from: "src/cli/query_cli.ts", to: "src/backends/sqlite/_schema.ts" }]),
    ["private file of another folder: src/cli/query_cli.ts -> src/backends/sqlite/_schema.ts"],
  );
  // A backend may use the private helpers of src/backends, its parent folder.
  assert.deepEqual(
    layoutProblems([{ from: "src/backends/otlp/_sender.ts", to: "src/backends/_sleep.ts" }]),
    [],
  );
});
