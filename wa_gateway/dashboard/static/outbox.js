// The global webhook outbox: what is pending, and the dead letters with a retry button each.
"use strict";

import { $, api, el, path } from "/dashboard/core.js";

export async function refresh() {
  const stats = $("outbox-stats");
  let data;
  try {
    data = (await api("GET", "/webhooks/stats")).data;
  } catch (error) {
    stats.textContent = error.status === 404 ? "Webhooks are off: WEBHOOK_URL is not set." : error.message;
    $("dead").replaceChildren();
    return;
  }
  const { data: page } = await api("GET", "/webhooks/dead?limit=100");
  // The figures and the table change together, so what the page shows is one moment of the outbox.
  const age = data.pending ? `, oldest ${data.oldestPendingAgeSeconds} s` : "";
  stats.textContent = `Pending ${data.pending}${age} · delivered ${data.delivered} · dead letters ${data.dead}`;
  const body = $("dead");
  body.replaceChildren();
  for (const item of page.items) {
    const retry = el("button", {
      type: "button",
      textContent: "Retry",
      "aria-label": `Retry ${item.event} ${item.id}`,
      onclick: () => retryOne(item.id),
    });
    const error = item.lastError || (item.lastStatus ? `HTTP ${item.lastStatus}` : "");
    body.append(
      el(
        "tr",
        { dataset: { id: item.id } },
        el("td", {}, item.event),
        el("td", {}, item.token),
        el("td", {}, String(item.attempts)),
        el("td", {}, error),
        el("td", {}, retry),
      ),
    );
  }
  $("no-dead").hidden = page.items.length > 0;
}

async function retryOne(id) {
  try {
    await api("POST", `${path("webhooks", "dead", id)}/retry`);
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

async function retryAll() {
  try {
    await api("POST", "/webhooks/dead/retry");
  } catch (error) {
    alert(error.message);
  }
  await refresh();
}

export function init() {
  $("refresh-outbox").addEventListener("click", refresh);
  $("retry-all").addEventListener("click", retryAll);
}
