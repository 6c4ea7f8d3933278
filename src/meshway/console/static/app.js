// Meshway console: plain JavaScript, no build step, nothing loaded from elsewhere.
// Safety rule for this file: data from the server is only ever put into the page with
// textContent, setAttribute on non-script attributes, or SVG/DOM APIs; never innerHTML.
"use strict";

const API = "/meshway/console/api/";
const POLL_MS = 2000;
const SVG_NS = "http://www.w3.org/2000/svg";

// ---- DOM helpers -------------------------------------------------------------------------

function append(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "onclick") node.addEventListener("click", value);
    else if (key === "onsubmit") node.addEventListener("submit", value);
    else if (key === "onchange") node.addEventListener("change", value);
    else if (key.startsWith("on")) throw new Error("unexpected handler " + key);
    else node.setAttribute(key, String(value));
  }
  return node;
}

function h(tag, attrs, ...children) {
  return append(setAttrs(document.createElement(tag), attrs), children);
}

function s(tag, attrs, ...children) {
  return append(setAttrs(document.createElementNS(SVG_NS, tag), attrs), children);
}

function link(hash, text, attrs) {
  return h("a", Object.assign({ href: hash }, attrs || {}), text);
}

function badge(text, cls) {
  return h("span", { class: "badge " + (cls || text) }, text);
}

function table(headers, rows, attrs) {
  return h("table", attrs || {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}

function fmtTime(epoch) {
  if (epoch === null || epoch === undefined || epoch === "") return "";
  const date = new Date(Number(epoch) * 1000);
  return isNaN(date) ? String(epoch) : date.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function ms(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  return (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1) + " ms";
}

function pct(share) {
  return (share * 100).toFixed(share && share < 0.1 ? 1 : 0) + "%";
}

function q(params) {
  return Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => encodeURIComponent(k) + "=" + encodeURIComponent(v)).join("&");
}

function hashFor(view, params) {
  const query = q(params || {});
  return "#/" + view + (query ? "?" + query : "");
}

// ---- routing and live polling ------------------------------------------------------------

function route() {
  const hash = location.hash.replace(/^#\/?/, "") || "meshes";
  const [view, query] = hash.split("?", 2);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  return { view, params };
}

const state = { timer: null, lastText: null, seq: 0, scopes: [] };

function scopeParams(params) {
  const select = document.getElementById("scope");
  const [account, region] = (select.value || "000000000000|us-east-1").split("|");
  return { account: params.account || account, region: params.region || region };
}

async function fetchJson(path) {
  const response = await fetch(API + path, { headers: { Accept: "application/json" } });
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try { message = JSON.parse(text).message; } catch (e) { /* not JSON */ }
    throw new Error(response.status + ": " + message);
  }
  return text;
}

function syncScope(params) {
  // A link may name its own account and region: show them in the menu, adding them if new.
  if (!params.account || !params.region) return;
  const select = document.getElementById("scope");
  const value = params.account + "|" + params.region;
  if (![...select.options].some((o) => o.value === value)) {
    select.appendChild(h("option", { value }, params.account + " · " + params.region));
  }
  select.value = value;
}

async function refresh(force) {
  const { view, params } = route();
  syncScope(params);
  const spec = VIEWS[view] || VIEWS.meshes;
  const seq = ++state.seq;
  const live = document.getElementById("live");
  let text;
  try {
    text = await fetchJson(spec.path(params));
  } catch (error) {
    if (seq !== state.seq) return;
    replaceMain(h("div", { class: "error-box", "data-testid": "error" }, String(error.message)));
    state.lastText = null;
    live.textContent = "error";
    return;
  }
  if (seq !== state.seq) return;
  live.textContent = "live · " + new Date().toLocaleTimeString();
  live.setAttribute("data-updated", String(Date.now()));
  if (!force && text === state.lastText) return;
  const typing = document.activeElement && document.activeElement.closest("main form");
  if (!force && typing) return; // never wipe what someone is typing; the next poll catches up
  state.lastText = text;
  replaceMain(spec.render(JSON.parse(text), params));
}

function replaceMain(node) {
  const main = document.getElementById("main");
  main.replaceChildren(node);
}

function schedule() {
  clearInterval(state.timer);
  state.timer = setInterval(() => { if (!document.hidden) refresh(false); }, POLL_MS);
}

function markNav() {
  const { view } = route();
  const group = { mesh: "meshes", resource: "meshes", task: "tasks", trace: "traces" }[view] || view;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.getAttribute("data-view") === group);
  }
}

