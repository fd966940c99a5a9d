// Devices: the list, adding one, and the selected device's panel (pairing, groups, channels, presence,
// status).
"use strict";

import { $, api, el, path, state, when } from "/dashboard/core.js";
import * as channels from "/dashboard/channels.js";
import * as chats from "/dashboard/chats.js";

const MAX_STATUSES = 20;
const devices = new Map();
let selected = null;
let qrUrl = null;

export async function refresh() {
  const { data } = await api("GET", "/devices");
  devices.clear();
  for (const device of data.devices) devices.set(device.token, device);
  render();
  if (selected && devices.has(selected)) await showDetail(selected);
}

function render() {
  const body = $("devices");
  body.replaceChildren();
  for (const device of [...devices.values()].sort((a, b) => a.token.localeCompare(b.token))) {
    const status = el("td", { className: `status status-${device.status}` }, device.status);
    const open = el("button", {
      type: "button",
      textContent: "Open",
      "aria-label": `Open device ${device.token}`,
      onclick: () => select(device.token),
    });
    const remove = el("button", {
      type: "button",
      textContent: "Delete",
      "aria-label": `Delete device ${device.token}`,
      onclick: () => deleteDevice(device.token),
    });
    const row = el(
      "tr",
      { dataset: { token: device.token } },
      el("td", {}, device.token),
      status,
      el("td", {}, device.pushName || ""),
      el("td", { className: "actions" }, open, remove),
    );
    if (device.token === selected) row.classList.add("selected");
    body.append(row);
  }
  $("no-devices").hidden = devices.size > 0;
}

function setStatus(token, status) {
  const device = devices.get(token) || { token, pushName: null };
  device.status = status;
  devices.set(token, device);
  render();
  if (token === selected) $("device-status").textContent = status;
}

async function select(token) {
  selected = token;
  hidePairing();
  $("statuses").replaceChildren();
  $("presence-result").textContent = "";
  render();
  $("device-panel").hidden = false;
  await showDetail(token);
  $("device-panel").scrollIntoView({ block: "start" });
}

async function showDetail(token) {
  let detail;
  try {
    detail = (await api("GET", path("devices", token))).data;
  } catch (error) {
    $("device-status").textContent = error.message;
    return;
  }
  $("device-title").textContent = `Device ${token}`;
  $("device-status").textContent = detail.status;
  $("device-status").className = `status status-${detail.status}`;
  $("device-jid").textContent = [detail.pushName, detail.jid].filter(Boolean).join(" · ") || "—";
  $("device-error").textContent = detail.lastError || "none";
  if (detail.status === "pairing" && detail.pairingCode) showCode(detail.pairingCode);
  else if (detail.status === "pairing") await showQr(token);
  else hidePairing();
  await Promise.all([chats.load(token), loadGroups(token, detail.status), channels.load(token, detail.status)]);
}

async function loadGroups(token, status) {
  const list = $("groups");
  list.replaceChildren();
  $("groups-note").textContent = "";
  if (status !== "connected") {
    $("groups-note").textContent = "Groups are listed while the device is connected.";
    return;
  }
  try {
    const { data } = await api("GET", path("groups", token));
    for (const group of data.groups) {
      list.append(el("li", {}, `${group.subject || group.jid} (${group.participants} members)`));
    }
    if (!data.groups.length) $("groups-note").textContent = "Not in any group.";
  } catch (error) {
    $("groups-note").textContent = error.message;
  }
}

async function deleteDevice(token) {
  if (!confirm(`Log out and delete device ${token}?`)) return;
  try {
    await api("DELETE", path("devices", token));
    devices.delete(token);
    if (selected === token) {
      selected = null;
      $("device-panel").hidden = true;
      hidePairing();
    }
    render();
  } catch (error) {
    alert(error.message);
  }
}

function hidePairing() {
  $("pairing").hidden = true;
  $("pairing-code").textContent = "";
  if (qrUrl) URL.revokeObjectURL(qrUrl);
  qrUrl = null;
}

async function showQr(token) {
  // The image route needs the key, so it is fetched with a header and shown from a blob URL.
  const response = await fetch(`${path("devices", token)}/qr`, { headers: { "X-API-Key": state.apiKey } });
  if (!response.ok || token !== selected) return;
  const url = URL.createObjectURL(await response.blob());
  if (qrUrl) URL.revokeObjectURL(qrUrl);
  qrUrl = url;
  $("qr").src = url;
  $("qr").hidden = false;
  $("pairing").hidden = false;
}

function showCode(code) {
  $("pairing-code").textContent = `Pairing code: ${code}`;
  $("qr").hidden = true;
  $("pairing").hidden = false;
}

export function onEvent(frame) {
  const { event, token } = frame;
  if (event === "qrcode") {
    setStatus(token, "pairing");
    if (token === selected) showQr(token);
  } else if (event === "pairing-code") {
    setStatus(token, "pairing");
    if (token === selected) showCode(frame.data.code);
  } else if (event === "connection-success" || event === "connection-error") {
    refresh();
  } else if (token === selected && event === "status.received") {
    const list = $("statuses");
    list.prepend(el("li", {}, `${when(frame.data.timestamp)} ${frame.data.from}: ${frame.data.text || frame.data.type}`));
    while (list.children.length > MAX_STATUSES) list.lastChild.remove();
  } else if (token === selected && event === "presence.update") {
    const seen = frame.data.lastSeen ? `, last seen ${when(frame.data.lastSeen)}` : "";
    $("presence-result").textContent = `${frame.data.from}: ${frame.data.state}${seen}`;
  }
  if (token === selected) {
    chats.onEvent(frame);
    channels.onEvent(frame, token);
  }
}

async function addDevice(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const token = form.get("token");
  const method = form.get("method");
  $("add-result").textContent = "";
  try {
    const { data, message } = await api("POST", "/devices", { token, method });
    $("add-result").textContent = message;
    setStatus(token, data.status);
    await select(token);
    if (data.code) showCode(data.code);
  } catch (error) {
    $("add-result").textContent = error.message;
  }
}

async function presence(event) {
  event.preventDefault();
  const contact = new FormData(event.target).get("contact");
  const action = event.submitter?.value || "show";
  const result = $("presence-result");
  try {
    if (action === "subscribe") {
      await api("POST", "/presence/subscribe", { token: selected, to: contact });
      result.textContent = `Following ${contact}; updates appear here.`;
    } else {
      const { data } = await api("GET", path("presence", selected, contact));
      const seen = data.lastSeen ? `, last seen ${when(data.lastSeen)}` : "";
      result.textContent = `${data.from}: ${data.state}${seen}`;
    }
  } catch (error) {
    result.textContent = error.message;
  }
}

async function postStatus(event) {
  event.preventDefault();
  const text = new FormData(event.target).get("text");
  try {
    const { data } = await api("POST", "/status", { token: selected, text });
    $("status-result").textContent = `Status posted (${data.messageId})`;
  } catch (error) {
    $("status-result").textContent = error.message;
  }
}

export function init() {
  $("add-form").addEventListener("submit", addDevice);
  $("presence-form").addEventListener("submit", presence);
  $("status-form").addEventListener("submit", postStatus);
  chats.init(() => selected);
}
