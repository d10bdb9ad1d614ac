// The items page: filters in the URL (so a link or the back button keeps them), one page of
// GET /items at a time; a row opens its item on the annotate page.
"use strict";
(() => {
  const root = document.getElementById("items");
  if (!root) return;
  const project = encodeURIComponent(root.dataset.project);
  const $ = (id) => document.getElementById(id);
  const form = $("filters");
  const PERCENT = new Set(["min_confidence", "max_confidence"]);
  let offset = 0;

  // the form's filters as API query parameters (confidence in 0-1, the form shows percent)
  function params() {
    const p = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      const v = String(value).trim();
      if (!v) continue;
      p.set(name, PERCENT.has(name) ? String(Number(v) / 100) : v);
    }
    if (offset) p.set("offset", String(offset));
    return p;
  }

  function fromUrl() {
    const p = new URLSearchParams(location.search);
    for (const el of form.elements) {
      if (!el.name || !p.has(el.name)) continue;
      const v = p.get(el.name);
      el.value = PERCENT.has(el.name) ? String(Math.round(Number(v) * 100)) : v;
    }
    offset = Math.max(0, Number(p.get("offset")) || 0);
  }

  function row(it) {
    const query = "?" + params().toString();
    const href = `/projects/${project}/annotate?item=${it.item_id}&back=${encodeURIComponent(query)}`;
    const open = LL.el("a", { href, class: "open" }, it.external_id || String(it.item_id));
    const text = LL.itemText(it.data);
    const badges = [];
    if (it.gold) badges.push(LL.el("span", { class: "chip" }, "gold"));
    if (it.flagged) badges.push(LL.el("span", { class: "chip disagreement" }, "flagged"));
    const conf = it.confidence === null ? "–" : Math.round(100 * it.confidence) + "%";
    const tr = LL.el("tr", { class: "item-row", "data-item": String(it.item_id) },
      LL.el("td", {}, open, ...(badges.length ? [" ", ...badges] : [])),
      LL.el("td", { class: "snippet" }, text.length > 160 ? text.slice(0, 160) + "…" : text),
      LL.el("td", {}, LL.answerText(it.label, it.data)),
      LL.el("td", {}, it.source || "–"),
      LL.el("td", {}, it.annotator || "–"),
      LL.el("td", {}, LL.answerText(it.suggestion, it.data) + (it.model_version ? ` (v${it.model_version})` : "")),
      LL.el("td", {}, conf));
    tr.addEventListener("click", (ev) => { if (!ev.target.closest("a")) location.href = href; });
    return tr;
  }

  async function load() {
    const p = params();
    history.replaceState(null, "", "?" + p.toString());
    try {
      const page = await LL.api("GET", `/projects/${project}/items?${p.toString()}`);
      $("rows").replaceChildren(...page.items.map(row));
      $("empty").hidden = page.items.length > 0;
      const last = Math.min(page.total, page.offset + page.items.length);
      $("count").textContent = page.total
        ? `${page.offset + 1}–${last} of ${page.total} item${page.total === 1 ? "" : "s"}` : "0 items";
      $("prev").disabled = page.offset === 0;
      $("next").disabled = last >= page.total;
      const pages = Math.max(1, Math.ceil(page.total / page.limit));
      $("page").textContent = `page ${Math.floor(page.offset / page.limit) + 1} of ${pages}`;
      LL.say("");
    } catch (e) { LL.say(e.message, "error"); }
  }

  const limit = () => Number(form.elements.limit.value) || 50;
  form.addEventListener("submit", (ev) => { ev.preventDefault(); offset = 0; load(); });
  form.addEventListener("change", (ev) => { if (ev.target.tagName === "SELECT") { offset = 0; load(); } });
  form.addEventListener("reset", () => setTimeout(() => { offset = 0; load(); }, 0));
  $("prev").addEventListener("click", () => { offset = Math.max(0, offset - limit()); load(); });
  $("next").addEventListener("click", () => { offset += limit(); load(); });

  fromUrl();
  load();
})();
