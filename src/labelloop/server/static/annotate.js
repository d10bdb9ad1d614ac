// The annotate view: one item at a time, keyboard first, no page reloads. The answer widget
// is the task's (the page's data-widget): "choices" below, others from their own script
// (spans.js). A widget is { show(item), value(), describe(suggestion), render(busy), key(ev) }:
// value() is the answer to submit, or null while there is none. A widget makes its label
// buttons with LL.labelButton and asks ctx.labelFor(key) which label a key picks (the
// project's hotkeys); this page keeps the buttons' keys current and filters them by the
// label search.
"use strict";

// A label's button: its hotkey (if it has one), its name, its description as the tooltip.
LL.labelButton = (ctx, label, cls) => {
  const key = ctx.keyOf(label);
  const b = LL.el("button", { type: "button", class: cls, "data-label": label },
    LL.el("kbd", { hidden: !key }, key ? key.toUpperCase() : ""), " ", label);
  const description = ctx.descriptions[label];
  if (description) { b.title = description; b.dataset.description = description; }
  return b;
};

// The choices widget (classification): one button per label, each with its hotkey; on a
// multi-label project also "None applies" (key N unless a label has it): an answer of no
// label, which is not a skip.
LL.widgets.choices = (ctx) => {
  const { labels, multi } = ctx;
  const $ = (id) => document.getElementById(id);
  let selected = new Set();  // labels picked for the current item
  let noneApplies = false;   // multi-label: the answer is "no label applies"
  let shown = false;

  const buttons = labels.map((label) => {
    const b = LL.labelButton(ctx, label, "label");
    b.addEventListener("click", () => pick(label));
    $("labels").append(b);
    return b;
  });
  const noneButton = multi
    ? LL.el("button", { type: "button", id: "btn-none", class: "label none-applies" },
      LL.el("kbd", {}, "N"), " None applies")
    : null;
  if (noneButton) {
    noneButton.addEventListener("click", () => pickNone());
    $("labels").append(noneButton);
  }

  function pick(label) {
    if (!shown) return;
    noneApplies = false;
    if (multi) { selected.has(label) ? selected.delete(label) : selected.add(label); }
    else { selected = new Set([label]); }
    ctx.changed();
  }

  function pickNone() {
    if (!shown) return;
    noneApplies = !noneApplies;
    selected = new Set();
    ctx.changed();
  }

  return {
    show(item) {
      shown = true;
      $("item-text").textContent = LL.itemText(item.data);
      selected = new Set(item.suggestion ? item.suggestion.value : []);
      // a suggestion of no label proposes "none applies", to confirm with Enter
      noneApplies = multi && !!item.suggestion && item.suggestion.value.length === 0;
    },
    value() {
      if (noneApplies) return [];
      if (selected.size === 0) return null;
      const value = labels.filter((l) => selected.has(l));
      return multi ? value : value[0];
    },
    describe(suggestion) { return suggestion.value.join(", ") || "no label applies"; },
    render() {
      for (const b of buttons) {
        b.classList.toggle("selected", selected.has(b.dataset.label));
        b.setAttribute("aria-pressed", selected.has(b.dataset.label) ? "true" : "false");
      }
      if (noneButton) {
        noneButton.classList.toggle("selected", noneApplies);
        noneButton.setAttribute("aria-pressed", noneApplies ? "true" : "false");
      }
    },
    key(ev) {
      const label = ctx.labelFor(ev.key);
      if (label !== null) { pick(label); return true; }
      if (noneButton && (ev.key === "n" || ev.key === "N")) { pickNone(); return true; }
      return false;
    },
  };
};

