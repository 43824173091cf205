// @vitest-environment jsdom
import "fake-indexeddb/auto";
import { beforeEach, describe, expect, it } from "vitest";
import { configure } from "../shared/api";
import { db, DB_NAME, reopen, setMeta } from "../shared/db";
import * as store from "../shared/store";
import { getStatus, syncNow } from "./controller";

let online = true;
Object.defineProperty(window.navigator, "onLine", { configurable: true, get: () => online });

const calls: string[] = [];
const json = (body: any) => new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });

beforeEach(async () => {
  db.close();
  await reopen(DB_NAME).delete();
  reopen(DB_NAME);
  calls.length = 0;
  configure({
    base: "http://ongi.test",
    fetch: (async (input: any, init: any = {}) => {
      const url = new URL(String(input));
      calls.push(`${init.method ?? "GET"} ${url.pathname}`);
      if (url.pathname === "/v1/sync/push")
        return json({ results: JSON.parse(init.body).mutations.map((m: any) => ({ mutation_id: m.mutation_id, status: "applied", version: 1 })) });
      // an empty store's checksum
      return json({ cursor: "c", has_more: false, checksum: "0000000000000000", changes: [] });
    }) as typeof fetch,
  });
  await setMeta("tokens", { access_token: "a", refresh_token: "r", expires_at: Date.now() + 600_000 });
});

describe("when sync runs", () => {
  it("a sync asked for offline does not block the next one once online (F1)", async () => {
    online = false;
    await store.addNote("v1", "지하에서 쓴 메모", false);
    await syncNow();
    expect(getStatus().state).toBe("offline");
    expect(calls).toEqual([]);
    online = true;
    await syncNow();
    expect(calls).toContain("POST /v1/sync/push");
    expect(await db.outbox.count()).toBe(0);
    expect(getStatus()).toMatchObject({ state: "idle", pending: 0 });
  });
});
