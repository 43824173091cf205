// The checksum the server sends with a pull (app/sync/service.py checksum_of): sha256 in hex over
// "entity:id:version\n" of every record held, the lines sorted (as text; entity then id).
import type { RecordRow } from "./db";

export function checksumLines(rows: Pick<RecordRow, "entity" | "id" | "version">[]): string[] {
  return rows
    .filter((r) => r.version !== null && r.version !== undefined)
    .map((r) => `${r.entity}:${r.id.toLowerCase()}:${r.version}`)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export async function sha256Hex(data: BufferSource): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export async function checksumOf(rows: Pick<RecordRow, "entity" | "id" | "version">[]): Promise<string> {
  const text = checksumLines(rows)
    .map((l) => `${l}\n`)
    .join("");
  return sha256Hex(new TextEncoder().encode(text));
}
