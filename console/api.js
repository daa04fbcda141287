// The console's only connection to Hookline: the same HTTP API as any client, on the origin
// that served the page. The access token lives in this module's memory and nowhere else (no
// storage, no cookie): a reload or `signOut` forgets it, and it is never sent anywhere but
// this API.

// The API's root: the page is served at `<root>console`, behind any stage prefix.
const root = new URL(".", document.baseURI);

let session = null;
const endListeners = new Set();

/** A failed call: the HTTP status and the problem document's code, detail and field errors. */
export class ApiError extends Error {
  constructor(status, problem, fallback) {
    const code = problem?.code ?? problem?.error ?? "";
    const detail =
      problem?.detail ?? problem?.error_description ?? problem?.title ?? fallback ?? "request failed";
    super(status ? `${status}${code ? ` ${code}` : ""}: ${detail}` : detail);
    this.status = status;
    this.code = code;
    this.fieldErrors = Array.isArray(problem?.errors) ? problem.errors : [];
  }
}

/** The signed-in client, or null. */
export function currentSession() {
  return session;
}

/** Whether the session's token carries `scope` (or `admin`, which is every scope). */
export function hasScope(scope) {
  return Boolean(session && (session.scopes.includes(scope) || session.scopes.includes("admin")));
}

/** Calls `listener(reason)` whenever the session ends (sign-out, or a token the API refused). */
export function onSessionEnd(listener) {
  endListeners.add(listener);
}

function end(reason) {
  session = null;
  for (const listener of endListeners) listener(reason);
}

async function readJson(resp) {
  const text = await resp.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Gets a token for the client (`POST /oauth/token`, JSON body); the secret is not kept. */
export async function signIn(clientId, clientSecret) {
  let resp;
  try {
    resp = await fetch(new URL("oauth/token", root), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
      }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, null, "the API could not be reached");
  }
  const body = await readJson(resp);
  if (!resp.ok || !body?.access_token) {
    const problem =
      resp.status === 401 ? { error: "invalid_client", error_description: "wrong client id or secret" } : body;
    throw new ApiError(resp.status, problem, "sign-in failed");
  }
  session = {
    clientId,
    token: body.access_token,
    scopes: String(body.scope ?? "").split(" ").filter(Boolean),
    expiresAt: Date.now() + Number(body.expires_in ?? 0) * 1000,
  };
  return session;
}

/** Forgets the token. */
export function signOut() {
  end("signed-out");
}

/**
 * Calls the API: `call("GET", "v1/subscriptions", {query: {limit: 100}})`. Resolves to the
 * JSON body (null for none); rejects with an `ApiError`. Empty query values are left out.
 */
export async function call(method, path, { query, body } = {}) {
  if (!session) throw new ApiError(401, null, "signed out");
  const url = new URL(path.replace(/^\//, ""), root);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  }
  const headers = { authorization: `Bearer ${session.token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let resp;
  try {
    resp = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, null, "the API could not be reached");
  }
  const data = await readJson(resp);
  if (!resp.ok) {
    const err = new ApiError(resp.status, data);
    // An expired or revoked token: this session is over.
    if (resp.status === 401) end("expired");
    throw err;
  }
  return data;
}
