// The public API, as the pages call it: same origin, a bearer token, RFC 7807 problems.
//
// The token lives in sessionStorage (one tab's session: it survives a reload, never the
// browser closing, and is never in localStorage or a cookie), under a key per role, so an
// admin tab and a client tab of the same desk do not share one.

export class ApiProblem extends Error {
  constructor(status, body) {
    super(body && body.detail ? body.detail : (body && body.title) || `HTTP ${status}`);
    this.status = status;
    this.code = (body && body.code) || (status === 0 ? "NETWORK" : "HTTP_" + status);
    this.body = body || {};
  }
}

export class Api {
  constructor(role) {
    this.role = role;
    this.storageKey = `otc.token.${role}`;
    this.listeners = new Set();
  }

  get token() {
    return sessionStorage.getItem(this.storageKey);
  }

  // Called with no argument when the token is gone (logged out, expired, revoked).
  onLoggedOut(listener) {
    this.listeners.add(listener);
  }

  async login(apiKey) {
    const answer = await this.request("POST", "/v1/auth/login", { apiKey }, { anonymous: true });
    const claims = decodeClaims(answer.token);
    if (claims.role !== this.role) {
      throw new ApiProblem(403, { code: "FORBIDDEN", detail: `this is not an ${this.role} key` });
    }
    sessionStorage.setItem(this.storageKey, answer.token);
    return claims;
  }

  claims() {
    const token = this.token;
    return token ? decodeClaims(token) : null;
  }

  logout() {
    sessionStorage.removeItem(this.storageKey);
    for (const listener of this.listeners) listener();
  }

  get(path, query) {
    return this.request("GET", withQuery(path, query));
  }

  post(path, body) {
    return this.request("POST", path, body);
  }

  put(path, body) {
    return this.request("PUT", path, body);
  }

  patch(path, body) {
    return this.request("PATCH", path, body);
  }

  delete(path) {
    return this.request("DELETE", path);
  }

  async request(method, path, body, { anonymous = false } = {}) {
    const headers = { Accept: "application/json" };
    if (!anonymous) {
      const token = this.token;
      if (!token) throw new ApiProblem(401, { code: "UNAUTHORIZED", detail: "log in first" });
      headers.Authorization = `Bearer ${token}`;
    }
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiProblem(0, { code: "NETWORK", detail: "the desk cannot be reached; check the connection" });
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!response.ok) {
      const problem = new ApiProblem(response.status, parsed);
      if (response.status === 401 && !anonymous) this.logout();
      throw problem;
    }
    return parsed;
  }
}

export function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

// The token's claims, read (not verified: the server does that on every request) to show who
// is logged in and to tell a client key from an admin key before any page loads its data.
export function decodeClaims(token) {
  const part = token.split(".")[1] || "";
  const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
  const bytes = Uint8Array.from(atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4)), (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}
