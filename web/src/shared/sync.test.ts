import { beforeEach, describe, expect, it } from "vitest";
import { configure, DeviceWiped, login, request } from "./api";
import { checksumOf } from "./checksum";
import { db, DB_NAME, getMeta, reopen, setMeta } from "./db";
import * as store from "./store";
import { conflictFields, openConflicts, pull, purgeExpired, push, resolveConflict, syncOnce } from "./sync";

// A small Ongi speaking the sync protocol over fetch (docs/sync.md): enough to drive the phone's engine.
type Rec = { entity: string; id: string; version: number; data: any };
class FakeOngi {
  records = new Map<string, Rec>();
  applied = new Map<string, any>(); // mutation id -> first result
  pushes: any[] = [];
  acks: any[] = [];
  pulls: (string | null)[] = [];
  pending: any[] = []; // changes for the next pull from a cursor
  gone = false; // answer 410 to a cursor
  lie = false; // send a wrong checksum once
  revoked = false;
  cutPush = false; // apply, then lose the answer
  pageSize = 1000;
  conflictItems = new Set<string>();
  accessSeq = 0;

  put(entity: string, id: string, data: any, version = 1) {
    this.records.set(`${entity}:${id}`, { entity, id, version, data: { id, version, ...data } });
  }
  async checksum() {
    return checksumOf([...this.records.values()]);
  }
  json(status: number, body: any) {
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }
  fetch = async (input: any, init: any = {}): Promise<Response> => {
    const url = new URL(String(input), "http://ongi.test");
    const path = url.pathname;
    if (this.revoked && path !== "/v1/auth/token")
      return this.json(401, { type: "https://ongi.test/problems/device-revoked", title: "revoked", detail: "lost phone", wipe: true });
    if (path === "/v1/auth/token")
      return this.json(200, { access_token: `a${++this.accessSeq}`, refresh_token: `r${this.accessSeq}`, expires_in: 900, token_type: "bearer" });
    if (path === "/v1/me") return this.json(200, { id: "u1", username: "planner", role: "planner" });
    if (path === "/v1/sync/push") {
      const body = JSON.parse(init.body);
      this.pushes.push(body);
      const results = body.mutations.map((m: any) => {
        if (this.applied.has(m.mutation_id)) return { ...this.applied.get(m.mutation_id), status: "duplicate" };
        let result: any = { mutation_id: m.mutation_id, status: "applied", version: 1 };
        const key = `${m.entity}:${m.id}`;
        const rec = this.records.get(key);
        if (m.entity === "checklist_response") {
          const clash = Object.keys(m.data.answers).filter((k) => this.conflictItems.has(k));
          const answers = { ...(rec?.data.answers ?? {}) };
          for (const [k, v] of Object.entries(m.data.answers)) if (!clash.includes(k)) answers[k] = v;
          const version = (rec?.version ?? 0) + 1;
          this.put(m.entity, m.id, { ...m.data, answers }, version);
          result.version = version;
          if (clash.length)
            result = {
              ...result,
              status: "conflict",
              server: Object.fromEntries(clash.map((k) => [k, { value: rec?.data.answers?.[k]?.value ?? "server" }])),
              device: Object.fromEntries(clash.map((k) => [k, m.data.answers[k]])),
            };
        } else if (m.op === "transition") {
          if (!rec) result = { mutation_id: m.mutation_id, status: "rejected", error: { title: "not found" } };
          else {
            this.put(m.entity, m.id, { ...rec.data, status: m.data.to }, rec.version + 1);
            result.version = rec.version + 1;
          }
        } else {
          this.put(m.entity, m.id, m.data ?? {}, (rec?.version ?? 0) + 1);
        }
        this.applied.set(m.mutation_id, result);
        return result;
      });
      if (this.cutPush) {
        this.cutPush = false;
        throw new TypeError("Failed to fetch");
      }
      return this.json(200, { results });
    }
    if (path === "/v1/sync/pull") {
      const cursor = url.searchParams.get("cursor");
      this.pulls.push(cursor);
      if (cursor && this.gone) {
        this.gone = false;
        return this.json(410, { type: "https://ongi.test/problems/cursor-gone", title: "gone" });
      }
      let changes: any[];
      if (!cursor) {
        changes = [...this.records.values()].map((r) => ({ ...r, op: "upsert", hold_until: null }));
        this.pending = [];
      } else {
        changes = this.pending;
        this.pending = [];
      }
      const n = Number(url.searchParams.get("page") ?? 0);
      const page = changes.slice(0, this.pageSize);
      const rest = changes.slice(this.pageSize);
      this.pending = rest.concat(this.pending);
      const checksum = this.lie ? "0".repeat(64) : await this.checksum();
      this.lie = false;
      return this.json(200, { cursor: `c${this.pulls.length}.${n}`, has_more: rest.length > 0, checksum, changes: page });
    }
    if (path === "/v1/sync/ack") {
      this.acks.push(JSON.parse(init.body));
      return this.json(200, { acknowledged: JSON.parse(init.body).purged.length });
    }
    return this.json(404, { title: "not found" });
  };
}

