// The phone's local store: every byte of Ongi Field's data lives in the IndexedDB database "ongi-field".
import Dexie, { type Table } from "dexie";

export interface RecordRow {
  entity: string;
  id: string;
  version: number | null;
  data: Record<string, any>;
  hold_until: string | null;
}

export interface Mutation {
  mutation_id: string;
  entity: string;
  op: string;
  id: string;
  base_version: number | null;
  data: Record<string, any> | null;
  at: string;
}

export interface OutboxRow extends Mutation {
  seq?: number;
}

export interface PushResult {
  mutation_id: string;
  status: "applied" | "duplicate" | "conflict" | "rejected";
  version?: number | null;
  error?: Record<string, any> | null;
  server?: Record<string, any> | null;
  device?: Record<string, any> | null;
}

export interface ResultRow extends PushResult {
  entity: string;
  id: string;
  /** what the phone sent (to show "mine" beside the server's value on a conflict) */
  sent: Record<string, any> | null;
  at: string;
  /** the user chose what to keep: a conflict leaves the screen */
  resolved?: 0 | 1;
}

export type PhotoState = "queued" | "uploading" | "uploaded" | "failed";

export interface PhotoRow {
  id: string;
  visit_id: string;
  item_key: string | null;
  caption: string | null;
  taken_at: string;
  filename: string;
  filetype: string;
  size: number;
  sha256: string;
  blob: Blob;
  state: PhotoState;
  progress: number;
  error?: string | null;
  created_at: string;
}

export interface TusUrlRow {
  key: string; // the tus fingerprint + "::" + a counter (tus-js-client's urlStorage contract)
  fingerprint: string;
  upload: Record<string, any>;
}

export interface MetaRow {
  key: string;
  value: any;
}

export class FieldDB extends Dexie {
  records!: Table<RecordRow, [string, string]>;
  outbox!: Table<OutboxRow, number>;
  results!: Table<ResultRow, string>;
  photos!: Table<PhotoRow, string>;
  tus!: Table<TusUrlRow, string>;
  meta!: Table<MetaRow, string>;

  constructor(name = DB_NAME) {
    super(name);
    this.version(1).stores({
      records: "[entity+id], entity, hold_until",
      outbox: "++seq, &mutation_id, [entity+id]",
      results: "mutation_id, status, [entity+id]",
      photos: "id, visit_id, state",
      tus: "key, fingerprint",
      meta: "key",
    });
  }
}

export const DB_NAME = "ongi-field";

export let db = new FieldDB();

/** A fresh handle (after a wipe deleted the database, or in tests). */
export function reopen(name = DB_NAME): FieldDB {
  db.close();
  db = new FieldDB(name);
  return db;
}

export async function getMeta<T = any>(key: string): Promise<T | undefined> {
  return (await db.meta.get(key))?.value as T | undefined;
}

export async function setMeta(key: string, value: any): Promise<void> {
  if (value === undefined || value === null) await db.meta.delete(key);
  else await db.meta.put({ key, value });
}

export function uuid(): string {
  return crypto.randomUUID();
}

export function nowIso(): string {
  return new Date().toISOString();
}
