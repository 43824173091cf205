// When sync runs: at start, when the network returns, every minute while the app is visible, on demand;
// and the hold_until purge on start and on a timer, online or not.
import { abortInFlight, DeviceWiped, LoggedOut, onWipe } from "../shared/api";
import { db, getMeta } from "../shared/db";
import { notify, subscribe } from "../shared/store";
import { purgeExpired, syncOnce } from "../shared/sync";
import { forgetArrived, pauseUploads, uploadQueued } from "../shared/uploads";

export type SyncState = "idle" | "syncing" | "offline" | "error";

export interface Status {
  state: SyncState;
  pending: number;
  lastSync: string;
  error: string;
}

let status: Status = { state: "idle", pending: 0, lastSync: "", error: "" };
const listeners = new Set<(s: Status) => void>();
let wipedReason: string | null = null;
let loggedOutHandler: (() => void) | null = null;

export function getStatus(): Status {
  return status;
}
export function onStatus(fn: (s: Status) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
function set(changes: Partial<Status>): void {
  status = { ...status, ...changes };
  for (const fn of listeners) fn(status);
}

export async function refreshCounts(): Promise<void> {
  const outbox = await db.outbox.count();
  const photos = await db.photos.where("state").anyOf("queued", "uploading").count();
  set({ pending: outbox + photos, lastSync: (await getMeta<string>("last_sync_at")) ?? "" });
}

const online = () => typeof navigator === "undefined" || navigator.onLine !== false;

let running: Promise<void> | null = null;
let retryTimer: ReturnType<typeof setTimeout> | null = null;
let retryDelay = 2000;

function retrySoon(): void {
  if (retryTimer) return;
  retryTimer = setTimeout(() => {
    retryTimer = null;
    void syncNow();
  }, retryDelay);
  retryDelay = Math.min(retryDelay * 2, 60_000);
}

export function syncNow(): Promise<void> {
  running ??= (async () => {
    // Yield first: the `finally` below must run after `running` holds this promise, or a sync that ends
    // at once (offline) would leave a settled promise there and every later syncNow() would return it.
    await null;
    try {
      if (!online()) {
        set({ state: "offline" });
        return;
      }
      set({ state: "syncing", error: "" });
      // Photos go up beside the sync (a 20 MiB upload must not hold back the outbox); once one arrived, a
      // pull brings its photo record.
      void uploadQueued().then((n) => {
        if (n > 0) setTimeout(() => void syncNow(), 1500);
      });
      await syncOnce();
      await forgetArrived();
      retryDelay = 2000;
      set({ state: online() ? "idle" : "offline" });
    } catch (err) {
      if (err instanceof DeviceWiped) return;
      if (err instanceof LoggedOut) {
        set({ state: "error", error: "logged out" });
        loggedOutHandler?.();
        return;
      }
      // A request that never reached the server (no signal) is "offline", not an error.
      const name = (err as Error)?.name;
      const network =
        (err instanceof TypeError && /fetch|network|load/i.test(err.message)) || name === "TimeoutError" || name === "AbortError";
      if (!network) console.warn("ongi sync:", err);
      set({ state: online() && !network ? "error" : "offline", error: String((err as Error).message || err) });
      // The signal may be back before requests get through: try again soon.
      if (online()) retrySoon();
    } finally {
      running = null;
      await refreshCounts().catch(() => undefined);
    }
  })();
  return running;
}

export function wipedBecause(): string | null {
  return wipedReason;
}

let started = false;

export function start(opts: { onWiped: (reason: string) => void; onLoggedOut: () => void }): void {
  loggedOutHandler = opts.onLoggedOut;
  if (started) return;
  started = true;
  onWipe((reason) => {
    wipedReason = reason;
    pauseUploads();
    set({ state: "idle", pending: 0, lastSync: "" });
    opts.onWiped(reason);
  });
  subscribe(() => void refreshCounts().catch(() => undefined));
  window.addEventListener("online", () => {
    retryDelay = 2000;
    abortInFlight();
    void (running ?? Promise.resolve()).finally(() => void syncNow());
  });
  window.addEventListener("offline", () => {
    abortInFlight();
    pauseUploads();
    set({ state: "offline" });
  });
  setInterval(() => {
    void purgeExpired().catch(() => undefined);
    if (document.visibilityState === "visible" && online()) void syncNow();
  }, 60_000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") void syncNow();
  });
}

/** At app start: purge what is past its lease, then count and sync. */
export async function boot(): Promise<void> {
  await purgeExpired();
  notify();
  await refreshCounts();
  if (!online()) set({ state: "offline" });
}
