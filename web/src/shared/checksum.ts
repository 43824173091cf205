// The checksum the server sends with a pull (app/sync/checksum.py, docs/sync.md): for every record held,
// the first 8 bytes of sha256("entity:id:version") read as a big-endian unsigned integer; their sum modulo
// 2**64 as 16 hex digits. Additive, so the order records are held in does not matter.
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

const MOD = 1n << 64n;

/** What one record held adds to the checksum. */
export async function recordHash(line: string): Promise<bigint> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(line));
  return new DataView(digest).getBigUint64(0, false);
}

export async function checksumOf(rows: Pick<RecordRow, "entity" | "id" | "version">[]): Promise<string> {
  const hashes = await Promise.all(checksumLines(rows).map(recordHash));
  const total = hashes.reduce((sum, h) => (sum + h) % MOD, 0n);
  return total.toString(16).padStart(16, "0");
}
