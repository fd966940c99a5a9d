// The selected device's channels (GET /newsletters) and the latest posts of the one opened.
"use strict";

import { $, api, el, path, when } from "/dashboard/core.js";

const POSTS = 10;
const POSTING_ROLES = new Set(["owner", "admin"]);
let shown = { token: null, jid: null };

export async function load(token, status) {
  const list = $("channels");
  list.replaceChildren();
  $("channel-posts").replaceChildren();
  $("channels-note").textContent = "";
  if (status !== "connected") {
    $("channels-note").textContent = "Channels are listed while the device is connected.";
    return;
  }
  try {
    const { data } = await api("GET", path("newsletters", token));
    for (const channel of data.newsletters) list.append(channelItem(token, channel));
    if (!data.newsletters.length) $("channels-note").textContent = "Follows no channel.";
    const open = data.newsletters.find((channel) => shown.token === token && channel.jid === shown.jid);
    if (open) await openChannel(token, open);
  } catch (error) {
    $("channels-note").textContent = error.message;
  }
}

function channelItem(token, channel) {
  const role = channel.role === "subscriber" ? "following" : channel.role;
  const about = `${role}${channel.muted ? ", muted" : ""} · ${channel.subscribers} followers`;
  const button = el(
    "button",
    { type: "button", className: "chat", onclick: () => openChannel(token, channel), "aria-label": `Channel ${channel.name}` },
    el("strong", {}, channel.name || channel.jid.split("@")[0]),
    el("span", { className: "muted preview" }, about),
  );
  return el("li", { dataset: { jid: channel.jid } }, button);
}

async function openChannel(token, channel) {
  shown = { token, jid: channel.jid };
  for (const item of $("channels").children) item.classList.toggle("selected", item.dataset.jid === channel.jid);
  // Its owner and admins post in it from the message form.
  if (POSTING_ROLES.has(channel.role)) $("send-to").value = channel.jid;
  const list = $("channel-posts");
  try {
    const { data } = await api("GET", `${path("newsletters", token, channel.jid, "messages")}?limit=${POSTS}`);
    if (shown.token !== token || shown.jid !== channel.jid) return;
    // Newest first from the API; shown oldest at the top, like the chat.
    list.replaceChildren(...data.messages.map(postItem).reverse());
    if (!data.messages.length) list.append(el("li", { className: "muted" }, "No posts yet."));
  } catch (error) {
    list.replaceChildren(el("li", { className: "error" }, error.message));
  }
}

function postItem(post) {
  const reactions = post.reactions.map((r) => `${r.emoji} ${r.count}`).join(" ");
  const views = post.views === null ? null : `${post.views} views`;
  const meta = [when(post.timestamp), views, reactions].filter(Boolean).join(" · ");
  return el(
    "li",
    { className: "theirs", dataset: { serverId: String(post.serverId) } },
    el("span", { className: "text" }, post.text || `[${post.type}]`),
    el("span", { className: "muted meta" }, meta),
  );
}

let reloadTimer = null;

export function onEvent(frame, selectedToken) {
  // A post or a reaction in the open channel: its posts are read again, a burst folded into one read.
  const data = frame.data;
  if (!data || data.isNewsletter !== true || shown.token !== selectedToken || data.chat !== shown.jid) return;
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => load(selectedToken, "connected"), 150);
}