(() => {
  const root = document.getElementById("annotate");
  if (!root) return;
  const project = encodeURIComponent(root.dataset.project);
  const $ = (id) => document.getElementById(id);

  let current = null;        // the queue item on screen
  let buffer = [];           // prefetched queue items
  let shownAt = 0;           // when the current item appeared (ms)
  let history = [];          // item ids submitted in this page, for undo
  let busy = false;
  let champion = undefined;  // champion version when the page loaded
  let done = 0;

  const labels = LL.jsonData("label-names") || [];
  let hotkeys = LL.jsonData("hotkeys") || {};  // label -> key
  let byKey = {};                              // key -> label
  const setKeys = (keys) => {
    hotkeys = keys;
    byKey = Object.fromEntries(Object.entries(keys).map(([label, key]) => [key, label]));
  };
  setKeys(hotkeys);

  const make = LL.widgets[root.dataset.widget];
  if (!make) { LL.say(`This page has no "${root.dataset.widget}" widget.`, "error"); return; }
  const widget = make({
    labels,
    multi: root.dataset.multi === "true",
    allowOverlap: root.dataset.overlap === "true",
    descriptions: LL.jsonData("label-descriptions") || {},
    keyOf: (label) => hotkeys[label] || "",
    labelFor: (key) => (key.length === 1 && byKey[key.toLowerCase()]) || null,
    changed: () => render(),
  });
  const panel = LL.itemPanel({ project, user: root.dataset.user, admin: root.dataset.admin === "true" });
  const labelButtons = () => root.querySelectorAll(".labels button[data-label]");

  function render() {
    widget.render(busy);
    $("btn-submit").disabled = !current || widget.value() === null || busy;
    $("btn-undo").disabled = history.length === 0 || busy;
    $("btn-skip").disabled = !current || busy;
    $("counter").textContent = done ? `${done} done in this session` : "";
  }

  function show(item) {
    current = item;
    $("done").hidden = !!item;
    root.querySelector(".item").hidden = !item;
    panel.show(item);
    if (!item) { $("suggestion").hidden = true; render(); return; }
    $("item-ref").textContent = "item " + (item.external_id || item.item_id);
    $("item-current").textContent = item.current ? "labelled: " + LL.answerText(item.current, item.data) : "";
    showMedia(item);
    widget.show(item);
    const s = item.suggestion;
    $("suggestion").hidden = !s;
    if (s) {
      $("sugg-label").textContent = widget.describe(s);
      $("sugg-conf").textContent = Math.round(100 * s.confidence) + "%";
      $("sugg-conf").className = "pill " + (s.confidence >= 0.8 ? "high" : s.confidence >= 0.5 ? "mid" : "low");
      $("sugg-model").textContent = s.model_version ? "model v" + s.model_version : "";
    }
    shownAt = performance.now();
    render();
  }

  function showMedia(item) {
    const box = $("item-media");
    box.replaceChildren();
    const kind = item.data && item.data.modality;
    const src = `/api/v1/projects/${project}/items/${item.item_id}/media`;
    if (kind === "image") box.append(LL.el("img", { src, alt: "item image" }));
    else if (kind === "audio") box.append(LL.el("audio", { src, controls: true }));
  }

  async function fill() {
    if (buffer.length) return;
    const batch = await LL.api("GET", `/projects/${project}/next?n=3`);
    const seen = new Set([current && current.item_id, ...history]);
    buffer = batch.items.filter((it) => !seen.has(it.item_id));
  }

  async function advance() {
    await fill();
    show(buffer.shift() || null);
    fill().catch(() => {});  // prefetch the one after
  }

  // An item by id (undo, or ?item= from the items page), shaped like a queue item.
  async function fetchItem(itemId) {
    const d = await LL.api("GET", `/projects/${project}/items/${itemId}`);
    return { item_id: d.item_id, external_id: d.external_id, data: d.data,
             suggestion: d.suggestion, tokens: d.tokens, current: d.current };
  }

  async function run(action) {
    if (busy) return;
    busy = true; render();
    // clear the last message first, so one the action leaves ("Undone: ...") stays on screen
    try { LL.say(""); await action(); }
    catch (e) { LL.say(e.message, "error"); }
    finally { busy = false; render(); }
  }

  function submit() {
    const value = current ? widget.value() : null;
    if (value === null) return;
    run(async () => {
      const item = current;
      const seconds = Math.round((performance.now() - shownAt) / 10) / 100;
      const res = await LL.api("POST", `/projects/${project}/annotations`, {
        item_id: item.item_id, value, seconds, request_id: LL.requestId(),
      });
      history.push(item.item_id);
      done += 1;
      if (res.retrain) $("training").textContent = "retraining the model…";
      await advance();
    });
  }

  function skip() {
    if (!current) return;
    run(async () => {
      await LL.api("POST", `/projects/${project}/items/${current.item_id}/skip`);
      await advance();
    });
  }

  function undo() {
    if (!history.length) return;
    run(async () => {
      const itemId = history[history.length - 1];
      await LL.api("POST", `/projects/${project}/items/${itemId}/undo`);
      history.pop();
      done = Math.max(0, done - 1);
      const item = await fetchItem(itemId);
      if (current) buffer.unshift(current);
      show(item);
      LL.say("Undone: the item is back.", "ok");
    });
  }

  async function poll() {
    try {
      const m = await LL.api("GET", `/projects/${project}/model`);
      if (champion === undefined) champion = m.champion;
      else if (m.champion !== champion) {
        champion = m.champion;
        const banner = $("model-banner");
        banner.textContent = `Model v${m.champion} has taken over: the next suggestions come from it.`;
        banner.hidden = false;
        buffer = [];  // refetch, so suggestions come from the new model
      }
      const t = m.training.state;
      $("training").textContent = t === "idle" ? (m.champion ? "model v" + m.champion : "no model yet") : "retraining the model…";
    } catch (e) { /* a missed poll is harmless */ }
  }

  // -- label search (projects with more than ten labels) -------------------------------------
  const search = $("label-search");
  let highlighted = null;  // the button Enter picks

  function filterLabels() {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const b of labelButtons()) {
      const hay = (b.dataset.label + " " + (b.dataset.description || "")).toLowerCase();
      const match = words.every((w) => hay.includes(w));
      b.hidden = !match;
      if (match) shown += 1;
    }
    $("label-search-count").textContent = words.length ? `${shown} of ${labels.length}` : "";
    highlight(visible()[0] || null);
  }

  const visible = () => Array.from(labelButtons()).filter((b) => !b.hidden);

  function highlight(button) {
    if (highlighted) highlighted.classList.remove("highlighted");
    highlighted = search.value.trim() ? button : null;
    if (highlighted) { highlighted.classList.add("highlighted"); highlighted.scrollIntoView({ block: "nearest" }); }
  }

  function clearSearch() {
    search.value = "";
    filterLabels();
    search.blur();
  }

  if (search) {
    search.addEventListener("input", filterLabels);
    search.addEventListener("keydown", (ev) => {
      const list = visible();
      const at = highlighted ? list.indexOf(highlighted) : -1;
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        if (!list.length) return;
        const step = ev.key === "ArrowDown" ? 1 : -1;
        highlight(list[(at + step + list.length) % list.length]);
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        if (!highlighted) return;
        highlighted.click();  // the widget's own click: pick (or label the selected words)
        clearSearch();
      } else if (ev.key === "Escape") {
        ev.preventDefault();
        clearSearch();
      }
    });
  }

  // -- hotkeys: shown on the buttons; admins edit them for the project ------------------------
  function showKeys() {
    for (const b of labelButtons()) {
      const kbd = b.querySelector("kbd");
      const key = hotkeys[b.dataset.label] || "";
      kbd.textContent = key.toUpperCase();
      kbd.hidden = !key;
    }
  }

  const editor = $("hotkey-editor");
  function openEditor() {
    const rows = labels.map((label) => {
      const input = LL.el("input", { type: "text", maxLength: 1, value: hotkeys[label] || "", size: 2, "data-label": label });
      input.setAttribute("aria-label", `hotkey of ${label}`);
      return LL.el("label", { class: "hotkey-row" }, input, " ", label);
    });
    $("hotkey-rows").replaceChildren(...rows);
    $("hotkeys-message").textContent = "";
    editor.hidden = false;
    const first = editor.querySelector("input");
    if (first) first.focus();
  }

  async function saveKeys(method) {
    const keys = {};
    for (const input of editor.querySelectorAll("input[data-label]")) {
      const key = input.value.trim().toLowerCase();
      if (key) keys[input.dataset.label] = key;
    }
    try {
      const res = method === "PUT"
        ? await LL.api("PUT", `/projects/${project}/hotkeys`, { hotkeys: keys })
        : await LL.api("DELETE", `/projects/${project}/hotkeys`);
      setKeys(res.hotkeys);
      showKeys();
      editor.hidden = true;
      LL.say(method === "PUT" ? "Hotkeys saved." : "Hotkeys are back to the defaults.", "ok");
    } catch (e) {
      const box = $("hotkeys-message");
      box.textContent = e.message;
      box.className = "message error";
    }
  }

  if (editor) {
    $("btn-hotkeys").addEventListener("click", () => (editor.hidden ? openEditor() : (editor.hidden = true)));
    $("hotkeys-save").addEventListener("click", () => saveKeys("PUT"));
    $("hotkeys-reset").addEventListener("click", () => saveKeys("DELETE"));
    $("hotkeys-close").addEventListener("click", () => { editor.hidden = true; });
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (editor && !editor.hidden) return;
    const key = ev.key;
    if (key === "Enter") { ev.preventDefault(); submit(); }
    else if (key === "s" || key === "S") { ev.preventDefault(); skip(); }
    else if (key === "z" || key === "Z") { ev.preventDefault(); undo(); }
    else if (key === "/" && search) { ev.preventDefault(); search.focus(); }
    else if (current && !busy && widget.key(ev)) ev.preventDefault();
  });
  $("btn-submit").addEventListener("click", submit);
  $("btn-skip").addEventListener("click", skip);
  $("btn-undo").addEventListener("click", undo);

  // ?item=<id> (a row of the items page): that item first, then the queue
  async function start() {
    const wanted = new URLSearchParams(location.search).get("item");
    if (wanted && /^[0-9]+$/.test(wanted)) {
      const item = await fetchItem(wanted);
      $("opened").hidden = false;
      const back = new URLSearchParams(location.search).get("back") || "";
      const list = `/projects/${project}/items` + (back.startsWith("?") ? back : "");
      $("opened").replaceChildren("Opened from the items list; the queue follows. ",
        LL.el("a", { href: list }, "Back to the items"));
      show(item);
      return;
    }
    await advance();
  }

  poll();
  setInterval(poll, 4000);
  run(start);
})();
