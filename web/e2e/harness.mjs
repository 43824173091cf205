// The end-to-end harness: a live Ongi (uvicorn on 127.0.0.1, a free port, a temporary ONGI_DATA_DIR, the demo
// district seeded by `python -m app migrate` + `python -m app seed-demo`), on SQLite or on PostgreSQL, serving
// the build in web/dist/field (built beforehand: this harness builds nothing), real Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core), phones at 390 × 844 with touch, the public API for setup and
// checks (coordinator and admin logins), axe-core on every screen and screenshots in e2e/screenshots/.
//
// Environment:
//   ONGI_E2E_DB=sqlite|postgres          database (default sqlite)
//   ONGI_E2E_POSTGRES_URL                admin URL for postgres (default: ONGI_TEST_POSTGRES_URL), e.g.
//                                        postgresql+asyncpg://ongi@127.0.0.1:55433/postgres; a database is
//                                        created for the run and dropped at the end
//   ONGI_E2E_CHROMIUM                    the browser (default /usr/bin/chromium)
//   ONGI_PYTHON                          the project's Python (default ../.venv/bin/python)
//   ONGI_E2E_WEB_DIR                     the build to serve (default ../dist/field)
//   ONGI_E2E_HEADED=1                    show the browser (debugging)

import { spawn, execFile } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createRequire } from "node:module";
import { existsSync } from "node:fs";

import { chromium } from "playwright-core";

const run = promisify(execFile);
const require = createRequire(import.meta.url);

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const WEB_DIR = resolve(E2E_DIR, "..");
export const ROOT = resolve(WEB_DIR, "..");
export const FIELD_DIR = process.env.ONGI_E2E_WEB_DIR || join(WEB_DIR, "dist", "field");
export const SCREENSHOTS = join(E2E_DIR, "screenshots");
export const PYTHON = process.env.ONGI_PYTHON || join(ROOT, ".venv", "bin", "python");
export const CHROMIUM = process.env.ONGI_E2E_CHROMIUM || "/usr/bin/chromium";
export const PASSWORD = "ongi-demo";
export const PHONE = { width: 390, height: 844 };
export const DB_NAME = "ongi-field";

/** Seconds → milliseconds, for readable timeouts. */
export const s = (n) => n * 1000;

