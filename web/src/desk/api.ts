// Ongi Desk's calls to the API (same origin). The console works online only and keeps nothing personal in the
// browser: the tokens live in sessionStorage (gone with the tab), the data only in the screens' memory.
import type { paths } from "../shared/api/schema";
import { lang } from "../shared/i18n";

export type Me = paths["/v1/me"]["get"]["responses"]["200"]["content"]["application/json"];
type Json = paths["/v1/households/{household_id}"]["get"]["responses"]["200"]["content"]["application/json"];
export type Household = Json;
export type Page<T> = { items: T[]; next_cursor?: string | null };

const SESSION_KEY = "ongi-desk-session";
const DEVICE_KEY = "ongi-desk-device";

/** A problem answer (RFC 9457), or a route the service does not have (404 on an unknown path). */
export class ApiError extends Error {
  constructor(
    public status: number,
    public problem: Record<string, any> | null,
  ) {
    super(problem?.detail || problem?.error_description || problem?.title || `HTTP ${status}`);
  }
  /** The field errors of a 422, "field: message" each. */
  get fields(): string[] {
    const errors = (this.problem?.errors ?? []) as { field?: string; loc?: string[]; message?: string; msg?: string }[];
    return errors.map((e) => `${e.field ?? (e.loc ?? []).join(".")}: ${e.message ?? e.msg ?? ""}`);
  }
}
export class LoggedOut extends Error {}

type Session = { access_token: string; refresh_token: string | null; expires_at: number; me: Me | null };

function readSession(): Session | null {
  try {
    return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
  } catch {
    return null;
  }
}
function writeSession(s: Session | null): void {
  if (s) sessionStorage.setItem(SESSION_KEY, JSON.stringify(s));
  else sessionStorage.removeItem(SESSION_KEY);
}

/** This browser's device id: the service binds refresh tokens to it (and an admin can revoke it). */
function deviceId(): string {
  let id = localStorage.getItem(DEVICE_KEY);
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem(DEVICE_KEY, id);
  }
  return id;
}

export function me(): Me | null {
  return readSession()?.me ?? null;
}

const listeners: (() => void)[] = [];
export function onLoggedOut(fn: () => void): void {
  listeners.push(fn);
}
function loggedOut(): never {
  writeSession(null);
  for (const fn of listeners) fn();
  throw new LoggedOut();
}

async function problemOf(r: Response): Promise<Record<string, any> | null> {
  if (!(r.headers.get("content-type") || "").includes("json")) return null;
  try {
    return await r.clone().json();
  } catch {
    return null;
  }
}

async function tokenCall(form: Record<string, string>): Promise<Response> {
  return await fetch("/v1/auth/token", {
    method: "POST",
    headers: { "Accept-Language": lang },
    body: new URLSearchParams(form),
  });
}

export async function login(username: string, password: string): Promise<Me> {
  const r = await tokenCall({
    grant_type: "password",
    username,
    password,
    device_id: deviceId(),
    device_name: "Ongi Desk",
  });
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  const body = await r.json();
  writeSession({
    access_token: body.access_token,
    refresh_token: body.refresh_token ?? null,
    expires_at: Date.now() + (Number(body.expires_in) || 900) * 1000,
    me: null,
  });
  const who = await json<Me>("GET", "/v1/me");
  writeSession({ ...readSession()!, me: who });
  return who;
}

let refreshing: Promise<boolean> | null = null;
function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const s = readSession();
      if (!s?.refresh_token) return false;
      const r = await fetch("/v1/auth/refresh", {
        method: "POST",
        headers: { "Accept-Language": lang },
        body: new URLSearchParams({ refresh_token: s.refresh_token }),
      });
      if (!r.ok) return false;
      const body = await r.json();
      writeSession({
        ...s,
        access_token: body.access_token,
        refresh_token: body.refresh_token ?? s.refresh_token,
        expires_at: Date.now() + (Number(body.expires_in) || 900) * 1000,
      });
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export type CallOptions = {
  body?: unknown;
  form?: FormData;
  /** A file sent as the body itself (its Content-Type is the file's type). */
  raw?: Blob;
  headers?: Record<string, string>;
  query?: Query;
};
export type Query = Record<string, string | number | boolean | null | undefined | (string | number)[]>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === "") continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `${path}${path.includes("?") ? "&" : "?"}${s}` : path;
}

/** An authorized call; refreshes before expiry and once on a 401. Answers the Response whatever its status. */
export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let s = readSession();
    if (!s) loggedOut();
    if (s.expires_at - Date.now() < 60_000 && (await refresh())) s = readSession()!;
    const headers: Record<string, string> = {
      "Accept-Language": lang,
      Authorization: `Bearer ${s.access_token}`,
      ...(opts.headers ?? {}),
    };
    let body: BodyInit | undefined;
    if (opts.form) body = opts.form;
    else if (opts.raw) {
      headers["Content-Type"] = opts.raw.type || "application/octet-stream";
      body = opts.raw;
    }
    else if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const r = await fetch(withQuery(path, opts.query), { method, headers, body });
    if (r.status === 401) {
      if (attempt === 0 && (await refresh())) continue;
      loggedOut();
    }
    return r;
  }
  loggedOut();
}

/** A call whose JSON answer is wanted; a problem throws ApiError. */
export async function json<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<T> {
  const r = await call(method, path, opts);
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  if (r.status === 204) return null as T;
  const text = await r.text();
  return (text ? JSON.parse(text) : null) as T;
}

export const get = <T = any>(path: string, query?: Query) => json<T>("GET", path, { query });
export const post = <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
  json<T>("POST", path, { body: body ?? {}, headers });

/** Every item of a paged list, up to `max`. */
export async function all<T = any>(path: string, query: Query = {}, max = 1000): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | null | undefined = null;
  do {
    const page: Page<T> = await get<Page<T>>(path, { ...query, limit: 100, cursor });
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

/** The reason header of downloads of personal data (UTF-8, percent-encoded: header values are Latin-1). */
export function reasonHeader(reason: string): Record<string, string> {
  return { "Ongi-Reason": encodeURIComponent(reason) };
}

/** Downloads a response body as a file (an object URL, revoked right after: nothing stays in the browser). */
export async function download(path: string, reason: string, filename: string, accept?: string): Promise<void> {
  const headers = { ...reasonHeader(reason), ...(accept ? { Accept: accept } : {}) };
  const r = await call("GET", path, { headers });
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  const blob = await r.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** An image the API serves behind the bearer token, as an object URL for an <img>. */
export async function imageUrl(path: string): Promise<string> {
  const r = await call("GET", path);
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  return URL.createObjectURL(await r.blob());
}

export async function logout(): Promise<void> {
  const s = readSession();
  if (s?.refresh_token) {
    await fetch("/v1/auth/logout", {
      method: "POST",
      headers: { Authorization: `Bearer ${s.access_token}` },
      body: new URLSearchParams({ refresh_token: s.refresh_token }),
    }).catch(() => undefined);
  }
  writeSession(null);
}

export function isLoggedIn(): boolean {
  return readSession() !== null;
}

/** The service's words for a path it has no route for (app/core/i18n.py detail.route-not-found), as opposed to a
 * record that does not exist or that the caller may not see (both answer 404 with type not-found). */
const NO_SUCH_PATH = ["이 경로는 존재하지 않습니다.", "No such path."];

/** Is this error "the service has no such route (yet)"? */
export function unavailable(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 405 || (e.status === 404 && NO_SUCH_PATH.includes(e.problem?.detail)));
}
