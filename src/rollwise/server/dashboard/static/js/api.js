// The JSON API, called with the signed-in token; errors carry the API's own message.

const KEY = "rollwise.token";
const WHO = "rollwise.whoami";
const BASE = new URL("../api/v1/", document.baseURI);

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }
}

export const session = {
  get token() {
    return sessionStorage.getItem(KEY);
  },
  set(token) {
    sessionStorage.setItem(KEY, token);
  },
  clear() {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(WHO);
  },
  /** What GET /whoami said of the token: {name, scope, can: ["read", "write", ...]}. */
  get who() {
    try {
      return JSON.parse(sessionStorage.getItem(WHO) || "null");
    } catch {
      return null;
    }
  },
  remember(who) {
    sessionStorage.setItem(WHO, JSON.stringify(who));
  },
};

/** Whether the signed-in token may ``scope`` ("write", "admin"): controls it may not use are
 * not drawn at all (the API refuses them anyway). */
export function can(scope) {
  const who = session.who;
  return Boolean(who && Array.isArray(who.can) && who.can.includes(scope));
}

/** Build a query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") search.set(name, value);
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** GET (or ``method``) ``path`` under /api/v1; resolves to the parsed JSON body. */
export async function api(path, {method = "GET", body, version, token = session.token} = {}) {
  const headers = {Accept: "application/json"};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (version !== undefined) headers["If-Match"] = `"${version}"`;
  const init = {method, headers, cache: "no-store"};
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(new URL(path.replace(/^\//, ""), BASE), init);
  } catch (error) {
    throw new ApiError(0, "unreachable", `cannot reach the control plane (${error.message})`);
  }
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(
      response.status,
      (error && error.code) || "http_error",
      (error && error.message) || `HTTP ${response.status} ${response.statusText}`.trim(),
      error && error.details,
    );
  }
  return data;
}

/** An error as one line: the API's own message, with its status and code. */
export function describe(error) {
  if (error instanceof ApiError) {
    return error.status ? `${error.message} (HTTP ${error.status} ${error.code})` : error.message;
  }
  return `unexpected error: ${error && error.message ? error.message : error}`;
}

/** Follow an environment's changes over the server's event stream (the one SDKs use):
 * ``onChange()`` runs for each new config version, the first one included. The stream is
 * read with fetch (EventSource cannot send the token); it reconnects after the server ends
 * it (its maximum lifetime) or a network error, while ``alive()`` holds. Returns stop(). */
export function follow(environment, onChange, alive) {
  const controller = new AbortController();
  let stopped = false;
  const stop = () => {
    stopped = true;
    controller.abort();
  };
  const url = new URL(`sdk/stream${query({environment})}`, BASE);
  (async () => {
    while (!stopped && alive()) {
      try {
        const response = await fetch(url, {
          headers: {Authorization: `Bearer ${session.token}`, Accept: "text/event-stream"},
          cache: "no-store",
          signal: controller.signal,
        });
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = "";
        for (;;) {
          const {value, done} = await reader.read();
          if (done || stopped || !alive()) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (/^event: config$/m.test(block)) onChange();
          }
        }
      } catch {
        if (stopped) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  return stop;
}
