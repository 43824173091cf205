// Photos: queued in IndexedDB with their bytes, sent by tus-js-client to /v1/uploads/ (docs/uploads.md), resumed
// across reconnects and app restarts (the upload URL is kept in IndexedDB by DexieUrlStorage).
import * as tus from "tus-js-client";
import { accessToken, apiBase } from "./api";
import { sha256Hex } from "./checksum";
import { db, nowIso, uuid, type PhotoRow, type TusUrlRow } from "./db";
import { notify } from "./store";

/** tus-js-client's urlStorage on Dexie: the upload URLs survive a restart with the rest of the store. */
export class DexieUrlStorage implements tus.UrlStorage {
  async findAllUploads(): Promise<tus.PreviousUpload[]> {
    return (await db.tus.toArray()).map((r) => ({ ...(r.upload as tus.PreviousUpload), urlStorageKey: r.key }));
  }
  async findUploadsByFingerprint(fingerprint: string): Promise<tus.PreviousUpload[]> {
    const rows = await db.tus.where("fingerprint").equals(fingerprint).toArray();
    return rows.map((r) => ({ ...(r.upload as tus.PreviousUpload), urlStorageKey: r.key }));
  }
  async removeUpload(urlStorageKey: string): Promise<void> {
    await db.tus.delete(urlStorageKey);
  }
  async addUpload(fingerprint: string, upload: tus.PreviousUpload): Promise<string> {
    const key = `${fingerprint}::${uuid()}`;
    const row: TusUrlRow = { key, fingerprint, upload: upload as unknown as Record<string, any> };
    await db.tus.put(row);
    return key;
  }
}

export const urlStorage = new DexieUrlStorage();

/** Queue a photo taken for a visit: its bytes go to IndexedDB at once, the upload follows. */
export async function queuePhoto(visitId: string, file: Blob & { name?: string }, itemKey: string | null = null) {
  const bytes = await file.arrayBuffer();
  const row: PhotoRow = {
    id: uuid(),
    visit_id: visitId,
    item_key: itemKey,
    caption: null,
    taken_at: nowIso(),
    filename: file.name || "photo.jpg",
    filetype: file.type || "image/jpeg",
    size: file.size,
    sha256: await sha256Hex(bytes),
    blob: new Blob([bytes], { type: file.type || "image/jpeg" }),
    state: "queued",
    progress: 0,
    created_at: nowIso(),
  };
  await db.photos.put(row);
  notify();
  return row;
}

async function setPhoto(id: string, changes: Partial<PhotoRow>): Promise<void> {
  await db.photos.update(id, changes);
  notify();
}

const running = new Map<string, tus.Upload>();

function endpoint(): string {
  const origin = apiBase() || (typeof location !== "undefined" ? location.origin : "");
  return `${origin}/v1/uploads/`;
}

/** Upload one photo; resolves when the server answered the last byte (or rejects on failure). */
export function uploadPhoto(photo: PhotoRow): Promise<void> {
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(photo.blob, {
      endpoint: endpoint(),
      urlStorage,
      fingerprint: async () => `ongi-photo-${photo.id}`,
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      retryDelays: [0, 1000, 3000, 5000, 10000],
      metadata: {
        photo_id: photo.id,
        visit_id: photo.visit_id,
        filename: photo.filename,
        filetype: photo.filetype,
        sha256: photo.sha256,
        taken_at: photo.taken_at,
        ...(photo.item_key ? { item_key: photo.item_key } : {}),
        ...(photo.caption ? { caption: photo.caption } : {}),
      },
      onBeforeRequest: async (req) => {
        req.setHeader("Authorization", `Bearer ${await accessToken()}`);
      },
      onProgress: (sent, total) => {
        const progress = total ? Math.floor((sent / total) * 100) : 0;
        void setPhoto(photo.id, { state: "uploading", progress });
      },
      onSuccess: () => {
        running.delete(photo.id);
        void setPhoto(photo.id, { state: "uploaded", progress: 100, error: null }).then(resolve);
      },
      onError: (err) => {
        running.delete(photo.id);
        const status = (err as tus.DetailedError).originalResponse?.getStatus?.() ?? 0;
        // Refused for good (bad hash, wrong type, too large): failed. Network trouble: queued, tried again.
        const final = status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429;
        void setPhoto(photo.id, { state: final ? "failed" : "queued", error: String(err.message || err) }).then(
          () => reject(err),
        );
      },
    });
    running.set(photo.id, upload);
    void (async () => {
      const previous = await upload.findPreviousUploads();
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      if (typeof navigator === "undefined" || navigator.onLine !== false) await setPhoto(photo.id, { state: "uploading" });
      upload.start();
    })();
  });
}

/** Start every queued photo not already going (on sync, on start, when the network returns). */
export async function uploadQueued(): Promise<number> {
  const queued = await db.photos.where("state").anyOf("queued", "uploading").toArray();
  const done = await Promise.allSettled(queued.filter((p) => !running.has(p.id)).map((p) => uploadPhoto(p)));
  return done.filter((d) => d.status === "fulfilled").length;
}

/** Stop the uploads in flight (going offline); they resume from the server's offset later. */
export function pauseUploads(): void {
  for (const [id, u] of running) {
    void u.abort(false);
    running.delete(id);
    void setPhoto(id, { state: "queued" });
  }
}

/** Photos that arrived by sync as a `photo` record can let go of their local bytes. */
export async function forgetArrived(): Promise<void> {
  const uploaded = await db.photos.where("state").equals("uploaded").toArray();
  for (const p of uploaded) {
    if (await db.records.get(["photo", p.id])) await db.photos.update(p.id, { blob: new Blob([]) });
  }
}
