// Podium UI: the JSON viewer. The server renders JSON as text in a <pre data-json> (readable without
// script); this turns each into a tree beside it (the <pre> stays, hidden by the stylesheet, so that a
// live page's refresh still compares the server's markup): objects and arrays fold, open to a depth
// (data-json-depth, else 2) while small, and render their children only when opened, a chunk at a
// time; a node's value or path can be copied, the whole value too; a search marks and counts what
// matches and opens the way to it. Keys: arrows move and fold (a tree, as WAI-ARIA describes one),
// Enter or Space folds, c copies the value, p the path. No inline script (the CSP allows none).
(function () {
  "use strict";
  const OPEN_SIZE = 50;   // a container with more entries starts folded, whatever its depth
  const CHUNK = 200;      // children rendered at once; "show more" renders the next ones
  const EXPAND_ALL = 5000;  // rows "Expand all" renders at most, so that a huge payload stays usable
  const MARKED = 500;     // matches a search opens the way to and marks (all are counted)
  const SHOWN_CHARS = 2000;  // a string longer than this is shown cut (copied whole)
  const meta = new WeakMap();  // treeitem -> {value, path, depth, rendered, kids: Map(key -> treeitem)}

  // Integers beyond 2^53 keep their digits where the browser can (JSON.parse's source text).
  function parse(text) {
    if (typeof JSON.rawJSON !== "function") return JSON.parse(text);
    return JSON.parse(text, (key, value, context) => (typeof value === "number" && !Number.isSafeInteger(value)
      && context && /^-?\d+$/.test(context.source) ? JSON.rawJSON(context.source) : value));
  }
  const isRaw = (v) => typeof JSON.isRawJSON === "function" && JSON.isRawJSON(v);
  const isContainer = (v) => v !== null && typeof v === "object" && !isRaw(v);
  const entries = (v) => (Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v));
  const size = (v) => (Array.isArray(v) ? v.length : Object.keys(v).length);
  const plain = (key) => /^[A-Za-z_$][\w$]*$/.test(key);
  const step = (path, key) => (typeof key === "number" ? `${path}[${key}]` : plain(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
  function scalar(v) {
    if (isRaw(v)) return [v.rawJSON, "jv-num"];
    if (typeof v === "string") return [JSON.stringify(v.length > SHOWN_CHARS ? v.slice(0, SHOWN_CHARS) : v) + (v.length > SHOWN_CHARS ? ` …(${(v.length - SHOWN_CHARS).toLocaleString()} more characters)` : ""), "jv-str"];
    if (v === null) return ["null", "jv-null"];
    return [String(v), typeof v === "number" ? "jv-num" : "jv-bool"];
  }
  const valueText = (v) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  // Text with what matches `q` in <mark>s, built as nodes (never as HTML).
  function paint(target, text, q) {
    target.textContent = "";
    if (!q) { target.textContent = text; return; }
    const lower = text.toLowerCase();
    let at = 0;
    for (let found = lower.indexOf(q); found !== -1; found = lower.indexOf(q, at)) {
      target.append(text.slice(at, found), el("mark", "", text.slice(found, found + q.length)));
      at = found + q.length;
    }
    target.append(text.slice(at));
  }

  // --- a node: one row (key, value or summary, actions) and, for a container, its group of children
  function node(value, key, path, depth) {
    const item = el("div", "jv-node");
    item.setAttribute("role", "treeitem");
    item.setAttribute("aria-level", String(depth + 1));
    item.dataset.path = path;
    item.tabIndex = -1;
    const line = el("div", "jv-line");
    const container = isContainer(value);
    const folds = container && size(value) > 0;  // an empty {} or [] has nothing to open
    line.append(el("span", "jv-toggle", folds ? "▸" : ""));
    if (key !== null) {
      const k = el("span", "jv-key");
      k.dataset.text = typeof key === "number" ? String(key) : JSON.stringify(key);
      k.textContent = k.dataset.text;
      line.append(k, el("span", "jv-colon", ": "));
    }
    if (container) {
      const n = size(value);
      line.append(el("span", "jv-sum", Array.isArray(value) ? `[${n}]` : `{${n}}`));
      if (folds) item.setAttribute("aria-expanded", "false");
    } else {
      const [text, cls] = scalar(value);
      const v = el("span", `jv-val ${cls}`, text);
      v.dataset.text = text;
      line.append(v);
    }
    const acts = el("span", "jv-acts");
    for (const [act, label] of [["copy-value", "copy"], ["copy-path", "path"]]) {
      const b = el("button", "jv-act", label);
      b.type = "button";
      b.tabIndex = -1;
      b.dataset.jv = act;
      b.title = act === "copy-value" ? "Copy this value (c)" : `Copy the path ${path} (p)`;
      acts.append(b);
    }
    line.append(acts);
    item.append(line);
    meta.set(item, { value, path, depth, rendered: 0, kids: new Map() });
    return item;
  }
  function group(item) {
    let g = item.querySelector(":scope > .jv-kids");
    if (!g) { g = el("div", "jv-kids"); g.setAttribute("role", "group"); item.append(g); }
    return g;
  }
  // Render children up to index `upTo` (at least one more chunk), with "show more" after them.
  function renderKids(item, upTo) {
    const m = meta.get(item);
    const all = entries(m.value);
    const until = Math.min(all.length, Math.max(m.rendered + CHUNK, upTo + 1));
    if (until <= m.rendered) return 0;
    const g = group(item);
    g.querySelector(":scope > .jv-more")?.remove();
    const frag = document.createDocumentFragment();
    for (let i = m.rendered; i < until; i += 1) {
      const [key, v] = all[i];
      const kid = node(v, key, step(m.path, key), m.depth + 1);
      m.kids.set(key, kid);
      frag.append(kid);
    }
    const added = until - m.rendered;
    m.rendered = until;
    if (until < all.length) {
      const more = el("button", "jv-more", `show ${Math.min(CHUNK, all.length - until).toLocaleString()} more of ${(all.length - until).toLocaleString()}`);
      more.type = "button";
      more.dataset.jv = "more";
      frag.append(more);
    }
    g.append(frag);
    return added;
  }
  function setOpen(item, open) {
    const m = meta.get(item);
    if (!m || !isContainer(m.value) || !size(m.value)) return 0;
    let added = 0;
    if (open && !m.rendered) added = renderKids(item, 0);
    item.setAttribute("aria-expanded", String(open));
    item.querySelector(":scope > .jv-line > .jv-toggle").textContent = open ? "▾" : "▸";
    const g = item.querySelector(":scope > .jv-kids");
    if (g) g.hidden = !open;
    return added;
  }
  function openTo(item, depth, budget) {
    const m = meta.get(item);
    if (!isContainer(m.value) || (m.depth > 0 && size(m.value) > OPEN_SIZE) || m.depth >= depth) return;
    setOpen(item, true);
    m.kids.forEach((kid) => openTo(kid, depth, budget));
  }

  // --- the viewer: toolbar, tree, status ------------------------------------------------------------
  const done = new WeakSet();  // the <pre>s turned (their markup is left as the server sent it)
  function enhance(pre) {
    if (done.has(pre)) return;
    done.add(pre);
    let value;
    try { value = parse(pre.textContent); } catch (error) { return; }  // not JSON: the text stays
    const name = pre.dataset.jsonName || "JSON";
    const viewer = el("div", "jv");
    viewer.dataset.enhanced = "json";
    const bar = el("div", "jv-bar");
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", `${name}: JSON tools`);
    for (const [act, label] of [["expand", "Expand all"], ["collapse", "Collapse all"], ["copy-all", "Copy all"]]) {
      const b = el("button", "", label);
      b.type = "button";
      b.dataset.jv = act;
      bar.append(b);
    }
    const search = el("input", "jv-search");
    search.type = "search";
    search.placeholder = "Search";
    search.setAttribute("aria-label", `Search ${name}`);
    const count = el("span", "jv-count");
    count.setAttribute("aria-live", "polite");
    bar.append(search, count);
    const tree = el("div", "jv-tree");
    tree.setAttribute("role", "tree");
    tree.setAttribute("aria-label", name);
    const root = node(value, null, "$", 0);
    root.querySelector(".jv-line").prepend(el("span", "jv-name", `${name} `));
    root.tabIndex = 0;
    tree.append(root);
    viewer.append(bar, tree);
    meta.set(viewer, { root, text: pre.textContent, hits: [], at: -1 });
    openTo(root, Number(pre.dataset.jsonDepth) || 2);
    pre.after(viewer);
  }

  const visible = (tree) => [...tree.querySelectorAll('[role="treeitem"]')].filter((i) => !i.parentElement.closest(".jv-kids[hidden]"));
  function focusItem(item) {
    const tree = item.closest(".jv-tree");
    tree.querySelectorAll('[role="treeitem"][tabindex="0"]').forEach((i) => { i.tabIndex = -1; });
    item.tabIndex = 0;
    item.focus();
  }
  function copy(viewer, text, what) {
    viewer.dataset.copied = text;
    const said = viewer.querySelector(".jv-count");
    const done = () => { said.textContent = `copied ${what}`; };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, done); else done();
  }
  function copyNode(item, which) {
    const m = meta.get(item);
    const viewer = item.closest(".jv");
    if (which === "copy-path") copy(viewer, m.path, `path ${m.path}`);
    else copy(viewer, valueText(m.value), `value of ${m.path}`);
  }
  function toggleAll(viewer, open) {
    const root = meta.get(viewer).root;
    if (!open) {
      viewer.querySelectorAll('[role="treeitem"][aria-expanded="true"]').forEach((i) => { if (i !== root) setOpen(i, false); });
      return;
    }
    let budget = EXPAND_ALL;
    const queue = [root];
    while (queue.length && budget > 0) {
      const item = queue.shift();
      if (!isContainer(meta.get(item).value)) continue;
      budget -= setOpen(item, true);
      meta.get(item).kids.forEach((kid) => queue.push(kid));
    }
    if (budget <= 0) viewer.querySelector(".jv-count").textContent = `opened as far as ${EXPAND_ALL.toLocaleString()} rows`;
  }

  // --- search: count every match in the value, open the way to the first MARKED, mark them ----------
  function matches(value, q, path, out) {
    let total = 0;
    if (isContainer(value)) {
      for (const [key, v] of entries(value)) {
        const keyHit = typeof key === "string" && key.toLowerCase().includes(q);
        const here = [...path, key];
        if (keyHit || (!isContainer(v) && scalar(v)[0].toLowerCase().includes(q))) {
          total += 1;
          if (out.length < MARKED) out.push(here);
        }
        total += matches(v, q, here, out);
      }
    }
    return total;
  }
  function reveal(root, path) {
    let item = root;
    for (const key of path) {
      const m = meta.get(item);
      if (!m.kids.has(key)) renderKids(item, entries(m.value).findIndex(([k]) => k === key));
      setOpen(item, true);
      item = m.kids.get(key);
      if (!item) return null;
    }
    return item;
  }
  function unmark(viewer) {
    viewer.querySelectorAll(".jv-hit").forEach((item) => {
      item.classList.remove("jv-hit");
      item.querySelectorAll(":scope > .jv-line > [data-text]").forEach((span) => { span.textContent = span.dataset.text; });
    });
  }
  function find(viewer, text) {
    const state = meta.get(viewer);
    const q = text.trim().toLowerCase();
    unmark(viewer);
    state.hits = [];
    state.at = -1;
    const count = viewer.querySelector(".jv-count");
    viewer.dataset.matches = "0";
    if (!q) { count.textContent = ""; return; }
    const paths = [];
    const total = matches(meta.get(state.root).value, q, [], paths);
    for (const path of paths) {
      const item = reveal(state.root, path);
      if (!item) continue;
      item.classList.add("jv-hit");
      item.querySelectorAll(":scope > .jv-line > [data-text]").forEach((span) => paint(span, span.dataset.text, q));
      state.hits.push(item);
    }
    viewer.dataset.matches = String(total);
    count.textContent = total === 0 ? "no match" : `${total.toLocaleString()} match${total === 1 ? "" : "es"}${total > MARKED ? ` (first ${MARKED} marked)` : ""}`;
  }
  function next(viewer, by) {
    const state = meta.get(viewer);
    if (!state.hits.length) return;
    state.at = (state.at + by + state.hits.length) % state.hits.length;
    const item = state.hits[state.at];
    item.scrollIntoView({ block: "nearest" });
    item.querySelector(".jv-line").classList.add("jv-here");
    state.hits.forEach((other) => { if (other !== item) other.querySelector(".jv-line").classList.remove("jv-here"); });
  }

  document.addEventListener("click", (event) => {
    const viewer = event.target.closest(".jv");
    if (!viewer) return;
    const act = event.target.closest("[data-jv]");
    const item = event.target.closest('[role="treeitem"]');
    if (act) {
      const what = act.dataset.jv;
      if (what === "expand" || what === "collapse") toggleAll(viewer, what === "expand");
      else if (what === "copy-all") copy(viewer, meta.get(viewer).text, "all");
      else if (what === "more") renderKids(item, 0);
      else copyNode(item, what);
      return;
    }
    if (item && event.target.closest(".jv-line")) {
      if (item.hasAttribute("aria-expanded")) setOpen(item, item.getAttribute("aria-expanded") !== "true");
      focusItem(item);
    }
  });
  document.addEventListener("keydown", (event) => {
    const search = event.target.closest && event.target.closest(".jv-search");
    if (search && event.key === "Enter") { event.preventDefault(); next(search.closest(".jv"), event.shiftKey ? -1 : 1); return; }
    const item = event.target.matches && event.target.matches('.jv [role="treeitem"]') ? event.target : null;
    if (!item || event.ctrlKey || event.metaKey || event.altKey) return;
    const open = item.getAttribute("aria-expanded");
    const items = visible(item.closest(".jv-tree"));
    const at = items.indexOf(item);
    const go = (other) => { if (other) focusItem(other); };
    const handled = {
      ArrowDown: () => go(items[at + 1]),
      ArrowUp: () => go(items[at - 1]),
      Home: () => go(items[0]),
      End: () => go(items[items.length - 1]),
      ArrowRight: () => (open === "false" ? setOpen(item, true) : open === "true" ? go(items[at + 1]) : null),
      ArrowLeft: () => (open === "true" ? setOpen(item, false) : go(item.parentElement.closest('[role="treeitem"]'))),
      Enter: () => open !== null && setOpen(item, open !== "true"),
      " ": () => open !== null && setOpen(item, open !== "true"),
      c: () => copyNode(item, "copy-value"),
      p: () => copyNode(item, "copy-path"),
    }[event.key];
    if (handled) { event.preventDefault(); event.stopPropagation(); handled(); }
  }, true);
  let typing = null;
  document.addEventListener("input", (event) => {
    const search = event.target.closest && event.target.closest(".jv-search");
    if (!search) return;
    clearTimeout(typing);
    typing = setTimeout(() => find(search.closest(".jv"), search.value), 150);
  });

  // A page polled by htmx (`every`) waits while JSON is open in it ([data-holds-refresh] open, or a
  // viewer in use), so that what the operator unfolded or searched is not swapped away.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const elt = event.detail.elt;
    if (!/\bevery\b/.test(elt.getAttribute("hx-trigger") || "")) return;
    const inUse = elt.querySelector("details[data-holds-refresh][open]")
      || [...elt.querySelectorAll(".jv")].some((v) => v.contains(document.activeElement) || v.querySelector(".jv-search").value);
    if (inUse) event.preventDefault();
  });

  function scan(root) {
    if (root.nodeType !== 1 || root.closest(".jv")) return;  // the viewer's own rows: nothing to turn
    if (root.matches && root.matches("pre[data-json]")) enhance(root);
    root.querySelectorAll("pre[data-json]").forEach(enhance);
  }
  new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(scan)))
    .observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", () => document.querySelectorAll("pre[data-json]").forEach(enhance));
})();
