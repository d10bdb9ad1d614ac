// The review view: candidates with every answer side by side; accept one or override. In span
// projects each answer (and the model's suggestion) is the item's text with its spans marked;
// in box projects it is the item's image with its boxes drawn (boxes.js), read-only.
"use strict";
(() => {
  const root = document.getElementById("review");
  if (!root) return;
  const project = encodeURIComponent(root.dataset.project);
  const multi = root.dataset.multi === "true";
  const spans = root.dataset.widget === "spans";
  const boxes = root.dataset.widget === "boxes";
  const structured = spans || boxes;  // an answer is a list of regions, settled as a whole
  const labels = LL.jsonData("label-names") || [];
  const REASONS = {
    disagreement: "annotators disagree",
    rejected_suggestion: "suggestion rejected",
    audit_auto: "audit: auto-accepted",
  };
  const list = document.getElementById("candidates");

  function valueText(v) {
    if (!v) return "–";
    if (spans) return v.length === 1 ? "1 span" : `${v.length} spans`;
    if (boxes) return v.length === 0 ? "no objects" : v.length === 1 ? "1 box" : `${v.length} boxes`;
    return v.join(", ");
  }

  // What an answer says: its labels, or (spans) the text with the answer's spans marked.
  function valueCell(c, value, probs, suggested) {
    if (boxes && value) {
      const src = LL.boxes.mediaUrl(project, c.item_id);
      return LL.el("td", { class: "boxes-answer" }, LL.boxes.figure(src, value, labels, { suggested }));
    }
    if (!spans || !value) return LL.el("td", {}, valueText(value));
    return LL.el("td", { class: "spans-answer" }, LL.spans.highlight(LL.itemText(c.data), value, labels, probs));
  }

  async function resolve(card, itemId, value) {
    try {
      // a suggested box's score is the model's, not part of an answer
      const answer = boxes ? value.map(({ x, y, w, h, label }) => ({ x, y, w, h, label }))
        : structured || multi ? value : value[0];
      await LL.api("POST", `/projects/${project}/review/${itemId}`, { value: answer });
      card.classList.add("resolved");
      card.querySelector(".outcome").textContent = "Settled as " + valueText(value);
      for (const b of card.querySelectorAll("button, select")) b.disabled = true;
    } catch (e) { LL.say(e.message, "error"); }
  }

  function card(c) {
    const node = LL.el("article", { class: "card candidate", "data-item": String(c.item_id) });
    const chips = LL.el("div", { class: "chips" },
      ...c.reasons.map((r) => LL.el("span", { class: "chip " + r }, REASONS[r] || r)));
    node.append(LL.el("div", { class: "meta" },
      LL.el("span", { class: "muted" }, "item " + (c.external_id || c.item_id)), chips));
    if (!boxes) node.append(LL.el("div", { class: "text" }, LL.itemText(c.data)));
    const rows = c.answers.map((a) => {
      const accept = LL.el("button", { type: "button" }, "Accept");
      accept.addEventListener("click", () => resolve(node, c.item_id, a.value));
      return LL.el("tr", { class: a.current ? "current" : "" },
        LL.el("td", {}, a.annotator || "–"), valueCell(c, a.value, null, false),
        LL.el("td", {}, a.source + (a.reviewed ? " (review)" : "")),
        LL.el("td", {}, new Date(a.created_at).toLocaleString()), LL.el("td", {}, accept));
    });
    if (c.suggestion) {
      const accept = LL.el("button", { type: "button" }, "Accept");
      accept.addEventListener("click", () => resolve(node, c.item_id, c.suggestion.value));
      rows.push(LL.el("tr", { class: "model" },
        LL.el("td", {}, "model v" + (c.suggestion.model_version || "?")),
        valueCell(c, c.suggestion.value, c.suggestion.pred_probs, true),
        LL.el("td", {}, "suggestion " + Math.round(100 * c.suggestion.confidence) + "%"),
        LL.el("td", {}, ""), LL.el("td", {}, accept)));
    }
    node.append(LL.el("table", { class: "answers" },
      LL.el("thead", {}, LL.el("tr", {}, ...["who", spans ? "spans" : boxes ? "boxes" : "label", "source", "when", ""].map((h) => LL.el("th", {}, h)))),
      LL.el("tbody", {}, ...rows)));
    if (structured) {  // span and box projects: a reviewer settles an item by accepting one answer
      node.append(LL.el("div", { class: "override" }, LL.el("span", { class: "outcome muted" })));
      return node;
    }
    const select = LL.el("select", { multiple: multi, "aria-label": "override label" },
      ...labels.map((l) => LL.el("option", { value: l }, l)));
    const override = LL.el("button", { type: "button", class: "primary" }, "Override");
    override.addEventListener("click", () => {
      const value = Array.from(select.selectedOptions, (o) => o.value);
      if (value.length) resolve(node, c.item_id, value);
    });
    node.append(LL.el("div", { class: "override" }, "Other label: ", select, " ", override,
      LL.el("span", { class: "outcome muted" })));
    return node;
  }

  async function load() {
    const source = document.getElementById("source").value;
    const query = source ? "?source=" + encodeURIComponent(source) : "";
    try {
      const items = await LL.api("GET", `/projects/${project}/review${query}`);
      list.replaceChildren(...items.map(card));
      document.getElementById("empty").hidden = items.length > 0;
    } catch (e) { LL.say(e.message, "error"); }
  }

  document.getElementById("source").addEventListener("change", load);
  load();
})();
