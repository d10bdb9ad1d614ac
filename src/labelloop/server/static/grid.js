// Shared by the grid and the cluster view: a keyboard-navigable grid of thumbnails, and the
// project's label keys. LL.tiles(container) keeps the focus; the pages say what a tile shows.
"use strict";

LL.thumb = (project, itemId, size) =>
  `/api/v1/projects/${project}/items/${itemId}/thumbnail?size=${size || 160}`;

// The project's label hotkeys (label -> key; by default 1-9, 0 on the first ten labels) and
// the label each key picks.
LL.labelKeys = () => {
  const labels = LL.jsonData("label-names") || [];
  const hotkeys = LL.jsonData("hotkeys") || {};
  const byKey = {};
  for (const [label, key] of Object.entries(hotkeys)) byKey[key.toLowerCase()] = label;
  return {
    labels,
    keyOf: (label) => hotkeys[label] || "",
    labelFor: (key) => byKey[String(key).toLowerCase()] ?? null,
  };
};

// Focus movement in a CSS grid of tiles: the number of columns is read from the layout.
LL.tileGrid = (container) => {
  let focus = 0;
  const tiles = () => Array.from(container.querySelectorAll(".tile"));
  const columns = () => {
    const all = tiles();
    if (!all.length) return 1;
    const top = all[0].offsetTop;
    const n = all.findIndex((t) => t.offsetTop !== top);
    return n === -1 ? all.length : n;
  };
  const show = () => {
    const all = tiles();
    all.forEach((t, i) => {
      t.classList.toggle("focused", i === focus);
      t.tabIndex = i === focus ? 0 : -1;
    });
    if (all[focus]) all[focus].scrollIntoView({ block: "nearest" });
  };
  return {
    get index() { return focus; },
    set(i) { focus = Math.max(0, Math.min(i, tiles().length - 1)); show(); },
    // arrow keys; true when the key moved the focus
    move(key) {
      const steps = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns(), ArrowDown: columns() };
      if (!(key in steps)) return false;
      const next = focus + steps[key];
      if (next >= 0 && next < tiles().length) { focus = next; show(); }
      return true;
    },
    refresh: show,
  };
};

