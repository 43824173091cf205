import { beforeEach, describe, expect, it } from "vitest";
import { db, DB_NAME, reopen } from "./db";
import { DexieUrlStorage, queuePhoto } from "./uploads";
import { sha256Hex } from "./checksum";

beforeEach(async () => {
  db.close();
  await reopen(DB_NAME).delete();
  reopen(DB_NAME);
});

describe("photos and tus resume", () => {
  it("keeps upload URLs in IndexedDB by fingerprint, across a reopened store (an app restart)", async () => {
    const storage = new DexieUrlStorage();
    const key = await storage.addUpload("ongi-photo-p1", { uploadUrl: "/v1/uploads/abc", size: 10, creationTime: "t" } as any);
    db.close();
    reopen(DB_NAME);
    const again = new DexieUrlStorage();
    const found = await again.findUploadsByFingerprint("ongi-photo-p1");
    expect(found).toHaveLength(1);
    expect(found[0].uploadUrl).toBe("/v1/uploads/abc");
    expect(found[0].urlStorageKey).toBe(key);
    expect(await again.findUploadsByFingerprint("ongi-photo-p2")).toHaveLength(0);
    expect(await again.findAllUploads()).toHaveLength(1);
    await again.removeUpload(key);
    expect(await again.findAllUploads()).toHaveLength(0);
  });

  it("queues a photo with its bytes and the sha256 of the whole file", async () => {
    const bytes = new Uint8Array(300_000).map((_, i) => i % 251);
    const file = Object.assign(new Blob([bytes], { type: "image/jpeg" }), { name: "cam.jpg" });
    const row = await queuePhoto("v1", file);
    const stored = await db.photos.get(row.id);
    expect(stored?.state).toBe("queued");
    expect(stored?.size).toBe(300_000);
    expect(stored?.sha256).toBe(await sha256Hex(bytes));
    expect(stored?.filename).toBe("cam.jpg");
    expect(new Uint8Array(await stored!.blob.arrayBuffer())).toEqual(bytes);
  });
});
