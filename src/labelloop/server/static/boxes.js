// The boxes widget (image-boxes): the item's image with its boxes drawn on an SVG overlay.
// Drag on the image to draw a box (Shift+drag: also over another box), drag inside one to move
// it, drag a handle to resize it;
// label keys set the selected box's label (and the next drawn box's); the model's suggested
// boxes are proposals (dashed, with their score) until accepted (A) or touched.
//
// Coordinates: every box is kept in pixels of the upright original image (what the browser's
// <img> shows as naturalWidth x naturalHeight, EXIF orientation applied). The image and the
// overlay sit in one "world" element of exactly that size in CSS pixels, scaled and moved by
// a CSS transform for zoom and pan; a pointer maps back through the image's on-screen
// rectangle, so no zoom, pan or page layout can skew what is stored.
// Text goes into the page through textContent only (LL.el, SVG text nodes), never as markup.
"use strict";
(() => {
  const COLOURS = 10;          // app.css has .lbl-0 … .lbl-9; later labels reuse them
  const SVG_NS = "http://www.w3.org/2000/svg";
  const HANDLE = 5;            // a resize handle's half-size, in screen pixels
  const MIN_DRAG = 3;          // screen pixels: a shorter drag is a click
  const ZOOM_STEP = 1.25;
  const MIN_ZOOM = 0.5;        // relative to the zoom that fits the image in the stage
  const MAX_ZOOM = 40;
  const HANDLES = ["nw", "n", "ne", "e", "se", "s", "sw", "w"];
  const DEFAULT_MIN_SCORE = 0.3;  // suggested boxes shown from this score (the detector's default)

  const colour = (labels, label) => "lbl-" + (Math.max(0, labels.indexOf(label)) % COLOURS);
  const pct = (p) => Math.round(100 * p) + "%";
  const round = (v) => Math.round(v * 100) / 100;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const mediaUrl = (project, itemId) => `/api/v1/projects/${project}/items/${itemId}/media`;

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // A stored or suggested box as the widget keeps it, clipped to the image (w x h pixels);
  // null when nothing of it is inside. `source` is the box as given while nobody changes it
  // (and it needed no clipping): submitted as it came, an accepted suggestion equals the
  // model's, which the server counts as confirmed rather than typed.
  function fromValue(b, width, height, { suggested = false, score = null } = {}) {
    const [x, y, w, h] = [Number(b.x), Number(b.y), Number(b.w), Number(b.h)];
    const x0 = clamp(x, 0, width);
    const y0 = clamp(y, 0, height);
    const x1 = clamp(x + w, 0, width);
    const y1 = clamp(y + h, 0, height);
    if (!(x1 > x0 && y1 > y0)) return null;
    const exact = x0 === x && y0 === y && x1 === x + w && y1 === y + h;
    return { x: x0, y: y0, w: x1 - x0, h: y1 - y0, label: String(b.label), score, suggested,
             source: exact ? { ...b } : null };
  }

  // A suggestion's boxes with their scores: each box's own "score", else pred_probs[i].
  function suggestedBoxes(suggestion, width, height) {
    if (!suggestion || !Array.isArray(suggestion.value)) return [];
    const probs = Array.isArray(suggestion.pred_probs) ? suggestion.pred_probs : [];
    return suggestion.value.map((b, i) => {
      const p = typeof b.score === "number" ? b.score : typeof probs[i] === "number" ? probs[i] : null;
      return fromValue(b, width, height, { suggested: true, score: p });
    }).filter(Boolean);
  }

  // Draw `boxes` into the SVG group `layer` at `k` screen pixels per image pixel (text and
  // handles keep their on-screen size); `selected` (an index or null) gets resize handles.
  function paintBoxes(layer, boxes, labels, k, selected) {
    layer.replaceChildren();
    boxes.forEach((b, i) => {
      const state = b.suggested ? "suggested" : "confirmed";
      const g = svg("g", {
        class: `box ${state} ${colour(labels, b.label)}${i === selected ? " selected" : ""}`,
        "data-index": i, "data-label": b.label,
      });
      // line widths and dashes in image pixels that come out the same on screen at any zoom
      // (vector-effect cannot undo the CSS transform of the page's zoom)
      const frame = { class: "frame", x: b.x, y: b.y, width: b.w, height: b.h, "stroke-width": (i === selected ? 3 : 2) / k };
      if (b.suggested) frame["stroke-dasharray"] = `${6 / k} ${4 / k}`;
      g.append(svg("rect", frame));
      const size = 13 / k;  // 13 screen pixels
      const inside = b.y < size * 1.4;  // no room above the box: the tag goes inside it
      const text = b.label + (b.score !== null && b.score !== undefined ? " " + pct(b.score) : "");
      g.append(svg("text", {
        class: "box-tag", x: b.x + 3 / k, y: inside ? b.y + size * 1.1 : b.y - 4 / k, "font-size": size, "stroke-width": 3 / k,
      }, text));
      const title = svg("title", {}, b.suggested ? `${text}: suggested, not accepted yet`
        : b.score !== null && b.score !== undefined ? `${text}: a suggested box you accepted` : b.label);
      g.append(title);
      if (i === selected) {
        const r = HANDLE / k;
        for (const h of HANDLES) {
          const [hx, hy] = handlePoint(b, h);
          g.append(svg("rect", { class: "handle", "data-handle": h, x: hx - r, y: hy - r, width: 2 * r, height: 2 * r, "stroke-width": 1.5 / k }));
        }
      }
      layer.append(g);
    });
  }

  function handlePoint(b, h) {
    const x = h.includes("w") ? b.x : h.includes("e") ? b.x + b.w : b.x + b.w / 2;
    const y = h.includes("n") ? b.y : h.includes("s") ? b.y + b.h : b.y + b.h / 2;
    return [x, y];
  }

  // Read-only: the image at `src` with `boxes` ({x, y, w, h, label, score?}) drawn over it;
  // `suggested` styles them as the model's (the review view uses this).
  function figure(src, boxes, labels, { suggested = false } = {}) {
    const img = LL.el("img", { src, alt: "item image", draggable: false });
    const overlay = svg("svg", { class: "box-overlay", preserveAspectRatio: "none" });
    const layer = svg("g", {});
    overlay.append(layer);
    const list = boxes || [];
    const frame = LL.el("div", { class: "box-figure" }, img);
    frame.append(overlay);
    const names = list.map((b) => b.label + (typeof b.score === "number" ? " " + pct(b.score) : ""));
    const caption = list.length ? `${list.length} box${list.length === 1 ? "" : "es"}: ${names.join(", ")}` : "no objects";
    const wrap = LL.el("div", { class: "box-answer", "data-boxes": String(list.length) }, frame,
      LL.el("div", { class: "muted box-caption" }, caption));
    img.addEventListener("load", () => {
      const [w, h] = [img.naturalWidth, img.naturalHeight];
      overlay.setAttribute("viewBox", `0 0 ${w} ${h}`);
      const shown = list.map((b) => fromValue(b, w, h, {
        suggested, score: typeof b.score === "number" ? b.score : null,
      })).filter(Boolean);
      const k = (img.getBoundingClientRect().width || w) / w;
      paintBoxes(layer, shown, labels, k, null);
      wrap.classList.add("ready");
    });
    return wrap;
  }

  // The editor: ctx = { labels, keyOf, labelFor, descriptions, changed() }; annotate.js
  // drives it.
  function boxesWidget(ctx) {
    const { labels } = ctx;
    const $ = (id) => document.getElementById(id);
    const project = encodeURIComponent($("annotate").dataset.project);
    const stage = $("box-stage");
    const world = $("box-world");
    const img = $("box-image");
    const overlay = $("box-overlay");
    const layer = svg("g", { class: "boxes" });
    const ghost = svg("rect", { class: "drawing", hidden: "" });
    // guide lines through the pointer across the whole image, to place a corner precisely
    const guides = svg("g", { class: "guides", hidden: "" });
    const across = svg("line", {});
    const vertical = svg("line", {});
    guides.append(across, vertical);
    overlay.append(layer, ghost, guides);

    let width = 0;        // the upright image's natural size, 0 until it has loaded
    let height = 0;
    let boxes = [];       // {x, y, w, h, label, score, suggested} in image pixels
    let proposals = [];   // the suggestion's boxes, also those below the score shown
    let minScore = storedMinScore();  // suggested boxes under this score are not shown
    let selected = null;  // index into boxes
    let current = labels[0] || null;  // the label a newly drawn box gets
    let view = { zoom: 1, tx: 0, ty: 0, fit: 1 };
    let drag = null;      // while a mouse button is down: what it does
    let space = false;    // space held: a drag pans
    let showing = 0;      // bumps with every item, so a late image load is ignored

    const buttons = labels.map((label) => {
      const b = LL.labelButton(ctx, label, "label " + colour(labels, label));
      b.addEventListener("click", () => setLabel(label));
      $("box-labels").append(b);
      return b;
    });
    const list = $("box-list");

    // -- view: zoom and pan ---------------------------------------------------------------
    const scale = () => view.fit * view.zoom;  // screen pixels per image pixel

    function layout() {
      world.style.transform = `translate(${view.tx}px, ${view.ty}px) scale(${scale()})`;
    }

    function resetView() {
      if (!width) return;
      const [cw, ch] = [stage.clientWidth, stage.clientHeight];
      view.fit = cw && ch ? Math.min(cw / width, ch / height) : 1;  // 1 while the stage is hidden
      view.zoom = 1;
      view.tx = (cw - width * view.fit) / 2;
      view.ty = (ch - height * view.fit) / 2;
      layout();
      paint();
    }

    // zoom by `factor` keeping the image point under stage point (sx, sy) where it is
    function zoomAt(factor, sx, sy) {
      if (!width) return;
      const k = scale();
      const [px, py] = [(sx - view.tx) / k, (sy - view.ty) / k];
      view.zoom = clamp(view.zoom * factor, MIN_ZOOM, MAX_ZOOM);
      const k2 = scale();
      view.tx = sx - px * k2;
      view.ty = sy - py * k2;
      layout();
      paint();
    }

    function zoomCentre(factor) {
      zoomAt(factor, stage.clientWidth / 2, stage.clientHeight / 2);
    }

    // a pointer event's position in image pixels (may lie outside the image)
    function toImage(ev) {
      const r = img.getBoundingClientRect();
      return { x: (ev.clientX - r.left) * width / r.width, y: (ev.clientY - r.top) * height / r.height };
    }

    // -- boxes --------------------------------------------------------------------------------
    // a box changed by hand: yours now, without the model's score
    function confirm(b) { Object.assign(b, { suggested: false, score: null, source: null }); }
    // a suggested box taken as it is
    function accept(b) { b.suggested = false; }

    function setLabel(label) {
      current = label;
      if (selected !== null) {
        const b = boxes[selected];
        if (b.label !== label) { b.label = label; confirm(b); }
        else accept(b);  // its own label again: the suggested box is right
      }
      paint();
    }

    function cycleLabel(step) {
      if (!labels.length) return;
      const from = selected !== null ? boxes[selected].label : current;
      const at = labels.indexOf(from);
      setLabel(labels[((at < 0 ? 0 : at + step) + labels.length) % labels.length]);
    }

    function cycleBox(step) {
      if (!boxes.length) return;
      selected = selected === null ? (step > 0 ? 0 : boxes.length - 1)
        : (selected + step + boxes.length) % boxes.length;
      current = boxes[selected].label;
      paint();
    }

    function remove() {
      if (selected === null) return;
      boxes[selected].removed = true;  // a suggested box removed stays away at any threshold
      boxes.splice(selected, 1);
      selected = boxes.length ? Math.min(selected, boxes.length - 1) : null;
      if (selected !== null) current = boxes[selected].label;
      paint();
    }

    function acceptAll() {
      const pending = boxes.filter((b) => b.suggested);
      for (const b of pending) accept(b);
      LL.say(pending.length ? `Accepted ${pending.length} suggested box${pending.length === 1 ? "" : "es"}.` : "No suggested boxes left to accept.", pending.length ? "ok" : "");
      paint();
    }

    function nudge(dx, dy) {
      const b = boxes[selected];
      b.x = clamp(b.x + dx, 0, width - b.w);
      b.y = clamp(b.y + dy, 0, height - b.h);
      confirm(b);
      paint();
    }

    // What a press at image point p grabs: a handle of the selected box, a box (the selected
    // one first, else the smallest under p), or nothing (a new box starts there).
    function hitTest(p) {
      const k = scale();
      const reach = (HANDLE + 2) / k;
      if (selected !== null) {
        for (const h of HANDLES) {
          const [hx, hy] = handlePoint(boxes[selected], h);
          if (Math.abs(p.x - hx) <= reach && Math.abs(p.y - hy) <= reach) return { index: selected, handle: h };
        }
      }
      const under = boxes.map((b, i) => [b, i])
        .filter(([b]) => p.x >= b.x && p.x <= b.x + b.w && p.y >= b.y && p.y <= b.y + b.h);
      if (!under.length) return { index: null, handle: null };
      if (under.some(([, i]) => i === selected)) return { index: selected, handle: null };
      under.sort(([a], [b]) => a.w * a.h - b.w * b.h);
      return { index: under[0][1], handle: null };
    }

    // A box from the press's origin moved by the pointer's travel (dx, dy) in image pixels.
    function resized(o, handle, dx, dy) {
      let [left, right, top, bottom] = [o.x, o.x + o.w, o.y, o.y + o.h];
      if (handle.includes("w")) left = clamp(left + dx, 0, width);
      if (handle.includes("e")) right = clamp(right + dx, 0, width);
      if (handle.includes("n")) top = clamp(top + dy, 0, height);
      if (handle.includes("s")) bottom = clamp(bottom + dy, 0, height);
      return { x: Math.min(left, right), y: Math.min(top, bottom), w: Math.abs(right - left), h: Math.abs(bottom - top) };
    }

    function down(ev) {
      if (!width) return;
      // the stage gets the pointer's moves and its release even outside the window
      if (stage.setPointerCapture) stage.setPointerCapture(ev.pointerId);
      if (ev.button === 1 || (ev.button === 0 && space)) {
        ev.preventDefault();
        drag = { mode: "pan", cx: ev.clientX, cy: ev.clientY };
        stage.dataset.cursor = "grabbing";
        return;
      }
      if (ev.button !== 0) return;
      ev.preventDefault();
      const p = toImage(ev);
      // Shift: a new box even where the press lands on one (an object inside another's box)
      const hit = ev.shiftKey ? { index: null, handle: null } : hitTest(p);
      const start = { p, cx: ev.clientX, cy: ev.clientY, moved: false };
      if (hit.index !== null) {
        selected = hit.index;
        current = boxes[selected].label;
        drag = { ...start, mode: hit.handle ? "resize" : "move", handle: hit.handle, origin: { ...boxes[selected] } };
      } else {
        selected = null;
        drag = { ...start, mode: "draw", p: { x: clamp(p.x, 0, width), y: clamp(p.y, 0, height) } };
      }
      paint();
    }

    // the guides and the pointer's position in image pixels
    function track(ev) {
      if (!width || !(drag || stage.contains(ev.target))) { guides.setAttribute("hidden", ""); return; }
      const p = toImage(ev);
      const [x, y] = [clamp(p.x, 0, width), clamp(p.y, 0, height)];
      const k = scale();
      for (const [line, a] of [[across, { x1: 0, y1: y, x2: width, y2: y }], [vertical, { x1: x, y1: 0, x2: x, y2: height }]]) {
        for (const [name, v] of Object.entries({ ...a, "stroke-width": 1 / k })) line.setAttribute(name, String(v));
      }
      guides.removeAttribute("hidden");
      $("box-pointer").textContent = `x ${Math.round(x)}, y ${Math.round(y)}`;
    }

    function move(ev) {
      track(ev);
      if (!drag) { hover(ev); return; }
      if (drag.mode === "pan") {
        view.tx += ev.clientX - drag.cx;
        view.ty += ev.clientY - drag.cy;
        [drag.cx, drag.cy] = [ev.clientX, ev.clientY];
        layout();
        return;
      }
      if (!drag.moved && Math.hypot(ev.clientX - drag.cx, ev.clientY - drag.cy) < MIN_DRAG) return;
      drag.moved = true;
      const p = toImage(ev);
      if (drag.mode === "draw") {
        const q = { x: clamp(p.x, 0, width), y: clamp(p.y, 0, height) };
        drag.box = { x: Math.min(drag.p.x, q.x), y: Math.min(drag.p.y, q.y), w: Math.abs(q.x - drag.p.x), h: Math.abs(q.y - drag.p.y) };
        const k = scale();
        const shape = { x: drag.box.x, y: drag.box.y, width: drag.box.w, height: drag.box.h, "stroke-width": 2 / k, "stroke-dasharray": `${4 / k} ${3 / k}` };
        for (const [name, v] of Object.entries(shape)) ghost.setAttribute(name, String(v));
        ghost.removeAttribute("hidden");
        return;
      }
      const [dx, dy] = [p.x - drag.p.x, p.y - drag.p.y];
      const o = drag.origin;
      const b = boxes[selected];
      if (drag.mode === "move") {
        b.x = clamp(o.x + dx, 0, width - o.w);
        b.y = clamp(o.y + dy, 0, height - o.h);
      } else {
        Object.assign(b, resized(o, drag.handle, dx, dy));
      }
      confirm(b);
      paint();
    }

    function up() {
      if (!drag) return;
      const done = drag;
      drag = null;
      ghost.setAttribute("hidden", "");
      if (done.mode === "pan") { stage.dataset.cursor = space ? "grab" : ""; return; }
      if (done.mode === "draw" && done.box && done.box.w > 0 && done.box.h > 0 && current !== null) {
        boxes.push({ ...done.box, label: current, score: null, suggested: false });
        selected = boxes.length - 1;
      } else if (done.mode === "resize") {
        const b = boxes[selected];  // a box pressed flat keeps one pixel
        if (b.w <= 0) b.w = Math.min(1, width - b.x);
        if (b.h <= 0) b.h = Math.min(1, height - b.y);
      }
      paint();
    }

    // the cursor says what a press would do
    function hover(ev) {
      if (!width || !stage.contains(ev.target)) return;
      if (space) { stage.dataset.cursor = "grab"; return; }
      const hit = hitTest(toImage(ev));
      stage.dataset.cursor = hit.handle ? "resize-" + hit.handle : hit.index !== null ? "move" : "";
    }

    // pointer events: a mouse, a pen or a finger (the stage takes no touch gestures of its own)
    stage.addEventListener("pointerdown", down);
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", up);
    stage.addEventListener("pointerleave", () => {
      if (drag) return;
      guides.setAttribute("hidden", "");
      $("box-pointer").textContent = "";
    });
    stage.addEventListener("auxclick", (ev) => ev.preventDefault());
    // no middle-button autoscroll over the stage: a middle drag pans
    stage.addEventListener("mousedown", (ev) => { if (ev.button === 1) ev.preventDefault(); });
    stage.addEventListener("wheel", (ev) => {
      if (!width) return;
      ev.preventDefault();
      const r = stage.getBoundingClientRect();
      zoomAt(ev.deltaY < 0 ? ZOOM_STEP : 1 / ZOOM_STEP, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });
    document.addEventListener("keyup", (ev) => {
      if (ev.key === " ") { space = false; if (!drag) stage.dataset.cursor = ""; }
    });
    window.addEventListener("resize", resetView);
    $("box-accept").addEventListener("click", acceptAll);
    $("box-zoom-in").addEventListener("click", () => zoomCentre(ZOOM_STEP));
    $("box-zoom-out").addEventListener("click", () => zoomCentre(1 / ZOOM_STEP));
    $("box-zoom-reset").addEventListener("click", resetView);

    // -- suggested boxes below the score threshold ------------------------------------------
    function storedMinScore() {
      let saved = null;
      try { saved = localStorage.getItem(scoreKey()); } catch (e) { /* storage off: the default */ }
      const value = Number(saved);
      return saved !== null && value >= 0 && value <= 1 ? value : DEFAULT_MIN_SCORE;
    }

    function scoreKey() { return "labelloop.boxes.minScore." + $("annotate").dataset.project; }

    const shownProposal = (b) => b.suggested && !b.removed && (b.score === null || b.score >= minScore - 1e-9);

    // the boxes on screen: every confirmed one, and the suggested ones at or above minScore
    function applyMinScore() {
      const keep = selected === null ? null : boxes[selected];
      boxes = [...boxes.filter((b) => !b.suggested), ...proposals.filter(shownProposal)];
      const at = keep ? boxes.indexOf(keep) : -1;
      selected = at < 0 ? null : at;
    }

    const scoreInput = $("box-min-score");
    scoreInput.value = String(Math.round(100 * minScore));
    scoreInput.addEventListener("input", () => {
      minScore = Number(scoreInput.value) / 100;
      try { localStorage.setItem(scoreKey(), String(minScore)); } catch (e) { /* kept for this page only */ }
      applyMinScore();
      paint();
    });
    // let go of the slider once set, so the page's keys (Enter, labels...) work again
    scoreInput.addEventListener("change", () => scoreInput.blur());

    // -- painting -----------------------------------------------------------------------------
    function paint() {
      paintBoxes(layer, boxes, labels, scale(), selected);
      const items = boxes.map((b, i) => {
        const score = b.score !== null ? " " + pct(b.score) : "";
        const what = b.suggested ? "suggested" + score : score ? "accepted" + score : "confirmed";
        const button = LL.el("button", { type: "button", class: "box-item " + colour(labels, b.label) + (i === selected ? " selected" : ""), "data-index": String(i) },
          `${i + 1}. ${b.label}`, " ", LL.el("small", { class: "muted" }, `${what} · ${Math.round(b.w)}×${Math.round(b.h)} at ${Math.round(b.x)}, ${Math.round(b.y)}`));
        button.addEventListener("click", () => { selected = i; current = b.label; paint(); });
        return LL.el("li", {}, button);
      });
      list.replaceChildren(...items);
      const kept = boxes.filter((b) => !b.suggested).length;
      const pending = boxes.length - kept;
      const parts = [width ? `${width}×${height} px` : "", kept === 0 ? "no boxes (Enter submits: no objects)" : `${kept} box${kept === 1 ? "" : "es"}`];
      if (pending) parts.push(`${pending} suggested not accepted (A accepts them; Enter leaves them out)`);
      const hidden = proposals.filter((b) => b.suggested && !b.removed && !shownProposal(b)).length;
      if (hidden) parts.push(`${hidden} suggested under ${Math.round(100 * minScore)}% not shown`);
      $("box-min-score-value").textContent = `${Math.round(100 * minScore)}%`;
      if (view.zoom !== 1) parts.push(`zoom ${Math.round(100 * view.zoom)}%`);
      $("box-status").textContent = parts.filter(Boolean).join(" · ");
      ctx.changed();
    }

    function loaded(item, token) {
      if (token !== showing) return;
      [width, height] = [img.naturalWidth, img.naturalHeight];
      for (const node of [img, overlay]) {
        node.setAttribute("width", String(width));
        node.setAttribute("height", String(height));
      }
      overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
      const answer = Array.isArray(item.current) ? item.current : null;
      proposals = answer ? [] : suggestedBoxes(item.suggestion, width, height);
      const scored = (b) => ({ score: typeof b.score === "number" ? b.score : null });
      boxes = answer ? answer.map((b) => fromValue(b, width, height, scored(b))).filter(Boolean) : [];
      applyMinScore();
      stage.classList.add("ready");
      resetView();
    }

    return {
      show(item) {
        showing += 1;
        const token = showing;
        [width, height, boxes, proposals, selected, drag] = [0, 0, [], [], null, null];
        stage.classList.remove("ready");
        $("item-text").hidden = true;
        $("item-media").replaceChildren();
        img.onload = () => loaded(item, token);
        img.onerror = () => {
          if (token === showing) LL.say("This item's image cannot be shown: skip it (S).", "error");
        };
        img.src = mediaUrl(project, item.item_id);
        paint();
      },
      value() {
        if (!width) return null;
        return boxes.filter((b) => !b.suggested).map((b) => b.source ? { ...b.source }
          : { x: round(b.x), y: round(b.y), w: round(b.w), h: round(b.h), label: b.label });
      },
      describe(suggestion) {
        const n = (suggestion.value || []).length;
        return n === 0 ? "no objects" : n === 1 ? "1 box" : `${n} boxes`;
      },
      render(busy) {
        for (const b of buttons) {
          b.disabled = busy || !width;
          b.classList.toggle("selected", b.dataset.label === current);
          b.setAttribute("aria-pressed", b.dataset.label === current ? "true" : "false");
        }
        $("box-accept").disabled = busy || !boxes.some((b) => b.suggested);
      },
      key(ev) {
        if (!width) return false;
        const key = ev.key;
        const label = ctx.labelFor(key);
        if (label !== null) { setLabel(label); return true; }
        const step = ev.shiftKey ? 10 : 1;
        switch (key) {
          case "Delete": case "Backspace": remove(); return true;
          case "Tab":  // with no box on screen, Tab moves the focus as usual
            if (!boxes.length) return false;
            cycleBox(ev.shiftKey ? -1 : 1);
            return true;
          case "]": cycleLabel(1); return true;
          case "[": cycleLabel(-1); return true;
          case "a": case "A": acceptAll(); return true;
          case "+": case "=": zoomCentre(ZOOM_STEP); return true;
          case "-": case "_": zoomCentre(1 / ZOOM_STEP); return true;
          case "0": resetView(); return true;
          case "Escape": selected = null; paint(); return true;
          case " ": space = true; if (!drag) stage.dataset.cursor = "grab"; return true;
          case "ArrowLeft": case "ArrowRight": case "ArrowUp": case "ArrowDown": {
            if (selected === null) return false;
            const dx = key === "ArrowLeft" ? -step : key === "ArrowRight" ? step : 0;
            const dy = key === "ArrowUp" ? -step : key === "ArrowDown" ? step : 0;
            nudge(dx, dy);
            return true;
          }
          default: return false;
        }
      },
    };
  }

  LL.widgets.boxes = boxesWidget;
  LL.boxes = { figure, mediaUrl };
})();
