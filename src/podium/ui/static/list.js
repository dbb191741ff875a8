// Podium UI: the executions list's habits, and the header's time switch. Columns shown or hidden,
// saved searches and the time mode are kept in this browser's localStorage; "select all N matching"
// makes a bulk action act on the whole search (the server pages through it); the rows' live refresh
// (podium.js's data-live, every 5 s while the tab is visible) is held while rows are selected or a
// form is in use, and a selection made while a refresh was on its way is put back.
(function () {
  "use strict";
  const store = {
    get(key, fallback) {
      try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch (error) { return fallback; }
    },
    set(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (error) { /* private mode */ } },
  };

  // --- time: relative, local or UTC on every <time> of the UI (podium.js renders them) -------------
  const MODES = ["relative", "local", "utc"];
  const LABEL = { relative: "relative", local: "local", utc: "UTC" };
  const mode = () => { try { return localStorage.getItem("podium.time") || "relative"; } catch (error) { return "relative"; } };
  function label() {
    document.querySelectorAll("[data-time-switch]").forEach((b) => { b.textContent = `Time: ${LABEL[mode()] || mode()}`; });
  }
  document.addEventListener("click", (event) => {
    if (!event.target.closest("[data-time-switch]")) return;
    const chosen = MODES[(MODES.indexOf(mode()) + 1) % MODES.length];
    try { localStorage.setItem("podium.time", chosen); } catch (error) { /* kept for this page only */ }
    label();
    document.dispatchEvent(new CustomEvent("podium:times"));
  });

  // --- columns: the chooser's boxes hide columns (table[data-hide~=key] in the stylesheet) ---------
  const COLUMNS = "podium.columns.executions";
  function columns(root) {
    const hidden = store.get(COLUMNS, []);
    root.querySelectorAll("table[data-columns]").forEach((table) => { table.dataset.hide = hidden.join(" "); });
    root.querySelectorAll("[data-column-chooser]").forEach((chooser) => { chooser.hidden = false; });
    root.querySelectorAll("[data-column-chooser] input[type=checkbox]").forEach((box) => { box.checked = !hidden.includes(box.value); });
  }
  // The chooser's boxes exist only while it is open (one per header with a data-col).
  document.addEventListener("toggle", (event) => {
    const chooser = event.target;
    if (!chooser.matches || !chooser.matches("[data-column-chooser]")) return;
    const body = chooser.querySelector(".chooser-body");
    body.textContent = "";
    if (!chooser.open) return;
    const hidden = store.get(COLUMNS, []);
    chooser.closest("#results").querySelectorAll("table[data-columns] th[data-col]").forEach((th) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = th.dataset.col;
      box.checked = !hidden.includes(box.value);
      box.setAttribute("aria-label", `Show ${th.textContent.trim()}`);
      label.append(box, ` ${th.textContent.trim()}`);
      body.append(label);
    });
  }, true);
  document.addEventListener("change", (event) => {
    const box = event.target.closest("[data-column-chooser] input[type=checkbox]");
    if (!box) return;
    const hidden = new Set(store.get(COLUMNS, []));
    if (box.checked) hidden.delete(box.value); else hidden.add(box.value);
    store.set(COLUMNS, [...hidden]);
    columns(document);
  });

  // --- select all N matching --------------------------------------------------------------------
  const results = () => document.getElementById("results");
  function allMatching(on) {
    const box = document.querySelector("[data-all-matching]");
    if (!box) return;
    const total = Number(results().dataset.listTotal || 0);
    const field = box.querySelector('input[name="all"]');
    field.disabled = !on;
    field.value = on ? "matching" : "";
    box.querySelector("[data-all-matching-on]").hidden = on;
    box.querySelector("[data-all-matching-off]").hidden = !on;
    const shown = results().querySelectorAll('input[name="ids"]').length;
    box.querySelector("[data-all-matching-text]").textContent = on
      ? `All ${total.toLocaleString()} executions matching this search are selected.`
      : `All ${shown} on this page are selected.`;
    results().querySelectorAll("button[data-confirm-all]").forEach((button) => {
      if (button.dataset.confirmPage === undefined) button.dataset.confirmPage = button.dataset.confirm;
      button.dataset.confirm = on ? button.dataset.confirmAll.replace("{all}", total.toLocaleString()) : button.dataset.confirmPage;
    });
  }
  function offerAll() {
    const box = document.querySelector("[data-all-matching]");
    if (!box) return;
    const rows = [...results().querySelectorAll('input[name="ids"]')];
    const total = Number(results().dataset.listTotal || 0);
    const every = rows.length > 0 && rows.every((r) => r.checked);
    if (!every) allMatching(false);
    box.hidden = !(every && total > rows.length);
    if (!box.hidden && box.querySelector('input[name="all"]').disabled) allMatching(false);
  }
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-all-matching-on]")) allMatching(true);
    if (event.target.closest("[data-all-matching-off]")) {
      allMatching(false);
      results().querySelectorAll('input[name="ids"], [data-select-all]').forEach((b) => { b.checked = false; });
      remember();
      offerAll();
    }
  });

  // --- the live rows: held while rows are selected or a form is in use; a selection survives ---------
  let selected = new Set();
  function remember() {
    const list = results();
    selected = new Set(list ? [...list.querySelectorAll('input[name="ids"]:checked')].map((b) => b.value) : []);
  }
  function hold() {
    const list = results();
    if (!list) return;
    const url = list.dataset.live || list.dataset.liveHeld;
    if (!url) return;
    const active = document.activeElement;
    const busy = selected.size > 0 || (active && active.closest && active.closest("main form, main details") !== null
      && active.matches("input, select, textarea, button, summary"));
    if (busy && list.dataset.live) { list.dataset.liveHeld = url; delete list.dataset.live; }
    if (!busy && !list.dataset.live) { list.dataset.live = url; delete list.dataset.liveHeld; }
  }
  document.addEventListener("change", (event) => {
    if (!event.target.closest("#results")) return;
    if (event.target.matches('input[name="ids"], [data-select-all]')) { remember(); offerAll(); }
    hold();
  });
  document.addEventListener("focusin", hold);
  document.addEventListener("focusout", () => setTimeout(hold, 0));
  document.addEventListener("podium:refreshed", (event) => {
    if (event.target.id !== "results") return;
    event.target.querySelectorAll('input[name="ids"]').forEach((b) => { if (selected.has(b.value)) b.checked = true; });
    columns(document);
    offerAll();
  });

  // --- saved searches: a name for the list's query string, kept in localStorage ------------------
  const SAVED = "podium.searches.executions";
  function drawSaved() {
    const box = document.querySelector("[data-saved-searches]");
    if (!box) return;
    box.querySelector(".muted")?.remove();
    let body = box.querySelector(".saved-body");
    if (!body) {
      body = document.createElement("div");
      body.className = "saved-body";
      box.append(body);
    }
    body.textContent = "";
    const list = document.createElement("ul");
    list.className = "saved-list";
    for (const { name, query } of store.get(SAVED, [])) {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = `/ui/executions${query}`;
      link.textContent = name;
      const drop = document.createElement("button");
      drop.type = "button";
      drop.textContent = "delete";
      drop.dataset.dropSearch = name;
      drop.setAttribute("aria-label", `Delete the saved search ${name}`);
      item.append(link, " ", drop);
      list.append(item);
    }
    if (!list.children.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "None yet. Search, then name it here (kept in this browser only).";
      list.append(none);
    }
    const form = document.createElement("form");
    form.className = "saved-form";
    form.dataset.saveSearch = "";
    const name = document.createElement("input");
    name.name = "searchName";
    name.required = true;
    name.maxLength = 80;
    name.placeholder = "name this search";
    name.setAttribute("aria-label", "Name for this search");
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "Save";
    form.append(name, " ", save);
    body.append(list, form);
  }
  document.addEventListener("submit", (event) => {
    if (!event.target.matches("[data-save-search]")) return;
    event.preventDefault();
    const name = event.target.elements.searchName.value.trim();
    if (!name) return;
    const kept = store.get(SAVED, []).filter((s) => s.name !== name);
    kept.push({ name, query: location.search });
    kept.sort((a, b) => a.name.localeCompare(b.name));
    store.set(SAVED, kept);
    drawSaved();
  });
  document.addEventListener("click", (event) => {
    const drop = event.target.closest("[data-drop-search]");
    if (!drop) return;
    store.set(SAVED, store.get(SAVED, []).filter((s) => s.name !== drop.dataset.dropSearch));
    drawSaved();
  });

  document.addEventListener("htmx:afterSwap", () => { remember(); columns(document); offerAll(); hold(); });
  document.addEventListener("DOMContentLoaded", () => {
    label();
    columns(document);
    drawSaved();
    remember();
    hold();
  });
})();
