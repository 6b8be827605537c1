/**
 * The web viewer in a real headless browser (puppeteer-core driving the
 * system Chromium) over the demo's data: the list, a query from the box, a
 * failed trace and its error, keyboard selection, hostile values rendered as
 * text, the analysis page, live arrival of traces, and the store file
 * unchanged afterwards. Without Chromium these tests are skipped with a
 * message; under CI=true they fail instead.
 *
 * `UPDATE_SCREENSHOT=1` also writes docs/viewer.png (the README's picture).
 */
import assert from "node:assert/strict";
import { openBackend } from "../../src/backends/open_backend.ts";
import { TelemetryConfig, TelemetryManager } from "../../mod.ts";
import { serveViewer } from "../../src/cli/ui/mod.ts";
import {
  type BrowserPage,
  type Chromium,
  CHROMIUM_CANDIDATES,
  CHROMIUM_PATH,
  launchChromium,
} from "../_chromium.ts";
import {
  fingerprint,
  HOSTILE_NAME,
  HOSTILE_TRACE,
  hostileBatch,
  startUi,
} from "../_ui_fixtures.ts";

const CI = Deno.env.get("CI") === "true";
const IGNORE = CHROMIUM_PATH === undefined && !CI;
if (IGNORE) {
  console.warn(
    "Browser tests skipped: no Chromium found (apt-get install -y chromium, or set CHROME_PATH).",
  );
}

async function launch(): Promise<Chromium> {
  if (CHROMIUM_PATH === undefined) {
    throw new Error(
      `Cannot run browser tests: CI=true but no Chromium at ${
        CHROMIUM_CANDIDATES.join(", ")
      } (apt-get install -y chromium)`,
    );
  }
  return await launchChromium();
}