async function loadScopes() {
  const select = document.getElementById("scope");
  try {
    const found = JSON.parse(await fetchJson("scopes")).scopes;
    const current = select.value;
    const options = found.length ? found : [{ account: "000000000000", region: "us-east-1" }];
    select.replaceChildren(...options.map((x) =>
      h("option", { value: x.account + "|" + x.region }, x.account + " · " + x.region)));
    if (current && options.some((x) => x.account + "|" + x.region === current)) select.value = current;
  } catch (error) { /* the views say what failed */ }
}

// ---- meshes ------------------------------------------------------------------------------

function renderMeshes(data) {
  if (!data.meshes.length) {
    return h("div", {}, h("h2", {}, "Meshes"), h("div", { class: "empty" },
      "No meshes yet. Create one with: aws appmesh create-mesh --mesh-name my-mesh --endpoint-url " + location.origin));
  }
  const rows = data.meshes.map((m) => h("tr", { "data-mesh": m.data.meshName },
    h("td", {}, link(hashFor("mesh", { arn: m.arn }), m.data.meshName)),
    h("td", {}, m.account), h("td", {}, m.region),
    h("td", {}, String(m.data.metadata.version)),
    h("td", {}, badge(m.data.status.status, m.data.status.status === "ACTIVE" ? "ok" : "")),
    h("td", {}, fmtTime(m.data.metadata.lastUpdatedAt))));
  return h("div", {}, h("h2", {}, "Meshes"),
    table(["Mesh", "Account", "Region", "Version", "Status", "Last updated"], rows, { "data-testid": "meshes" }));
}

const KIND_LABEL = {
  virtualGateway: "virtual gateway", virtualService: "virtual service",
  virtualRouter: "virtual router", route: "route", virtualNode: "virtual node",
  gatewayRoute: "gateway route", mesh: "mesh",
};

function kindOf(arn) {
  const path = arn.split(":").slice(5).join(":").split("/");
  return path.length >= 6 ? path[4] : path.length >= 4 ? path[2] : "mesh";
}

function nameOf(resource) {
  const d = resource.data;
  return d.routeName || d.gatewayRouteName || d.virtualNodeName || d.virtualRouterName ||
    d.virtualServiceName || d.virtualGatewayName || d.meshName;
}

function routeSpec(spec) {
  return spec.httpRoute || spec.http2Route || spec.grpcRoute || spec.tcpRoute || {};
}

function gatewayTarget(spec) {
  const r = spec.httpRoute || spec.http2Route || spec.grpcRoute || {};
  const target = ((r.action || {}).target || {}).virtualService || {};
  return target.virtualServiceName;
}

// Columns left to right: gateways → virtual services → routers → routes → nodes.
const COLUMNS = ["virtualGateway", "virtualService", "virtualRouter", "route", "virtualNode"];

