// The REST API: one fetch wrapper, the tab's token, and {"detail"} errors.

const TOKEN_KEY = 'convergeai-alerts.token';

/** The access token lives for this tab only (sessionStorage). */
export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  },
};

/** A failed call: `status` 0 when the server could not be reached; `message` is the server's detail. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

let onUnauthorized = () => {};

/** Called when a signed-in call answers 401 (expired or revoked token). */
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

/** Calls `method path` with an optional JSON body; resolves to the JSON answer (null for 204). */
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const token = session.token;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, 'The server cannot be reached. Check the connection and try again.');
  }
  if (response.status === 204) return null;
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data?.detail ?? `Request failed (HTTP ${response.status}).`);
    if (response.status === 401 && token) onUnauthorized(error);
    throw error;
  }
  return data;
}
