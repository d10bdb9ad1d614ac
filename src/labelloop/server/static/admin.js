// Project administration: the new-project form and a project's settings page (settings,
// import with upload progress, members, items to delete, deleting the project). Every action is
// a REST call; the server checks everything and its message about a field shows next to it.
"use strict";
(() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  // A REST call; on failure throws an Error carrying the body's error (type, message, field,
  // line, reason) as `.error`.
  async function call(method, path, body) {
    const opts = { method, credentials: "same-origin",
                   headers: { "Accept": "application/json", "X-CSRF-Token": csrf } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch("/api/v1" + path, opts);
    if (res.status === 401) { location = "/login?next=" + encodeURIComponent(location.pathname); }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const error = (data && data.error) || { message: res.statusText || `HTTP ${res.status}` };
      const err = new Error(error.message);
      err.error = error;
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function say(node, text, kind) {
    if (!node) return;
    node.textContent = text || "";
    node.className = "message" + (kind ? " " + kind : "");
  }

  function clearErrors(root) {
    for (const node of root.querySelectorAll(".field-error")) node.textContent = "";
    for (const node of root.querySelectorAll(".has-error")) node.classList.remove("has-error");
  }

  // The server's message next to the field it names ("settings.retrain_every", "backbone"),
  // else in the form's message line.
  function showError(root, err, message) {
    const error = err.error || { message: err.message };
    const field = error.field || "";
    const slot = field ? root.querySelector(`[data-error-for="${CSS.escape(field)}"]`) : null;
    if (slot) {
      slot.textContent = error.reason || error.message;
      slot.closest("[data-field]")?.classList.add("has-error");
      say(message, "Not saved: see the field marked below.", "error");
      slot.closest("[data-field]")?.scrollIntoView({ block: "center" });
    } else {
      say(message, error.message, "error");
    }
  }

  // The settings inputs whose value differs from the one the page was drawn with.
  function changedSettings(root) {
    const out = {};
    for (const input of root.querySelectorAll("[data-setting]")) {
      const kind = input.dataset.kind;
      let value;
      if (kind === "bool") value = input.checked;
      else if (kind === "choice" || kind === "text") value = input.value;
      else {
        const n = Number(input.value);
        value = input.value.trim() !== "" && Number.isFinite(n) ? n : input.value;
      }
      const initial = input.dataset.initial;
      const same = kind === "bool" ? String(value) === initial
        : kind === "choice" || kind === "text" ? value === initial : Number(initial) === value;
      if (!same) out[input.dataset.setting] = value;
    }
    return out;
  }

  function describeBackbone(select, help) {
    const option = select.selectedOptions[0];
    if (!option) { help.textContent = ""; return; }
    const d = option.dataset;
    help.textContent = `${d.description || ""} (${d.dim} dimensions` +
      (d.installed === "true" ? ")" : `; not installed: ${d.install})`);
  }

  // -- the new-project form ----------------------------------------------------------------
  function newProject(form) {
    const task = form.querySelector("#task");
    const backbone = form.querySelector("#backbone");
    const help = form.querySelector("#backbone-help");
    const message = form.querySelector("#message");
    const taskHelp = {
      choices: "Classification: each item gets one label (or several, when multi-label).",
      spans: "Spans (named entities): annotators mark words of the text with labels.",
    };

    function onTask() {
      const d = task.selectedOptions[0].dataset;
      form.querySelector("#task-help").textContent =
        (taskHelp[d.answer] || "") + ` Items are ${d.modality}.`;
      form.querySelector("#multi-label-row").hidden = d.multi !== "true";
      form.querySelector("#overlap-row").hidden = d.answer !== "spans";
      let first = null;
      for (const option of backbone.options) {
        const fits = option.dataset.modality === d.modality;
        option.hidden = !fits;
        if (fits && option.dataset.installed === "true" && first === null) first = option;
      }
      const current = backbone.selectedOptions[0];
      if (!current || current.hidden || current.disabled) backbone.value = first ? first.value : "";
      describeBackbone(backbone, help);
    }
    task.addEventListener("change", onTask);
    backbone.addEventListener("change", () => describeBackbone(backbone, help));
    onTask();

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const labels = [];
      const descriptions = {};
      for (const line of form.querySelector("#labels").value.split("\n")) {
        const at = line.indexOf(":");
        const name = (at < 0 ? line : line.slice(0, at)).trim();
        if (!name) continue;
        labels.push(name);
        const words = at < 0 ? "" : line.slice(at + 1).trim();
        if (words) descriptions[name] = words;
      }
      const d = task.selectedOptions[0].dataset;
      const body = {
        name: form.querySelector("#name").value.trim(),
        task: task.value,
        labels,
        backbone: backbone.value || null,
        descriptions,
        settings: changedSettings(form),
      };
      if (d.multi === "true") body.multi_label = form.querySelector("#multi_label").checked;
      if (d.answer === "spans") body.allow_overlap = form.querySelector("#allow_overlap").checked;
      const button = form.querySelector("#btn-create");
      button.disabled = true;
      say(message, "Creating…");
      try {
        const info = await call("POST", "/projects", body);
        location = `/projects/${encodeURIComponent(info.name)}/settings#import`;
      } catch (err) {
        showError(form, err, message);
        button.disabled = false;
      }
    });
  }

  // -- the settings page -------------------------------------------------------------------
  function settingsPage(root) {
    const name = root.dataset.project;
    const base = `/projects/${encodeURIComponent(name)}`;
    projectForm(root.querySelector("#project-form"), base);
    importForm(root.querySelector("#import-form"), base);
    members(root.querySelector("#members"), base, root.dataset.me);
    items(root.querySelector("#items"), base);
    deleteProject(root.querySelector("#danger"), base, name);
  }

  function projectForm(form, base) {
    const backbone = form.querySelector("#backbone");
    const help = form.querySelector("#backbone-help");
    const message = form.querySelector("#project-message");
    backbone.addEventListener("change", () => describeBackbone(backbone, help));
    describeBackbone(backbone, help);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = {};
      const settings = changedSettings(form);
      if (Object.keys(settings).length) body.settings = settings;
      if (backbone.value !== backbone.dataset.initial) body.backbone = backbone.value;
      const descriptions = {};
      for (const input of form.querySelectorAll("input.description")) {
        if (input.value.trim() !== input.dataset.initial) descriptions[input.dataset.label] = input.value.trim();
      }
      if (Object.keys(descriptions).length) body.descriptions = descriptions;
      if (!Object.keys(body).length) { say(message, "Nothing changed."); return; }
      try {
        await call("PATCH", base, body);
        for (const input of form.querySelectorAll("[data-setting]")) {
          input.dataset.initial = input.dataset.kind === "bool" ? String(input.checked) : input.value;
        }
        for (const input of form.querySelectorAll("input.description")) input.dataset.initial = input.value.trim();
        backbone.dataset.initial = backbone.value;
        say(message, "Saved: " + Object.keys({ ...settings, ...(body.backbone ? { backbone: 1 } : {}),
          ...(body.descriptions ? { descriptions: 1 } : {}) }).join(", ") + ".", "ok");
      } catch (err) {
        showError(form, err, message);
      }
    });
  }

  function importForm(form, base) {
    const file = form.querySelector("#import-file");
    const state = form.querySelector("#upload-state");
    const bar = form.querySelector("#upload-progress");
    const text = form.querySelector("#upload-text");
    const message = form.querySelector("#import-message");
    const list = form.querySelector("#import-errors");
    const button = form.querySelector("#btn-import");
    const mb = (n) => (n / 1e6).toFixed(n < 1e7 ? 2 : 1) + " MB";

    function showErrors(error) {
      list.replaceChildren();
      const errors = error.errors || [error];
      for (const e of errors) {
        const where = [e.line != null ? `line ${e.line}` : null, e.field ? `field ${e.field}` : null]
          .filter(Boolean).join(", ");
        list.append(LL.el("li", { class: e.line != null ? "has-line" : "" },
          where ? LL.el("strong", {}, where + ": ") : null, e.reason || e.message));
      }
      list.hidden = false;
    }

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      list.hidden = true;
      if (!file.files.length) { say(message, "Choose a file to import.", "error"); return; }
      const data = new FormData();
      data.append("file", file.files[0]);
      const fields = { format: "#import-format", text_field: "#import-text-field",
                       label_field: "#import-label-field", id_field: "#import-id-field" };
      for (const [key, selector] of Object.entries(fields)) {
        const value = form.querySelector(selector).value.trim();
        if (value) data.append(key, value);
      }
      const xhr = new XMLHttpRequest();
      xhr.open("POST", `/api/v1${base}/import`);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.upload.addEventListener("progress", (e) => {
        if (!e.lengthComputable) return;
        bar.max = e.total;
        bar.value = e.loaded;
        text.textContent = `uploading ${mb(e.loaded)} of ${mb(e.total)} (${Math.round(100 * e.loaded / e.total)}%)`;
      });
      xhr.upload.addEventListener("load", () => {
        bar.removeAttribute("value");  // indeterminate: the server reads and checks every row
        text.textContent = "uploaded; importing (every row is checked)…";
      });
      xhr.addEventListener("load", () => {
        button.disabled = false;
        let body = null;
        try { body = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        state.hidden = true;
        if (xhr.status === 201 && body) {
          say(message, body.already_imported
            ? "This file was imported before with the same options: nothing changed."
            : `Imported ${body.rows} rows: ${body.items_added} new items, ${body.duplicates} ` +
              `duplicates, ${body.annotations_added} labels, ${body.suggestions_added || 0} predictions.`, "ok");
          file.value = "";
        } else if (xhr.status === 401) {
          location = "/login?next=" + encodeURIComponent(location.pathname);
        } else {
          const error = (body && body.error) || { message: `the upload failed (HTTP ${xhr.status})` };
          say(message, "Nothing was imported:", "error");
          showErrors(error);
        }
      });
      xhr.addEventListener("error", () => {
        button.disabled = false;
        state.hidden = true;
        say(message, "The upload was cut off (connection lost or the file is over the server's limit).", "error");
      });
      button.disabled = true;
      bar.max = 100;
      bar.value = 0;
      text.textContent = "starting…";
      state.hidden = false;
      say(message, "");
      xhr.send(data);
    });
  }

  function members(section, base, me) {
    const tbody = section.querySelector("#member-table tbody");
    const message = section.querySelector("#member-message");
    const roles = [...section.querySelectorAll("#member-role option")].map((o) => o.value);

    async function load() {
      const list = await call("GET", `${base}/members`);
      tbody.replaceChildren();
      for (const [user, role] of Object.entries(list).sort()) {
        const select = LL.el("select", { class: "member-role", "data-user": user },
          ...roles.map((r) => LL.el("option", { value: r, selected: r === role }, r)));
        select.addEventListener("change", () => setRole(user, select.value));
        const remove = LL.el("button", { class: "remove-member", "data-user": user }, "Remove");
        remove.addEventListener("click", () => removeMember(user));
        tbody.append(LL.el("tr", { "data-user": user }, LL.el("td", {}, user + (user === me ? " (you)" : "")),
          LL.el("td", {}, select), LL.el("td", {}, remove)));
      }
      if (!tbody.children.length) tbody.append(LL.el("tr", {}, LL.el("td", { colSpan: 3, class: "muted" }, "No members.")));
    }

    async function setRole(user, role) {
      try {
        await call("PUT", `${base}/members/${encodeURIComponent(user)}`, { role });
        say(message, `${user} is now ${role}.`, "ok");
        await load();
      } catch (err) { say(message, err.message, "error"); await load(); }
    }

    async function removeMember(user) {
      if (user === me && !confirm("Remove yourself? You lose access to this project.")) return;
      try {
        await call("DELETE", `${base}/members/${encodeURIComponent(user)}`);
        say(message, `${user} is no longer a member.`, "ok");
        await load();
      } catch (err) { say(message, err.message, "error"); }
    }

    section.querySelector("#member-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const user = section.querySelector("#member-name").value.trim();
      if (!user) { say(message, "Give a user name.", "error"); return; }
      setRole(user, section.querySelector("#member-role").value);
    });
    load().catch((err) => say(message, err.message, "error"));
  }

  function items(section, base) {
    const tbody = section.querySelector("#item-table tbody");
    const count = section.querySelector("#item-count");
    const all = section.querySelector("#item-all");
    const del = section.querySelector("#btn-delete-items");
    const confirmBox = section.querySelector("#confirm-items");
    const message = section.querySelector("#items-message");
    const selected = new Set();
    const page = 20;
    let offset = 0;
    let total = 0;

    function update() {
      del.disabled = selected.size === 0;
      del.textContent = selected.size ? `Delete selected (${selected.size})` : "Delete selected";
      section.querySelector("#item-prev").disabled = offset === 0;
      section.querySelector("#item-next").disabled = offset + page >= total;
    }

    async function load() {
      const q = section.querySelector("#item-text").value.trim();
      const params = new URLSearchParams({ offset, limit: page });
      if (q) params.set("q", q);
      const list = await call("GET", `${base}/items?${params}`);
      total = list.total;
      count.textContent = total ? `${offset + 1}-${offset + list.items.length} of ${total}` : "no items";
      tbody.replaceChildren();
      for (const item of list.items) {
        const box = LL.el("input", { type: "checkbox", class: "pick", checked: selected.has(item.item_id), "data-id": item.item_id });
        box.addEventListener("change", () => {
          if (box.checked) selected.add(item.item_id); else selected.delete(item.item_id);
          update();
        });
        const label = item.label == null ? "–" : item.label.map((l) => typeof l === "string" ? l : l.label).join(", ");
        tbody.append(LL.el("tr", { "data-id": item.item_id }, LL.el("td", {}, box), LL.el("td", {}, item.item_id),
          LL.el("td", {}, item.external_id || ""), LL.el("td", { class: "excerpt" }, LL.itemText(item.data).slice(0, 140)),
          LL.el("td", {}, label)));
      }
      all.checked = false;
      update();
    }

    all.addEventListener("change", () => {
      for (const box of tbody.querySelectorAll("input.pick")) {
        box.checked = all.checked;
        const id = Number(box.dataset.id);
        if (all.checked) selected.add(id); else selected.delete(id);
      }
      update();
    });
    section.querySelector("#item-search").addEventListener("submit", (event) => {
      event.preventDefault();
      offset = 0;
      load().catch((err) => say(message, err.message, "error"));
    });
    section.querySelector("#item-prev").addEventListener("click", () => { offset = Math.max(0, offset - page); load(); });
    section.querySelector("#item-next").addEventListener("click", () => { offset += page; load(); });
    del.addEventListener("click", () => {
      const ids = [...selected].sort((a, b) => a - b);
      section.querySelector("#confirm-items-text").textContent =
        `Delete ${ids.length} item${ids.length === 1 ? "" : "s"} (id ${ids.slice(0, 10).join(", ")}` +
        `${ids.length > 10 ? ", …" : ""}) with their answers, suggestions, flags and comments? This cannot be undone.`;
      confirmBox.hidden = false;
      del.disabled = true;
    });
    section.querySelector("#btn-cancel-items").addEventListener("click", () => { confirmBox.hidden = true; update(); });
    section.querySelector("#btn-confirm-items").addEventListener("click", async () => {
      confirmBox.hidden = true;
      try {
        const result = await call("POST", `${base}/items/delete`, { item_ids: [...selected] });
        selected.clear();
        say(message, `Deleted ${result.items} item${result.items === 1 ? "" : "s"} and ${result.rows.annotations || 0} answers.`, "ok");
      } catch (err) { say(message, err.message, "error"); }
      await load();
    });
    load().catch((err) => say(message, err.message, "error"));
  }

  function deleteProject(section, base, name) {
    const input = section.querySelector("#confirm-name");
    const button = section.querySelector("#btn-delete-project");
    const message = section.querySelector("#delete-message");
    input.addEventListener("input", () => { button.disabled = input.value !== name; });
    section.querySelector("#delete-project-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      if (input.value !== name) return;
      button.disabled = true;
      say(message, "Deleting…");
      try {
        await call("DELETE", base);
        location = "/?deleted=" + encodeURIComponent(name);
      } catch (err) { say(message, err.message, "error"); button.disabled = false; }
    });
  }

  const created = document.getElementById("new-project");
  if (created) newProject(created);
  const page = document.getElementById("settings-page");
  if (page) settingsPage(page);
})();