function meshGraphModel(data) {
  const boxes = [];
  const byKey = {};
  const add = (kind, name, resource, key) => {
    const box = { kind, name, resource, key: key || kind + "/" + name };
    byKey[box.key] = box;
    boxes.push(box);
  };
  data.virtualGateways.forEach((r) => add("virtualGateway", nameOf(r), r));
  data.virtualServices.forEach((r) => add("virtualService", nameOf(r), r));
  data.virtualRouters.forEach((r) => add("virtualRouter", nameOf(r), r));
  data.routes.forEach((r) => add("route", nameOf(r), r, "route/" + r.data.virtualRouterName + "/" + nameOf(r)));
  data.virtualNodes.forEach((r) => add("virtualNode", nameOf(r), r));
  const edges = [];
  const edge = (from, to, props) => { if (byKey[from] && byKey[to]) edges.push(Object.assign({ from, to }, props)); };
  for (const gr of data.gatewayRoutes) {
    const target = gatewayTarget(gr.data.spec || {});
    edge("virtualGateway/" + gr.data.virtualGatewayName, "virtualService/" + target,
      { label: nameOf(gr), cls: "gateway" });
  }
  for (const vs of data.virtualServices) {
    const provider = (vs.data.spec || {}).provider || {};
    if (provider.virtualRouter) edge("virtualService/" + nameOf(vs), "virtualRouter/" + provider.virtualRouter.virtualRouterName, {});
    if (provider.virtualNode) edge("virtualService/" + nameOf(vs), "virtualNode/" + provider.virtualNode.virtualNodeName, {});
  }
  for (const r of data.routes) {
    const key = "route/" + r.data.virtualRouterName + "/" + nameOf(r);
    edge("virtualRouter/" + r.data.virtualRouterName, key, {});
    const targets = ((routeSpec(r.data.spec || {}).action || {}).weightedTargets) || [];
    const total = targets.reduce((sum, t) => sum + Number(t.weight || 0), 0);
    for (const t of targets) {
      edge(key, "virtualNode/" + t.virtualNode, {
        weight: Number(t.weight), share: total ? Number(t.weight) / total : 0,
        route: nameOf(r), router: r.data.virtualRouterName, node: t.virtualNode,
      });
    }
  }
  return { boxes, edges, byKey };
}

function backendsOf(box) {
  if (box.kind !== "virtualNode") return [];
  return ((box.resource.data.spec || {}).backends || [])
    .map((b) => (b.virtualService || {}).virtualServiceName).filter(Boolean);
}

