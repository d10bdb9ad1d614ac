// The annotate view: one item at a time, keyboard first, no page reloads. The answer widget
// is the task's (the page's data-widget): "choices" below, others from their own script
// (spans.js). A widget is { show(item), value(), describe(suggestion), render(busy), key(ev) }:
// value() is the answer to submit, or null while there is none.
"use strict";

// The choices widget (classification): one button per label, keys 1-9 and 0.
LL.widgets.choices = (ctx) => {
  const { labels, multi } = ctx;
  const $ = (id) => document.getElementById(id);
  let selected = new Set();  // labels picked for the current item
  let shown = false;

  const buttons = labels.map((label, i) => {
    const key = i < 9 ? String(i + 1) : i === 9 ? "0" : "";
    const b = LL.el("button", { type: "button", class: "label", "data-label": label },
      key ? LL.el("kbd", {}, key) : null, " ", label);
    b.addEventListener("click", () => pick(label));
    $("labels").append(b);
    return b;
  });

  function pick(label) {
    if (!shown) return;
    if (multi) { selected.has(label) ? selected.delete(label) : selected.add(label); }
    else { selected = new Set([label]); }
    ctx.changed();
  }

  return {
    show(item) {
      shown = true;
      $("item-text").textContent = LL.itemText(item.data);
      selected = new Set(item.suggestion ? item.suggestion.value : []);
    },
    value() {
      if (selected.size === 0) return null;
      const value = labels.filter((l) => selected.has(l));
      return multi ? value : value[0];
    },
    describe(suggestion) { return suggestion.value.join(", "); },
    render() {
      for (const b of buttons) {
        b.classList.toggle("selected", selected.has(b.dataset.label));
        b.setAttribute("aria-pressed", selected.has(b.dataset.label) ? "true" : "false");
      }
    },
    key(ev) {
      if (!/^[0-9]$/.test(ev.key)) return false;
      const index = ev.key === "0" ? 9 : Number(ev.key) - 1;
      if (index >= labels.length) return false;
      pick(labels[index]);
      return true;
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

  const make = LL.widgets[root.dataset.widget];
  if (!make) { LL.say(`This page has no "${root.dataset.widget}" widget.`, "error"); return; }
  const widget = make({
    labels: LL.jsonData("label-names") || [],
    multi: root.dataset.multi === "true",
    allowOverlap: root.dataset.overlap === "true",
    changed: () => render(),
  });

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
    if (!item) { $("suggestion").hidden = true; render(); return; }
    $("item-ref").textContent = "item " + (item.external_id || item.item_id);
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

  async function run(action) {
    if (busy) return;
    busy = true; render();
    try { await action(); LL.say(""); }
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
      const detail = await LL.api("GET", `/projects/${project}/items/${itemId}`);
      if (current) buffer.unshift(current);
      show({ item_id: detail.item_id, external_id: detail.external_id, data: detail.data,
             suggestion: detail.suggestion, tokens: detail.tokens });
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

  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key;
    if (key === "Enter") { ev.preventDefault(); submit(); }
    else if (key === "s" || key === "S") { ev.preventDefault(); skip(); }
    else if (key === "z" || key === "Z") { ev.preventDefault(); undo(); }
    else if (current && !busy && widget.key(ev)) ev.preventDefault();
  });
  $("btn-submit").addEventListener("click", submit);
  $("btn-skip").addEventListener("click", skip);
  $("btn-undo").addEventListener("click", undo);

  poll();
  setInterval(poll, 4000);
  run(advance);
})();
