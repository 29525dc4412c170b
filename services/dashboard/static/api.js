// The dashboard's calls to its server: JSON requests (the session cookie rides along)
// and server-sent event streams. Errors carry the Kubernetes Status' message.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function answer(response) {
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export function get(path) {
  return fetch(path, { credentials: "same-origin" }).then(answer);
}

export function post(path, body) {
  return fetch(path, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  }).then(answer);
}

// Follow `path`; `handlers` maps event names to functions of the parsed data.
export function stream(path, handlers) {
  const source = new EventSource(path);
  for (const [name, handle] of Object.entries(handlers)) {
    source.addEventListener(name, (event) => handle(JSON.parse(event.data)));
  }
  return source;
}
