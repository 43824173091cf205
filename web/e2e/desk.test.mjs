// Ongi Desk end to end (issue 19, "Proof") in real Chromium against a live Ongi with the demo district: a
// coordinator triages a neighbour's report into a new household, assigns a joint visit to the demo planner and
// partner, records consent with a signed form; the planner's phone (a second context running Ongi Field offline)
// completes the visit; the desk shows it completed and the campaign chart counts it; an admin signs off the
// monthly review. axe-core on every screen; a 1440 × 900 screenshot of each in e2e/screenshots/desk-*.png.
// Run with `npm run e2e` in web/ after `npm run build` (ONGI_E2E_DB=postgres for PostgreSQL).

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";

import {
  checkScreen,
  FIELD_DIR,
  launchBrowser,
  newPhone,
  openVisit,
  s,
  seoulDay,
  startOngi,
  support,
  waitSynced,
  screensChecked,
  SCREENSHOTS,
} from "./harness.mjs";

const DESK_DIR = join(FIELD_DIR, "..", "desk");

// A test that fails because of a defect outside the desk runs as `todo` (it still runs and reports, and does not
// fail the suite) until that is fixed; remove its line then.
// Empty when every test passes.
const KNOWN = {};
const known = (name, timeout) => ({ timeout, ...(KNOWN[name] ? { todo: KNOWN[name] } : {}) });
const LAPTOP = { width: 1440, height: 900 };

let server;
let browser;
let tmp;
const contexts = [];

async function desk(locale = "ko-KR") {
  const context = await browser.newContext({
    baseURL: server.base,
    viewport: LAPTOP,
    screen: LAPTOP,
    locale,
    timezoneId: "Asia/Seoul",
    serviceWorkers: "block",
  });
  contexts.push(context);
  context.setDefaultTimeout(s(15));
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  return { context, page, errors };
}

async function deskLogin(page, username) {
  await page.goto("/desk/");
  await page.locator("input#username").fill(username);
  await page.locator("input#password").fill("ongi-demo");
  await page.locator("[data-testid=login-submit]").click();
  await page.locator(`[data-testid=who]`).waitFor();
}

/** Waits for the screen's loading placeholders to go. */
async function settled(page) {
  await page.waitForFunction(() => !document.querySelector("main [aria-busy=true]"), null, { timeout: s(20) });
}