function renderMeshGraph(data) {
  const model = meshGraphModel(data);
  const colW = 290, boxW = 175, boxH = 54, rowH = 70, top = 36, left = 20;
  const rows = {};
  for (const box of model.boxes) {
    const col = COLUMNS.indexOf(box.kind);
    rows[col] = (rows[col] || 0) + 1;
    box.x = left + col * colW;
    box.y = top + (rows[col] - 1) * rowH;
  }
  const height = top + Math.max(1, ...Object.values(rows)) * rowH + 10;
  const width = left + (COLUMNS.length - 1) * colW + boxW + 20;
  const svg = s("svg", { class: "graph", "data-testid": "mesh-graph", viewBox: `0 0 ${width} ${height}`, width, height });
  COLUMNS.forEach((kind, col) => svg.appendChild(
    s("text", { x: left + col * colW, y: 18, class: "muted" }, KIND_LABEL[kind] + "s")));
  for (const e of model.edges) {
    const a = model.byKey[e.from], b = model.byKey[e.to];
    const x1 = a.x + boxW, y1 = a.y + boxH / 2, x2 = b.x, y2 = b.y + boxH / 2;
    const mid = (x1 + x2) / 2;
    const g = s("g", { class: "edge-group", "data-from": e.from, "data-to": e.to });
    g.appendChild(s("path", { class: "edge " + (e.cls || ""), d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
    if (e.weight !== undefined) {
      g.setAttribute("data-route", e.route);
      g.setAttribute("data-router", e.router);
      g.setAttribute("data-node", e.node);
      g.setAttribute("data-weight", String(e.weight));
      g.appendChild(s("text", { class: "weight", x: x2 - 8, y: y2 - 5, "text-anchor": "end" },
        "weight " + e.weight + " (" + pct(e.share) + ")"));
    } else if (e.label) {
      g.appendChild(s("text", { class: "edge-label", x: mid, y: (y1 + y2) / 2 - 5, "text-anchor": "middle" }, e.label));
    }
    svg.appendChild(g);
  }
  for (const box of model.boxes) {
    const g = s("g", {
      class: "box " + box.kind, transform: `translate(${box.x},${box.y})`,
      "data-kind": box.kind, "data-name": box.name,
      onclick: () => { location.hash = hashFor("resource", { mesh: data.mesh.arn, arn: box.resource.arn }); },
    });
    g.appendChild(s("title", {}, box.resource.arn));
    g.appendChild(s("rect", { width: boxW, height: boxH }));
    g.appendChild(s("text", { class: "kind", x: 8, y: 14 }, KIND_LABEL[box.kind]));
    g.appendChild(s("text", { x: 8, y: 31 }, box.name.length > 26 ? box.name.slice(0, 25) + "…" : box.name));
    const calls = backendsOf(box);
    if (calls.length) {
      g.appendChild(s("text", { class: "calls", x: 8, y: 47 }, ("calls " + calls.join(", ")).slice(0, 34)));
    }
    svg.appendChild(g);
  }
  return svg;
}

function allResources(data) {
  return [data.mesh, ...data.virtualGateways, ...data.gatewayRoutes, ...data.virtualServices,
    ...data.virtualRouters, ...data.routes, ...data.virtualNodes];
}

function renderMesh(data) {
  const rows = allResources(data).map((r) => h("tr", { "data-arn": r.arn },
    h("td", {}, KIND_LABEL[kindOf(r.arn)] || kindOf(r.arn)),
    h("td", {}, link(hashFor("resource", { mesh: data.mesh.arn, arn: r.arn }), nameOf(r))),
    h("td", {}, String(r.data.metadata.version)),
    h("td", {}, r.data.status ? r.data.status.status : ""),
    h("td", {}, fmtTime(r.data.metadata.lastUpdatedAt))));
  return h("div", {},
    h("h2", {}, "Mesh ", h("span", { "data-testid": "mesh-name" }, data.mesh.data.meshName)),
    h("p", { class: "muted" }, "Virtual services → routers → routes (with their weights) → virtual nodes; gateways route to virtual services. Click a box for its spec."),
    renderMeshGraph(data),
    h("h3", {}, "Resources"),
    table(["Kind", "Name", "Version", "Status", "Last updated"], rows, { "data-testid": "resources" }));
}

function renderResource(data, params) {
  const found = allResources(data).find((r) => r.arn === params.arn);
  if (!found) return h("div", { class: "empty" }, "This resource is gone (deleted since).");
  const m = found.data.metadata;
  const meta = [["ARN", m.arn], ["UID", m.uid], ["Version", m.version], ["Created", fmtTime(m.createdAt)],
    ["Last updated", fmtTime(m.lastUpdatedAt)], ["Mesh owner", m.meshOwner], ["Resource owner", m.resourceOwner],
    ["Status", found.data.status ? found.data.status.status : ""]];
  const tags = (found.tags || []).map((t) => h("tr", {}, h("td", {}, t.key), h("td", {}, t.value)));
  return h("div", { "data-testid": "resource" },
    h("p", {}, link(hashFor("mesh", { arn: data.mesh.arn }), "← mesh " + data.mesh.data.meshName)),
    h("h2", {}, (KIND_LABEL[kindOf(found.arn)] || "") + " ", h("span", { "data-testid": "resource-name" }, nameOf(found))),
    table(["Metadata", ""], meta.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, v === undefined ? "" : String(v))))),
    h("h3", {}, "Tags"),
    tags.length ? table(["Key", "Value"], tags, { "data-testid": "tags" }) : h("div", { class: "empty" }, "No tags."),
    h("h3", {}, "Spec"),
    h("pre", { "data-testid": "spec" }, JSON.stringify(found.data.spec || {}, null, 2)));
}

// ---- tasks -------------------------------------------------------------------------------

function taskIp(task) {
  for (const a of task.attachments || []) {
    for (const d of a.details || []) if (d.name === "privateIPv4Address") return d.value;
  }
  return "";
}

function family(task) {
  return (task.taskDefinitionArn || "").split("/").pop();
}

function renderTasks(data) {
  if (!data.tasks.length) return h("div", {}, h("h2", {}, "Tasks"), h("div", { class: "empty" }, "No tasks yet."));
  const rows = data.tasks.map((t) => h("tr", { "data-task": t.taskId },
    h("td", {}, link(hashFor("task", { arn: t.taskArn }), t.taskId.slice(0, 12))),
    h("td", {}, family(t)), h("td", {}, (t.clusterArn || "").split("/").pop()),
    h("td", {}, badge(t.lastStatus)), h("td", {}, t.desiredStatus),
    h("td", {}, t.healthStatus ? badge(t.healthStatus) : ""), h("td", {}, taskIp(t)),
    h("td", {}, fmtTime(t.startedAt)), h("td", { class: "reason" }, t.stoppedReason || "")));
  return h("div", {}, h("h2", {}, "Tasks"),
    table(["Task", "Definition", "Cluster", "Status", "Desired", "Health", "IP", "Started", "Stopped reason"], rows, { "data-testid": "tasks" }));
}

