import assert from "node:assert/strict";

Deno.test("deno task demo records into a fresh telemetry.db and prints every section", async () => {
  const dir = await Deno.makeTempDir();
  const demo = new URL("../examples/demo.ts", import.meta.url).pathname;
  const config = new URL("../deno.json", import.meta.url).pathname;
  try {
    // A stale file must not leak into the results: the demo starts fresh.
    await Deno.writeTextFile(`${dir}/telemetry.db`, "not a database");
    const run = () =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--config", config, demo],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
    const output = await run();
    const stdout = new TextDecoder().decode(output.stdout);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, `demo failed:\n${stdout}\n${stderr}`);
    for (
      const section of [
        "== Recording 300 runs of ResearchAgent into telemetry.db",
        "300/300 runs",
        "== Query: spans where kind = node_execution and status = error",
        "== Query: spans where kind = llm_call",
        "== Waterfall of a failed run: trace ",
        "ResearchAgent.run",
        "== Performance analysis of research_agent",
        "runs: 300, succeeded ",
        "bottlenecks:",
        "failure patterns:",
        "Or in the browser: deno task ui",
      ]
    ) {
      assert.ok(stdout.includes(section), `missing ${JSON.stringify(section)} in:\n${stdout}`);
    }
    assert.match(stdout, /batches, 0 dropped/, "nothing recorded is dropped");
    assert.ok((await Deno.stat(`${dir}/telemetry.db`)).size > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
