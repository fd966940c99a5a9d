// Scoped API keys: list, create (the key is shown once), revoke.
"use strict";

import { $, api, el, path } from "/dashboard/core.js";

const SCOPES = [
  "devices:read",
  "devices:write",
  "messages:send",
  "messages:read",
  "contacts:read",
  "webhooks:admin",
  "keys:admin",
  "admin",
];

export async function refresh() {
  const body = $("keys");
  body.replaceChildren();
  let keys;
  try {
    keys = (await api("GET", "/keys")).data.keys;
  } catch (error) {
    $("key-result").textContent = error.message;
    return;
  }
  for (const key of keys) {
    const revoke =
      key.id === "admin"
        ? el("span", { className: "muted" }, "API_KEY")
        : el("button", {
            type: "button",
            textContent: "Revoke",
            "aria-label": `Revoke key ${key.name}`,
            onclick: () => revokeKey(key),
          });
    body.append(
      el(
        "tr",
        { dataset: { id: key.id } },
        el("td", {}, `${key.name} (${key.prefix || key.id})`),
        el("td", {}, key.scopes.join(", ")),
        el("td", {}, key.devices ? key.devices.join(", ") : "all"),
        el("td", {}, revoke),
      ),
    );
  }
}

async function revokeKey(key) {
  if (!confirm(`Revoke key ${key.name}? Its open WebSockets close at once.`)) return;
  try {
    await api("DELETE", path("keys", key.id));
    $("key-result").textContent = `Revoked ${key.name}`;
  } catch (error) {
    $("key-result").textContent = error.message;
  }
  await refresh();
}

async function create(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const scopes = form.getAll("scope");
  const devices = String(form.get("devices") || "")
    .split(",")
    .map((token) => token.trim())
    .filter(Boolean);
  const body = { name: form.get("name"), scopes };
  if (devices.length) body.devices = devices;
  $("new-key").hidden = true;
  try {
    const { data } = await api("POST", "/keys", body);
    $("key-result").textContent = "Key created. Copy it now: it is not shown again.";
    $("new-key").textContent = data.key;
    $("new-key").hidden = false;
    event.target.reset();
  } catch (error) {
    $("key-result").textContent = error.message;
  }
  await refresh();
}

export function init() {
  const box = $("key-scopes");
  for (const scope of SCOPES) {
    box.append(el("label", {}, el("input", { type: "checkbox", name: "scope", value: scope }), ` ${scope}`));
  }
  $("key-form").addEventListener("submit", create);
}