function renderTask(task) {
  const facts = [["Task ARN", task.taskArn], ["Definition", task.taskDefinitionArn], ["Group", task.group],
    ["Last status", task.lastStatus], ["Desired status", task.desiredStatus], ["Health", task.healthStatus],
    ["IP", taskIp(task)], ["Created", fmtTime(task.createdAt)], ["Started", fmtTime(task.startedAt)],
    ["Stopped", fmtTime(task.stoppedAt)], ["Stop code", task.stopCode], ["Stopped reason", task.stoppedReason]];
  const containers = (task.containers || []).map((c) => h("tr", { "data-container": c.name },
    h("td", {}, c.name), h("td", {}, c.image), h("td", {}, badge(c.lastStatus)),
    h("td", {}, c.healthStatus ? badge(c.healthStatus) : ""),
    h("td", { class: "exit-code" }, c.exitCode === undefined ? "" : String(c.exitCode)),
    h("td", {}, c.reason || ""),
    h("td", {}, ((c.networkInterfaces || [])[0] || {}).privateIpv4Address || "")));
  const logs = Object.entries(task.logs || {}).map(([name, streams]) => h("div", { "data-logs": name },
    h("h3", {}, "Logs: " + name),
    h("div", { class: "logs" },
      h("div", {}, h("div", { class: "muted" }, "stdout"), h("pre", { "data-stream": "stdout" }, streams.stdout.join("\n"))),
      h("div", {}, h("div", { class: "muted" }, "stderr"), h("pre", { "data-stream": "stderr" }, streams.stderr.join("\n"))))));
  return h("div", { "data-testid": "task" },
    h("p", {}, link("#/tasks", "← tasks")),
    h("h2", {}, "Task ", task.taskId, " ", badge(task.lastStatus)),
    task.stoppedReason ? h("div", { class: "error-box", "data-testid": "stopped-reason" }, task.stoppedReason) : null,
    table(["", ""], facts.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, String(v))))),
    h("h3", {}, "Containers"),
    table(["Name", "Image", "Status", "Health", "Exit code", "Reason", "IP"], containers, { "data-testid": "containers" }),
    logs.length ? logs : h("p", { class: "muted" }, "No logs (the task runtime keeps them while it runs tasks)."));
}

// ---- proxies -----------------------------------------------------------------------------

function proxyState(p) {
  if (p.inSync) return "in-sync";
  const rejected = Object.values(p.types).some((t) => t.lastNack && t.lastNack.version === t.sentVersion && t.sentVersion !== t.ackedVersion);
  return rejected ? "rejecting" : "behind";
}

const STATE_LABEL = { "in-sync": "IN SYNC", behind: "BEHIND", rejecting: "REJECTING CONFIG" };

function renderProxies(data) {
  if (!data.proxies.length) {
    return h("div", {}, h("h2", {}, "Proxies"), h("div", { class: "empty" }, "No Envoy is connected to the control plane."));
  }
  const counts = { "in-sync": 0, behind: 0, rejecting: 0 };
  data.proxies.forEach((p) => { counts[proxyState(p)] += 1; });
  const cards = h("div", { class: "cards" }, Object.entries(counts).map(([k, n]) =>
    h("div", { class: "card" }, h("b", { "data-count": k }, String(n)), STATE_LABEL[k])));
  const blocks = data.proxies.map((p) => {
    const st = proxyState(p);
    const types = Object.entries(p.types).map(([name, t]) => h("tr", { "data-type": name },
      h("td", {}, name), h("td", {}, t.sentVersion), h("td", {}, t.ackedVersion),
      h("td", {}, String(t.resources)), h("td", {}, ms(t.lastPushToAckSeconds)),
      h("td", {}, t.lastNack ? h("pre", { class: "nack" }, t.lastNack.message) : "")));
    return h("div", { class: "proxy", "data-node": p.nodeId, "data-state": st },
      h("h3", {}, p.nodeId, " ", badge(STATE_LABEL[st], st)),
      h("p", { class: "muted" }, `${p.protocol} · peer ${p.peer} · connected ${fmtTime(p.connectedAt)} · last push ${fmtTime(p.lastPushAt)}`),
      p.lastNack ? h("pre", { class: "nack", "data-testid": "nack" }, "Rejected version " + p.lastNack.version + ": " + p.lastNack.message) : null,
      table(["Type", "Sent", "ACKed", "Resources", "Push → ACK", "Last NACK"], types));
  });
  return h("div", {}, h("h2", {}, "Proxies"), cards, blocks);
}

