// Calls to the Ongi API (same origin, relative URLs): tokens bound to this device, refresh rotation,
// and the wipe a revoked device is told to do.
import type { paths } from "./api/schema";
import { db, getMeta, reopen, setMeta, uuid } from "./db";
import { lang } from "./i18n";

/** The server answers messages in the UI language. */
const LANG = { "Accept-Language": lang };

export type TokenBody = paths["/v1/auth/token"]["post"]["responses"]["200"]["content"]["application/json"];
export type PullBody = paths["/v1/sync/pull"]["get"]["responses"]["200"]["content"]["application/json"];
export type PushRequest = paths["/v1/sync/push"]["post"]["requestBody"]["content"]["application/json"];
export type PushBody = paths["/v1/sync/push"]["post"]["responses"]["200"]["content"]["application/json"];
export type AckRequest = paths["/v1/sync/ack"]["post"]["requestBody"]["content"]["application/json"];
export type MeBody = paths["/v1/me"]["get"]["responses"]["200"]["content"]["application/json"];

/** The server revoked this device; everything local was erased. */
export class DeviceWiped extends Error {
  constructor(public reason: string) {
    super(reason);
  }
}
/** No usable session: log in again. */
export class LoggedOut extends Error {}
/** A problem answer (RFC 9457). */
export class ApiError extends Error {
  constructor(public status: number, public problem: Record<string, any> | null) {
    super(problem?.detail || problem?.error_description || problem?.title || `HTTP ${status}`);
  }
}

export const REQUEST_TIMEOUT_MS = 30_000;
let inFlight = new AbortController();

/** Abort every API request under way (the network went away or came back: a request sent through the old
 * connection may never be answered, and must not hold every later sync behind it). */
export function abortInFlight(): void {
  inFlight.abort();
  inFlight = new AbortController();
}

function timeoutSignal(): AbortSignal {
  const signals = [inFlight.signal];
  if ("timeout" in AbortSignal) signals.push(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  return "any" in AbortSignal ? (AbortSignal as any).any(signals) : inFlight.signal;
}

let fetchImpl: typeof fetch = (...a) => fetch(...a);
let base = "";
/** Tests point the client at a server of their own. */
export function configure(opts: { fetch?: typeof fetch; base?: string }): void {
  if (opts.fetch) fetchImpl = opts.fetch;
  if (opts.base !== undefined) base = opts.base;
}
export function apiBase(): string {
  return base;
}

const wipeListeners: ((reason: string) => void)[] = [];
export function onWipe(fn: (reason: string) => void): void {
  wipeListeners.push(fn);
}

export async function deviceId(): Promise<string> {
  let id = await getMeta<string>("device_id");
  if (!id) {
    id = uuid();
    await setMeta("device_id", id);
  }
  return id;
}

export function deviceName(): string {
  const ua = typeof navigator !== "undefined" ? navigator.userAgent : "";
  const m = /\(([^)]+)\)/.exec(ua);
  const parts = (m ? m[1] : ua).split(";").map((s) => s.trim());
  const model = parts.find((p) => /Android|iPhone|iPad|Linux|Windows|Mac/.test(p)) ?? parts[0] ?? "";
  return `Ongi Field · ${model}`.slice(0, 100) || "Ongi Field";
}

async function storeTokens(body: TokenBody): Promise<void> {
  await setMeta("tokens", {
    access_token: body.access_token,
    refresh_token: body.refresh_token ?? null,
    expires_at: Date.now() + (Number(body.expires_in) || 900) * 1000,
  });
}

async function problemOf(r: Response): Promise<Record<string, any> | null> {
  const type = r.headers.get("content-type") || "";
  if (!type.includes("json")) return null;
  try {
    return await r.clone().json();
  } catch {
    return null;
  }
}

/** Erase every local byte: the database, the service worker's caches, web storage under "ongi". */
export async function wipe(): Promise<void> {
  db.close();
  await reopen().delete();
  reopen();
  if (typeof caches !== "undefined") {
    for (const name of await caches.keys()) if (name.startsWith("ongi")) await caches.delete(name);
  }
  for (const store of [globalThis.localStorage, globalThis.sessionStorage]) {
    if (!store) continue;
    for (const key of Object.keys(store)) if (key.startsWith("ongi")) store.removeItem(key);
  }
}

async function checkWipe(r: Response): Promise<void> {
  if (r.status !== 401) return;
  const p = await problemOf(r);
  if (p && p.wipe) {
    const reason = String(p.detail || p.title || "device revoked");
    await wipe();
    for (const fn of wipeListeners) fn(reason);
    throw new DeviceWiped(reason);
  }
}

export async function login(username: string, password: string): Promise<void> {
  const form = new URLSearchParams({
    grant_type: "password",
    username,
    password,
    device_id: await deviceId(),
    device_name: deviceName(),
  });
  const r = await fetchImpl(`${base}/v1/auth/token`, { method: "POST", headers: LANG, body: form });
  await checkWipe(r);
  if (!r.ok) throw new ApiError(r.status, await problemOf(r));
  await storeTokens(await r.json());
  const me = await request("GET", "/v1/me");
  await setMeta("user", await me.json());
}

let refreshing: Promise<boolean> | null = null;

/** Rotate the refresh token (one at a time: a spent token reused would revoke the family). */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    try {
      const tokens = await getMeta("tokens");
      if (!tokens?.refresh_token) return false;
      const r = await fetchImpl(`${base}/v1/auth/refresh`, {
        method: "POST",
        headers: LANG,
        body: new URLSearchParams({ refresh_token: tokens.refresh_token }),
      });
      await checkWipe(r);
      if (!r.ok) {
        if (r.status === 400 || r.status === 401) await setMeta("tokens", null);
        return false;
      }
      await storeTokens(await r.json());
      return true;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function accessToken(): Promise<string> {
  let tokens = await getMeta("tokens");
  if (!tokens) throw new LoggedOut();
  if (tokens.expires_at - Date.now() < 60_000 && (await refresh())) tokens = await getMeta("tokens");
  return tokens?.access_token ?? "";
}

/** An authorized call: refreshes before expiry and once on a 401 that is not a wipe. */
export async function request(method: string, path: string, body?: unknown): Promise<Response> {
  for (let attempt = 0; attempt < 2; attempt++) {
    const headers: Record<string, string> = { ...LANG, Authorization: `Bearer ${await accessToken()}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const r = await fetchImpl(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: timeoutSignal(),
    });
    await checkWipe(r);
    if (r.status === 401) {
      if (attempt === 0 && (await refresh())) continue;
      await setMeta("tokens", null);
      throw new LoggedOut();
    }
    return r;
  }
  throw new LoggedOut();
}

export async function logout(): Promise<void> {
  const tokens = await getMeta("tokens");
  if (tokens?.refresh_token) {
    try {
      await fetchImpl(`${base}/v1/auth/logout`, {
        method: "POST",
        headers: { Authorization: `Bearer ${tokens.access_token}` },
        body: new URLSearchParams({ refresh_token: tokens.refresh_token }),
      });
    } catch {
      /* offline: the tokens go anyway */
    }
  }
  await wipe();
}

export { problemOf };
