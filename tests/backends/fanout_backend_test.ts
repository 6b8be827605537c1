import { FanoutBackend } from "../../mod.ts";
import { OtlpHttpBackend } from "../../src/backends/otlp/mod.ts";
import { MemoryBackend } from "../../src/backends/memory/mod.ts";
import { openBackend } from "../../src/backends/open_backend.ts";
import { backendConformance } from "./backend_conformance.ts";

// A store behind a fan-out must behave exactly as the store alone. The
// exporter points at a port nothing listens on: every export fails, which
// must change nothing the store does.
backendConformance("memory+otlp_http (failing exporter)", () =>
  Promise.resolve(
    new FanoutBackend(
      new MemoryBackend(),
      new OtlpHttpBackend({ endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 }),
      { retryDelayMs: 60_000, closeTimeoutMs: 0 },
    ),
  ));

backendConformance("sqlite+otlp_http via openBackend (failing exporter)", () =>
  openBackend({
    backend: "sqlite",
    backendConfig: {
      dbPath: ":memory:",
      export: {
        otlp: { endpoint: "http://127.0.0.1:9", maxRetryTimeMs: 0 },
        retryDelayMs: 60_000,
        closeTimeoutMs: 0,
      },
    },
  }));