// ---- service map -------------------------------------------------------------------------

const STATUS_ORDER = ["ok", "error", "throttle", "fault"];
const STATUS_FIELD = { ok: "ok", error: "error4xx", throttle: "throttle429", fault: "fault5xx" };

function layers(nodes, edges) {
  const depth = {};
  const incoming = new Set(edges.map((e) => e.target));
  let frontier = nodes.filter((n) => !incoming.has(n.id)).map((n) => n.id);
  if (!frontier.length && nodes.length) frontier = [nodes[0].id];
  frontier.forEach((id) => { depth[id] = 0; });
  for (let round = 0; frontier.length && round < nodes.length; round++) {
    const next = [];
    for (const id of frontier) {
      for (const e of edges.filter((x) => x.source === id)) {
        if (depth[e.target] === undefined) { depth[e.target] = depth[id] + 1; next.push(e.target); }
      }
    }
    frontier = next;
  }
  nodes.forEach((n) => { if (depth[n.id] === undefined) depth[n.id] = 0; });
  return depth;
}

function donut(node, r) {
  const g = s("g", {});
  const total = node.total;
  const circumference = 2 * Math.PI * r;
  if (!total) {
    g.appendChild(s("circle", { r, class: "ring-idle", fill: "none", "stroke-width": 8 }));
    return g;
  }
  let offset = 0;
  for (const status of STATUS_ORDER) {
    const n = node[STATUS_FIELD[status]];
    if (!n) continue;
    const length = (n / total) * circumference;
    g.appendChild(s("circle", {
      r, fill: "none", "stroke-width": 8, class: "ring-" + status, transform: "rotate(-90)",
      "stroke-dasharray": `${length} ${circumference - length}`, "stroke-dashoffset": String(-offset),
    }));
    offset += length;
  }
  return g;
}

