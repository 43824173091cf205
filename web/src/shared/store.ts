// What the user sees: the server's records as pulled, with the pending outbox mutations laid over them
// (as ongi_client/sync.py does), so a rejected mutation simply disappears when its result comes back and
// the checksum always speaks of server data. Every edit goes to the outbox with a mutation id made once.
import { db, nowIso, uuid, type Mutation, type OutboxRow, type RecordRow } from "./db";

export function overlay(data: Record<string, any> | null, m: Mutation): Record<string, any> | null {
  const payload = m.data ?? {};
  if (m.entity === "note" && m.op === "delete") return null;
  if (m.op === "transition") {
    const out: Record<string, any> = { ...(data ?? {}), status: payload.to };
    if ("outcome" in payload) out.outcome = payload.outcome;
    if (payload.to === "in_progress") out.checked_in_device_at = m.at;
    if (["completed", "no_contact", "refused"].includes(payload.to)) out.checked_out_device_at = m.at;
    return out;
  }
  if (m.entity === "checklist_response") {
    const base = data ?? { id: m.id, answers: {} };
    const rest = Object.fromEntries(Object.entries(payload).filter(([k]) => k !== "answers"));
    return { ...base, ...rest, answers: { ...(base.answers ?? {}), ...(payload.answers ?? {}) } };
  }
  return { ...(data ?? { id: m.id }), ...payload };
}

export async function pending(): Promise<OutboxRow[]> {
  return db.outbox.orderBy("seq").toArray();
}

function view(row: RecordRow | undefined, entity: string, id: string, muts: OutboxRow[]): Record<string, any> | null {
  let data: Record<string, any> | null = row ? row.data : null;
  for (const m of muts) if (m.entity === entity && m.id === id) data = overlay(data, m);
  return data;
}

export async function get(entity: string, id: string): Promise<Record<string, any> | null> {
  const [row, muts] = await Promise.all([db.records.get([entity, id]), pending()]);
  return view(row, entity, id, muts);
}

export async function all(entity: string): Promise<Record<string, any>[]> {
  const [rows, muts] = await Promise.all([db.records.where("entity").equals(entity).toArray(), pending()]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  const ids = new Set([...byId.keys(), ...muts.filter((m) => m.entity === entity).map((m) => m.id)]);
  const out: Record<string, any>[] = [];
  for (const id of ids) {
    const v = view(byId.get(id), entity, id, muts);
    if (v) out.push(v);
  }
  return out;
}

export async function version(entity: string, id: string): Promise<number | null> {
  return (await db.records.get([entity, id]))?.version ?? null;
}

export async function enqueue(
  entity: string,
  op: string,
  id: string,
  data: Record<string, any> | null,
  baseVersion: number | null,
): Promise<string> {
  const m: OutboxRow = { mutation_id: uuid(), entity, op, id, base_version: baseVersion, data, at: nowIso() };
  await db.outbox.add(m);
  notify();
  return m.mutation_id;
}

export async function transitionVisit(visitId: string, to: string, outcome?: string): Promise<string> {
  const data: Record<string, any> = { to };
  if (outcome !== undefined && outcome !== "") data.outcome = outcome;
  return enqueue("visit", "transition", visitId, data, await version("visit", visitId));
}

export async function addNote(visitId: string, body: string, internal: boolean, kind = "observation"): Promise<string> {
  const id = uuid();
  await enqueue("note", "upsert", id, { visit_id: visitId, body, kind, internal }, null);
  return id;
}

export async function patchHousehold(householdId: string, fields: Record<string, string>): Promise<string> {
  return enqueue("household", "patch", householdId, fields, await version("household", householdId));
}

/** The response of a visit for one pinned template, or a new id for it. */
export async function responseFor(visitId: string, templateKey: string): Promise<Record<string, any> | null> {
  const list = await all("checklist_response");
  return list.find((r) => r.visit_id === visitId && r.template_key === templateKey) ?? null;
}

export async function answerChecklist(
  responseId: string,
  visitId: string,
  templateKey: string,
  templateVersion: number,
  answers: Record<string, unknown>,
  completed?: boolean,
): Promise<string> {
  const at = nowIso();
  const stamped = Object.fromEntries(Object.entries(answers).map(([k, v]) => [k, { value: v, answered_at: at }]));
  const data: Record<string, any> = {
    visit_id: visitId,
    template_key: templateKey,
    template_version: templateVersion,
    answers: stamped,
  };
  // Submitted complete when nothing required is missing (the server then applies its risk level).
  if (completed !== undefined) data.completed = completed;
  return enqueue(
    "checklist_response",
    "upsert",
    responseId,
    data,
    await version("checklist_response", responseId),
  );
}

/** The template pinned at key and version. */
export async function template(key: string, ver: number): Promise<Record<string, any> | null> {
  const list = await all("checklist_template");
  return list.find((t) => t.key === key && t.version === ver) ?? null;
}

// --- change notification (the UI re-reads when the store changes) ------------------------------------
const listeners = new Set<() => void>();
export function subscribe(fn: () => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}
export function notify(): void {
  for (const fn of listeners) fn();
}
