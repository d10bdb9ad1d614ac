// One item's history and comments (the annotate page's panel), and the compact text of an
// answer that the items list shares. Text goes into the page through textContent only.
"use strict";
(() => {
  // An answer in a few words: "tech, politics"; spans as 'PER "Peter Blackburn" · LOC ...';
  // boxes as "2 boxes: cat, dog".
  function answerText(value, data, { max = 4 } = {}) {
    if (value === null || value === undefined) return "–";
    if (!value.length) return "(none)";
    if (typeof value[0] !== "object") return value.join(", ");
    if ("w" in value[0]) {
      const names = value.slice(0, max).map((b) => b.label);
      if (value.length > max) names.push(`+${value.length - max} more`);
      return `${value.length} box${value.length === 1 ? "" : "es"}: ${names.join(", ")}`;
    }
    const text = LL.itemText(data);
    const parts = value.slice(0, max).map((s) => `${s.label} "${text.slice(s.start, s.end)}"`);
    if (value.length > max) parts.push(`+${value.length - max} more`);
    return parts.join(" · ");
  }

  const when = (at) => new Date(at).toLocaleString();
  const pct = (p) => Math.round(100 * p) + "%";

  // What one history event says, as [title, details].
  function describe(e, data) {
    switch (e.kind) {
      case "imported": return ["imported", ""];
      case "answer": {
        const what = e.value === null ? "retracted the label" : answerText(e.value, data);
        const bits = [e.source];
        if (e.reviewed) bits.push("review");
        if (e.model_version) bits.push(`saw model v${e.model_version}`);
        if (e.seconds !== null) bits.push(`${e.seconds} s`);
        if (e.note) bits.push(e.note);
        if (e.current) bits.push("current");
        return [`${e.who || "someone"}: ${what}`, bits.join(" · ")];
      }
      case "flag":
        return [`${e.who || "someone"} flagged the suggestion ${answerText(e.value, data)}` +
          (e.model_version ? ` (model v${e.model_version})` : ""), e.note || ""];
      case "model_version": {
        const said = e.value ? `predicts ${answerText(e.value, data)} ${pct(e.confidence)}` : "";
        return [`model v${e.model_version} trained`, [said, e.note].filter(Boolean).join(" · ")];
      }
      case "suggestion":
        return [`suggested now: ${answerText(e.value, data)} ${pct(e.confidence)}`,
          `model v${e.model_version}`];
      default: return [e.kind, ""];
    }
  }

  // The panel: ctx = { project (URL-encoded), user, admin }; show(item) loads what it needs
  // when the panel is open (and again when it is opened).
  function itemPanel(ctx) {
    const $ = (id) => document.getElementById(id);
    const panel = $("item-panel");
    if (!panel) return { show() {} };
    let item = null;
    let loaded = null;

    async function load() {
      if (!item || !panel.open || loaded === item.item_id) return;
      const id = item.item_id;
      loaded = id;
      const base = `/projects/${ctx.project}/items/${id}`;
      try {
        const [history, comments] = await Promise.all(
          [LL.api("GET", `${base}/history`), LL.api("GET", `${base}/comments`)]);
        if (!item || item.item_id !== id) return;
        renderHistory(history);
        renderComments(comments);
      } catch (e) { loaded = null; $("history-note").textContent = e.message; }
    }

    function renderHistory(history) {
      $("history").replaceChildren(...history.events.map((e) => {
        const [title, details] = describe(e, item.data);
        return LL.el("li", { class: "event " + e.kind, "data-kind": e.kind },
          LL.el("time", { class: "muted" }, when(e.at)), " ", LL.el("strong", {}, title),
          details ? LL.el("div", { class: "muted details" }, details) : null);
      }));
      const left = history.model_versions_total - history.model_versions_shown;
      $("history-note").textContent = left > 0 ? `${left} older model versions not shown.` : "";
    }

    function renderComments(comments) {
      $("comments").replaceChildren(...comments.map((c) => {
        let del = null;
        if (c.author === ctx.user || ctx.admin) {
          del = LL.el("button", { type: "button", class: "link remove" }, "Delete");
          del.addEventListener("click", () => remove(c.id));
        }
        return LL.el("li", { class: "comment", "data-id": String(c.id) },
          LL.el("strong", {}, c.author), " ", LL.el("time", { class: "muted" }, when(c.created_at)),
          del, LL.el("div", { class: "body" }, c.body));
      }));
      if (!comments.length) $("comments").append(LL.el("li", { class: "muted" }, "No comments yet."));
    }

    async function refreshComments() {
      const id = item.item_id;
      const comments = await LL.api("GET", `/projects/${ctx.project}/items/${id}/comments`);
      if (item && item.item_id === id) renderComments(comments);
    }

    async function remove(commentId) {
      if (!window.confirm("Delete this comment?")) return;
      try {
        await LL.api("DELETE", `/projects/${ctx.project}/items/${item.item_id}/comments/${commentId}`);
        await refreshComments();
      } catch (e) { LL.say(e.message, "error"); }
    }

    $("comment-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const box = $("comment-body");
      if (!item || !box.value.trim()) return;
      try {
        await LL.api("POST", `/projects/${ctx.project}/items/${item.item_id}/comments`, { body: box.value });
        box.value = "";
        await refreshComments();
      } catch (e) { LL.say(e.message, "error"); }
    });
    panel.addEventListener("toggle", load);

    return {
      show(next) {
        item = next;
        loaded = null;
        $("history").replaceChildren();
        $("comments").replaceChildren();
        $("history-note").textContent = "";
        panel.hidden = !next;
        load();
      },
      reload() { loaded = null; load(); },
    };
  }

  LL.answerText = answerText;
  LL.itemPanel = itemPanel;
})();
