// Ongi Field end to end (issue 16, "How it is proven"): six scenarios in real Chromium against a live Ongi with
// the demo district. Run with `npm run e2e` in web/ after `npm run build` (ONGI_E2E_DB=postgres for PostgreSQL).
// Setup and checks go through the public API as the coordinator or the admin, never the database.

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  answer,
  cachedTexts,
  checkScreen,
  launchBrowser,
  login,
  newPhone,
  openVisit,
  readOtherStorage,
  readStore,
  recordsOf,
  ROOT,
  s,
  seoulDay,
  startOngi,
  support,
  syncNow,
  syncStatus,
  waitSynced,
  writeScreensReport,
} from "./harness.mjs";

// A scenario that fails because of an app defect written in FINDINGS.md runs as `todo` (it still runs and reports,
// and does not fail the suite) until the app is fixed; remove its line then. Empty when all six pass.
const KNOWN = {};
const scenario = (n, timeout) => ({ timeout, ...(KNOWN[n] ? { todo: KNOWN[n] } : {}) });

const SCREENING = "lonely_death_screening";
const ASSESSMENT = "crisis_household_assessment";

let server;
let browser;
let tmp;
let today; // the planner's visits today, by window start (app/demo/generator.py demo_day)
let partner;
const phones = [];

async function phone(options) {
  const p = await newPhone(browser, server, options);
  phones.push(p);
  return p;
}

async function closePhone(p) {
  await p.context.close().catch(() => {});
}

