// Fixture of import_bench.ts: loads the library and nothing else.
import "../mod.ts";
