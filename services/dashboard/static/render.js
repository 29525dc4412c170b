// One function per view: the server's view model in, the view's element out. `act` is
// how a row asks for an action (scale, restart, delete, history, logs).
import { bytes, cells, el, table } from "./dom.js";

function nodes(items) {
  return table(["NAME", "READY", "CPU (requested / capacity)", "MEMORY (requested / capacity)", "PODS", "CONDITIONS"],
    items.map((n) => cells([
      n.name + (n.unschedulable ? " (cordoned)" : ""), n.ready,
      `${n.cpu_requested_m}m / ${n.cpu_capacity_m}m`, `${bytes(n.memory_requested)} / ${bytes(n.memory_capacity)}`,
      `${n.pods} / ${n.pods_capacity}`,
      n.conditions.map((c) => `${c.type}=${c.status}`).join(", "),
    ], { "data-name": n.name })), { id: "nodes" });
}

function podCells(p, act, live) {
  return [
    el("a", { href: "#", onclick: (e) => { e.preventDefault(); act.history("pods", p.namespace, p.name); } }, p.name),
    p.namespace, p.deleting ? "Terminating" : p.phase, p.ready, p.restarts, p.node || "<none>",
    live ? el("span", {},
      el("button", { class: "logs", onclick: () => act.logs(p.namespace, p.name) }, "Logs"),
      el("button", { class: "delete", onclick: () => act.deletePod(p.namespace, p.name) }, "Delete"))
      : "",
  ];
}

function workloads(items, act, live) {
  return el("div", { id: "workloads" }, items.map((d) => {
    const replicas = el("input", { type: "number", min: "0", value: String(d.replicas), class: "replicas" });
    return el("section", { class: "deployment", "data-name": `${d.namespace}/${d.name}` },
      el("h3", {},
        el("a", { href: "#", onclick: (e) => { e.preventDefault(); act.history("deployments", d.namespace, d.name); } },
          `${d.namespace}/${d.name}`),
        ` ${d.ready}/${d.replicas} ready, ${d.updated} up-to-date, ${d.available} available: `,
        el("span", { class: "progress" }, d.progress)),
      el("progress", { max: String(Math.max(d.replicas, 1)), value: String(d.available) }),
      live ? el("div", { class: "actions" }, replicas,
        el("button", { class: "scale", onclick: () => act.scale(d.namespace, d.name, Number(replicas.value)) }, "Scale"),
        el("button", { class: "restart", onclick: () => act.restart(d.namespace, d.name) }, "Restart")) : null,
      d.replica_sets.map((rs) => el("div", { class: "replicaset" },
        el("h4", {}, `ReplicaSet ${rs.name} (revision ${rs.revision}): ${rs.ready}/${rs.replicas} ready`),
        table(["POD", "NAMESPACE", "STATUS", "READY", "RESTARTS", "NODE", ""],
          rs.pods.map((p) => cells(podCells(p, act, live), { "data-name": p.name }))),
        rs.pods_total > rs.pods.length ? el("p", {}, `and ${rs.pods_total - rs.pods.length} more (Pods view)`) : null)));
  }));
}

function pods(page, act, live, query) {
  const search = el("input", { id: "pod-search", type: "search", placeholder: "namespace/name contains", value: query.q || "" });
  search.addEventListener("change", () => act.page(0, search.value));
  const pager = el("div", { class: "pager" },
    el("button", { id: "prev", onclick: () => act.page(page.page - 1, search.value) }, "Previous"),
    ` page ${page.page + 1} of ${page.pages} (${page.total} pods) `,
    el("button", { id: "next", onclick: () => act.page(page.page + 1, search.value) }, "Next"));
  return el("div", {}, search, pager,
    table(["NAME", "NAMESPACE", "STATUS", "READY", "RESTARTS", "NODE", ""],
      page.rows.map((p) => cells(podCells(p, act, live), { "data-name": p.name })), { id: "pods" }));
}

function services(items) {
  return table(["NAME", "NAMESPACE", "TYPE", "CLUSTER-IP", "PORTS", "ENDPOINTS"],
    items.map((s) => cells([s.name, s.namespace, s.type, s.cluster_ip || "<none>", s.ports.join(", "),
      s.endpoints.join(", ") || "<none>"], { "data-name": s.name })), { id: "services" });
}

function events(items) {
  return table(["TIME", "TYPE", "REASON", "OBJECT", "MESSAGE"],
    items.map((e) => cells([e.time, e.type, e.reason, `${e.namespace}/${e.object}`, e.message])), { id: "events" });
}

export function render(view, items, act, live, query) {
  if (Array.isArray(items) && !items.length) return el("p", { class: "empty" }, "Nothing to show.");
  switch (view) {
    case "nodes": return nodes(items);
    case "workloads": return workloads(items, act, live);
    case "pods": return pods(items, act, live, query);
    case "services": return services(items);
    default: return events(items);
  }
}

export function applyForm(act) {
  const text = el("textarea", { id: "manifest", rows: "18", spellcheck: "false",
    placeholder: "apiVersion: v1\nkind: Pod\n..." });
  const result = el("pre", { id: "apply-result" });
  return el("div", { id: "apply-view" }, text,
    el("button", { id: "apply", onclick: () => act.apply(text.value, result) }, "Apply"), result);
}

export function historyPanel(versions, pick) {
  return el("div", {}, el("ol", { id: "versions" }, versions.map((v, i) => el("li", {},
    el("a", { href: "#", onclick: (e) => { e.preventDefault(); pick(i); } },
      `${new Date(v.time).toISOString()} ${v.deleted ? "(deleted)" : ""}`)))), el("div", { id: "diff" }));
}

export function diffTable(changes) {
  const show = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
  return table(["FIELD", "BEFORE", "AFTER"], changes.map((c) => cells([c.path, show(c.before), show(c.after)])),
    { class: "diff" });
}
