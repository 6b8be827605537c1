/**
 * Headless Chromium for the viewer's browser tests and bench: finds the
 * system browser and drives it with puppeteer-core.
 *
 * puppeteer-core is imported at run time, with the few types used here
 * written out below, because its own typings pull `@types/node` into the
 * type-check of every test and bench (`deno task check`), which changes
 * `node:assert`'s overloads for unrelated files.
 *
 * @module
 */

/** A DOM element as seen by the callbacks of `$eval` / `$$eval` (they run in the page). */
export interface DomElement {
  readonly id: string;
  readonly textContent: string | null;
  readonly hidden: boolean;
  readonly offsetHeight: number;
  readonly innerText: string;
  readonly classList: { contains(name: string): boolean };
  getAttribute(name: string): string | null;
  querySelector(selector: string): DomElement | null;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  getBoundingClientRect(): { width: number; height: number };
}

/** A console message of the page. */
export interface ConsoleMessage {
  type(): string;
  text(): string;
}

/** The part of puppeteer's `Page` the tests use. */
export interface BrowserPage {
  setViewport(viewport: { width: number; height: number }): Promise<void>;
  emulateMediaFeatures(features: { name: string; value: string }[]): Promise<void>;
  goto(url: string, options?: { waitUntil?: "load" }): Promise<unknown>;
  url(): string;
  on(event: "pageerror", handler: (error: Error) => void): unknown;
  on(event: "console", handler: (message: ConsoleMessage) => void): unknown;
  $(selector: string): Promise<unknown>;
  $eval<R>(selector: string, fn: (element: DomElement) => R): Promise<R>;
  $$eval<R>(selector: string, fn: (elements: DomElement[]) => R): Promise<R>;
  evaluate<R>(fn: string | (() => R)): Promise<R>;
  click(selector: string, options?: { count?: number }): Promise<void>;
  focus(selector: string): Promise<void>;
  waitForNavigation(): Promise<unknown>;
  waitForSelector(selector: string, options?: { timeout?: number }): Promise<unknown>;
  screenshot(options: { path: string }): Promise<unknown>;
  keyboard: { press(key: string): Promise<void>; type(text: string): Promise<void> };
  close(): Promise<void>;
}

/** The part of puppeteer's `Browser` the tests use. */
export interface Chromium {
  newPage(): Promise<BrowserPage>;
  close(): Promise<void>;
}

const CANDIDATES = [
  Deno.env.get("CHROME_PATH"),
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
  "/usr/bin/google-chrome-stable",
].filter((p): p is string => p !== undefined && p !== "");

/** Where the system Chromium is, or `undefined`. */
export const CHROMIUM_PATH: string | undefined = CANDIDATES.find((p) => {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
});

/** Paths searched, for messages. */
export const CHROMIUM_CANDIDATES: readonly string[] = CANDIDATES;

/**
 * Launches headless Chromium.
 *
 * @returns The browser; close it.
 */
export async function launchChromium(): Promise<Chromium> {
  if (CHROMIUM_PATH === undefined) {
    throw new Error(
      `Cannot launch Chromium: none at ${CANDIDATES.join(", ")} (apt-get install -y chromium)`,
    );
  }
  // A specifier the type checker does not follow (see the module comment).
  const specifier: string = "puppeteer-core";
  const puppeteer = (await import(specifier)).default as {
    launch(options: Record<string, unknown>): Promise<Chromium>;
  };
  return await puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}
