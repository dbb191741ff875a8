// Podium UI: relative times next to absolute ones, copy buttons, select-all boxes, the CSRF token on
// every htmx request, live pages refreshed part by part, the task panel, confirmations, and the
// editor's guards. No build step, no inline script: the pages' Content-Security-Policy allows none.
(function () {
  "use strict";
  // The page's CSRF token (podium.web.csrf) goes with every request htmx sends.
  document.addEventListener("htmx:configRequest", (event) => {
    const token = document.querySelector('meta[name="podium-csrf"]');
    if (token) event.detail.headers["X-Podium-CSRF"] = token.content;
  });

  // --- times ---------------------------------------------------------------------------------------
  const units = [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]];
  function relative(iso) {
    const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
    const abs = Math.abs(seconds);
    for (const [name, size] of units) {
      if (abs >= size || name === "s") {
        const n = Math.floor(abs / size);
        return seconds >= 0 ? `${n} ${name} ago` : `in ${n} ${name}`;
      }
    }
    return "";
  }
  // How a <time> reads: relative ("5 min ago", with the UTC time), local or UTC, as the header's
  // switch chose (kept in localStorage, list.js). A <time data-elapsed> is a running span: "for 5 min".
  const pad = (n) => String(n).padStart(2, "0");
  function local(iso) {
    const d = new Date(iso);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  const utc = (iso) => iso.replace("T", " ").replace("Z", " UTC");
  function timeMode() {
    try { return localStorage.getItem("podium.time") || "relative"; } catch (error) { return "relative"; }
  }
  function refresh(root) {
    const mode = timeMode();
    root.querySelectorAll("time[datetime]").forEach((t) => {
      const iso = t.getAttribute("datetime");
      if (!iso) return;
      t.title = iso;
      if (t.hasAttribute("data-elapsed")) t.textContent = `for ${relative(iso).replace(" ago", "")}`;
      else if (mode === "local") show(t, local(iso).split(" "));
      else if (mode === "utc") show(t, utc(iso).split(" "));
      else show(t, [relative(iso), ...`(${utc(iso)})`.split(" ")]);
    });
  }
  // A time in words that each stay whole: a narrow column breaks a line between them, never inside
  // a date at its hyphens ("2026-" / "12-06").
  function show(t, words) {
    t.replaceChildren(...words.flatMap((word, i) => {
      const kept = document.createElement("span");
      kept.className = "nowrap";
      kept.textContent = word;
      return i ? [" ", kept] : [kept];
    }));
  }
  document.addEventListener("podium:times", () => refresh(document));

  // --- what the reader is doing: a selection, a field being typed in ------------------------------
  function selectionWithin(element) {
    const selection = window.getSelection();
    if (!selection || selection.isCollapsed || !selection.rangeCount) return false;
    const range = selection.getRangeAt(0);
    return element.contains(range.startContainer) || element.contains(range.endContainer);
  }
  const typing = (element) => element && element.matches && element.matches("input, textarea, select");

  // Polling (htmx's `every`) waits while the tab is hidden, and over a selection or a field in use.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (!/\bevery\b/.test(elt.getAttribute("hx-trigger") || "")) return;
    if (document.hidden || selectionWithin(elt) || (elt.contains(document.activeElement) && typing(document.activeElement))) {
      event.preventDefault();
    }
  });

  // --- live pages: [data-live] is fetched every data-every ms while the tab is visible; each of its
  // [data-region] parts is replaced only when the server's version of it changed, never while text
  // in it is selected, keeping what was typed in its fields and where the focus was.
  const normal = (html) => html.replace(/<time\b[^>]*?datetime="([^"]*)"[^>]*>[\s\S]*?<\/time>/g, "<time $1>")
    .replace(/ title="[^"]*"/g, "");
  // What a script added to the server's markup ([data-enhanced], e.g. json.js's viewer) is no change.
  function served(element) {
    if (!element.querySelector("[data-enhanced]")) return element.innerHTML;
    const copy = element.cloneNode(true);
    copy.querySelectorAll("[data-enhanced]").forEach((added) => added.remove());
    return copy.innerHTML;
  }
  function update(here, fresh) {
    if (normal(served(here)) === normal(fresh.innerHTML) || selectionWithin(here)) return;
    const typed = new Map();
    here.querySelectorAll("input[name], textarea[name]").forEach((field) => {
      if (field.type !== "hidden" && field.value !== field.defaultValue) typed.set(field.name, field.value);
    });
    const focused = here.contains(document.activeElement) ? document.activeElement : null;
    const focus = focused && focused.name ? [focused.name, focused.selectionStart, focused.selectionEnd] : null;
    here.innerHTML = fresh.innerHTML;
    typed.forEach((value, name) => { const field = here.querySelector(`[name="${CSS.escape(name)}"]`); if (field) field.value = value; });
    if (focus) {
      const field = here.querySelector(`[name="${CSS.escape(focus[0])}"]`);
      if (field) { field.focus(); if (field.setSelectionRange && focus[1] !== null) field.setSelectionRange(focus[1], focus[2]); }
    }
    if (window.htmx) window.htmx.process(here);
    refresh(here);
  }
  async function pull(section) {
    section.podiumBusy = true;
    try {
      const response = await fetch(section.dataset.live, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (!response.ok) return;
      const doc = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = doc.getElementById(section.id);
      if (!fresh || !section.isConnected) return;
      fresh.querySelectorAll("[data-region]").forEach((part) => {
        const here = document.getElementById(part.id);
        if (here && section.contains(here)) update(here, part);
      });
      if (!fresh.hasAttribute("data-live")) section.removeAttribute("data-live");
      section.dispatchEvent(new CustomEvent("podium:refreshed", { bubbles: true }));
    } catch (error) {
      // the server is away for a moment: the next turn tries again
    } finally {
      section.podiumBusy = false;
      section.podiumLast = Date.now();
    }
  }
  setInterval(() => {
    if (document.hidden) return;
    document.querySelectorAll("[data-live]").forEach((section) => {
      const every = Number(section.dataset.every) || 2000;
      if (section.podiumLast === undefined) section.podiumLast = Date.now();
      if (!section.podiumBusy && Date.now() - section.podiumLast >= every) pull(section);
    });
  }, 250);

  // --- the task panel: opened by a [data-task] (row, graph node, timeline bar) or by #task-<id> -----
  const panel = () => document.getElementById("task-panel");
  function openTask(id) {
    const box = panel();
    if (!box || !window.htmx) return;
    box.hidden = false;
    window.htmx.ajax("GET", `/ui/tasks/${encodeURIComponent(id)}`, { target: box, swap: "innerHTML" });
  }
  function closeTask() {
    const box = panel();
    if (!box || box.hidden) return false;
    box.hidden = true;
    box.innerHTML = "";
    if (location.hash.startsWith("#task-")) history.replaceState(null, "", location.pathname + location.search);
    return true;
  }
  function fromAddress() {
    const found = /^#task-(.+)$/.exec(location.hash);
    if (found) openTask(decodeURIComponent(found[1])); else closeTask();
  }
  window.addEventListener("popstate", fromAddress);
  window.addEventListener("hashchange", fromAddress);
  function opener(target) {
    const found = target.closest("[data-task]");
    const link = target.closest("a[href]");
    if (!found || !panel() || (link && !link.getAttribute("href").startsWith("#task-"))) return null;
    return found;
  }
  function selectTab(tab) {
    const list = tab.closest("[role=tablist]");
    list.querySelectorAll("[role=tab]").forEach((other) => {
      const chosen = other === tab;
      other.setAttribute("aria-selected", String(chosen));
      other.tabIndex = chosen ? 0 : -1;
      const part = document.getElementById(other.getAttribute("aria-controls"));
      if (part) part.hidden = !chosen;
    });
  }

  document.addEventListener("click", (event) => {
    const copy = event.target.closest("[data-copy]");
    if (copy) {
      navigator.clipboard?.writeText(copy.dataset.copy);
      copy.textContent = "copied";
      setTimeout(() => { copy.textContent = "copy"; }, 1200);
    }
    const all = event.target.closest("[data-select-all]");
    if (all) {
      all.form.querySelectorAll(`input[name="${all.dataset.selectAll}"]`).forEach((box) => { box.checked = all.checked; });
    }
    const task = opener(event.target);
    if (task) {
      event.preventDefault();
      history.pushState(null, "", `#task-${task.dataset.task}`);
      openTask(task.dataset.task);
    }
    if (event.target.closest("[data-close-panel]")) closeTask();
    const tab = event.target.closest("[role=tab]");
    if (tab) selectTab(tab);
    const goto = event.target.closest("[data-goto-line]");
    if (goto) gotoLine(document.getElementById(goto.getAttribute("aria-controls")), Number(goto.dataset.gotoLine), Number(goto.dataset.gotoColumn));
  });
  // --- keys: `/` to the search, j/k down and up a list's rows (Enter opens the row), Esc closes ---
  function step(by) {
    const rows = [...document.querySelectorAll("main table.list tbody tr")].filter((row) => row.querySelector("a[href]"));
    if (!rows.length) return;
    const now = rows.findIndex((row) => row.classList.contains("is-current"));
    const next = rows[Math.min(Math.max(now === -1 ? (by > 0 ? 0 : rows.length - 1) : now + by, 0), rows.length - 1)];
    rows.forEach((row) => row.classList.toggle("is-current", row === next));
    next.querySelector("a[href]").focus();
    next.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && closeTask()) event.preventDefault();
    if (event.key === "Enter" && event.target.matches && event.target.matches("[data-task]:not(a)")) {
      history.pushState(null, "", `#task-${event.target.dataset.task}`);
      openTask(event.target.dataset.task);
    }
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target) || event.target.isContentEditable) return;
    if (event.key === "/") {
      const search = document.querySelector('main input[type="search"]')
        || document.querySelector('main form.filters input:not([type="hidden"]):not([type="checkbox"])');
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (event.key === "j" || event.key === "k") {
      event.preventDefault();
      step(event.key === "j" ? 1 : -1);
    }
  });

  // --- light or dark: the system's (auto) unless chosen with the header's switch (kept in a cookie,
  // so that the server renders the page in it and nothing flashes) -------------------------------
  const themes = ["auto", "light", "dark"];
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-theme-switch]");
    if (!button) return;
    const theme = themes[(themes.indexOf(document.documentElement.dataset.theme || "auto") + 1) % themes.length];
    if (theme === "auto") delete document.documentElement.dataset.theme; else document.documentElement.dataset.theme = theme;
    document.cookie = `podium_theme=${theme}; path=/ui; max-age=31536000; samesite=lax`;
    button.textContent = `Theme: ${theme}`;
  });

  // --- confirmations: a submit button with data-confirm asks first ({n}: the boxes ticked) ---------
  document.addEventListener("submit", (event) => {
    const button = event.submitter;
    if (!button || !button.dataset.confirm) return;
    const ticked = event.target.querySelectorAll('input[name="ids"]:checked').length;
    if (button.dataset.confirm.includes("{n}") && ticked === 0) return;  // the server says what is missing
    if (!window.confirm(button.dataset.confirm.replace("{n}", String(ticked)))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- the definition editor: jump to a line, and ask before leaving unsaved changes --------------
  function gotoLine(area, line, column) {
    if (!area) return;
    const lines = area.value.split("\n");
    let at = 0;
    for (let i = 0; i < Math.min(line - 1, lines.length); i += 1) at += lines[i].length + 1;
    at += Math.max(column - 1, 0);
    area.focus();
    area.setSelectionRange(at, Math.min(at + 1, area.value.length));
    const height = parseFloat(getComputedStyle(area).lineHeight) || 18;
    area.scrollTop = Math.max((line - 3) * height, 0);
  }
  document.addEventListener("input", (event) => {
    if (event.target.matches && event.target.matches("[data-unsaved-guard]")) event.target.dataset.dirty = "true";
  });
  document.addEventListener("htmx:beforeRequest", (event) => {
    event.detail.elt.querySelectorAll?.("[data-unsaved-guard]").forEach((area) => { delete area.dataset.dirty; });
  });
  window.addEventListener("beforeunload", (event) => {
    if (document.querySelector("[data-unsaved-guard][data-dirty]")) {
      event.preventDefault();
      event.returnValue = "";
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    refresh(document);
    fromAddress();
  });
  document.addEventListener("htmx:afterSwap", (event) => refresh(event.target));
  setInterval(() => refresh(document), 30000);
})();