function renderMap(data, params) {
  const nodes = data.nodes, edges = data.edges;
  const header = h("div", {},
    h("h2", {}, "Service map"),
    h("p", { class: "muted" }, `From X-Ray traces of the last ${params.minutes || 5} minutes (${scopeParams(params).account} · ${scopeParams(params).region}). Click a service for its traces.`),
    h("div", { class: "legend" }, STATUS_ORDER.map((k) => h("span", {}, h("i", { class: k }), { ok: "OK", error: "Error (4xx)", throttle: "Throttled (429)", fault: "Fault (5xx)" }[k]))));
  if (!nodes.length) return h("div", {}, header, h("div", { class: "empty" }, "No traces in this window."));
  const depth = layers(nodes, edges);
  const perCol = {};
  const pos = {};
  const colW = 360, rowH = 130, r = 26, left = 80, top = 50;
  for (const n of nodes) {
    const d = depth[n.id];
    perCol[d] = (perCol[d] || 0) + 1;
    pos[n.id] = { x: left + d * colW, y: top + (perCol[d] - 1) * rowH };
  }
  const width = left + (Math.max(...Object.keys(perCol).map(Number)) + 1) * colW;
  const height = top + Math.max(...Object.values(perCol)) * rowH;
  const svg = s("svg", { class: "graph", "data-testid": "service-map", viewBox: `0 0 ${width} ${height}`, width, height });
  for (const e of edges) {
    const a = pos[e.source], b = pos[e.target];
    if (!a || !b) continue;
    const g = s("g", { class: "svc-edge", "data-source": e.source, "data-target": e.target, "data-total": e.total });
    g.appendChild(s("path", { class: "edge", d: `M${a.x + r + 4},${a.y} L${b.x - r - 4},${b.y}` }));
    const mx = (a.x + b.x) / 2, my = (a.y + b.y) / 2;
    g.appendChild(s("text", { class: "edge-label", x: mx, y: my - 18, "text-anchor": "middle" }, `${e.total} req · ${e.perMinute.toFixed(1)}/min · err ${pct(e.errorShare)}`));
    g.appendChild(s("text", { class: "edge-label latency", x: mx, y: my - 5, "text-anchor": "middle" }, `p50 ${ms(e.p50)} · p95 ${ms(e.p95)} · p99 ${ms(e.p99)}`));
    svg.appendChild(g);
  }
  for (const n of nodes) {
    const p = pos[n.id];
    const g = s("g", {
      class: "svc", transform: `translate(${p.x},${p.y})`, "data-name": n.name, "data-type": n.type || "",
      "data-status": n.status, "data-total": n.total, "data-ok": n.ok, "data-4xx": n.error4xx,
      "data-429": n.throttle429, "data-5xx": n.fault5xx,
      onclick: () => { location.hash = hashFor("traces", Object.assign(scopeParams(params), { filter: `service("${n.name}")` })); },
    });
    g.appendChild(s("title", {}, `${n.name} (${n.type || "service"})`));
    g.appendChild(donut(n, r));
    g.appendChild(s("circle", { class: "inner", r: r - 5 }));
    g.appendChild(s("text", { x: 0, y: 4, "text-anchor": "middle" }, n.type === "client" ? "client" : String(n.total)));
    g.appendChild(s("text", { class: "name", x: 0, y: r + 16, "text-anchor": "middle" }, n.name));
    g.appendChild(s("text", { class: "edge-label", x: 0, y: r + 30, "text-anchor": "middle" },
      n.total ? `${n.perMinute.toFixed(1)}/min · err ${pct(n.errorShare)} · avg ${ms(n.avgSeconds)}` : n.type));
    svg.appendChild(g);
  }
  const byId = Object.fromEntries(nodes.map((n) => [n.id, n]));
  const label = (id) => { const n = byId[id] || {}; return n.type === "client" ? "client" : n.name; };
  const rows = nodes.filter((n) => n.type !== "client").map((n) => h("tr", { "data-service": n.name },
    h("td", {}, n.name), h("td", {}, n.type || ""), h("td", {}, badge(n.status)),
    h("td", { "data-col": "total" }, String(n.total)), h("td", { "data-col": "ok" }, String(n.ok)),
    h("td", { "data-col": "4xx" }, String(n.error4xx)), h("td", { "data-col": "429" }, String(n.throttle429)),
    h("td", { "data-col": "5xx" }, String(n.fault5xx)), h("td", {}, n.perMinute.toFixed(1)),
    h("td", {}, pct(n.errorShare)), h("td", {}, ms(n.avgSeconds))));
  const edgeRows = edges.map((e) => h("tr", { "data-edge": label(e.source) + " → " + label(e.target) },
    h("td", {}, `${label(e.source)} → ${label(e.target)}`),
    h("td", {}, String(e.total)), h("td", {}, e.perMinute.toFixed(1)), h("td", {}, pct(e.errorShare)),
    h("td", { "data-col": "p50" }, ms(e.p50)), h("td", { "data-col": "p95" }, ms(e.p95)), h("td", { "data-col": "p99" }, ms(e.p99))));
  return h("div", {}, header, svg,
    h("h3", {}, "Services"),
    table(["Service", "Type", "Health", "Requests", "OK", "4xx", "429", "5xx", "Per minute", "Error share", "Avg"], rows, { "data-testid": "map-services" }),
    h("h3", {}, "Edges"),
    table(["Edge", "Requests", "Per minute", "Error share", "p50", "p95", "p99"], edgeRows, { "data-testid": "map-edges" }));
}

// ---- traces ------------------------------------------------------------------------------

function summaryStatus(t) {
  return t.HasFault ? "fault" : t.HasThrottle ? "throttle" : t.HasError ? "error" : "ok";
}