describe(`Ongi Desk on ${process.env.ONGI_E2E_DB || "sqlite"}`, { timeout: s(900) }, () => {
  before(async () => {
    if (!existsSync(join(DESK_DIR, "index.html"))) throw new Error(`no build in ${DESK_DIR}: run \`npm run build\``);
    tmp = await mkdtemp(join(tmpdir(), "ongi-e2e-desk-"));
    server = await startOngi();
    browser = await launchBrowser();
  }, { timeout: s(180) });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => {});
    await browser?.close();
    await server?.stop();
    // the desk's own report beside Field's screens.json (each test file runs in its own process)
    await mkdir(SCREENSHOTS, { recursive: true });
    await writeFile(join(SCREENSHOTS, "screens-desk.json"), JSON.stringify(screensChecked, null, 2));
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }, { timeout: s(60) });

  test("a neighbour's report becomes a household with a joint visit and consent; the phone completes it; the campaign counts it; the admin signs off", { timeout: s(600) }, async () => {
    const api = server.api;
    const marker = `e2e-desk-${Date.now()}`;
    const planner = await api.user("planner");
    const partner = await api.user("partner");
    const coordinator = await api.get("coordinator", "/v1/me");
    const campaigns = (await api.get("coordinator", "/v1/campaigns")).items;
    const today = seoulDay();
    const campaign = campaigns
      .filter((c) => c.active && c.ends_on >= today)
      .sort((a, b) => a.starts_on.localeCompare(b.starts_on))[0];
    assert.ok(campaign, "an active winter campaign");
    const summaryBefore = await api.get("coordinator", `/v1/campaigns/${campaign.id}/summary`);

    // a neighbour tells the reporter channel about someone (the reporter's own API)
    const report = await api.post("reporter", "/v1/reports", {
      observation: `옆집 할머니 집에 며칠째 불이 꺼져 있고 우편물이 쌓여 있어요 ${marker}`,
      address: "서울특별시 온기구 온기로 77, 3층",
      district_code: "11990",
      dong_code: "1199051000",
      source: "resident_report",
      subject_name: "문옥순",
      indicators: ["power_cut"],
    });

    // --- the coordinator's desk --------------------------------------------------------------------------------
    const { page, errors } = await desk();
    await page.goto("/desk/");
    await page.locator("input#username").waitFor();
    await checkScreen(page, "desk-01-login");
    await deskLogin(page, "coordinator");
    const item = page.locator(`[data-testid=report-item][data-report-id="${report.id}"]`);
    await item.waitFor();
    await page.locator("[data-testid=triage-row]").first().waitFor();
    await settled(page);
    await checkScreen(page, "desk-02-triage");

    // triage into a new household
    await item.locator("[data-testid=report-create]").click();
    const form = item.locator("[data-testid=create-form]");
    assert.equal(await form.locator("[data-testid=create-head-name]").inputValue(), "문옥순", "prefilled from the report");
    await form.locator("[data-testid=create-birth-year]").fill("1941");
    await form.locator("[data-testid=create-phone]").fill("010-5555-0199");
    await form.locator("[data-testid=create-living]").fill(`단독 거주 ${marker}`);
    await checkScreen(page, "desk-03-triage-create");
    await form.locator("[data-testid=create-submit]").click();
    await item.waitFor({ state: "detached" });
    const triaged = await api.get("coordinator", `/v1/reports/${report.id}`);
    assert.equal(triaged.status, "triaged");
    assert.ok(triaged.household_id, "linked to the new household");
    const householdId = triaged.household_id;
    const created = await api.get("coordinator", `/v1/households/${householdId}`);
    assert.equal(created.head_name, "문옥순");
    assert.equal(created.members[0].birth_year, 1941);
    assert.match(created.living_situation, new RegExp(marker));

    // the household screen
    await page.goto(`/desk/#/households/${householdId}`);
    await page.locator(`[data-testid=household][data-household-id="${householdId}"]`).waitFor();
    await settled(page);

    // assign a joint visit: the planner (public) and the partner (private)
    await page.locator("[data-testid=assign-visit]").click();
    await page.locator("[data-testid=assign-form]").waitFor();
    await settled(page);
    await page.locator("[data-testid=assign-purpose]").selectOption("joint_consultation");
    const start = await page.locator("[data-testid=assign-start]").inputValue();
    assert.ok(start.startsWith(today) || start > today, `the window starts today or later: ${start}`);
    await page.locator("[data-testid=assign-start]").fill(`${today}T00:00`);
    await page.locator("[data-testid=assign-end]").fill(`${today}T23:00`);
    await page.locator("[data-testid=assign-campaign]").selectOption(campaign.id);
    for (const id of [planner.id, partner.id]) {
      await page.locator(`[data-testid=team-row][data-user-id="${id}"] [data-testid=team-pick]`).check();
    }
    await page.locator(`[data-testid=team-row][data-user-id="${planner.id}"] input[type=radio]`).check();
    await checkScreen(page, "desk-04-assign");
    await page.locator("[data-testid=assign-submit]").click();
    const done = page.locator("[data-testid=assign-created]");
    await done.waitFor();
    const visitId = await done.getAttribute("data-visit-id");
    const visit = await api.get("coordinator", `/v1/visits/${visitId}`);
    assert.equal(visit.household_id, householdId);
    assert.equal(visit.purpose, "joint_consultation");
    assert.equal(visit.campaign_id, campaign.id);
    assert.deepEqual([...visit.assignees].sort(), [planner.id, partner.id].sort());
    assert.deepEqual(
      [...new Set(visit.team.map((m) => m.organization_kind))].sort(),
      ["private", "public"],
      "a joint visit: public and private",
    );

    // consent for the partner's organization, with the signed form photographed (the consent's own form: the
    // coordinator need not be on a visit team for it)
    await page.goto(`/desk/#/households/${householdId}`);
    const consents = page.locator("[data-testid=consents]");
    await consents.locator("[data-testid=consent-form]").waitFor();
    await settled(page);
    await consents.locator("[data-testid=consent-recipient]").selectOption(partner.organization_id);
    await consents.locator("[data-testid=consent-given-by]").fill("문옥순 (본인)");
    await consents.locator('[data-testid=consent-purposes] input[value="follow_up"]').check();
    await consents.locator("[data-testid=consent-submit]").click();
    const consentItem = consents.locator('[data-testid=consent-item][data-in-force="true"]');
    await consentItem.waitFor();
    const consentId = await consentItem.getAttribute("data-consent-id");
    const form1 = await support("make-photo", join(tmp, "consent-form.jpg"), "1");
    assert.ok(Object.keys((await support("inspect-photo", form1.path)).gps).length, "the test's photo has GPS");
    await consentItem.locator("[data-testid=signed-form-file]").setInputFiles(form1.path);
    const attached = consentItem.locator('[data-testid=signed-form][data-state="uploaded"][data-sha256]');
    await attached.waitFor({ timeout: s(60) });
    const recorded = (await api.get("coordinator", `/v1/households/${householdId}/consents`)).items;
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0].id, consentId);
    assert.equal(recorded[0].recipient_kind, "organization");
    assert.equal(recorded[0].recipient_organization_id, partner.organization_id);
    assert.ok(recorded[0].in_force);
    assert.deepEqual([...recorded[0].purposes].sort(), ["follow_up", "joint_consultation", "service_linkage"]);
    assert.equal(recorded[0].form?.content_type, "image/jpeg", "the signed form is the consent's own");
    assert.equal(await attached.getAttribute("data-sha256"), recorded[0].form.sha256);
    const photos = (await api.get("coordinator", `/v1/visits/${visitId}/photos`)).items;
    assert.equal(photos.length, 0, "the form is no visit photo");
    const formUrl = `/v1/households/${householdId}/consents/${consentId}/form`;
    const noReason = await api.request("coordinator", "GET", formUrl, { raw: true });
    assert.equal(noReason.status, 422, "a download without a reason is refused");
    const fetched = await api.request("coordinator", "GET", formUrl, {
      raw: true,
      headers: { "Ongi-Reason": encodeURIComponent("동의서 확인") },
    });
    assert.equal(fetched.status, 200);
    const formPath = join(tmp, "consent-form-downloaded.jpg");
    await writeFile(formPath, Buffer.from(await fetched.arrayBuffer()));
    const kept = await support("inspect-photo", formPath);
    assert.equal(kept.sha256, recorded[0].form.sha256);
    assert.deepEqual(kept.gps, {}, "the form is kept without its GPS");
    await settled(page);
    await checkScreen(page, "desk-05-household");

    // --- the planner's phone: Ongi Field, offline ----------------------------------------------------------------
    const phone = await newPhone(browser, server);
    contexts.push(phone.context);
    const bad = [];
    phone.page.on("response", async (r) => {
      if (r.url().includes("/v1/") && r.status() >= 400) bad.push(`${r.status()} ${r.url()} ${(await r.text().catch(() => "")).slice(0, 300)}`);
    });
    phone.page.on("console", (m) => m.type() === "error" && bad.push(`console: ${m.text()}`));
    await phone.page.goto("/app/");
    await phone.page.locator("input#username").fill("planner");
    await phone.page.locator("input#password").fill("ongi-demo");
    await phone.page.locator("[data-testid=login-submit]").click();
    await phone.page.locator("[data-testid=visit-list]").waitFor();
    await waitSynced(phone.page, { timeout: s(120) }).catch((e) => {
      throw new Error(`${e.message}\n${bad.slice(-20).join("\n")}\n${server.log().slice(-3000)}`);
    });
    await phone.page.locator(`[data-testid=visit-item][data-visit-id="${visitId}"]`).waitFor();
    await phone.context.setOffline(true);
    await openVisit(phone.page, visitId);
    await phone.page.locator("[data-testid=check-in]").click();
    await phone.page.locator('[data-testid=visit-status][data-status="in_progress"]').waitFor();
    await phone.page.locator("[data-testid=visit-outcome]").fill(`동의서 받음, 에너지 바우처 연계 예정 ${marker}`);
    await phone.page.locator("[data-testid=transition-completed]").click();
    await phone.page.locator('[data-testid=visit-status][data-status="completed"]').waitFor();
    const before = (await phone.page.locator("[data-testid=sync-status]").getAttribute("data-last-sync")) || "";
    await phone.context.setOffline(false);
    await waitSynced(phone.page, { since: before, timeout: s(120) });
    assert.deepEqual(phone.errors, []);

    // --- the desk sees it completed, and the campaign counts it ------------------------------------------------------
    await page.reload();
    await page.locator(`[data-testid=visit-row][data-visit-id="${visitId}"][data-status="completed"]`).waitFor();
    assert.equal((await api.get("coordinator", `/v1/visits/${visitId}`)).status, "completed");

    await page.locator("[data-testid=nav-campaign]").click();
    const summary = page.locator(`[data-testid=campaign-summary][data-campaign-id="${campaign.id}"]`);
    await summary.waitFor();
    await settled(page);
    const completed = Number(await summary.locator("[data-testid=total-visits_completed]").getAttribute("data-value"));
    assert.equal(completed, summaryBefore.visits_completed + 1, "the completed visit is counted");
    const dongBefore = summaryBefore.by_dong.find((d) => d.dong_code === "1199051000")?.visited ?? 0;
    const row = summary.locator('[data-testid=chart-dong] tr[data-row] td[data-key="visited"]');
    const visitedCells = await row.allInnerTexts();
    const dongRows = await summary.locator("[data-testid=chart-dong] tr[data-row]").evaluateAll((rows) =>
      rows.map((r) => r.getAttribute("data-row")),
    );
    const after = (await api.get("coordinator", `/v1/campaigns/${campaign.id}/summary`)).by_dong;
    const index = after.findIndex((d) => d.dong_code === "1199051000");
    assert.ok(index >= 0, JSON.stringify(dongRows));
    assert.equal(Number(visitedCells[index]), dongBefore + 1, "the chart's dong row counts the household visited");
    await checkScreen(page, "desk-06-campaign");

    // the other coordinator screens
    await page.locator("[data-testid=nav-work]").click();
    await page.locator("[data-testid=workload]").waitFor();
    await settled(page);
    const plannerLoad = page.locator(`[data-testid=worker-row][data-user-id="${planner.id}"] [data-testid=workload-cell]`);
    await plannerLoad.waitFor();
    const workload = await api.get("coordinator", "/v1/workload").catch(() => null);
    const expected = workload?.workers?.find((w) => w.user_id === planner.id)?.open?.total;
    if (expected !== undefined) assert.equal(Number(await plannerLoad.getAttribute("data-open")), expected);
    else assert.ok(Number(await plannerLoad.getAttribute("data-open")) >= 1, "the planner has open visits");
    await checkScreen(page, "desk-07-work");
    assert.deepEqual(errors, []);

    // --- the admin: the monthly review, signed off; devices -----------------------------------------------------
    const admin = await desk();
    await deskLogin(admin.page, "admin");
    const review = admin.page.locator("[data-testid=review]");
    await review.waitFor();
    await settled(admin.page);
    const month = await review.getAttribute("data-month");
    assert.equal(await review.getAttribute("data-signed"), "false");
    const drill = admin.page.locator("[data-testid=drill]").first();
    if (await drill.count()) {
      await drill.click();
      await admin.page.locator("[data-testid=audit-events]").waitFor();
      await settled(admin.page);
    }
    await checkScreen(admin.page, "desk-09-review");
    await admin.page.locator("[data-testid=sign-off-comment]").fill(`검토 완료: 특이사항 없음 ${marker}`);
    await admin.page.locator("[data-testid=sign-off]").click();
    await admin.page.locator("[data-testid=signed-off]").waitFor();
    const signed = await api.get("admin", "/v1/audit-reports/monthly", { month });
    assert.ok(signed.sign_off, "signed off");
    assert.match(signed.sign_off.comment, new RegExp(marker));

    await admin.page.locator("[data-testid=nav-devices]").click();
    await admin.page.locator("[data-testid=devices]").waitFor();
    await settled(admin.page);
    const plannerDevice = (await api.get("admin", "/v1/devices", { user_id: planner.id })).items.find(
      (d) => d.name.startsWith("Ongi Field"),
    );
    assert.ok(plannerDevice, "the planner's phone is a device");
    const deviceRow = admin.page.locator(`[data-testid=device-row][data-device-id="${plannerDevice.id}"]`);
    await deviceRow.locator("[data-testid=show-holdings]").click();
    await deviceRow.locator("[data-testid=holdings-households]").waitFor();
    assert.ok(Number(await deviceRow.locator("[data-testid=holdings-households]").innerText()) >= 1);
    await checkScreen(admin.page, "desk-10-devices");
    assert.deepEqual(admin.errors, []);
  });

  test("the coordinator declares a cold-wave alert and watches its tasks close, exports the campaign with a reason, reveals a registration number with a reason, merges a duplicate", { timeout: s(300) }, async () => {
    const api = server.api;
    const tag = `E2E${Date.now().toString(36).toUpperCase()}`;
    const startedAt = new Date(Date.now() - 5000).toISOString();
    const { page, errors } = await desk();
    await deskLogin(page, "coordinator");
    await page.locator("[data-testid=triage-queue]").waitFor();
    await page.locator("[data-testid=nav-imports]").click();
    await page.locator("[data-testid=imports]").waitFor();
    await checkScreen(page, "desk-08-imports-empty");

    // a cold-wave alert on one dong; its tasks in a live dong table
    await page.locator("[data-testid=nav-campaign]").click();
    const alerts = page.locator("[data-testid=alerts]");
    await alerts.locator('[data-testid=alert-dongs] input[value="1199051000"]').check();
    await alerts.locator("[data-testid=alert-submit]").click();
    const table2 = alerts.locator("[data-testid=alert-summary][data-total]");
    await table2.waitFor({ timeout: s(30) });
    const alertId = await table2.getAttribute("data-alert-id");
    const summary = await api.get("coordinator", `/v1/alerts/${alertId}/summary`);
    assert.ok(summary.total > 0, "the alert made tasks");
    assert.equal(Number(await table2.getAttribute("data-total")), summary.total);
    const row = table2.locator('tr[data-dong="1199051000"] td');
    assert.equal(Number((await row.allInnerTexts())[0]), summary.by_dong.find((d) => d.dong_code === "1199051000").total);
    // one task done by its worker (the demo planner, through the API as their phone would): the table follows by
    // itself (it polls)
    const planner = await api.user("planner");
    const tasks = await api.all("coordinator", "/v1/tasks", { alert_id: alertId });
    const task = tasks.find((x) => x.assignee_id === planner.id);
    assert.ok(task, `a task of the demo planner among ${tasks.length}`);
    await api.post("planner", `/v1/tasks/${task.id}/complete`, { outcome: "reached_by_phone" });
    const after = await api.get("coordinator", `/v1/alerts/${alertId}/summary`);
    assert.equal(after.done, summary.done + 1);
    await page.waitForFunction(
      (done) => document.querySelector("[data-testid=alert-summary] tbody tr td:nth-child(3)")?.textContent === String(done),
      after.done,
      { timeout: s(25) },
    );
    await settled(page);
    await checkScreen(page, "desk-11-alert");

    // the campaign's export, with a reason (audited)
    await page.locator("[data-testid=export-reason]").fill(`동 주민센터 회의 자료 ${tag}`);
    const exported = page.waitForEvent("download");
    await page.locator("[data-testid=export]").click();
    const csv = (await readFile(await (await exported).path(), "utf8")).replace(/^\ufeff/, "");
    assert.ok(csv.trim().split("\n").length >= 2, `a header and rows: ${csv.slice(0, 200)}`);
    const exportAudit = await api.get("admin", "/v1/audit-events", { from: startedAt, limit: 100 });
    assert.ok(
      exportAudit.items.some((ev) => (ev.purpose || "").includes(tag) || JSON.stringify(ev.details).includes(tag)),
      "the export is audited with its reason",
    );

    // a registration number, revealed with a reason (audited)
    const household = (await api.get("coordinator", "/v1/triage", { limit: 1 })).items[0];
    await page.goto(`/desk/#/households/${household.id}`);
    await page.locator("[data-testid=members]").waitFor();
    await page.locator("[data-testid=reveal-reason]").fill(`긴급지원 신청 확인 ${tag}`);
    await page.locator("[data-testid=reveal]").click();
    await page.locator("[data-testid=rrn]").first().waitFor();
    const audit = await api.get("admin", "/v1/audit-events", { household_id: household.id, limit: 100 });
    assert.ok(
      audit.items.some((ev) => (ev.purpose || "").includes(tag) || JSON.stringify(ev.details).includes(tag)),
      "the reveal is audited with its reason",
    );
    await settled(page);
    await checkScreen(page, "desk-12-household-reveal");

    // a duplicate entered twice: it is a candidate with its reasons, merged into this household; its old id says so
    const copy = await api.post("coordinator", "/v1/households", {
      district_code: household.district_code,
      dong_code: household.dong_code,
      address: household.address,
      head_name: household.head_name,
      contact_phone: household.contact_phone,
      members: household.members.map((m) => ({ name: m.name, relation: m.relation, birth_year: m.birth_year, tags: m.tags })),
    });
    await page.reload();
    const candidate = page.locator(`[data-testid=duplicate][data-household-id="${copy.id}"]`);
    await candidate.waitFor({ timeout: s(20) });
    await candidate.locator("[data-testid=merge]").click();
    await candidate.locator(".ok").waitFor();
    const gone = await api.request("coordinator", "GET", `/v1/households/${copy.id}`, { raw: true });
    assert.equal(gone.status, 410);
    await page.goto(`/desk/#/households/${copy.id}`);
    await page.locator("[data-testid=household-merged]").waitFor();
    assert.equal(
      await page.locator("[data-testid=household-merged] a").getAttribute("href"),
      `#/households/${household.id}`,
    );
    assert.deepEqual(errors, []);
  });

  test("English is complete: every screen of the coordinator in English has no Korean left in its own text", { timeout: s(180) }, async () => {
    const { page, errors } = await desk("en-US");
    await deskLogin(page, "coordinator");
    await page.locator("[data-testid=triage-queue]").waitFor();
    await settled(page);
    for (const nav of ["triage", "campaign", "work", "imports"]) {
      await page.locator(`[data-testid=nav-${nav}]`).click();
      await settled(page);
      // the desk's own words: the header, headings, labels, buttons (data from the server stays as it is)
      const words = await page.evaluate(() =>
        Array.from(document.querySelectorAll("header nav a, h1, h2, h3, label > span, legend, th[scope=col], button"))
          .map((el) => el.textContent || "")
          .join(" "),
      );
      assert.doesNotMatch(words.replace(/\([^)]*\)/g, ""), /[\uac00-\ud7a3]{2,}.*[\uac00-\ud7a3]{2,}/u, `${nav}: ${words.slice(0, 400)}`);
    }
    assert.deepEqual(errors, []);
  });
  // last: an import that never finished would hold the service up for whatever follows
  test("the coordinator imports a crisis list and downloads the per-row results", known("imports", s(180)), async () => {
    const api = server.api;
    const tag = `E2E${Date.now().toString(36).toUpperCase()}`;
    const { page, errors } = await desk();
    await deskLogin(page, "coordinator");
    await page.locator("[data-testid=triage-queue]").waitFor();

    // imports: a CSV of three rows, one of them outside the jurisdiction
    const header = "관리번호,위기지표,기준일,행정동코드,주소,세대주,연락처,취약유형";
    const lines = [1, 2, 3].map(
      (n) => `${tag}-${n},"power_cut,rent_overdue",2026-11-20,${n === 3 ? "1168051000" : "1199052000"},온기구 가져오기로 ${n},정가져${n},010-5555-000${n},elderly`,
    );
    const csvPath = join(tmp, "crisis-list.csv");
    await writeFile(csvPath, `\ufeff${header}\n${lines.join("\n")}\n`, "utf8");
    await page.locator("[data-testid=nav-imports]").click();
    await page.locator("[data-testid=import-file]").setInputFiles(csvPath);
    await page.locator("[data-testid=import-source]").selectOption("bigdata");
    await page.locator("[data-testid=import-upload]").click();
    const job = page.locator("[data-testid=import-job]");
    await page.locator('[data-testid=import-job][data-status="done"]').waitFor({ timeout: s(60) }).catch(async (e) => {
      throw new Error(`${e.message}\n${await page.locator("[data-testid=imports]").innerText()}`);
    });
    const facts = await job.locator("dd").allInnerTexts();
    assert.equal(facts[0].split("/")[0].trim(), "3", `rows: ${facts}`);
    assert.equal(facts[1], "2", "applied");
    assert.equal(facts[3], "1", "rejected (outside the jurisdiction)");
    const download = page.waitForEvent("download");
    await job.getByRole("button", { name: /CSV/ }).click();
    const results = await (await download).path();
    const table = (await readFile(results, "utf8")).replace(/^\ufeff/, "").trim().split("\n");
    assert.equal(table.length, 4, "a header and a line per row");
    await checkScreen(page, "desk-08-imports");
    assert.deepEqual(errors, []);
  });


});