async function freePort() {
  return await new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** Runs web/e2e/support.py (Pillow, asyncpg) and returns its JSON. */
export async function support(...args) {
  const { stdout } = await run(PYTHON, [join(E2E_DIR, "support.py"), ...args], {
    cwd: ROOT,
    timeout: s(120),
    maxBuffer: 1 << 20,
  });
  return JSON.parse(stdout);
}

// --- the service -----------------------------------------------------------------------------------------------

/**
 * Starts a live Ongi with the demo district (`dataset: "full"`: the benchmark district instead). Returns
 * {base, db, api, stop}; stop() ends the server and removes
 * its data (and its PostgreSQL database).
 */
export async function startOngi({ db = process.env.ONGI_E2E_DB || "sqlite", dataset = "demo" } = {}) {
  if (!existsSync(join(FIELD_DIR, "index.html"))) {
    throw new Error(`no build in ${FIELD_DIR}: run \`npm run build\` in web/ first`);
  }
  const dataDir = await mkdtemp(join(tmpdir(), "ongi-e2e-"));
  let databaseUrl = `sqlite+aiosqlite:///${join(dataDir, "ongi.db")}`;
  let pgName = null;
  const pgAdmin = process.env.ONGI_E2E_POSTGRES_URL || process.env.ONGI_TEST_POSTGRES_URL;
  if (db === "postgres") {
    if (!pgAdmin) throw new Error("ONGI_E2E_DB=postgres needs ONGI_E2E_POSTGRES_URL (or ONGI_TEST_POSTGRES_URL)");
    pgName = `ongi_e2e_${Math.random().toString(16).slice(2, 12)}`;
    await support("pg-create", pgAdmin, pgName);
    const url = new URL(pgAdmin.replace(/^postgresql\+asyncpg:/, "http:"));
    url.pathname = `/${pgName}`;
    databaseUrl = url.toString().replace(/^http:/, "postgresql+asyncpg:");
  } else if (db !== "sqlite") {
    throw new Error(`ONGI_E2E_DB must be sqlite or postgres, not ${db}`);
  }
  const port = await freePort();
  const env = {
    ...process.env,
    ONGI_DATA_DIR: dataDir,
    ONGI_DATABASE_URL: databaseUrl,
    ONGI_WEB_DIR: FIELD_DIR,
    ONGI_LOG_LEVEL: "WARNING",
    ONGI_DEMO: "1",
    // cheap hashes: the tests log in a dozen times
    ONGI_ARGON2_TIME_COST: "1",
    ONGI_ARGON2_MEMORY_COST_KIB: "64",
    ONGI_ARGON2_PARALLELISM: "1",
    PYTHONPATH: ROOT,
  };
  delete env.ONGI_PORT;
  const opts = { cwd: ROOT, env, timeout: s(180), maxBuffer: 8 << 20 };
  let proc = null;
  let proxy = null;
  let log = "";
  const stop = async () => {
    await proxy?.close();
    proxy = null;
    if (proc && proc.exitCode === null) {
      const exited = new Promise((ok) => proc.once("exit", ok));
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), s(10));
      await exited;
      clearTimeout(timer);
    }
    proc = null;
    if (pgName) await support("pg-drop", pgAdmin, pgName).catch((e) => console.error("dropping", pgName, e));
    pgName = null;
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    if (dataset === "full") {
      // the benchmark district of docs/performance.md#budget (migrates first); the phones sync photo metadata, not files
      await run(PYTHON, ["-m", "app.demo.generate", "--size", "full", "--no-files"], { ...opts, timeout: s(600) });
    } else {
      await run(PYTHON, ["-m", "app", "migrate"], opts);
      await run(PYTHON, ["-m", "app", "seed-demo"], opts);
    }
    proc = spawn(
      PYTHON,
      ["-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1", "--port", String(port),
        "--no-access-log", "--log-level", "warning"],
      { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    const keep = (chunk) => {
      log = (log + chunk.toString()).slice(-20000);
    };
    proc.stdout.on("data", keep);
    proc.stderr.on("data", keep);
    const direct = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + s(60);
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`ongi exited (${proc.exitCode}):\n${log}`);
      try {
        if ((await fetch(`${direct}/healthz`)).ok) break;
      } catch {
        // not yet listening
      }
      if (Date.now() > deadline) throw new Error(`ongi did not start:\n${log}`);
      await new Promise((ok) => setTimeout(ok, 100));
    }
    proxy = await cuttableProxy(port);
    return {
      base: proxy.base, // what the phones use: through a proxy whose connections a test can cut
      direct,
      db,
      dataDir,
      api: new Api(direct),
      cut: () => proxy.cut(),
      stop,
      log: () => log,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A TCP proxy on 127.0.0.1 in front of the service. `cut()` drops every open connection at once, as a lost
 * signal does in the middle of a request (Chromium's offline emulation fails new requests but lets a request
 * already sending finish).
 */
async function cuttableProxy(target) {
  const sockets = new Set();
  const server = createServer((client) => {
    const upstream = connect(target, "127.0.0.1");
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on("close", () => {
        sockets.delete(a);
        b.destroy();
      });
      a.on("error", () => b.destroy());
      a.pipe(b);
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    cut() {
      const n = sockets.size;
      for (const socket of sockets) socket.destroy();
      return n;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((ok) => server.close(ok));
    },
  };
}

// --- the public API, for setup and checks ------------------------------------------------------------------------

export class Api {
  constructor(base) {
    this.base = base;
    this.tokens = new Map();
  }

  async token(username) {
    if (!this.tokens.has(username)) {
      const body = new URLSearchParams({
        grant_type: "password",
        username,
        password: PASSWORD,
        device_id: `e2e-setup-${username}`,
        device_name: "e2e harness",
      });
      const r = await fetch(`${this.base}/v1/auth/token`, { method: "POST", body });
      if (!r.ok) throw new Error(`login ${username}: ${r.status} ${await r.text()}`);
      this.tokens.set(username, (await r.json()).access_token);
    }
    return this.tokens.get(username);
  }

  async request(as, method, path, { json, query, raw = false, headers = {} } = {}) {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query ?? {})) {
      for (const one of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(one));
    }
    const init = { method, headers: { Authorization: `Bearer ${await this.token(as)}`, ...headers } };
    if (json !== undefined) {
      init.body = JSON.stringify(json);
      init.headers["Content-Type"] = "application/json";
    }
    const r = await fetch(url, init);
    if (raw) return r;
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path} as ${as}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }

  get(as, path, query) {
    return this.request(as, "GET", path, { query });
  }

  post(as, path, json) {
    return this.request(as, "POST", path, { json });
  }

  /** Every item of a paged list (`items` + `next_cursor`). */
  async all(as, path, query = {}) {
    const out = [];
    let cursor = null;
    do {
      const page = await this.get(as, path, { ...query, limit: 100, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return out;
  }

  async user(username) {
    const users = await this.all("admin", "/v1/users");
    const user = users.find((u) => u.username === username);
    if (!user) throw new Error(`no user ${username}`);
    return user;
  }

  /** The visits of a user from `from` to `to` (local days, inclusive), by window start. */
  async visitsOf(username, from, to) {
    const user = await this.user(username);
    const visits = await this.all("coordinator", "/v1/visits", { assignee: user.id, from, to });
    return visits.sort((a, b) => a.window_start.localeCompare(b.window_start) || a.id.localeCompare(b.id));
  }
}

/** Today in the service's time zone (the demo's day: Asia/Seoul), as YYYY-MM-DD; `days` later if given. */
export function seoulDay(days = 0) {
  const at = new Date(Date.now() + days * 86400000);
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(at);
}

// --- the browser ------------------------------------------------------------------------------------------------

export async function launchBrowser() {
  return await chromium.launch({
    executablePath: CHROMIUM,
    headless: process.env.ONGI_E2E_HEADED !== "1",
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    timeout: s(60),
  });
}

/** A phone: a fresh browser context (its own IndexedDB, caches and service worker), 390 × 844 with touch. */
export async function newPhone(browser, server, { locale = "ko-KR" } = {}) {
  const context = await browser.newContext({
    baseURL: server.base,
    viewport: PHONE,
    screen: PHONE,
    deviceScaleFactor: 2,
    hasTouch: true,
    isMobile: true,
    locale,
    timezoneId: "Asia/Seoul",
    userAgent:
      "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 (KHTML, like Gecko) " +
      "Chrome/150.0.0.0 Mobile Safari/537.36",
    serviceWorkers: "allow",
  });
  context.setDefaultTimeout(s(15));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors };
}

/** Opens the app and logs in through its form; waits for the first sync to finish. */
export async function login(page, username, { password = PASSWORD } = {}) {
  await page.goto("/app/");
  await page.locator("input#username").fill(username);
  await page.locator("input#password").fill(password);
  await page.locator("[data-testid=login-submit]").click();
  await page.locator("[data-testid=visit-list]").waitFor();
  await waitSynced(page);
}

/** The header's sync status: {state, pending, lastSync}. */
export async function syncStatus(page) {
  const el = page.locator("[data-testid=sync-status]");
  return {
    state: await el.getAttribute("data-state"),
    pending: Number(await el.getAttribute("data-pending")),
    lastSync: await el.getAttribute("data-last-sync"),
  };
}

/** Waits until the app says it synced after `since` (ISO) and has nothing waiting to go up. */
export async function waitSynced(page, { since = "", timeout = s(30), pending = 0 } = {}) {
  try {
    await waitSyncedOnce(page, { since, timeout, pending });
  } catch (error) {
    const now = await syncStatus(page).catch(() => null);
    throw new Error(
      `no sync after "${since}" with ${pending} pending within ${timeout} ms; the status says ${JSON.stringify(now)}`,
      { cause: error },
    );
  }
}

async function waitSyncedOnce(page, { since, timeout, pending }) {
  await page.waitForFunction(
    ({ since, pending }) => {
      const el = document.querySelector("[data-testid=sync-status]");
      if (!el) return false;
      const last = el.getAttribute("data-last-sync") || "";
      return (
        el.getAttribute("data-state") === "idle" &&
        Number(el.getAttribute("data-pending")) === pending &&
        last !== "" &&
        last > since
      );
    },
    { since, pending },
    { timeout, polling: 100 },
  );
}

/** Presses "sync now" and waits for a sync that ends after the press. */
export async function syncNow(page, options = {}) {
  const before = (await syncStatus(page)).lastSync || "";
  await page.locator("[data-testid=sync-now]").click();
  await waitSynced(page, { since: before, ...options });
}

/** Every object store of the app's IndexedDB database as plain JSON (blobs as {__blob: size}); null if the
 * database does not exist. Opens it without a version, so it never creates or upgrades it. */
export async function readStore(page) {
  return await page.evaluate(async (name) => {
    const names = (await indexedDB.databases()).map((d) => d.name);
    if (!names.includes(name)) return null;
    const db = await new Promise((ok, fail) => {
      const r = indexedDB.open(name);
      r.onsuccess = () => ok(r.result);
      r.onerror = () => fail(r.error);
      r.onblocked = () => fail(new Error("blocked"));
    });
    const out = {};
    try {
      for (const store of Array.from(db.objectStoreNames)) {
        out[store] = await new Promise((ok, fail) => {
          const r = db.transaction(store, "readonly").objectStore(store).getAll();
          r.onsuccess = () => ok(r.result);
          r.onerror = () => fail(r.error);
        });
      }
    } finally {
      db.close();
    }
    return JSON.parse(
      JSON.stringify(out, (_k, v) => {
        if (v instanceof Blob) return { __blob: v.size, type: v.type };
        if (v instanceof ArrayBuffer) return { __bytes: v.byteLength };
        if (ArrayBuffer.isView(v)) return { __bytes: v.byteLength };
        return v;
      }),
    );
  }, DB_NAME);
}

/** Everything else the app may keep on the phone: cache names and `ongi*` web storage keys. */
export async function readOtherStorage(page) {
  return await page.evaluate(async () => {
    const keys = (storage) => Array.from({ length: storage.length }, (_, i) => storage.key(i));
    return {
      caches: "caches" in self ? await caches.keys() : [],
      local: keys(localStorage).filter((k) => k.startsWith("ongi")),
      session: keys(sessionStorage).filter((k) => k.startsWith("ongi")),
      databases: (await indexedDB.databases()).map((d) => d.name),
    };
  });
}

/** The text of every response in the app's caches (for "no identity anywhere"). */
export async function cachedTexts(page) {
  return await page.evaluate(async () => {
    const out = [];
    for (const name of await caches.keys()) {
      const cache = await caches.open(name);
      for (const request of await cache.keys()) {
        const response = await cache.match(request);
        out.push({ cache: name, url: request.url, text: response ? await response.text() : "" });
      }
    }
    return out;
  });
}

/** Records of one entity in the store's `records` table. */
export function recordsOf(store, entity) {
  return (store?.records ?? []).filter((r) => r.entity === entity);
}

// --- accessibility and screenshots ----------------------------------------------------------------------------

let axeSource = null;
export const screensChecked = [];

/**
 * Runs axe-core on the page as it is now and fails on any serious or critical violation; writes a phone-size
 * screenshot e2e/screenshots/<name>.png beside it.
 */
export async function checkScreen(page, name) {
  axeSource ??= await readFile(require.resolve("axe-core/axe.min.js"), "utf8");
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  if (!(await page.evaluate(() => typeof window.axe === "object"))) {
    await page.evaluate(axeSource); // through the debugger protocol: no CSP applies
  }
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")),
    }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  screensChecked.push({ name, violations: result.length, serious: bad.length });
  if (bad.length) {
    throw new Error(`axe on ${name}: ${JSON.stringify(bad, null, 2)}`);
  }
  return result;
}

export async function writeScreensReport() {
  await mkdir(SCREENSHOTS, { recursive: true });
  await writeFile(join(SCREENSHOTS, "screens.json"), JSON.stringify(screensChecked, null, 2));
}

// --- the app's screens -----------------------------------------------------------------------------------------

export async function openVisit(page, visitId) {
  const item = page.locator(`[data-testid=visit-item][data-visit-id="${visitId}"]`);
  await item.waitFor();
  await item.click();
  await page.locator("[data-testid=visit-status]").waitFor();
  await page.waitForFunction((id) => location.hash.includes(id), visitId);
}

/** Answers a checklist item through its input, whatever its kind. */
export async function answer(page, templateKey, itemKey, value) {
  const item = page.locator(`[data-testid=checklist][data-template-key="${templateKey}"] [data-testid="item-${itemKey}"]`);
  await item.waitFor();
  if (typeof value === "boolean") {
    const box = item.locator("input[type=checkbox]");
    if (await box.count()) {
      // "no" is an answer too: an untouched box is unanswered, so tick it and take the tick back
      if (!value && !(await box.isChecked())) await box.check();
      await box.setChecked(value);
      return;
    }
    // a yes/no pair of radios
    await item.locator(`input[type=radio][value="${value}"]`).check();
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) await item.locator(`input[type=checkbox][value="${v}"]`).check();
    return;
  }
  const select = item.locator("select");
  if (await select.count()) {
    await select.selectOption(String(value));
    return;
  }
  const radio = item.locator(`input[type=radio][value="${value}"]`);
  if (await radio.count()) {
    await radio.check();
    return;
  }
  const field = item.locator("textarea, input").first();
  await field.fill(String(value));
  await field.blur();
}
