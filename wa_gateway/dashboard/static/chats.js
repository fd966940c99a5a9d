// The selected device's chats and messages, read from the message store (GET /chats, GET /messages).
"use strict";

import { $, api, el, path, when } from "/dashboard/core.js";

const PAGE = 30;
let current = { token: null, chat: null, nextCursor: null };
let selectedToken = () => null;

export async function load(token) {
  current = { token, chat: current.token === token ? current.chat : null, nextCursor: null };
  const list = $("chats");
  try {
    const { data } = await api("GET", `${path("chats", token)}?limit=100`);
    list.replaceChildren();
    for (const chat of data.chats) list.append(chatItem(chat));
    $("no-chats").hidden = data.chats.length > 0;
    $("no-chats").textContent = "No stored chats.";
  } catch (error) {
    list.replaceChildren();
    $("no-chats").hidden = false;
    $("no-chats").textContent = error.message;
  }
  if (current.chat) await openChat(current.chat);
  else $("messages").replaceChildren();
}

function chatItem(chat) {
  const label = chat.name || chat.jid.split("@")[0];
  const unread = chat.unread ? el("span", { className: "badge", title: "unread" }, String(chat.unread)) : null;
  const last = chat.lastMessage;
  const preview = `${last.fromMe ? "You: " : ""}${last.text || last.type}`;
  const button = el(
    "button",
    { type: "button", className: "chat", onclick: () => openChat(chat.jid), "aria-label": `Chat with ${label}` },
    el("strong", {}, label),
    unread,
    el("span", { className: "muted preview" }, preview),
  );
  return el("li", { dataset: { jid: chat.jid } }, button);
}

async function openChat(jid) {
  current.chat = jid;
  current.nextCursor = null;
  $("messages").replaceChildren();
  $("messages-title").textContent = `Messages with ${jid.split("@")[0]}`;
  $("send-to").value = jid.endsWith("@s.whatsapp.net") ? jid.split("@")[0] : jid;
  for (const item of $("chats").children) item.classList.toggle("selected", item.dataset.jid === jid);
  await page();
}

async function page() {
  const { token, chat, nextCursor } = current;
  const query = new URLSearchParams({ chat, limit: String(PAGE) });
  if (nextCursor) query.set("before", nextCursor);
  try {
    const { data } = await api("GET", `${path("messages", token)}?${query}`);
    if (current.token !== token || current.chat !== chat) return;
    // Newest first from the API; the list shows oldest at the top, so older pages go above.
    const items = data.messages.map(messageItem).reverse();
    $("messages").prepend(...items);
    current.nextCursor = data.nextCursor;
    $("older").hidden = data.nextCursor === null;
  } catch (error) {
    $("messages").prepend(el("li", { className: "error" }, error.message));
  }
}

function messageItem(message) {
  const bits = [];
  if (message.editedAt) bits.push("edited");
  if (message.fromMe) bits.push(message.status);
  const reactions = message.reactions.map((r) => r.emoji).join("");
  const text = message.revokedAt ? "This message was deleted" : message.text || `[${message.type}]`;
  return el(
    "li",
    { className: message.fromMe ? "mine" : "theirs", dataset: { id: message.id } },
    el("span", { className: "text" }, text),
    reactions ? el("span", { className: "reactions" }, reactions) : null,
    el("span", { className: "muted meta" }, [when(message.timestamp), ...bits].join(" · ")),
  );
}

let reloadTimer = null;

export function onEvent(frame) {
  // The store has the event once the hook ran; a short debounce folds a burst into one reload.
  if (!frame.event.startsWith("message.")) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => {
    if (current.token === selectedToken()) load(current.token);
  }, 150);
}

async function send(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  $("send-result").textContent = "Sending…";
  try {
    const { data } = await api("POST", "/messages", {
      token: current.token,
      to: form.get("to"),
      text: form.get("text"),
    });
    $("send-result").textContent = `Sent (${data.messageId})`;
    $("send-text").value = "";
    await load(current.token);
  } catch (error) {
    $("send-result").textContent = error.message;
  }
}

export function init(selected) {
  selectedToken = selected;
  $("older").addEventListener("click", page);
  $("send-form").addEventListener("submit", send);
}
