// Shared helpers: JSON API calls with the CSRF token, and safe DOM building (textContent only).
"use strict";
const LL = (() => {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

  async function api(method, path, body) {
    const opts = { method, headers: { "Accept": "application/json" }, credentials: "same-origin" };
    if (method !== "GET") opts.headers["X-CSRF-Token"] = csrf;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch("/api/v1" + path, opts);
    if (res.status === 401) { window.location = "/login?next=" + encodeURIComponent(location.pathname); }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const message = data && data.error ? data.error.message : res.statusText;
      const err = new Error(message);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("data-")) node.setAttribute(k, v);
      else node[k] = v;
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function requestId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function jsonData(id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function say(text, kind) {
    const node = document.getElementById("message");
    if (!node) return;
    node.textContent = text || "";
    node.className = "message" + (kind ? " " + kind : "");
  }

  function itemText(data) {
    if (data == null) return "";
    if (typeof data.text === "string") return data.text;
    return JSON.stringify(data);
  }

  // the answer widgets of the annotate page, by name (annotate.js, spans.js fill it)
  const widgets = {};

  return { api, el, requestId, jsonData, say, itemText, widgets };
})();