describe(`Ongi Field on ${process.env.ONGI_E2E_DB || "sqlite"}`, { timeout: s(900) }, () => {
  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), "ongi-e2e-files-"));
    server = await startOngi();
    browser = await launchBrowser();
    today = await server.api.visitsOf("planner", seoulDay(), seoulDay());
    assert.equal(today.length, 6, "the demo planner has six visits today");
    partner = await server.api.user("partner");
  }, { timeout: s(180) });

  after(async () => {
    for (const p of phones) await closePhone(p);
    await browser?.close();
    await server?.stop();
    await writeScreensReport();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, { timeout: s(60) });

  test("1. a planner's offline day arrives exactly once: screening across a band, two notes, a 20 MiB photo, completed", scenario(1, s(300)), async () => {
    const visit = today.find((v) => v.purpose === "follow_up" && v.checklists.some((c) => c.key === SCREENING));
    assert.ok(visit, "a follow-up visit with the lonely-death screening today");
    const photo = await support("make-photo", join(tmp, "day.jpg"), "20");
    assert.ok(photo.size >= 20 * 1024 * 1024);
    const marker = `e2e-${Date.now()}`;

    const { context, page, errors } = await phone();
    await page.goto("/app/");
    await page.locator("input#username").waitFor();
    await checkScreen(page, "01-login");
    await login(page, "planner");
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await checkScreen(page, "02-visit-list");
    const overdue = await page.locator("[data-testid=visit-item]").evaluateAll((els) =>
      els.map((e) => e.getAttribute("data-overdue")),
    );
    const firstNotOverdue = overdue.indexOf("false");
    if (firstNotOverdue >= 0) {
      assert.ok(!overdue.slice(firstNotOverdue).includes("true"), `overdue visits come first: ${overdue}`);
    }

    // offline: the service worker serves the shell, the data comes from IndexedDB
    await context.setOffline(true);
    await page.reload();
    await page.locator("[data-testid=visit-list]").waitFor();
    await page.locator(`[data-testid=visit-item][data-visit-id="${visit.id}"]`).waitFor();
    await page.locator('[data-testid=sync-status][data-state="offline"]').waitFor({ timeout: s(5) });
    await openVisit(page, visit.id);
    await checkScreen(page, "03-visit");

    await page.locator("[data-testid=check-in]").click();
    await page.locator('[data-testid=visit-status][data-status="in_progress"]').waitFor();

    // the screening: skip logic, then five weighted answers (normal), a sixth crosses into at_risk
    const sheet = page.locator(`[data-testid=checklist][data-template-key="${SCREENING}"]`);
    await sheet.waitFor();
    assert.equal(await sheet.locator("[data-testid=item-years_alone]").count(), 0, "hidden until lives_alone");
    await answer(page, SCREENING, "lives_alone", true);
    await sheet.locator("[data-testid=item-years_alone]").waitFor();
    await answer(page, SCREENING, "years_alone", 12);
    for (const key of ["no_family_contact", "no_social_activity", "no_neighbor_contact", "chronic_illness"]) {
      await answer(page, SCREENING, key, true);
    }
    for (const key of ["skips_meals", "unsanitary_home", "unpaid_utilities", "no_stable_income", "low_mood",
      "recent_loss", "refuses_contact"]) {
      await answer(page, SCREENING, key, false);
    }
    await answer(page, SCREENING, "emergency_contact_known", true);
    await answer(page, SCREENING, "visitor_opinion", `혼자 지내시며 이웃 왕래가 없음 ${marker}`);
    await sheet.locator('[data-testid=checklist-band][data-band="normal"]').waitFor();
    assert.match(await sheet.locator("[data-testid=checklist-score]").innerText(), /\b5\b/);
    await answer(page, SCREENING, "alcohol_problem", true);
    await sheet.locator('[data-testid=checklist-band][data-band="at_risk"]').waitFor();
    assert.match(await sheet.locator("[data-testid=checklist-score]").innerText(), /\b6\b/);
    await sheet.locator("[data-testid=item-alcohol_frequency]").waitFor();
    await answer(page, SCREENING, "alcohol_frequency", "daily");
    await sheet.locator("[data-testid=checklist-save]").click();
    await checkScreen(page, "04-screening-at-risk");

    // two notes, one internal
    const notesBefore = await page.locator("[data-testid=note-item]").count();
    await page.locator("[data-testid=note-body]").fill(`첫 번째 메모 ${marker}`);
    await page.locator("[data-testid=note-add]").click();
    await page.locator("[data-testid=note-item]").nth(notesBefore).waitFor();
    await page.locator("[data-testid=note-body]").fill(`두 번째 메모 (내부) ${marker}`);
    await page.locator("[data-testid=note-internal]").check();
    await page.locator("[data-testid=note-add]").click();
    await page.locator("[data-testid=note-item]").nth(notesBefore + 1).waitFor();

    // the photo, queued while offline
    await page.locator("[data-testid=photo-input]").setInputFiles(photo.path);
    const item = page.locator("[data-testid=photo-item]").first();
    await item.waitFor();
    // offline it cannot go up (FINDINGS.md F2: the app shows "uploading" while offline, not "queued")
    await page.waitForTimeout(1000);
    assert.notEqual(await item.getAttribute("data-state"), "uploaded", "nothing goes up offline");

    await page.locator("[data-testid=visit-outcome]").fill(`안부 확인, 집중 관리 대상 ${marker}`);
    await page.locator("[data-testid=transition-completed]").click();
    await page.locator('[data-testid=visit-status][data-status="completed"]').waitFor();
    await page.locator('[data-testid=sync-status][data-state="offline"]').waitFor({ timeout: s(5) });
    const waiting = await syncStatus(page);
    assert.ok(waiting.pending >= 5, `check-in, checklist, 2 notes, completion and a photo wait: ${waiting.pending}`);
    await checkScreen(page, "05-visit-done-offline");

    // back online: it syncs by itself
    const before = waiting.lastSync || "";
    await context.setOffline(false);
    await waitSynced(page, { since: before, timeout: s(120) });
    await page.locator('[data-testid=photo-item][data-state="uploaded"]').waitFor({ timeout: s(60) });
    await checkScreen(page, "06-visit-synced");

    // as the coordinator: everything arrived exactly once
    const api = server.api;
    const v = await api.get("coordinator", `/v1/visits/${visit.id}`);
    assert.equal(v.status, "completed");
    assert.match(v.outcome, new RegExp(marker));
    assert.ok(v.checked_in_device_at && v.checked_out_device_at, "device times kept");
    const transitions = (await api.get("coordinator", `/v1/visits/${visit.id}/transitions`)).items;
    assert.equal(transitions.filter((t) => t.to_status === "in_progress").length, 1);
    assert.equal(transitions.filter((t) => t.to_status === "completed").length, 1);

    const responses = await api.all("coordinator", `/v1/visits/${visit.id}/checklists`);
    const screening = responses.filter((r) => r.template_key === SCREENING);
    assert.equal(screening.length, 1);
    assert.equal(screening[0].score, 6);
    assert.equal(screening[0].band, "at_risk");
    assert.equal(screening[0].answers.years_alone.value, 12);
    assert.equal(screening[0].answers.alcohol_frequency.value, "daily");
    assert.equal(screening[0].answers.skips_meals.value, false);

    const notes = (await api.all("coordinator", "/v1/notes", { visit_id: visit.id })).filter((n) =>
      n.body.includes(marker),
    );
    assert.equal(notes.length, 2, JSON.stringify(notes));
    assert.deepEqual(notes.map((n) => n.internal).sort(), [false, true]);

    // The last 204 means the bytes are safe; stripping and the thumbnail follow in the background (docs/sync.md
    // § Uploads), so the photo record may take a moment to appear.
    let photos = await api.get("coordinator", `/v1/visits/${visit.id}/photos`);
    for (let i = 0; i < 150 && photos.items.length === 0; i++) {
      await new Promise((done) => setTimeout(done, 200));
      photos = await api.get("coordinator", `/v1/visits/${visit.id}/photos`);
    }
    const mine = photos.items.filter((p) => p.original_sha256 === photo.sha256);
    assert.equal(photos.items.length, 1, JSON.stringify(photos.items));
    assert.equal(mine.length, 1);
    const content = await api.request("coordinator", "GET", mine[0].content_url, { raw: true });
    assert.equal(content.status, 200);
    const stored = join(tmp, "stored.jpg");
    await writeFile(stored, Buffer.from(await content.arrayBuffer()));
    const seen = await support("inspect-photo", stored);
    assert.equal(seen.format, "JPEG");
    assert.equal(seen.width, photo.width, "whole");
    assert.equal(seen.height, photo.height, "whole");
    assert.equal(seen.sha256, mine[0].sha256);
    assert.equal(seen.size, mine[0].size);
    assert.deepEqual(seen.gps, {}, "location stripped");
    assert.equal(seen.make, null, "camera metadata stripped");
    assert.deepEqual(errors, []);
    // last, so that everything above is known either way (FINDINGS.md F3)
    assert.equal(screening[0].completed, true, `the screening was submitted complete; missing: ${screening[0].missing_required}`);
  });

  test("2. the same item answered on two phones offline: the second gets a conflict and sees both values", scenario(2, s(180)), async () => {
    const visit = today.find((v) => v.purpose === "assessment" && v.checklists.some((c) => c.key === ASSESSMENT));
    assert.ok(visit);
    const template = JSON.parse(await readFile(join(ROOT, "app/checklists/templates", `${ASSESSMENT}.json`), "utf8"));
    const options = template.items.find((i) => i.key === "food_insecurity").options;
    const shown = (value) => {
      const o = options.find((x) => x.value === value);
      return [value, o.label.ko, o.label.en];
    };

    const a = await phone();
    const b = await phone();
    await login(a.page, "planner");
    await login(b.page, "planner");
    for (const p of [a, b]) {
      await openVisit(p.page, visit.id);
      await p.context.setOffline(true);
    }
    await answer(a.page, ASSESSMENT, "food_insecurity", "sometimes_short");
    await a.page.locator(`[data-testid=checklist][data-template-key="${ASSESSMENT}"] [data-testid=checklist-save]`).click();
    await answer(b.page, ASSESSMENT, "food_insecurity", "often_skip");
    await b.page.locator(`[data-testid=checklist][data-template-key="${ASSESSMENT}"] [data-testid=checklist-save]`).click();

    const beforeA = (await syncStatus(a.page)).lastSync || "";
    await a.context.setOffline(false);
    await waitSynced(a.page, { since: beforeA });
    const beforeB = (await syncStatus(b.page)).lastSync || "";
    await b.context.setOffline(false);
    await waitSynced(b.page, { since: beforeB });

    const conflict = b.page.locator("[data-testid=conflict]").first();
    await conflict.waitFor({ timeout: s(30) });
    const server_ = await conflict.locator("[data-testid=conflict-server]").innerText();
    const mine = await conflict.locator("[data-testid=conflict-mine]").innerText();
    assert.ok(shown("sometimes_short").some((t) => server_.includes(t)), `server's value shown: ${server_}`);
    assert.ok(shown("often_skip").some((t) => mine.includes(t)), `phone's value shown: ${mine}`);
    await checkScreen(b.page, "07-conflict");
    assert.equal(await a.page.locator("[data-testid=conflict]").count(), 0, "the first phone has no conflict");

    const responses = await server.api.all("coordinator", `/v1/visits/${visit.id}/checklists`);
    const response = responses.find((r) => r.template_key === ASSESSMENT);
    assert.equal(response.answers.food_insecurity.value, "sometimes_short", "the server keeps its value");
    await closePhone(a);
    await closePhone(b);
  });

  test("3. an upload cut halfway resumes from the server's offset after reconnect", scenario(3, s(240)), async () => {
    const visit = today.find((v) => v.purpose === "identification");
    assert.ok(visit);
    const photo = await support("make-photo", join(tmp, "cut.jpg"), "20");
    const { context, page } = await phone();
    await login(page, "planner");
    await openVisit(page, visit.id);

    // every tus request and answer, in order
    const tus = [];
    page.on("request", (r) => {
      if (r.url().includes("/v1/uploads/") && r.method() === "PATCH") {
        tus.push({ kind: "patch", offset: Number(r.headers()["upload-offset"]) });
      }
    });
    page.on("response", (r) => {
      const m = r.request().method();
      if (r.url().includes("/v1/uploads/") && (m === "HEAD" || m === "PATCH")) {
        tus.push({ kind: `${m.toLowerCase()}-answer`, status: r.status(), offset: Number(r.headers()["upload-offset"]) });
      }
    });
    // a slow uplink (4 MiB/s), so that the cut falls in the middle of the file
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", {
      offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 4 * 1024 * 1024,
    });

    await page.locator("[data-testid=photo-input]").setInputFiles(photo.path);
    const item = page.locator("[data-testid=photo-item]").first();
    await item.waitFor();
    await page.waitForFunction(() => {
      const el = document.querySelector("[data-testid=photo-item]");
      return el && el.getAttribute("data-state") === "uploading" && Number(el.getAttribute("data-progress")) >= 25;
    }, null, { timeout: s(60), polling: 50 });
    // the signal drops: no new request gets out, and the one sending now is cut off mid-body
    await context.setOffline(true);
    assert.ok(server.cut() >= 1, "a connection was open");
    const cut = tus.length;
    await page.waitForTimeout(2000);
    assert.notEqual(await item.getAttribute("data-state"), "uploaded", "the cut stopped the upload");
    await checkScreen(page, "08-upload-cut");

    await context.setOffline(false); // also lifts the throttle
    await page.locator('[data-testid=photo-item][data-state="uploaded"]').waitFor({ timeout: s(90) });

    const after = tus.slice(cut);
    const head = after.findLastIndex((e) => e.kind === "head-answer" && e.status === 200);
    assert.ok(head >= 0, `asked the server for its offset after the cut: ${JSON.stringify(tus)}`);
    const resumedFrom = after[head].offset;
    assert.ok(resumedFrom > 0 && resumedFrom < photo.size, `the server kept part of the file: ${resumedFrom}`);
    const resumed = after.slice(head).filter((e) => e.kind === "patch");
    assert.ok(resumed.length >= 1, "sent the rest");
    assert.equal(resumed[0].offset, resumedFrom, "resumed from the server's offset");
    assert.ok(!after.some((e) => e.kind === "patch" && e.offset === 0), "never started again from zero");

    let photos;
    for (let i = 0; i < 100; i += 1) {
      photos = await server.api.get("coordinator", `/v1/visits/${visit.id}/photos`);
      if (photos.items.some((p) => p.original_sha256 === photo.sha256)) break;
      await page.waitForTimeout(200);
    }
    const got = photos.items.filter((p) => p.original_sha256 === photo.sha256);
    assert.equal(got.length, 1, "arrived once, whole (its sha256 is the file's)");
    await closePhone({ context });
  });

  test("4. consent withdrawn on the server: the next sync erases the household from the partner's phone", scenario(4, s(180)), async () => {
    const joint = today.filter((v) => v.team.some((m) => m.user_id === partner.id));
    assert.ok(joint.length >= 2, "two joint visits today");
    const visit = joint.at(-1);
    const householdId = visit.household_id;
    const household = await server.api.get("coordinator", `/v1/households/${householdId}`);

    const { page } = await phone();
    await login(page, "partner");
    let store = await readStore(page);
    assert.equal(recordsOf(store, "household").filter((r) => r.id === householdId).length, 1, "held before");
    assert.ok(JSON.stringify(store).includes(household.head_name));

    const consents = await server.api.all("coordinator", `/v1/households/${householdId}/consents`);
    const given = consents.filter((c) => c.status === "given" && !c.withdrawn_at);
    assert.ok(given.length >= 1, "the demo household gave consent");
    for (const c of given) {
      await server.api.post("coordinator", `/v1/households/${householdId}/consents/${c.id}/withdraw`, {
        reason: "당사자 동의 철회 (e2e)",
      });
    }

    await syncNow(page);
    store = await readStore(page);
    assert.equal(recordsOf(store, "household").filter((r) => r.id === householdId).length, 0, "erased");
    const text = JSON.stringify(store);
    for (const secret of [household.head_name, household.contact_phone, household.address_detail].filter(Boolean)) {
      if (secret === household.head_name) {
        // a generated name may belong to someone else too: look only at what concerns this household
        const concerning = (store.records ?? []).filter(
          (r) => r.id === householdId || r.data?.household_id === householdId || r.id === visit.id,
        );
        assert.ok(!JSON.stringify(concerning).includes(secret), `${secret} left in the store`);
      } else {
        assert.ok(!text.includes(secret), `${secret} left in the store`);
      }
    }
    await openVisit(page, visit.id);
    await page.locator("[data-testid=household-restricted]").waitFor();
    await checkScreen(page, "09-consent-withdrawn");
  });

  test("5. a revoked device: the next request wipes IndexedDB and the caches", scenario(5, s(180)), async () => {
    const { page } = await phone({ locale: "en-US" });
    await login(page, "planner");
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    const store = await readStore(page);
    assert.ok(recordsOf(store, "visit").length > 0);
    const text = JSON.stringify(store);
    const planner = await server.api.user("planner");
    const devices = await server.api.all("admin", "/v1/devices", { user_id: planner.id });
    const device = devices.find((d) => !d.revoked_at && text.includes(d.client_device_id));
    assert.ok(device, "the phone's device is known to the server");
    await server.api.post("admin", `/v1/devices/${device.id}/revoke`, { reason: "lost phone (e2e)" });

    await page.locator("[data-testid=sync-now]").click();
    const notice = page.locator("[data-testid=wiped-notice]");
    await notice.waitFor({ timeout: s(30) });
    assert.ok((await notice.innerText()).trim().length > 0, "says why");
    await checkScreen(page, "10-wiped");

    const after_ = await readStore(page);
    if (after_ !== null) {
      for (const [table, rows] of Object.entries(after_)) assert.deepEqual(rows, [], `${table} wiped`);
    }
    const other = await readOtherStorage(page);
    assert.deepEqual(other.caches.filter((c) => c.startsWith("ongi")), [], "caches wiped");
    assert.deepEqual(other.local, []);
    assert.deepEqual(other.session, []);
    assert.equal(await page.locator("[data-testid=visit-item]").count(), 0);
  });

  test("6. a partner without consent sees the restricted visit and no household identity anywhere", scenario(6, s(180)), async () => {
    const week = await server.api.visitsOf("partner", seoulDay(), seoulDay(6));
    const now = new Date().toISOString();
    let visit = null;
    for (const v of week) {
      if (!v.household_id) continue;
      const consents = await server.api.all("coordinator", `/v1/households/${v.household_id}/consents`);
      const covered = consents.some(
        (c) =>
          c.status === "given" &&
          !c.withdrawn_at &&
          (c.recipient_kind === "all_partners" || c.recipient_organization_id === partner.organization_id) &&
          (!c.valid_until || c.valid_until > now),
      );
      const history = consents.some((c) => c.withdrawn_at); // scenario 4's household is another story
      if (!covered && !history) {
        visit = v;
        break;
      }
    }
    assert.ok(visit, "the demo partner has a joint visit this week without consent");
    const h = await server.api.get("coordinator", `/v1/households/${visit.household_id}`);
    const team = visit.team.map((m) => m.display_name).join(" ");
    const identity = [h.head_name, h.contact_phone, h.address_detail, h.address, ...h.members.map((m) => m.name)]
      .filter((x) => x && x.length >= 2 && !team.includes(x));

    const { page } = await phone({ locale: "en-US" });
    await login(page, "partner");
    const listHtml = await page.content();
    await openVisit(page, visit.id);
    await page.locator("[data-testid=household-restricted]").waitFor();
    await checkScreen(page, "11-visit-restricted");
    const dom = await page.evaluate(() => {
      const values = Array.from(document.querySelectorAll("input, textarea, select")).map((e) => e.value);
      return document.documentElement.outerHTML + "\n" + values.join("\n") + "\n" + document.title;
    });
    const store = await readStore(page);
    const concerning = (store.records ?? []).filter(
      (r) => r.id === visit.household_id || r.data?.household_id === visit.household_id || r.id === visit.id,
    );
    const web = await page.evaluate(() => {
      const all = (st) => Array.from({ length: st.length }, (_, i) => `${st.key(i)}=${st.getItem(st.key(i))}`);
      return [...all(localStorage), ...all(sessionStorage)].join("\n");
    });
    const cached = (await cachedTexts(page)).map((c) => c.text).join("\n");
    for (const secret of identity) {
      assert.ok(!dom.includes(secret), `"${secret}" in the visit's DOM`);
      assert.ok(!JSON.stringify(concerning).includes(secret), `"${secret}" in the store`);
      assert.ok(!web.includes(secret), `"${secret}" in web storage`);
      assert.ok(!cached.includes(secret), `"${secret}" in the caches`);
    }
    for (const unique of [h.contact_phone, `${h.address} ${h.address_detail ?? ""}`.trim()].filter(Boolean)) {
      assert.ok(!listHtml.includes(unique), `"${unique}" in the visit list`);
      assert.ok(!JSON.stringify(store).includes(unique), `"${unique}" anywhere in the store`);
    }
  });
});
