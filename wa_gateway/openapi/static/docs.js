// Renders /openapi.json without any external library or request.
"use strict";

const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
};

function resolve(doc, schema) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return doc.components.schemas[name] || schema;
  }
  return schema;
}

function pretty(doc, schema, depth = 0) {
  schema = resolve(doc, schema);
  if (!schema || depth > 6) return schema;
  if (schema.allOf) return schema.allOf.map((s) => pretty(doc, s, depth + 1));
  if (schema.properties) {
    const out = {};
    for (const [key, value] of Object.entries(schema.properties)) out[key] = pretty(doc, value, depth + 1);
    return out;
  }
  if (schema.items) return [pretty(doc, schema.items, depth + 1)];
  return schema.enum ? { enum: schema.enum } : schema;
}

// Descriptions are Markdown; the server sends them rendered to escaped HTML (x-description-html), which
// carries no attributes or scripts, so setting it as innerHTML is safe.
const described = (item, fallback) => {
  if (item["x-description-html"]) return el("div", { className: "description", innerHTML: item["x-description-html"] });
  return fallback === undefined ? null : el("pre", { textContent: fallback });
};

function renderOperation(doc, path, method, op) {
  const summary = el("summary", {},
    el("span", { className: `method ${method}`, textContent: method.toUpperCase() }),
    el("code", { textContent: path }), " — ", op.summary,
    op.security && op.security.length === 0 ? el("span", { className: "public", textContent: " public " }) : null);
  const details = el("details", { className: "op", id: `${method}-${path}` }, summary);
  if (op.description) details.append(described(op, op.description));
  if (op.parameters) {
    const list = el("ul");
    for (const p of op.parameters) list.append(el("li", { textContent: `${p.in} ${p.name}${p.required ? " (required)" : ""}${p.description ? ": " + p.description : ""}` }));
    details.append(el("h4", { textContent: "Parameters" }), list);
  }
  const body = op.requestBody?.content?.["application/json"]?.schema;
  if (body) details.append(el("h4", { textContent: "Body" }), el("pre", { textContent: JSON.stringify(pretty(doc, body), null, 2) }));
  const responses = el("ul");
  for (const [status, response] of Object.entries(op.responses)) {
    const resolved = response.$ref ? doc.components.responses[response.$ref.split("/").pop()] : response;
    responses.append(el("li", { textContent: `${status}: ${resolved.description}` }));
  }
  details.append(el("h4", { textContent: "Responses" }), responses);
  const ok = op.responses["200"]?.content?.["application/json"]?.schema;
  if (ok) details.append(el("pre", { textContent: JSON.stringify(pretty(doc, ok), null, 2) }));
  return details;
}

async function main() {
  const doc = await (await fetch("/openapi.json")).json();
  const intro = document.getElementById("intro");
  intro.replaceChildren(described(doc.info, doc.info.description), el("p", { textContent: `Version ${doc.info.version}.` }));
  const byTag = new Map();
  for (const [path, operations] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(operations)) {
      const tag = op.tags?.[0] || "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, method, op]);
    }
  }
  const content = document.getElementById("content");
  const toc = document.getElementById("toc");
  content.replaceChildren();
  for (const [tag, ops] of byTag) {
    const id = `tag-${tag}`;
    toc.append(el("li", {}, el("a", { href: `#${id}`, textContent: tag })));
    const section = el("section", { id }, el("h2", { textContent: tag }));
    for (const [path, method, op] of ops) section.append(renderOperation(doc, path, method, op));
    content.append(section);
  }
  const hooks = el("section", { id: "tag-Webhooks-sent" }, el("h2", { textContent: "Webhook events" }));
  toc.append(el("li", {}, el("a", { href: "#tag-Webhooks-sent", textContent: "Webhook events" })));
  for (const [name, item] of Object.entries(doc.webhooks || {})) {
    const schema = item.post.requestBody.content["application/json"].schema;
    hooks.append(el("details", { className: "op" }, el("summary", { textContent: name }),
      described(item.post, item.post.description),
      el("pre", { textContent: JSON.stringify(pretty(doc, schema), null, 2) })));
  }
  content.append(hooks);
}

main().catch((error) => {
  document.getElementById("content").textContent = `Could not load the API description: ${error}`;
});