function renderTraces(data, params) {
  const input = h("input", { name: "filter", placeholder: 'filter expression, e.g. service("mesh/node") AND http.status >= 500', value: params.filter || "" });
  const form = h("form", {
    class: "filter",
    onsubmit: (event) => {
      event.preventDefault();
      location.hash = hashFor("traces", Object.assign({}, params, scopeParams(params), { filter: input.value }));
    },
  }, input, h("button", { type: "submit" }, "Search"));
  const rows = data.traces.slice().reverse().map((t) => {
    const http = t.Http || {};
    return h("tr", { "data-trace": t.Id },
      h("td", {}, link(hashFor("trace", Object.assign(scopeParams(params), { id: t.Id })), t.Id)),
      h("td", {}, (t.EntryPoint || {}).Name || ""),
      h("td", {}, http.HttpMethod || ""), h("td", {}, http.HttpURL || ""),
      h("td", {}, http.HttpStatus === undefined ? "" : String(http.HttpStatus)),
      h("td", {}, badge(summaryStatus(t))),
      h("td", {}, ms(t.ResponseTime)), h("td", {}, ms(t.Duration)));
  });
  return h("div", {}, h("h2", {}, "Traces"), form,
    rows.length ? table(["Trace", "Entry point", "Method", "URL", "Status", "Result", "Response time", "Duration"], rows, { "data-testid": "traces" })
      : h("div", { class: "empty" }, "No traces in this window."));
}

function renderTrace(data, params) {
  const rows = data.rows;
  const span = Math.max(1e-9, ...rows.map((r) => r.offset + (r.duration || 0)));
  const detail = h("div", { "data-testid": "span-detail" });
  const list = rows.map((r) => {
    const bar = h("div", { class: "wf-bar " + r.status + (r.segment ? "" : " sub") });
    bar.style.left = (100 * r.offset / span) + "%";
    bar.style.width = (100 * (r.duration || 0) / span) + "%";
    const name = h("div", { class: "wf-name" }, r.name + (r.inferred ? " (inferred)" : "") + (r.httpStatus ? " · " + r.httpStatus : ""));
    name.style.paddingLeft = (6 + 16 * r.depth) + "px";
    return h("div", {
      class: "wf-row", "data-span": r.id, "data-name": r.name, "data-depth": r.depth, "data-status": r.status,
      onclick: () => {
        detail.replaceChildren(h("h3", {}, r.name), h("pre", {}, JSON.stringify(
          { id: r.id, parent: r.parentId, origin: r.origin, start: fmtTime(r.start), duration: ms(r.duration),
            http: { method: r.method, url: r.url, status: r.httpStatus }, annotations: r.annotations }, null, 2)));
      },
    }, name, h("div", { class: "wf-track" }, bar), h("div", { class: "wf-ms" }, ms(r.duration)));
  });
  return h("div", {},
    h("p", {}, link(hashFor("traces", scopeParams(params)), "← traces")),
    h("h2", {}, "Trace ", h("span", { "data-testid": "trace-id" }, data.id)),
    h("p", { class: "muted" }, `${rows.length} segments and subsegments · ${ms(data.duration)}${data.limitExceeded ? " · size limit exceeded" : ""}`),
    h("div", { class: "wf", "data-testid": "waterfall" }, list), detail);
}

// ---- views -------------------------------------------------------------------------------

const VIEWS = {
  meshes: { path: () => "meshes", render: renderMeshes },
  mesh: { path: (p) => "mesh?" + q({ arn: p.arn }), render: renderMesh },
  resource: { path: (p) => "mesh?" + q({ arn: p.mesh }), render: renderResource },
  tasks: { path: () => "tasks", render: renderTasks },
  task: { path: (p) => "task?" + q({ arn: p.arn }), render: renderTask },
  proxies: { path: () => "proxies", render: renderProxies },
  map: { path: (p) => "servicemap?" + q(Object.assign(scopeParams(p), { minutes: p.minutes })), render: renderMap },
  traces: { path: (p) => "traces?" + q(Object.assign(scopeParams(p), { minutes: p.minutes, filter: p.filter })), render: renderTraces },
  trace: { path: (p) => "trace?" + q(Object.assign(scopeParams(p), { id: p.id })), render: renderTrace },
};

async function start() {
  await loadScopes();
  document.getElementById("scope").addEventListener("change", () => {
    const { view, params } = route();
    delete params.account; delete params.region;
    location.hash = hashFor(view, params);
    refresh(true);
  });
  window.addEventListener("hashchange", () => { state.lastText = null; markNav(); refresh(true); });
  markNav();
  await refresh(true);
  schedule();
  setInterval(() => { if (!document.hidden) loadScopes(); }, 15000);
}

document.addEventListener("DOMContentLoaded", start);
