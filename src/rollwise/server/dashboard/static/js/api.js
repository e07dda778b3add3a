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