(() => {
  const root = document.getElementById("grid-page");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const project = encodeURIComponent(root.dataset.project);
  const multi = root.dataset.multi === "true";
  const perScreen = Number(root.dataset.perScreen) || 24;
  const keys = LL.labelKeys();
  const nav = LL.tileGrid($("tiles"));

  let tiles = [];       // {item, value: [labels], suggested: [labels] | null, selected}
  let shownAt = 0;
  let busy = false;
  let picking = null;   // the tile whose label picker is open

  $("key-list").textContent = keys.labels
    .filter((l) => keys.keyOf(l)).map((l) => `${keys.keyOf(l).toUpperCase()} ${l}`).join(", ");

  const same = (a, b) => !!a && !!b && a.length === b.length && a.every((x, i) => x === b[i]);

  function caption(tile) {
    if (!tile.value.length) return "no suggestion: pick a label";
    const kept = same(tile.value, tile.suggested);
    const conf = kept && tile.item.suggestion
      ? ` ${Math.round(tile.item.suggestion.confidence * 100)}%` : "";
    return tile.value.join(", ") + conf;
  }

  function render() {
    const box = $("tiles");
    box.replaceChildren();
    tiles.forEach((tile, i) => {
      const corrected = tile.value.length > 0 && !same(tile.value, tile.suggested);
      const node = LL.el("div", {
        class: "tile" + (tile.selected ? " selected" : "") + (corrected ? " corrected" : ""),
        role: "gridcell", "data-item-id": String(tile.item.item_id),
        "data-label": tile.value.join(","),
      },
      LL.el("img", { src: LL.thumb(project, tile.item.item_id), alt: tile.item.external_id || `item ${tile.item.item_id}`, loading: "lazy" }),
      LL.el("span", { class: "caption" }, caption(tile)));
      node.setAttribute("aria-selected", tile.selected ? "true" : "false");
      node.addEventListener("click", () => { nav.set(i); openPicker(i); });
      box.append(node);
    });
    nav.refresh();
    const chosen = tiles.filter((t) => t.selected).length;
    $("accept-what").textContent = chosen ? `${chosen} selected` : "all";
    $("grid-count").textContent = tiles.length ? `· ${tiles.length} images` : "";
  }

  function setLabel(i, label) {
    const tile = tiles[i];
    if (!tile) return;
    if (multi) {
      const has = new Set(tile.value);
      has.has(label) ? has.delete(label) : has.add(label);
      tile.value = keys.labels.filter((l) => has.has(l));
    } else {
      tile.value = [label];
    }
    render();
  }

  function openPicker(i) {
    picking = i;
    const box = $("picker-labels");
    box.replaceChildren();
    for (const label of keys.labels) {
      const key = keys.keyOf(label);
      const b = LL.el("button", { type: "button", class: "label", "data-label": label },
        LL.el("kbd", { hidden: !key }, key.toUpperCase()), " ", label);
      b.classList.toggle("selected", tiles[i].value.includes(label));
      b.addEventListener("click", () => { setLabel(i, label); closePicker(); });
      box.append(b);
    }
    $("picker").hidden = false;
  }

  function closePicker() { picking = null; $("picker").hidden = true; }

  function zoom() {
    const tile = tiles[nav.index];
    if (!tile) return;
    $("zoom-img").src = `/api/v1/projects/${project}/items/${tile.item.item_id}/media`;
    $("zoom-img").alt = tile.item.external_id || "";
    $("zoom-caption").textContent = `${tile.item.external_id || "item " + tile.item.item_id} · ${caption(tile)} · Esc closes`;
    $("zoom").hidden = false;
  }

  function closeZoom() { $("zoom").hidden = true; $("zoom-img").removeAttribute("src"); }

  async function load() {
    busy = true;
    try {
      const batch = await LL.api("GET", `/projects/${project}/next?n=${perScreen}`);
      tiles = batch.items.map((item) => {
        const suggested = item.suggestion ? item.suggestion.value : null;
        return { item, suggested, value: suggested ? [...suggested] : [], selected: false };
      });
      $("done").hidden = tiles.length > 0;
      nav.set(0);
      render();
      shownAt = performance.now();
    } catch (err) {
      LL.say(err.message, "error");
    } finally {
      busy = false;
    }
  }

  async function accept() {
    if (busy || !tiles.length) return;
    const chosen = tiles.some((t) => t.selected) ? tiles.filter((t) => t.selected) : tiles;
    const unlabelled = chosen.filter((t) => !t.value.length);
    if (unlabelled.length) {
      nav.set(tiles.indexOf(unlabelled[0]));
      LL.say(`${unlabelled.length} image(s) have no label yet: pick one (its key, or click it)`, "error");
      return;
    }
    const seconds = Math.min((performance.now() - shownAt) / 1000 / chosen.length, 86400);
    const answers = chosen.map((t) => ({
      item_id: t.item.item_id,
      value: multi ? t.value : t.value[0],
      seconds: Math.round(seconds * 1000) / 1000,
      request_id: t.requestId || (t.requestId = LL.requestId()),
    }));
    busy = true;
    try {
      const result = await LL.api("POST", `/projects/${project}/annotations/bulk`, { answers });
      LL.say(`Saved ${answers.length}: ${result.accepted} suggestions accepted, ${result.corrected} corrected.`, "ok");
    } catch (err) {
      busy = false;
      LL.say(err.message, "error");
      return;
    }
    busy = false;
    await load();
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key;
    if (!$("zoom").hidden) {
      if (key === "Escape" || key === "z" || key === "Z") { ev.preventDefault(); closeZoom(); }
      return;
    }
    if (key === "Escape" && picking !== null) { ev.preventDefault(); closePicker(); return; }
    if (busy) return;
    if (nav.move(key)) { ev.preventDefault(); return; }
    if (key === " ") {
      ev.preventDefault();
      const tile = tiles[nav.index];
      if (tile) { tile.selected = !tile.selected; render(); }
    } else if (key === "a" || key === "A" || key === "Enter") {
      ev.preventDefault();
      if (picking !== null) closePicker();
      accept();
    } else if (key === "z" || key === "Z") {
      ev.preventDefault();
      zoom();
    } else {
      const label = keys.labelFor(key);
      if (label !== null) {
        ev.preventDefault();
        setLabel(picking !== null ? picking : nav.index, label);
        if (picking !== null) closePicker();
      }
    }
  });
  $("btn-accept").addEventListener("click", accept);
  $("btn-zoom").addEventListener("click", zoom);
  $("picker-close").addEventListener("click", closePicker);
  $("zoom").addEventListener("click", closeZoom);
  load();
})();
