// The sync engine (docs/sync.md, docs/sync.md; the rules of ongi_client/sync.py): push the outbox in order,
// pull until has_more is false, erase revoked records and ack them, follow 410 and checksum drift into a
// full sync, purge records past hold_until even offline.
import { ApiError, deviceId, problemOf, request, type PullBody, type PushBody } from "./api";
import { checksumOf } from "./checksum";
import { db, getMeta, nowIso, setMeta, type PushResult, type ResultRow } from "./db";
import { notify, pending } from "./store";

export const MAX_MUTATIONS = 500;
export const PULL_LIMIT = 500;

export interface SyncReport {
  pushed: number;
  results: PushResult[];
  received: number;
  revoked: number;
  fullSync: boolean;
  purged: number;
}

function newReport(): SyncReport {
  return { pushed: 0, results: [], received: 0, revoked: 0, fullSync: false, purged: 0 };
}

/** Erase records whose lease ran out (the phone must, even if it never syncs again). */
export async function purgeExpired(now: Date = new Date()): Promise<number> {
  const moment = now.getTime();
  const expired = await db.records
    .filter((r) => r.hold_until !== null && r.hold_until !== undefined && Date.parse(r.hold_until) < moment)
    .primaryKeys();
  if (expired.length) {
    await db.records.bulkDelete(expired);
    notify();
  }
  return expired.length;
}

/** Push the outbox in order; a mutation leaves it only when its result came back. */
export async function push(report: SyncReport = newReport()): Promise<SyncReport> {
  const device = await deviceId();
  for (;;) {
    const batch = (await pending()).slice(0, MAX_MUTATIONS);
    if (!batch.length) return report;
    const mutations = batch.map(({ seq: _seq, ...m }) => m);
    const r = await request("POST", "/v1/sync/push", { device_id: device, device_time: nowIso(), mutations });
    if (r.status !== 200) throw new ApiError(r.status, await problemOf(r));
    const body = (await r.json()) as PushBody;
    const results = body.results as unknown as PushResult[];
    const bySeq = new Map(batch.map((m) => [m.mutation_id, m]));
    await db.transaction("rw", db.outbox, db.results, async () => {
      for (const result of results) {
        const m = bySeq.get(result.mutation_id);
        const row: ResultRow = {
          ...result,
          entity: m?.entity ?? "",
          id: m?.id ?? "",
          sent: m?.data ?? null,
          at: nowIso(),
          resolved: result.status === "conflict" ? 0 : 1,
        };
        await db.results.put(row);
        if (m?.seq !== undefined) await db.outbox.delete(m.seq);
      }
    });
    report.pushed += results.length;
    report.results.push(...results);
    notify();
    if (results.length === 0) return report;
  }
}

/** Pull pages until has_more is false; a missing cursor is a full sync that replaces the store. */
export async function pull(report: SyncReport = newReport(), limit = PULL_LIMIT): Promise<SyncReport> {
  const device = await deviceId();
  for (let round = 0; round < 10_000; round++) {
    const cursor = await getMeta<string>("cursor");
    const qs = new URLSearchParams({ limit: String(limit) });
    if (cursor) qs.set("cursor", cursor);
    const r = await request("GET", `/v1/sync/pull?${qs}`);
    if (r.status === 410) {
      await setMeta("cursor", null);
      report.fullSync = true;
      continue;
    }
    if (r.status !== 200) throw new ApiError(r.status, await problemOf(r));
    const body = (await r.json()) as PullBody;
    const revoked: { entity: string; id: string }[] = [];
    await db.transaction("rw", db.records, db.meta, async () => {
      if (!cursor) {
        report.fullSync = true;
        await db.records.clear();
      }
      // One bulk write per run of upserts or removals, in the order the server sent them (a page of a first
      // sync is hundreds of records: one IndexedDB request each would cost more than the network).
      const changes = body.changes as any[];
      for (let i = 0; i < changes.length; ) {
        const upsert = changes[i].op === "upsert";
        let j = i;
        while (j < changes.length && (changes[j].op === "upsert") === upsert) j++;
        const run = changes.slice(i, j);
        if (upsert) {
          await db.records.bulkPut(
            run.map((change) => ({
              entity: change.entity,
              id: change.id,
              version: change.version ?? null,
              data: change.data ?? {},
              hold_until: change.hold_until ?? null,
            })),
          );
        } else {
          await db.records.bulkDelete(run.map((change) => [change.entity, change.id] as [string, string]));
          for (const change of run) if (change.op === "revoke") revoked.push({ entity: change.entity, id: change.id });
        }
        i = j;
      }
      // The lease renews everything held; applied once the pull is complete, not on every page.
      const lease = (body as any).hold_until as string | null | undefined;
      if (lease && !body.has_more) await db.records.toCollection().modify({ hold_until: lease });
      await setMeta("cursor", body.cursor);
    });
    report.received += body.changes.length;
    notify();
    if (revoked.length) {
      const ack = await request("POST", "/v1/sync/ack", { device_id: device, purged: revoked });
      if (!ack.ok) throw new ApiError(ack.status, await problemOf(ack));
      report.revoked += revoked.length;
    }
    if (!body.has_more) {
      const mine = await checksumOf(await db.records.toArray());
      if (mine !== body.checksum) {
        // Drift: what we hold differs from what the server believes. Start over.
        await setMeta("cursor", null);
        report.fullSync = true;
        continue;
      }
      await setMeta("checksum", body.checksum);
      await setMeta("last_sync_at", nowIso());
      return report;
    }
  }
  throw new Error("pull did not finish");
}

/** Push, then pull until up to date. */
export async function syncOnce(): Promise<SyncReport> {
  const report = newReport();
  report.purged = await purgeExpired();
  await push(report);
  await pull(report);
  return report;
}

/** Conflicts the user has not settled yet. */
export async function openConflicts(): Promise<ResultRow[]> {
  return db.results.where("status").equals("conflict").filter((r) => !r.resolved).toArray();
}

export interface ConflictField {
  field: string;
  server: unknown;
  mine: unknown;
}

const valueOf = (v: any): unknown => (v && typeof v === "object" && !Array.isArray(v) && "value" in v ? v.value : v);

/** Both values of each conflicting field of a conflict result, as the screen shows them. */
export function conflictFields(r: ResultRow): ConflictField[] {
  const server = r.server ?? {};
  const device = r.device ?? (r.sent?.answers ?? r.sent ?? {});
  return Object.keys(server).map((field) => ({
    field,
    server: valueOf((server as any)[field]),
    mine: valueOf((device as any)[field]),
  }));
}

/** The user keeps the server's value (nothing to send) or theirs (sent again on the new version). */
export async function resolveConflict(r: ResultRow, keep: "server" | "mine"): Promise<void> {
  if (keep === "mine") {
    const { enqueue, version } = await import("./store");
    const fields = conflictFields(r);
    const base = await version(r.entity, r.id);
    if (r.entity === "checklist_response" && r.sent) {
      const at = nowIso();
      const answers = Object.fromEntries(fields.map((f) => [f.field, { value: f.mine, answered_at: at }]));
      await enqueue(r.entity, "upsert", r.id, { ...r.sent, answers }, base);
    } else if (r.entity === "household") {
      await enqueue(r.entity, "patch", r.id, Object.fromEntries(fields.map((f) => [f.field, f.mine])), base);
    }
  }
  await db.results.update(r.mutation_id, { resolved: 1 });
  notify();
}
