// Dashboard buttons: train, promote, roll back; the page reloads when the model changes.
"use strict";
(() => {
  const root = document.getElementById("dashboard");
  if (!root) return;
  const project = encodeURIComponent(root.dataset.project);
  const state = document.getElementById("train-state");

  async function act(method, path, done) {
    try { await LL.api(method, path); done(); }
    catch (e) { if (state) state.textContent = e.message; }
  }

  document.getElementById("btn-train")?.addEventListener("click", () =>
    act("POST", `/projects/${project}/train`, () => { state.textContent = "queued"; }));
  document.getElementById("btn-rollback")?.addEventListener("click", () =>
    act("POST", `/projects/${project}/models/rollback`, () => location.reload()));
  for (const b of document.querySelectorAll("button.promote")) {
    b.addEventListener("click", () =>
      act("POST", `/projects/${project}/models/${b.dataset.version}/promote`, () => location.reload()));
  }

  let champion;
  async function poll() {
    try {
      const m = await LL.api("GET", `/projects/${project}/model`);
      if (state) state.textContent = m.training.state + (m.training.last_error ? " · last run failed: " + m.training.last_error : "");
      if (champion === undefined) champion = m.champion;
      else if (m.champion !== champion) location.reload();
    } catch (e) { /* ignore */ }
  }
  poll();
  setInterval(poll, 5000);
})();
