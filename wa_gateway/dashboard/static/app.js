// wa-gateway dashboard: vanilla JS, no build step, no external requests.
"use strict";

const KEY_STORAGE = "wa-gateway-api-key";
const MAX_EVENTS = 50;
const $ = (id) => document.getElementById(id);

let apiKey = sessionStorage.getItem(KEY_STORAGE) || "";
let socket = null;
let reconnectTimer = null;
let qrUrl = null;
let pairingToken = null;
const devices = new Map();

async function api(method, path, body) {
  const init = { method, headers: { "X-API-Key": apiKey } };
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
    throw Object.assign(new Error(message), { status: response.status });
  }
  return payload;
}

function show(signedIn) {
  $("login").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
}

async function signIn(key) {
  apiKey = key;
  const health = await api("GET", "/health/detailed");
  sessionStorage.setItem(KEY_STORAGE, key);
  $("engine").textContent = `engine: ${health.data.engine} · version ${health.data.version}`;
  show(true);
  await refreshDevices();
  openSocket();
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  apiKey = "";
  if (socket) socket.close(1000, "signed out");
  socket = null;
  clearTimeout(reconnectTimer);
  show(false);
}

async function refreshDevices() {
  const { data } = await api("GET", "/devices");
  devices.clear();
  for (const device of data.devices) devices.set(device.token, device);
  renderDevices();
}

function renderDevices() {
  const body = $("devices");
  body.replaceChildren();
  for (const device of [...devices.values()].sort((a, b) => a.token.localeCompare(b.token))) {
    const row = document.createElement("tr");
    row.dataset.token = device.token;
    const cells = [device.token, device.status, device.pushName || ""];
    cells.forEach((text, index) => {
      const cell = document.createElement("td");
      cell.textContent = text;
      if (index === 1) cell.className = `status status-${device.status}`;
      row.append(cell);
    });
    const actions = document.createElement("td");
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "Delete";
    remove.setAttribute("aria-label", `Delete device ${device.token}`);
    remove.addEventListener("click", () => deleteDevice(device.token));
    actions.append(remove);
    row.append(actions);
    body.append(row);
  }
  $("no-devices").hidden = devices.size > 0;
}

function setStatus(token, status) {
  const device = devices.get(token) || { token, pushName: null };
  device.status = status;
  devices.set(token, device);
  renderDevices();
}

async function deleteDevice(token) {
  if (!confirm(`Log out and delete device ${token}?`)) return;
  try {
    await api("DELETE", `/devices/${encodeURIComponent(token)}`);
    devices.delete(token);
    renderDevices();
    if (pairingToken === token) hidePairing();
  } catch (error) {
    alert(error.message);
  }
}

function hidePairing() {
  $("pairing").hidden = true;
  pairingToken = null;
  if (qrUrl) URL.revokeObjectURL(qrUrl);
  qrUrl = null;
}

async function showQr(token) {
  // The image route needs the key, so it is fetched with a header and shown from a blob URL.
  const response = await fetch(`/devices/${encodeURIComponent(token)}/qr`, {
    headers: { "X-API-Key": apiKey },
  });
  if (!response.ok) return;
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

function logEvent(frame) {
  const item = document.createElement("li");
  const time = new Date().toLocaleTimeString();
  const data = frame.data === undefined || typeof frame.data === "string" ? "" : JSON.stringify(frame.data);
  const detail = frame.message || data;
  item.textContent = `${time} ${frame.event} ${frame.token} ${detail}`.trim();
  const list = $("events");
  list.prepend(item);
  while (list.children.length > MAX_EVENTS) list.lastChild.remove();
}

function onFrame(frame) {
  if (frame.type === "auth") {
    $("ws-status").textContent = frame.success ? "Live updates: on" : `Live updates: ${frame.message}`;
    if (frame.success) socket.send(JSON.stringify({ type: "subscribe", events: ["*"] }));
    return;
  }
  if (!frame.event) return;
  logEvent(frame);
  const { event, token } = frame;
  if (event === "qrcode") {
    setStatus(token, "pairing");
    if (token === pairingToken) showQr(token);
  } else if (event === "pairing-code") {
    setStatus(token, "pairing");
    if (token === pairingToken) showCode(frame.data.code);
  } else if (event === "connection-success") {
    if (token === pairingToken) hidePairing();
    refreshDevices();
  } else if (event === "connection-error") {
    if (token === pairingToken && frame.message !== "Disconnected") hidePairing();
    refreshDevices();
  }
}

function openSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", apiKey })));
  socket.addEventListener("message", (message) => onFrame(JSON.parse(message.data)));
  socket.addEventListener("close", () => {
    $("ws-status").textContent = "Live updates: reconnecting…";
    if (apiKey) reconnectTimer = setTimeout(openSocket, 2000);
  });
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    await signIn($("api-key").value);
    $("api-key").value = "";
  } catch (error) {
    $("login-error").textContent = error.status === 401 ? "That key was not accepted." : error.message;
  }
});

$("add-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const token = form.get("token");
  const method = form.get("method");
  $("add-result").textContent = "";
  $("pairing-code").textContent = "";
  try {
    pairingToken = token;
    const { data, message } = await api("POST", "/devices", { token, method });
    $("add-result").textContent = message;
    setStatus(token, data.status);
    if (data.code) showCode(data.code);
    if (method === "qr" && data.status === "pairing") await showQr(token);
  } catch (error) {
    pairingToken = null;
    $("add-result").textContent = error.message;
  }
});

$("send-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  $("send-result").textContent = "Sending…";
  try {
    const { data } = await api("POST", "/messages", {
      token: form.get("token"),
      to: form.get("to"),
      text: form.get("text"),
    });
    $("send-result").textContent = `Sent (${data.messageId})`;
  } catch (error) {
    $("send-result").textContent = error.message;
  }
});

$("sign-out").addEventListener("click", signOut);

if (apiKey) {
  signIn(apiKey).catch(() => signOut());
} else {
  show(false);
}
