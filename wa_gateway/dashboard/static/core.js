// Shared by the dashboard's modules: the key, API calls, and building elements without innerHTML.
"use strict";

export const KEY_STORAGE = "wa-gateway-api-key";
export const state = { apiKey: sessionStorage.getItem(KEY_STORAGE) || "" };
export const $ = (id) => document.getElementById(id);

export async function api(method, path, body) {
  const init = { method, headers: { "X-API-Key": state.apiKey } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const payload = response.headers.get("Content-Type")?.startsWith("application/json")
    ? await response.json()
    : null;
  if (!response.ok) {
    const message = payload?.error?.message || `HTTP ${response.status}`;
    throw Object.assign(new Error(message), { status: response.status, code: payload?.error?.code });
  }
  return payload;
}

// Text only ever goes in as textContent: message texts and names come from strangers.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "onclick") node.addEventListener("click", value);
    else if (name in node) node[name] = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

export function path(...parts) {
  return "/" + parts.map((part) => encodeURIComponent(part)).join("/");
}
