// wa-gateway dashboard: vanilla JS modules, no build step, no external requests.
"use strict";

import { $, KEY_STORAGE, api, state } from "/dashboard/core.js";
import * as devices from "/dashboard/devices.js";
import * as keys from "/dashboard/keys.js";
import * as outbox from "/dashboard/outbox.js";

const MAX_EVENTS = 100;
let socket = null;
let reconnectTimer = null;

function show(signedIn) {
  $("login").hidden = signedIn;
  $("app").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
}

function selectTab(id) {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.setAttribute("aria-pressed", String(tab.dataset.tab === id));
  }
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== id;
  if (id === "webhooks-view") outbox.refresh();
  if (id === "keys-view") keys.refresh();
}

async function signIn(key) {
  state.apiKey = key;
  const health = await api("GET", "/health/detailed");
  sessionStorage.setItem(KEY_STORAGE, key);
  $("engine").textContent = `engine: ${health.data.engine} · version ${health.data.version}`;
  show(true);
  await devices.refresh();
  openSocket();
}

function signOut() {
  sessionStorage.removeItem(KEY_STORAGE);
  state.apiKey = "";
  if (socket) socket.close(1000, "signed out");
  socket = null;
  clearTimeout(reconnectTimer);
  show(false);
}

function logEvent(frame) {
  const time = new Date().toLocaleTimeString();
  const data = frame.data === undefined || typeof frame.data === "string" ? "" : JSON.stringify(frame.data);
  const item = document.createElement("li");
  item.textContent = `${time} ${frame.event} ${frame.token} ${frame.message || data}`.trim();
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
  devices.onEvent(frame);
}

function openSocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws`);
  socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "auth", apiKey: state.apiKey })));
  socket.addEventListener("message", (message) => onFrame(JSON.parse(message.data)));
  socket.addEventListener("close", () => {
    $("ws-status").textContent = "Live updates: reconnecting…";
    if (state.apiKey) reconnectTimer = setTimeout(openSocket, 2000);
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

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => selectTab(tab.dataset.tab));
}
$("sign-out").addEventListener("click", signOut);
devices.init();
outbox.init();
keys.init();

if (state.apiKey) {
  signIn(state.apiKey).catch(() => signOut());
} else {
  show(false);
}
