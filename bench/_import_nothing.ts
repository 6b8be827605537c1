// Fixture of import_bench.ts: the runtime's start-up alone.
export {};
