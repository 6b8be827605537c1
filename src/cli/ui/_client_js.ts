/**
 * The viewer's one client module, served as `/assets/viewer.js` (a plain ES
 * module: no build step, no CDN). It only enhances server-rendered pages:
 * `/` focuses the query box, the first page of the trace list refreshes
 * itself, the waterfall collapses and selects spans by mouse and keyboard,
 * and copy buttons copy ids. It never writes HTML from data: the live rows
 * come already escaped from the server and are parsed inertly.
 *
 * @module
 */

/** The module's source. */
export const CLIENT_JS: string = String.raw`// @spark/telemetry viewer client
const POLL_MS = 2000;

function queryBox() {
  const box = document.getElementById("q");
  if (!box) return;
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    const typing = target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement;
    if (event.key === "/" && !typing) {
      event.preventDefault();
      box.focus();
      box.select();
    } else if (event.key === "Escape" && target === box) {
      box.blur();
    }
  });
  if (document.getElementById("query-error")) box.focus();
}

function liveList() {
  const body = document.getElementById("trace-rows");
  if (!body || !body.dataset.live) return;
  const status = document.getElementById("live-status");
  let last = body.innerHTML;
  let busy = false;
  async function poll() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(body.dataset.live, { headers: { accept: "text/html" } });
      if (!response.ok) throw new Error(response.status + " " + response.statusText);
      const text = await response.text();
      if (text !== last) {
        // DOMParser builds an inert document: nothing in it runs.
        const doc = new DOMParser().parseFromString("<table><tbody>" + text + "</tbody></table>", "text/html");
        const rows = doc.querySelector("tbody");
        if (rows) {
          body.replaceChildren(...Array.from(rows.childNodes).map((n) => document.importNode(n, true)));
          last = text;
        }
      }
      if (status) {
        status.textContent = "live";
        status.classList.remove("stale");
      }
    } catch (error) {
      if (status) {
        status.textContent = "offline: " + (error instanceof Error ? error.message : String(error));
        status.classList.add("stale");
      }
    } finally {
      busy = false;
    }
  }
  setInterval(poll, POLL_MS);
}

function copyButtons() {
  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("button.copy") : null;
    if (!button) return;
    const text = button.getAttribute("data-copy") || "";
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "copied";
    } catch {
      // Clipboard refused (plain http on another host): select the id instead.
      const code = button.previousElementSibling;
      if (code) getSelection()?.selectAllChildren(code);
      button.textContent = "selected";
    }
    setTimeout(() => (button.textContent = "copy"), 1500);
  });
}

function waterfall() {
  const tree = document.querySelector(".waterfall");
  if (!tree) return;
  const rows = Array.from(tree.querySelectorAll(".span-row[data-span-id]"));
  const byId = new Map(rows.map((row) => [row.dataset.spanId, row]));
  const details = new Map(
    Array.from(document.querySelectorAll(".detail[data-span-id]")).map((d) => [d.dataset.spanId, d]),
  );
  const empty = document.querySelector(".detail-empty");
  let selected = null;

  function childrenOf(row) {
    return rows.filter((r) => r.dataset.parentId === row.dataset.spanId && r !== row);
  }
  function visible(row) {
    return !row.hidden;
  }
  function setCollapsed(row, collapsed) {
    if (!row.hasAttribute("aria-expanded")) return;
    row.setAttribute("aria-expanded", String(!collapsed));
    const toggle = row.querySelector(".toggle");
    if (toggle) {
      toggle.textContent = collapsed ? "▸" : "▾";
      toggle.setAttribute("aria-label", (collapsed ? "Expand " : "Collapse ") + row.getAttribute("aria-label"));
    }
    refreshHidden();
  }
  function refreshHidden() {
    // A row is hidden when any ancestor is collapsed; rows come in tree order.
    const hiddenIds = new Set();
    for (const row of rows) {
      const parent = row.dataset.parentId;
      const parentRow = parent ? byId.get(parent) : undefined;
      const hide = parentRow !== undefined && parentRow !== row &&
        (hiddenIds.has(parent) || parentRow.getAttribute("aria-expanded") === "false");
      row.hidden = hide;
      if (hide) hiddenIds.add(row.dataset.spanId);
    }
  }
  function select(row, { scroll = true, focus = false } = {}) {
    if (!row) return;
    if (selected) {
      selected.classList.remove("selected");
      selected.setAttribute("aria-selected", "false");
    }
    for (const d of details.values()) d.classList.remove("selected");
    selected = row;
    row.classList.add("selected");
    row.setAttribute("aria-selected", "true");
    tree.setAttribute("aria-activedescendant", row.id || "");
    const detail = details.get(row.dataset.spanId);
    if (detail) detail.classList.add("selected");
    if (empty) empty.hidden = true;
    if (detail) history.replaceState(null, "", "#" + detail.id);
    if (scroll) row.scrollIntoView({ block: "nearest" });
    if (focus) tree.focus({ preventScroll: true });
  }
  function selectById(id) {
    const row = byId.get(id);
    if (!row) return;
    // Reveal it: expand collapsed ancestors.
    let parent = byId.get(row.dataset.parentId);
    const seen = new Set();
    while (parent && !seen.has(parent)) {
      seen.add(parent);
      if (parent.getAttribute("aria-expanded") === "false") setCollapsed(parent, false);
      parent = byId.get(parent.dataset.parentId);
    }
    select(row);
  }

  rows.forEach((row, i) => (row.id = "row-" + i));
  tree.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    const row = target?.closest(".span-row[data-span-id]");
    if (!row) return;
    event.preventDefault();
    if (target.closest(".toggle")) {
      setCollapsed(row, row.getAttribute("aria-expanded") !== "false");
    }
    select(row, { scroll: false, focus: true });
  });
  document.querySelector(".detail-pane")?.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a.span-link") : null;
    if (!link) return;
    event.preventDefault();
    const id = decodeURIComponent(link.getAttribute("href").slice(3));
    selectById(id);
  });
  tree.addEventListener("keydown", (event) => {
    const shown = rows.filter(visible);
    const index = selected ? shown.indexOf(selected) : -1;
    let next = null;
    switch (event.key) {
      case "ArrowDown":
      case "j":
        next = shown[Math.min(shown.length - 1, index + 1)];
        break;
      case "ArrowUp":
      case "k":
        next = shown[Math.max(0, index - 1)];
        break;
      case "Home":
        next = shown[0];
        break;
      case "End":
        next = shown[shown.length - 1];
        break;
      case "ArrowLeft":
        if (selected && selected.getAttribute("aria-expanded") === "true") setCollapsed(selected, true);
        else if (selected) next = byId.get(selected.dataset.parentId) || null;
        break;
      case "ArrowRight":
        if (selected && selected.getAttribute("aria-expanded") === "false") setCollapsed(selected, false);
        else if (selected) next = childrenOf(selected)[0] || null;
        break;
      case "Enter":
      case " ":
        if (selected && selected.hasAttribute("aria-expanded")) {
          setCollapsed(selected, selected.getAttribute("aria-expanded") === "true");
        }
        break;
      case "e": {
        // Next failed span after the selection, wrapping around.
        const failed = shown.filter((r) => r.classList.contains("status-error"));
        next = failed.find((r) => shown.indexOf(r) > index) || failed[0] || null;
        break;
      }
      default:
        return;
    }
    event.preventDefault();
    if (next) select(next);
  });

  const hash = decodeURIComponent(location.hash.slice(1));
  const fromHash = hash.startsWith("d-") ? byId.get(hash.slice(2)) : undefined;
  const firstError = rows.find((r) => r.classList.contains("status-error"));
  if (fromHash) selectById(fromHash.dataset.spanId);
  else select(firstError || rows[0], { scroll: false });
}

queryBox();
liveList();
copyButtons();
waterfall();
`;
