// Podium UI: relative times next to absolute ones, copy buttons, select-all boxes, the CSRF token on
// every htmx request. No build step, no inline script: the pages' Content-Security-Policy allows none.
(function () {
  // The page's CSRF token (podium.web.csrf) goes with every request htmx sends.
  document.addEventListener("htmx:configRequest", (event) => {
    const token = document.querySelector('meta[name="podium-csrf"]');
    if (token) event.detail.headers["X-Podium-CSRF"] = token.content;
  });
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
  function refresh(root) {
    root.querySelectorAll("time[datetime]").forEach((t) => {
      const iso = t.getAttribute("datetime");
      if (!iso) return;
      t.title = iso;
      t.textContent = `${relative(iso)} (${iso.replace("T", " ").replace("Z", " UTC")})`;
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
  });
  // A live page is swapped every few seconds: what the reader opened stays open.
  let opened = [];
  document.addEventListener("htmx:beforeSwap", () => {
    opened = [...document.querySelectorAll("details[open][id]")].map((d) => d.id);
  });
  document.addEventListener("htmx:afterSettle", () => {
    opened.forEach((id) => { const d = document.getElementById(id); if (d && !d.open) d.open = true; });
    opened = [];
  });
  document.addEventListener("DOMContentLoaded", () => refresh(document));
  document.addEventListener("htmx:afterSwap", (event) => refresh(event.target));
  setInterval(() => refresh(document), 30000);
})();
