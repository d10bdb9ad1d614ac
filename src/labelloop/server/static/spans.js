// The spans widget (named entities): the item's text as tokens; select words with the mouse or
// the keyboard, label them with the labels' hotkeys, accept the suggested spans with Enter.
// Text goes into the page through textContent only (LL.el and text nodes), never as markup.
"use strict";
(() => {
  const COLOURS = 10;  // app.css has .lbl-0 … .lbl-9; later labels reuse them

  const keyOf = (s) => `${s.start}:${s.end}:${s.label}`;
  const pct = (p) => Math.round(100 * p) + "%";
  const colour = (labels, label) => "lbl-" + (Math.max(0, labels.indexOf(label)) % COLOURS);

  // A tag after a span's last word: its label, its confidence when the model suggested it.
  function tag(labels, label, p) {
    const node = LL.el("span", { class: "tag " + colour(labels, label) }, label);
    if (p !== null && p !== undefined) node.append(" ", LL.el("small", { class: "conf" }, pct(p)));
    node.title = p === null || p === undefined ? label : `${label}: suggested, ${pct(p)} confident`;
    return node;
  }

  // Read-only: `text` with char `spans` ({start, end, label}) highlighted; `probs` maps
  // "start:end:label" to the model's confidence in that span (the review view uses this).
  function highlight(text, spans, labels, probs) {
    const box = LL.el("div", { class: "text spans-text" });
    const list = (spans || []).filter((s) => s.end > s.start).slice()
      .sort((x, y) => x.start - y.start || x.end - y.end);
    const cuts = new Set([0, text.length]);
    for (const s of list) { cuts.add(Math.min(s.start, text.length)); cuts.add(Math.min(s.end, text.length)); }
    const points = [...cuts].sort((x, y) => x - y);
    for (let k = 0; k + 1 < points.length; k++) {
      const [a, b] = [points[k], points[k + 1]];
      const over = list.filter((s) => s.start <= a && s.end >= b);
      const words = text.slice(a, b);
      if (!over.length) box.append(document.createTextNode(words));
      else {
        const cls = "span " + colour(labels, over[0].label) + (over.length > 1 ? " multi" : "");
        box.append(LL.el("mark", { class: cls }, words));
      }
      for (const s of list.filter((s) => Math.min(s.end, text.length) === b)) {
        box.append(tag(labels, s.label, probs ? probs[keyOf(s)] : null));
      }
    }
    if (!list.length) box.append(LL.el("span", { class: "muted none" }, " (no spans)"));
    return box;
  }

  // The editor: ctx = { labels, allowOverlap, keyOf, labelFor, descriptions, changed() };
  // annotate.js drives it.
  function spansWidget(ctx) {
    const { labels, allowOverlap } = ctx;
    const $ = (id) => document.getElementById(id);
    const textBox = $("item-text");
    textBox.classList.add("spans-text");

    let text = "";
    let tokens = null;   // [[start, end], …] char offsets from the server
    let spans = [];      // {a, b, label, p}: tokens a..b-1; p is the model's confidence or null
    let anchor = null;   // selection: tokens from anchor to head (either order), or none
    let head = null;
    let target = null;   // the selected span (an index into spans) or null
    let drag = null;     // {keep, moved} while the mouse button is down on the text

    // label buttons, built once: a click labels the selection like its hotkey
    const buttons = labels.map((label) => {
      const b = LL.labelButton(ctx, label, "label " + colour(labels, label));
      b.addEventListener("click", () => apply(label));
      $("span-labels").append(b);
      return b;
    });

    const range = () => anchor === null ? null : [Math.min(anchor, head), Math.max(anchor, head) + 1];
    const words = (a, b) => text.slice(tokens[a][0], tokens[b - 1][1]);
    const spanAt = (i) => { const k = spans.findIndex((s) => s.a <= i && i < s.b); return k < 0 ? null : k; };
    const clash = (a, b, label, skip) => spans.find((s, k) => k !== skip &&
      (allowOverlap ? s.a === a && s.b === b && s.label === label : s.a < b && a < s.b));

    function select(k, headAtStart) {
      target = k;
      const s = spans[k];
      [anchor, head] = headAtStart ? [s.b - 1, s.a] : [s.a, s.b - 1];
    }

    function sortKeeping(span) {
      spans.sort((x, y) => x.a - y.a || x.b - y.b || (x.label < y.label ? -1 : x.label > y.label ? 1 : 0));
      return spans.indexOf(span);
    }

    function refuse(a, b, other) {
      if (allowOverlap) {
        LL.say(`"${words(a, b)}" is already a ${other.label} span.`, "error");
        return;
      }
      LL.say(`"${words(a, b)}" overlaps the ${other.label} span "${words(other.a, other.b)}": ` +
        "spans may not overlap in this project. Remove that span first (select it, Backspace) " +
        "or fix its boundary with Shift+arrows.", "error");
    }

    // Give the selection a label: relabel the selected span, or add a new span.
    function apply(label) {
      const r = range();
      if (!tokens || !r) { LL.say("Select words first: drag across them, or use the arrow keys.", "error"); return; }
      const [a, b] = r;
      if (target !== null) {
        const other = clash(a, b, label, target);
        if (other) { refuse(a, b, other); return; }
        const span = spans[target];
        // the same label again confirms the span: a suggested one keeps its confidence
        if (span.a !== a || span.b !== b || span.label !== label) Object.assign(span, { a, b, label, p: null });
        target = sortKeeping(span);
      } else {
        const other = clash(a, b, label, -1);
        if (other) { refuse(a, b, other); return; }
        const span = { a, b, label, p: null };
        spans.push(span);
        target = sortKeeping(span);
      }
      LL.say("");
      build();
    }

    // Move the selected span's boundary to the selection (Shift+arrows, or a drag inside it).
    function reshape(before) {
      const [a, b] = range();
      const span = spans[target];
      const other = clash(a, b, span.label, target);
      if (other) { refuse(a, b, other); [anchor, head] = before; return; }
      Object.assign(span, { a, b, p: null });
      target = sortKeeping(span);
      LL.say("");
    }

    function remove(k) {
      spans.splice(k, 1);
      target = null;
      if (anchor !== null) anchor = head;
      LL.say("");
      build();
    }

    // The text as token elements, spans coloured, a tag (label, confidence, remove button)
    // after each span's last token.
    function build() {
      textBox.replaceChildren();
      if (!tokens) { textBox.textContent = text; ctx.changed(); return; }
      let at = 0;
      tokens.forEach(([s, e], i) => {
        if (s > at) {  // the space between two tokens of a span is the span's colour too
          const both = spans.filter((sp) => sp.a < i && i < sp.b);
          const gap = text.slice(at, s);
          if (both.length) textBox.append(LL.el("span", { class: "gap in " + colour(labels, both[0].label), "data-i": String(i) }, gap));
          else textBox.append(LL.el("span", { class: "gap", "data-i": String(i) }, gap));
        }
        const over = spans.filter((sp) => sp.a <= i && i < sp.b);
        let cls = "tok";
        if (over.length) cls += " in " + colour(labels, over[0].label) + (over.length > 1 ? " multi" : "");
        if (over.some((sp) => sp.a === i)) cls += " first";
        if (over.some((sp) => sp.b === i + 1)) cls += " last";
        const node = LL.el("span", { class: cls, "data-i": String(i) }, text.slice(s, e));
        node.addEventListener("mousedown", (ev) => down(ev, i));
        node.addEventListener("mouseover", () => hover(i));
        textBox.append(node);
        spans.forEach((sp, k) => {
          if (sp.b !== i + 1) return;
          const t = tag(labels, sp.label, sp.p);
          t.dataset.span = String(k);
          const x = LL.el("button", { type: "button", class: "x", title: "Remove this span (Backspace)" }, "×");
          x.setAttribute("aria-label", `remove ${sp.label} span ${words(sp.a, sp.b)}`);
          x.addEventListener("mousedown", (ev) => ev.stopPropagation());
          x.addEventListener("click", (ev) => { ev.stopPropagation(); remove(k); });
          t.append(x);
          t.addEventListener("mousedown", (ev) => { ev.preventDefault(); select(k, false); paint(); });
          textBox.append(t);
        });
        at = e;
      });
      if (at < text.length) textBox.append(document.createTextNode(text.slice(at)));
      paint();
    }

    // Selection, cursor and the selected span, as classes on the token elements.
    function paint() {
      const r = range();
      for (const node of textBox.querySelectorAll(".gap")) {  // the space before token i
        const i = Number(node.dataset.i);
        node.classList.toggle("sel", !!r && r[0] < i && i < r[1]);
      }
      for (const node of textBox.querySelectorAll(".tok")) {
        const i = Number(node.dataset.i);
        node.classList.toggle("sel", !!r && r[0] <= i && i < r[1]);
        node.classList.toggle("cursor", head === i);
        node.classList.toggle("target", target !== null && spans[target].a <= i && i < spans[target].b);
      }
      for (const node of textBox.querySelectorAll(".tag")) {
        node.classList.toggle("target", target !== null && node.dataset.span === String(target));
      }
      ctx.changed();
    }

    function down(ev, i) {
      if (ev.button !== 0) return;
      ev.preventDefault();  // no native text selection: the widget selects whole tokens
      const keep = target !== null && spans[target].a <= i && i < spans[target].b;
      if (!keep) target = null;
      drag = { keep, moved: false };
      anchor = head = i;
      paint();
    }

    function hover(i) {
      if (!drag || i === head) return;
      head = i;
      drag.moved = true;
      paint();
    }

    document.addEventListener("mouseup", () => {
      if (!drag) return;
      const { keep, moved } = drag;
      drag = null;
      if (!moved) {
        const k = spanAt(head);
        if (k !== null) select(k, false);
        else target = null;
      } else if (keep) {  // a drag that started inside the selected span re-selects its words
        reshape([spans[target].a, spans[target].b - 1]);
        build();
        return;
      }
      paint();
    });

    // Arrow keys move the cursor a token (onto a span: that span is selected, the cursor on the
    // side it came from); Shift+arrows move the selection's end, or the selected span's boundary.
    function arrow(step, shift) {
      const n = tokens.length;
      if (!shift) {
        const from = head === null ? (step > 0 ? -1 : n) : head;
        const i = Math.min(n - 1, Math.max(0, from + step));
        const k = spanAt(i);
        if (k !== null) select(k, step < 0);
        else { target = null; anchor = head = i; }
        return;
      }
      if (head === null) { anchor = head = step > 0 ? 0 : n - 1; return; }
      const before = [anchor, head];
      head = Math.min(n - 1, Math.max(0, head + step));
      if (target !== null) { reshape(before); build(); }
    }

    return {
      show(item) {
        text = LL.itemText(item.data);
        tokens = Array.isArray(item.tokens) && item.tokens.length ? item.tokens : null;
        anchor = head = target = null;
        spans = [];
        const s = item.suggestion;
        if (s && tokens) {
          for (const c of s.value) {
            const inside = tokens.map((t, i) => [t, i]).filter(([t]) => t[0] < c.end && t[1] > c.start);
            if (!inside.length) continue;
            const p = s.pred_probs && keyOf(c) in s.pred_probs ? s.pred_probs[keyOf(c)] : null;
            spans.push({ a: inside[0][1], b: inside[inside.length - 1][1] + 1, label: c.label, p });
          }
        }
        if (!tokens) LL.say("This item's text cannot be split into words: skip it (S).", "error");
        build();
      },
      value() {
        if (!tokens) return null;
        return spans.map((s) => ({ start: tokens[s.a][0], end: tokens[s.b - 1][1], label: s.label }))
          .sort((x, y) => x.start - y.start || x.end - y.end);
      },
      describe(suggestion) {
        const n = suggestion.value.length;
        return n === 0 ? "no spans" : n === 1 ? "1 span" : `${n} spans`;
      },
      render(busy) {
        for (const b of buttons) b.disabled = busy || !tokens;
      },
      key(ev) {
        if (!tokens) return false;
        const key = ev.key;
        if (key === "ArrowRight" || key === "ArrowLeft") {
          arrow(key === "ArrowRight" ? 1 : -1, ev.shiftKey);
          paint();
          return true;
        }
        const label = ctx.labelFor(key);
        if (label !== null) {
          apply(label);
          return true;
        }
        if (key === "Backspace" || key === "Delete") {
          if (target !== null) remove(target);
          return true;
        }
        if (key === "Escape") {  // let go of the selected span (the cursor stays on its first
          // word, to select words inside it), or clear the selection
          if (target !== null) { anchor = head = spans[target].a; target = null; }
          else anchor = head = null;
          paint();
          return true;
        }
        return false;
      },
    };
  }

  LL.widgets.spans = spansWidget;
  LL.spans = { highlight };
})();
