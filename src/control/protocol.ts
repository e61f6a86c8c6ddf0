/*
 * The control API: newline-delimited JSON over a Unix stream socket (root only, mode 0600).
 * One request per line: {"id": 1, "method": "status", "params": {...}}; one response per
 * request: {"id": 1, "result": ...} or {"id": 1, "error": {"code", "message"}}.
 */

/** Largest request line accepted, in bytes. */
export const MAX_REQUEST_BYTES = 64 * 1024;
/** A client that has not finished its request line by then is answered with an error and closed. */
export const REQUEST_TIMEOUT_MS = 5000;

/** A request from a client. */
export interface Request {
  readonly id?: number | string;
  readonly method: string;
  readonly params?: Record<string, unknown>;
}

/** Stable error codes of the control API. */
export type ControlErrorCode = 'bad-request' | 'request-too-large' | 'timeout' | 'unknown-method' | 'internal' | 'forbidden' | 'unavailable';

/** A response to one request. */
export type Response =
  | { readonly id: number | string | null; readonly result: unknown }
  | { readonly id: number | string | null; readonly error: { readonly code: ControlErrorCode; readonly message: string } };

/** Parses one request line; returns an error response instead of throwing. */
export function parseRequest(line: string): Request | Extract<Response, { error: unknown }> {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    return { id: null, error: { code: 'bad-request', message: `not JSON: ${(e as Error).message}` } };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { id: null, error: { code: 'bad-request', message: 'a request is a JSON object' } };
  const r = v as Record<string, unknown>;
  const id = typeof r.id === 'number' || typeof r.id === 'string' ? r.id : null;
  if (typeof r.method !== 'string' || r.method === '') return { id, error: { code: 'bad-request', message: "missing 'method' (a string)" } };
  if (r.params !== undefined && (typeof r.params !== 'object' || r.params === null || Array.isArray(r.params)))
    return { id, error: { code: 'bad-request', message: "'params' must be an object" } };
  return { ...(id !== null ? { id } : {}), method: r.method, ...(r.params ? { params: r.params as Record<string, unknown> } : {}) };
}