let server: FakeOngi;

beforeEach(async () => {
  db.close();
  await reopen(DB_NAME).delete();
  reopen(DB_NAME);
  server = new FakeOngi();
  configure({ fetch: server.fetch as typeof fetch, base: "http://ongi.test" });
  server.put("visit", "v1", { status: "scheduled", purpose: "assessment", dong_code: "1199051000" });
  server.put("household", "h1", { head_name: "최명덕", contact_phone: "010-1" });
  await login("planner", "ongi-demo");
});

describe("store and outbox", () => {
  it("lays pending mutations over the server's record, in order", async () => {
    await pull();
    await store.transitionVisit("v1", "in_progress");
    await store.transitionVisit("v1", "completed", "연계 필요");
    const v = await store.get("visit", "v1");
    expect(v?.status).toBe("completed");
    expect(v?.outcome).toBe("연계 필요");
    expect(v?.checked_in_device_at).toBeTruthy();
    // the server's copy is untouched until a result comes back
    expect((await db.records.get(["visit", "v1"]))?.data.status).toBe("scheduled");
  });

  it("keeps the outbox in order with one id per mutation, made once", async () => {
    await pull();
    const a = await store.transitionVisit("v1", "in_progress");
    const n = await store.addNote("v1", "보일러 고장", false);
    const b = await store.patchHousehold("h1", { contact_phone: "010-2" });
    const outbox = await store.pending();
    expect(outbox.map((m) => m.mutation_id)).toEqual([a, (outbox[1] as any).mutation_id, b]);
    expect(new Set(outbox.map((m) => m.mutation_id)).size).toBe(3);
    expect(outbox[1].id).toBe(n);
    expect(outbox[0].base_version).toBe(1);
    expect(outbox[2].base_version).toBe(1);
    expect((await store.all("note")).map((x) => x.body)).toEqual(["보일러 고장"]);
  });

  it("pushes in order and drops each mutation only when its result came back", async () => {
    await pull();
    await store.transitionVisit("v1", "in_progress");
    await store.addNote("v1", "첫 메모", true);
    await store.transitionVisit("nope", "completed");
    const report = await push();
    expect(server.pushes).toHaveLength(1);
    expect(server.pushes[0].mutations.map((m: any) => m.entity)).toEqual(["visit", "note", "visit"]);
    expect(server.pushes[0].mutations[0].seq).toBeUndefined();
    expect(report.results.map((r) => r.status)).toEqual(["applied", "applied", "rejected"]);
    expect(await db.outbox.count()).toBe(0);
    expect(await db.results.count()).toBe(3);
  });

  it("sends the same mutation ids again after a push whose answer was lost: the server sees duplicates", async () => {
    await pull();
    const id = await store.addNote("v1", "한 번만", false);
    server.cutPush = true;
    await expect(push()).rejects.toThrow();
    expect(await db.outbox.count()).toBe(1);
    const report = await push();
    expect(server.pushes[1].mutations[0].mutation_id).toBe(server.pushes[0].mutations[0].mutation_id);
    expect(report.results[0].status).toBe("duplicate");
    expect([...server.records.keys()].filter((k) => k === `note:${id}`)).toHaveLength(1);
    expect(await db.outbox.count()).toBe(0);
  });
});

describe("conflicts", () => {
  it("shows the server's value and mine, and sends mine again when I keep it", async () => {
    server.put("checklist_response", "r1", {
      visit_id: "v1", template_key: "lonely_death_screening", template_version: 1,
      answers: { lives_alone: { value: false } },
    });
    await pull();
    server.conflictItems.add("lives_alone");
    await store.answerChecklist("r1", "v1", "lonely_death_screening", 1, { lives_alone: true, skips_meals: true });
    await syncOnce();
    const open = await openConflicts();
    expect(open).toHaveLength(1);
    expect(conflictFields(open[0])).toEqual([{ field: "lives_alone", server: false, mine: true }]);
    // the item without a clash merged
    expect((await store.get("checklist_response", "r1"))?.answers.skips_meals.value).toBe(true);
    server.conflictItems.clear();
    await resolveConflict(open[0], "mine");
    expect(await openConflicts()).toHaveLength(0);
    const again = await store.pending();
    expect(again).toHaveLength(1);
    expect(again[0].data?.answers.lives_alone.value).toBe(true);
    expect(again[0].base_version).toBe(2);
  });

  it("keeping the server's value sends nothing", async () => {
    server.put("checklist_response", "r1", { visit_id: "v1", template_key: "k", template_version: 1, answers: {} });
    await pull();
    server.conflictItems.add("a");
    await store.answerChecklist("r1", "v1", "k", 1, { a: 1 });
    await push();
    const [c] = await openConflicts();
    await resolveConflict(c, "server");
    expect(await openConflicts()).toHaveLength(0);
    expect(await db.outbox.count()).toBe(0);
  });
});