/** A page that records script errors and CSP violations, which every test asserts are absent. */
async function open(browser: Chromium): Promise<{ page: BrowserPage; problems: string[] }> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems: string[] = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e}`));
  page.on("console", (m) => {
    // The page of a bad query is answered with status 400 on purpose.
    if (m.type() === "error" && !/status of 400/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  return { page, problems };
}

async function recordDemo(dir: string): Promise<string> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      new URL("../../examples/demo.ts", import.meta.url).pathname,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  assert.equal(output.code, 0, decoder.decode(output.stderr));
  const stdout = decoder.decode(output.stdout);
  assert.match(stdout, /deno task ui/, "the demo points at the viewer");
  return `${dir}/telemetry.db`;
}

Deno.test({
  name: "the viewer in Chromium over the demo's data",
  ignore: IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const dir = await Deno.makeTempDir();
    const db = await recordDemo(dir);
    const before = await fingerprint(db);
    const browser = await launch();
    try {
      await using ui = await startUi(["--db", db, "--port", "0"]);
      const { page, problems } = await open(browser);

      await t.step("the list shows the newest traces first, with status and counts", async () => {
        const started = performance.now();
        await page.goto(ui.url, { waitUntil: "load" });
        const loaded = performance.now() - started;
        const rows = await page.$$eval("tr.trace-row", (trs) =>
          trs.map((tr) => ({
            start: tr.querySelector(".time")!.textContent!,
            status: tr.querySelector(".badge")!.textContent!,
            errors: tr.querySelectorAll("td")[5]!.textContent!,
            models: tr.querySelector(".models")!.textContent!,
          })));
        assert.equal(rows.length, 50, "one page of 50");
        const starts = rows.map((r) => r.start);
        assert.deepEqual(starts, [...starts].sort().reverse(), "newest first");
        assert.ok(rows.some((r) => r.status === "error"), "failed runs are visible");
        assert.ok(rows.some((r) => r.models.length > 0), "models of LLM calls are shown");
        assert.ok(await page.$("a[rel=next]"), "a link to older traces");
        console.log(`list page loaded in ${loaded.toFixed(0)} ms`);
      });

      await t.step(
        "a query typed into the box runs; a bad one shows its error beside the box",
        async () => {
          await page.keyboard.press("/");
          assert.equal(await page.evaluate("document.activeElement?.id"), "q");
          await page.keyboard.type("spans where status = error limit 5");
          await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
          assert.equal(await page.$$eval("table.results tbody tr", (r) => r.length), 5);
          await page.click("#q", { count: 3 });
          await page.keyboard.type("spans where stauts = error");
          await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
          const error = await page.$eval("#query-error", (e) => e.textContent!);
          assert.match(error, /did you mean 'status'\?/);
          assert.match(error, /line 1, column 13/);
          assert.match(error, /\^\^\^\^\^\^/);
          assert.ok(await page.$("form.query input#q"), "the page stays whole");
          await page.click("#q", { count: 3 });
          await page.keyboard.type("spans | count() by kind");
          await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
          const bars = await page.$$eval("rect.chart-bar", (rects) =>
            rects.map((r) => ({
              label: r.getAttribute("aria-label")!,
              width: r.getBoundingClientRect().width,
            })));
          const llm = bars.find((b) => b.label.startsWith("llm_call: "));
          assert.ok(llm && llm.width > 0, JSON.stringify(bars));
        },
      );

      let failedTrace = "";
      await t.step(
        "a failed trace opens as a waterfall; clicking the failed span shows its error",
        async () => {
          await page.goto(
            `${ui.url}?q=${encodeURIComponent("traces where status = error limit 1")}`,
          );
          await Promise.all([page.waitForNavigation(), page.click("table.results tbody a")]);
          failedTrace = decodeURIComponent(new URL(page.url()).pathname.split("/").pop()!);
          const rows = await page.$$eval(".span-row[data-span-id]", (rows) =>
            rows.map((r) => ({
              label: r.getAttribute("aria-label")!,
              depth: Number(r.getAttribute("data-depth")),
              bar: r.querySelector("rect.wf-bar")!.getBoundingClientRect().width,
              error: r.classList.contains("status-error"),
            })));
          assert.ok(rows.length > 3);
          assert.ok(rows.every((r) => r.label.length > 0 && r.bar > 0), "each span a labelled bar");
          assert.ok(rows.some((r) => r.depth >= 2), "nested spans are indented");
          const api = await (await fetch(new URL(`/api/trace/${failedTrace}`, ui.url))).json();
          const failed =
            (api.spans as { spanId: string; error: { type: string; message: string } | null }[])
              .filter((s) => s.error !== null);
          assert.ok(failed.length > 0);
          const target = failed[failed.length - 1]!;
          await page.click(`.span-row[data-span-id="${target.spanId}"] .span-name`);
          const shown = await page.$eval(".detail.selected", (d) => ({
            visible: (d.offsetHeight) > 0,
            type: d.querySelector(".error-type")?.textContent,
            message: d.querySelector(".error-message")?.textContent,
          }));
          assert.deepEqual(shown, {
            visible: true,
            type: target.error!.type,
            message: target.error!.message,
          });
          if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
            await page.evaluate("window.scrollTo(0, 0)");
            await page.screenshot({
              path: new URL("../../docs/viewer.png", import.meta.url).pathname,
            });
          }
        },
      );

      await t.step("the keyboard moves the selection and collapses subtrees", async () => {
        await page.focus(".waterfall");
        await page.keyboard.press("Home");
        const selected = () =>
          page.$eval(".span-row.selected", (r) => ({
            id: r.getAttribute("data-span-id"),
            depth: Number(r.getAttribute("data-depth")),
          }));
        const first = await selected();
        assert.equal(first.depth, 0);
        await page.keyboard.press("ArrowDown");
        const second = await selected();
        assert.notEqual(second.id, first.id);
        assert.equal(
          await page.$eval(".detail.selected", (d) => d.getAttribute("data-span-id")),
          second.id,
          "the detail pane follows",
        );
        await page.keyboard.press("Home");
        const visible = () =>
          page.$$eval(
            ".span-row[data-span-id]",
            (r) => r.filter((x) => !x.hidden).length,
          );
        const all = await visible();
        await page.keyboard.press("ArrowLeft");
        assert.equal(await visible(), 1, "the root collapsed hides every descendant");
        await page.keyboard.press("ArrowRight");
        assert.equal(await visible(), all);
      });

      await t.step(
        "the analysis page shows runs, the slowest node and failure patterns",
        async () => {
          await page.goto(`${ui.url}analysis`);
          const cards = await page.$$eval(".card", (cards) =>
            Object.fromEntries(cards.map((c) => [
              c.querySelector(".card-label")!.textContent!,
              c.querySelector(".card-value")!.textContent!.trim(),
            ])));
          assert.equal(cards.runs, "300");
          assert.match(cards["success rate"]!, /%$/);
          const nodes = await page.$$eval("table.nodes tbody tr", (rows) => rows.length);
          assert.ok(nodes >= 3);
          const patterns = await page.$$eval(
            "h2 + table.grid tbody tr, h2 ~ table.grid:last-of-type tbody tr",
            (r) => r.length,
          );
          assert.ok(patterns > 0);
          assert.ok(await page.$("ul.bottlenecks li"), "bottlenecks listed");
        },
      );

      assert.deepEqual(problems, [], "no script error or CSP violation");
      await page.close();
    } finally {
      await browser.close();
    }
    assert.equal(await fingerprint(db), before, "the store file is byte-identical");
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "a span named like markup renders as text in Chromium and runs nothing",
  ignore: IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const db = `${dir}/hostile.db`;
    const writer = await openBackend({ backend: "sqlite", backendConfig: { dbPath: db } });
    await writer.write(hostileBatch(1_764_064_800));
    await writer.close();
    const before = await fingerprint(db);
    const browser = await launch();
    try {
      await using ui = await startUi(["--db", db, "--port", "0"]);
      const { page, problems } = await open(browser);
      for (
        const path of [
          "",
          `trace/${HOSTILE_TRACE}`,
          `?q=${encodeURIComponent('spans where name contains "<img"')}`,
          `?q=${encodeURIComponent("spans | count() by name")}`,
        ]
      ) {
        await page.goto(ui.url + path, { waitUntil: "load" });
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(
          await page.evaluate(() => (globalThis as { __xss?: number }).__xss),
          undefined,
          path,
        );
        assert.equal(
          await page.$$eval("main img, main script, main svg[onload]", (e) => e.length),
          0,
          path,
        );
        const text = await page.$eval(
          "main",
          (m) => m.innerText,
        );
        assert.ok(text.includes(HOSTILE_NAME), `${path}: the name is shown as text`);
      }
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    assert.equal(await fingerprint(db), before);
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "traces recorded by an application appear on the open list page without a reload",
  ignore: IGNORE,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await using manager = new TelemetryManager(TelemetryConfig.createMemory());
    await using viewer = serveViewer({ manager, port: 0 });
    const browser = await launch();
    try {
      const { page, problems } = await open(browser);
      await page.goto(viewer.url);
      await page.evaluate(() => ((globalThis as { __marker?: number }).__marker = 1));
      const traceId = await manager.withTrace("arrived_live", {}, async (trace) => {
        await manager.withSpan("step", { kind: "tool_call" }, () => {});
        return trace.traceId;
      });
      await page.waitForSelector(`tr[data-trace-id="${traceId}"]`, { timeout: 20_000 });
      assert.equal(
        await page.evaluate(() => (globalThis as { __marker?: number }).__marker),
        1,
        "same document: no reload",
      );
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
  },
});
