// The cluster view: the project's k-means clusters, largest first; open one, pick a label,
// deselect the odd ones (click, or Space on the focused tile), label the rest in one submit.
"use strict";
(() => {
  const root = document.getElementById("clusters-page");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const project = encodeURIComponent(root.dataset.project);
  const multi = root.dataset.multi === "true";
  const keys = LL.labelKeys();
  const nav = LL.tileGrid($("members"));

  let k = null;          // clusters asked for (null: the server's default)
  let listing = null;    // the last cluster list
  let open = null;       // {cluster, items, deselected: Set of item ids}
  let chosen = null;     // the label to give
  let busy = false;

  const kQuery = () => (k ? `?k=${k}` : "");

  async function showList() {
    open = null;
    $("cluster-open").hidden = true;
    $("cluster-list").hidden = false;
    try {
      listing = await LL.api("GET", `/projects/${project}/clusters${kQuery()}`);
    } catch (err) { LL.say(err.message, "error"); return; }
    $("k").value = listing.k;
    $("cluster-summary").textContent = `· ${listing.items} items in ${listing.k} clusters`;
    const box = $("cluster-list");
    box.replaceChildren();
    for (const c of listing.clusters) {
      const labels = Object.entries(c.labels).map(([l, n]) => `${l} ${n}`).join(", ");
      const samples = LL.el("div", { class: "samples" });
      for (const id of c.sample_item_ids) {
        samples.append(listing.media
          ? LL.el("img", { src: LL.thumb(project, id, 96), alt: `item ${id}`, loading: "lazy" })
          : LL.el("span", {}, `#${id}`));
      }
      const card = LL.el("button", { type: "button", class: "card cluster-card", "data-cluster": String(c.cluster) },
        LL.el("strong", {}, `Cluster ${c.cluster + 1}`), " ",
        LL.el("span", { class: "muted" }, `${c.size} items · ${c.unlabelled} unlabelled${labels ? " · labelled: " + labels : ""}`),
        samples);
      card.addEventListener("click", () => openCluster(c.cluster));
      box.append(card);
    }
  }

  async function openCluster(cluster) {
    let members;
    try {
      members = await LL.api("GET", `/projects/${project}/clusters/${cluster}${kQuery()}`);
    } catch (err) { LL.say(err.message, "error"); return; }
    const unlabelled = members.items.filter((m) => !m.label);
    open = { cluster, items: unlabelled, deselected: new Set() };
    // the label the cluster's suggestions agree on most, as a first guess
    const votes = {};
    for (const m of unlabelled) if (m.suggested && m.suggested.length === 1) votes[m.suggested[0]] = (votes[m.suggested[0]] || 0) + 1;
    const best = Object.entries(votes).sort((a, b) => b[1] - a[1])[0];
    chosen = best ? best[0] : null;
    $("cluster-title").textContent = `Cluster ${cluster + 1}: ${unlabelled.length} unlabelled of ${members.size}`;
    $("cluster-list").hidden = true;
    $("cluster-open").hidden = false;
    LL.say("");
    nav.set(0);
    renderOpen();
  }

  function renderLabels() {
    const box = $("cluster-labels");
    box.replaceChildren();
    for (const label of keys.labels) {
      const key = keys.keyOf(label);
      const b = LL.el("button", { type: "button", class: "label", "data-label": label },
        LL.el("kbd", { hidden: !key }, key.toUpperCase()), " ", label);
      b.classList.toggle("selected", label === chosen);
      b.setAttribute("aria-pressed", label === chosen ? "true" : "false");
      b.addEventListener("click", () => { chosen = label; renderOpen(); });
      box.append(b);
    }
  }

  function renderOpen() {
    renderLabels();
    const box = $("members");
    box.replaceChildren();
    open.items.forEach((m, i) => {
      const off = open.deselected.has(m.item_id);
      const body = listing && listing.media
        ? LL.el("img", { src: LL.thumb(project, m.item_id), alt: m.external_id || `item ${m.item_id}`, loading: "lazy" })
        : LL.el("span", { class: "snippet" }, m.snippet || "");
      const tile = LL.el("div", { class: "tile" + (off ? " deselected" : " selected"), role: "gridcell", "data-item-id": String(m.item_id) },
        body, LL.el("span", { class: "caption" }, m.suggested ? `suggested ${m.suggested.join(", ")}` : m.external_id || ""));
      tile.setAttribute("aria-selected", off ? "false" : "true");
      tile.addEventListener("click", () => { nav.set(i); toggle(i); });
      box.append(tile);
    });
    nav.refresh();
    const n = open.items.length - open.deselected.size;
    $("n-selected").textContent = String(n);
    $("chosen-label").textContent = chosen || "… (pick a label)";
    $("btn-label").disabled = !chosen || n === 0 || busy;
  }

  function toggle(i) {
    const m = open.items[i];
    if (!m) return;
    open.deselected.has(m.item_id) ? open.deselected.delete(m.item_id) : open.deselected.add(m.item_id);
    renderOpen();
  }

  async function labelSelected() {
    if (!open || !chosen || busy) return;
    const picked = open.items.filter((m) => !open.deselected.has(m.item_id));
    if (!picked.length) return;
    const answers = picked.map((m) => ({ item_id: m.item_id, value: multi ? [chosen] : chosen }));
    busy = true;
    try {
      const result = await LL.api("POST", `/projects/${project}/annotations/bulk`, { answers });
      busy = false;
      await showList();
      LL.say(`Labelled ${result.results.length} items as ${chosen}.`, "ok");
    } catch (err) {
      busy = false;
      LL.say(err.message, "error");
      renderOpen();
    }
  }

  document.addEventListener("keydown", (ev) => {
    if (!open || ev.target.closest("input, textarea, select") || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const key = ev.key;
    if (nav.move(key)) { ev.preventDefault(); return; }
    if (key === " ") { ev.preventDefault(); toggle(nav.index); }
    else if (key === "Enter") { ev.preventDefault(); labelSelected(); }
    else if (key === "Escape") { ev.preventDefault(); showList(); }
    else {
      const label = keys.labelFor(key);
      if (label !== null) { ev.preventDefault(); chosen = label; renderOpen(); }
    }
  });
  $("btn-label").addEventListener("click", labelSelected);
  $("btn-back").addEventListener("click", showList);
  $("btn-all").addEventListener("click", () => { open.deselected.clear(); renderOpen(); });
  $("btn-none").addEventListener("click", () => { open.deselected = new Set(open.items.map((m) => m.item_id)); renderOpen(); });
  $("k-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = Number($("k").value);
    k = Number.isInteger(value) && value >= 1 ? value : null;
    showList();
  });
  showList();
})();
