// The dashboard page: log in, pick a view, follow it live (server-sent events) or as it
// stood at an instant of the time slider; actions go to the server as the logged-in user.
import { ApiError, get, post, stream } from "./api.js";
import { el } from "./dom.js";
import { applyForm, diffTable, historyPanel, render } from "./render.js";

const $ = (id) => document.getElementById(id);
const state = { view: "nodes", at: null, query: { page: 0, q: "" }, source: null, logs: null, bounds: null };

function say(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

function queryString(extra = {}) {
  const params = new URLSearchParams();
  if (state.view === "pods") { params.set("page", String(state.query.page)); params.set("q", state.query.q); }
  for (const [k, v] of Object.entries(extra)) params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : "";
}

function show(payload) {
  state.bounds = payload.bounds;
  if (payload.bounds && state.at === null) {
    const slider = $("slider");
    slider.min = String(payload.bounds[0]);
    slider.max = String(payload.bounds[1]);
    slider.value = slider.max;
  }
  const live = state.at === null;
  $("content").replaceChildren(render(payload.view, payload.items, actions, live, state.query));
  $("content").dataset.seq = String(payload.seq);
}

function stop() {
  if (state.source) { state.source.close(); state.source = null; }
}

function follow() {
  stop();
  if (state.view === "apply") { $("content").replaceChildren(applyForm(actions)); return; }
  if (state.at !== null) {
    get(`/api/views/${state.view}${queryString({ at: state.at })}`).then(show).catch(failed);
    return;
  }
  state.source = stream(`/api/stream/${state.view}${queryString()}`, {
    view: show,
    logout: () => { stop(); loggedOut(); },
    refused: (status) => { stop(); say(status.message, true); },
  });
  state.source.onerror = () => {
    if (state.source && state.source.readyState === EventSource.CLOSED) {
      get(`/api/views/${state.view}${queryString()}`).then(show).catch(failed);
    }
  };
}

function failed(error) {
  if (error instanceof ApiError && error.status === 401) { loggedOut(); return; }
  say(error.message, true);
}

function choose(view) {
  state.view = view;
  state.query = { page: 0, q: "" };
  for (const tab of document.querySelectorAll("#tabs button")) tab.classList.toggle("active", tab.dataset.view === view);
  say("");
  follow();
}

async function act(path, body, done) {
  try {
    const answer = await post(path, body);
    const text = answer.results.map((r) => `${r.kind} ${r.key}: ${r.reason}`).join("\n");
    say(text);
    if (done) done(text);
  } catch (error) {
    failed(error);
    if (done) done(error.message);
  }
}

const actions = {
  scale: (namespace, name, replicas) => act("/api/actions/scale", { namespace, name, replicas }),
  restart: (namespace, name) => act("/api/actions/restart", { namespace, name }),
  deletePod: (namespace, name) => act("/api/actions/delete-pod", { namespace, name }),
  apply: (manifest, result) => act("/api/actions/apply", { manifest }, (text) => { result.textContent = text; }),
  page: (page, q) => { state.query = { page: Math.max(0, page), q }; follow(); },
  history: async (plural, namespace, name) => {
    try {
      const found = await get(`/api/history/${plural}?namespace=${encodeURIComponent(namespace)}&name=${encodeURIComponent(name)}`);
      openPanel(`${plural} ${namespace}/${name}: ${found.versions.length} versions`,
        historyPanel(found.versions, (i) => $("diff").replaceChildren(diffTable(found.versions[i].changes))));
      if (found.versions.length) $("diff").replaceChildren(diffTable(found.versions[found.versions.length - 1].changes));
    } catch (error) { failed(error); }
  },
  logs: (namespace, pod) => {
    const out = el("pre", { id: "logs" });
    openPanel(`logs of ${namespace}/${pod}`, out);
    state.logs = stream(`/api/logs?namespace=${encodeURIComponent(namespace)}&pod=${encodeURIComponent(pod)}`, {
      line: (line) => { out.append(`${line}\n`); },
      logout: () => closePanel(),
    });
  },
};

function openPanel(title, body) {
  closePanel();
  $("panel-title").textContent = title;
  $("panel-body").replaceChildren(body);
  $("panel").hidden = false;
}

function closePanel() {
  if (state.logs) { state.logs.close(); state.logs = null; }
  $("panel").hidden = true;
}

function travel() {
  const slider = $("slider");
  state.at = Number(slider.value) >= Number(slider.max) ? null : Number(slider.value);
  $("slider-time").textContent = state.at === null ? "live" : new Date(state.at).toISOString();
  $("live").disabled = state.at === null;
  follow();
}

function loggedIn(who) {
  $("login").hidden = true;
  $("main").hidden = false;
  $("user").textContent = who.user;
  choose(state.view);
}

function loggedOut() {
  stop();
  closePanel();
  $("main").hidden = true;
  $("login").hidden = false;
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  $("login-error").textContent = "";
  try {
    loggedIn(await post("/api/login", { token: $("token").value }));
    $("token").value = "";
  } catch (error) {
    $("login-error").textContent = error.message;
  }
});
$("logout").addEventListener("click", () => post("/api/logout", {}).finally(loggedOut));
for (const tab of document.querySelectorAll("#tabs button")) tab.addEventListener("click", () => choose(tab.dataset.view));
$("slider").addEventListener("change", travel);
$("live").addEventListener("click", () => { $("slider").value = $("slider").max; travel(); });
$("panel-close").addEventListener("click", closePanel);
get("/api/whoami").then(loggedIn).catch(loggedOut);