describe("pull", () => {
  it("pulls every page until has_more is false and saves the cursor", async () => {
    for (let i = 0; i < 25; i++) server.put("note", `n${String(i).padStart(2, "0")}`, { body: `b${i}` });
    server.pageSize = 10;
    const report = await pull();
    expect(report.fullSync).toBe(true);
    expect(await db.records.count()).toBe(27);
    expect(server.pulls.length).toBe(3);
    expect(await getMeta("cursor")).toBe("c3.0");
    expect(await getMeta("checksum")).toBe(await server.checksum());
    expect(await getMeta("last_sync_at")).toBeTruthy();
  });

  it("erases a revoked record and confirms it with ack", async () => {
    await pull();
    server.records.delete("household:h1");
    server.pending = [{ entity: "household", id: "h1", op: "revoke" }];
    const report = await pull();
    expect(report.revoked).toBe(1);
    expect(await db.records.get(["household", "h1"])).toBeUndefined();
    expect(server.acks).toEqual([{ device_id: await getMeta("device_id"), purged: [{ entity: "household", id: "h1" }] }]);
  });

  it("starts a full sync on 410", async () => {
    await pull();
    server.gone = true;
    const report = await pull();
    expect(report.fullSync).toBe(true);
    expect(server.pulls.slice(-2)).toEqual(["c1.0", null]);
  });

  it("starts a full sync when the checksum drifts", async () => {
    await pull();
    // the phone lost a record the server believes it holds
    await db.records.delete(["household", "h1"]);
    const report = await pull();
    expect(report.fullSync).toBe(true);
    expect(await db.records.get(["household", "h1"])).toBeTruthy();
    expect(server.pulls.at(-1)).toBeNull();
  });
});

describe("hold_until", () => {
  it("purges records past their lease even offline, and keeps the others", async () => {
    await db.records.bulkPut([
      { entity: "household", id: "old", version: 1, data: {}, hold_until: "2026-01-01T00:00:00+00:00" },
      { entity: "visit", id: "new", version: 1, data: {}, hold_until: "2099-01-01T00:00:00+00:00" },
      { entity: "resource", id: "none", version: 1, data: {}, hold_until: null },
    ]);
    configure({ fetch: (async () => { throw new TypeError("offline"); }) as typeof fetch });
    expect(await purgeExpired(new Date("2026-12-01T00:00:00Z"))).toBe(1);
    expect((await db.records.toArray()).map((r) => r.id).sort()).toEqual(["new", "none"]);
  });

  it("renews every lease from a pull's top-level hold_until", async () => {
    const lease = "2030-01-01T00:00:00+00:00";
    const base = server.fetch;
    configure({
      fetch: (async (i: any, init: any) => {
        const r = await base(i, init);
        if (!String(i).includes("/v1/sync/pull")) return r;
        return new Response(JSON.stringify({ ...(await r.json()), hold_until: lease }), { status: 200, headers: { "content-type": "application/json" } });
      }) as typeof fetch,
    });
    await pull();
    expect((await db.records.toArray()).every((r) => r.hold_until === lease)).toBe(true);
  });
});

describe("wipe", () => {
  it("a 401 with wipe erases the database and ongi web storage, and says why", async () => {
    const storage = new Map<string, string>([["ongi-x", "1"], ["other", "2"]]);
    (globalThis as any).localStorage = {
      removeItem: (k: string) => storage.delete(k),
      ...Object.fromEntries(storage),
    };
    await pull();
    await store.addNote("v1", "지워질 메모", false);
    expect(await db.records.count()).toBeGreaterThan(0);
    server.revoked = true;
    await expect(request("GET", "/v1/me")).rejects.toBeInstanceOf(DeviceWiped);
    expect(await db.records.count()).toBe(0);
    expect(await db.outbox.count()).toBe(0);
    expect(await getMeta("tokens")).toBeUndefined();
    expect(await getMeta("device_id")).toBeUndefined();
    expect(storage.has("ongi-x")).toBe(false);
    expect(storage.has("other")).toBe(true);
    delete (globalThis as any).localStorage;
  });

  it("refreshes once on a plain 401 and keeps the data", async () => {
    await pull();
    let first = true;
    const base = server.fetch;
    configure({
      fetch: (async (i: any, init: any) => {
        if (String(i).includes("/v1/me") && first) {
          first = false;
          return new Response("{}", { status: 401, headers: { "content-type": "application/json" } });
        }
        if (String(i).includes("/v1/auth/refresh"))
          return new Response(JSON.stringify({ access_token: "fresh", refresh_token: "r-next", expires_in: 900 }), { status: 200, headers: { "content-type": "application/json" } });
        return base(i, init);
      }) as typeof fetch,
    });
    const r = await request("GET", "/v1/me");
    expect(r.status).toBe(200);
    expect((await getMeta("tokens")).refresh_token).toBe("r-next");
    expect(await db.records.count()).toBeGreaterThan(0);
    await setMeta("x", 1);
  });
});
