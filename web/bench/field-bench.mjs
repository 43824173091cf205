// Ongi Field's budgets (issue 16), measured by hand, out of CI: see README.md beside this file.
//
//   1. app shell: the JavaScript the shell loads, gzip and brotli (≤ 150 KB compressed)
//   2. the first sync of a full-district worker's scope stored in IndexedDB, in headless Chromium (≤ 3 s)
//   3. opening the app offline to a usable visit list (≤ 1 s)
//
// Usage (in web/, after `npm run build`): node bench/field-bench.mjs [--runs N] [--user planner] [--db sqlite]

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { parseArgs } from "node:util";

import {
  FIELD_DIR,
  WEB_DIR,
  PASSWORD,
  launchBrowser,
  newPhone,
  readStore,
  recordsOf,
  s,
  startOngi,
} from "../e2e/harness.mjs";

const { values: args } = parseArgs({
  options: {
    runs: { type: "string", default: "5" },
    user: { type: "string", default: "planner" },
    db: { type: "string", default: process.env.ONGI_E2E_DB || "sqlite" },
  },
});
const RUNS = Number(args.runs);
const KB = 1000;

const median = (xs) => {
  const v = [...xs].sort((a, b) => a - b);
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

// Marks, in the page's own clock (performance.now()), when the sync status first reads "synced, nothing
// waiting" and when the first visit of the list is on screen. Installed before any script of the page runs.
function marks() {
  window.__bench = { synced: null, firstVisit: null };
  const look = () => {
    const b = window.__bench;
    const status = document.querySelector("[data-testid=sync-status]");
    if (
      b.synced === null &&
      status &&
      status.getAttribute("data-state") === "idle" &&
      (status.getAttribute("data-last-sync") || "") !== "" &&
      Number(status.getAttribute("data-pending")) === 0
    ) {
      b.synced = performance.now();
    }
    if (b.firstVisit === null && document.querySelector("[data-testid=visit-list] [data-testid=visit-item]")) {
      b.firstVisit = performance.now();
    }
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
}

async function shellSizes(page, urls) {
  const files = [...new Set(urls)].filter((u) => new URL(u).pathname.startsWith("/app/"));
  let raw = 0;
  let gz = 0;
  let br = 0;
  const rows = [];
  for (const url of files) {
    const rel = new URL(url).pathname.slice("/app/".length);
    const bytes = await readFile(join(FIELD_DIR, rel));
    const g = gzipSync(bytes, { level: 9 }).length;
    const b = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
    raw += bytes.length;
    gz += g;
    br += b;
    rows.push({ file: rel, raw: bytes.length, gzip: g, brotli: b });
  }
  return { files: rows, raw, gzip: gz, brotli: br };
}

async function main() {
  console.log(`Ongi Field budgets — ${args.db}, ${RUNS} runs, user ${args.user}`);
  const t0 = Date.now();
  const server = await startOngi({ db: args.db, dataset: "full" });
  console.log(`full district ready in ${((Date.now() - t0) / 1000).toFixed(0)} s on ${server.base}`);
  const browser = await launchBrowser();
  const results = { db: args.db, user: args.user, runs: RUNS, chromium: browser.version(), sync: [], offline: [] };
  try {
    for (let run = 0; run < RUNS; run += 1) {
      const { context, page } = await newPhone(browser, server);
      await context.addInitScript(marks);
      const scripts = [];
      page.on("response", (r) => {
        if (r.request().resourceType() === "script") scripts.push(r.url());
      });
      await page.goto("/app/");
      await page.locator("input#username").waitFor();
      await page.waitForLoadState("networkidle");
      const loginScripts = [...scripts];
      await page.locator("input#username").fill(args.user);
      await page.locator("input#password").fill(PASSWORD);
      await page.locator("[data-testid=login-submit]").click();
      await page.waitForFunction(() => window.__bench.synced !== null, null, { timeout: s(120), polling: 50 });
      const timing = await page.evaluate(() => {
        const pulls = performance
          .getEntriesByType("resource")
          .filter((e) => e.name.includes("/v1/sync/pull"))
          .map((e) => e.startTime);
        return { firstPull: Math.min(...pulls), pulls: pulls.length, synced: window.__bench.synced };
      });
      const store = await readStore(page);
      const records = store?.records?.length ?? 0;
      const visits = recordsOf(store, "visit").length;
      results.sync.push({ ms: timing.synced - timing.firstPull, pulls: timing.pulls, records, visits });
      if (run === 0) {
        await page.locator("[data-testid=visit-item]").first().waitFor();
        await page.waitForLoadState("networkidle");
        results.shell = await shellSizes(page, loginScripts);
        results.shellToList = await shellSizes(page, scripts);
      }

      await page.evaluate(async () => {
        await navigator.serviceWorker.ready;
      });
      await context.setOffline(true);
      await page.reload();
      await page.waitForFunction(() => window.__bench.firstVisit !== null, null, { timeout: s(30), polling: 50 });
      const offline = await page.evaluate(() => window.__bench.firstVisit);
      results.offline.push({ ms: offline });
      console.log(
        `run ${run + 1}: first sync ${(timing.synced - timing.firstPull).toFixed(0)} ms ` +
          `(${records} records, ${visits} visits, ${timing.pulls} pulls); offline open ${offline.toFixed(0)} ms`,
      );
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
  }

  const syncMs = median(results.sync.map((r) => r.ms));
  const offlineMs = median(results.offline.map((r) => r.ms));
  const line = (name, budget, value, ok) => console.log(`${name.padEnd(58)} ${budget.padEnd(10)} ${value.padEnd(22)} ${ok ? "ok" : "OVER"}`);
  console.log("");
  console.log(`${"budget".padEnd(58)} ${"limit".padEnd(10)} ${"median".padEnd(22)}`);
  line(
    "app shell JS (login screen), gzip / brotli",
    "≤ 150 KB",
    `${(results.shell.gzip / KB).toFixed(1)} / ${(results.shell.brotli / KB).toFixed(1)} KB`,
    results.shell.gzip <= 150 * KB,
  );
  line(
    "JS up to the visit list, gzip / brotli",
    "≤ 150 KB",
    `${(results.shellToList.gzip / KB).toFixed(1)} / ${(results.shellToList.brotli / KB).toFixed(1)} KB`,
    results.shellToList.gzip <= 150 * KB,
  );
  line(
    `first sync stored in IndexedDB (${median(results.sync.map((r) => r.records))} records)`,
    "≤ 3 s",
    `${(syncMs / 1000).toFixed(2)} s`,
    syncMs <= 3000,
  );
  line("open offline to a usable visit list", "≤ 1 s", `${(offlineMs / 1000).toFixed(2)} s`, offlineMs <= 1000);
  results.medians = { syncMs, offlineMs };
  const dir = join(WEB_DIR, "bench", "results");
  await mkdir(dir, { recursive: true });
  const file = join(dir, `field-${args.db}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, JSON.stringify(results, null, 2));
  console.log(`\nwritten ${file}`);
}

await main();
