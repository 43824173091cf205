import { describe, expect, it } from "vitest";
import server from "./__fixtures__/server-checksum.json";
import { checksumLines, checksumOf } from "./checksum";

describe("checksum", () => {
  it("equals the value the server produced for the demo planner's first sync", async () => {
    expect(server.records.length).toBeGreaterThan(100);
    expect(await checksumOf(server.records)).toBe(server.checksum);
  });
  it("does not depend on the order records are held in", async () => {
    const shuffled = [...server.records].reverse();
    expect(await checksumOf(shuffled)).toBe(server.checksum);
  });
  it("changes when one version differs (drift)", async () => {
    const drifted = server.records.map((r, i) => (i === 7 ? { ...r, version: r.version + 1 } : r));
    expect(await checksumOf(drifted)).not.toBe(server.checksum);
  });
  it("sorts lines as text: entity, then id", () => {
    const lines = checksumLines([
      { entity: "visit", id: "b", version: 1 },
      { entity: "note", id: "z", version: 2 },
      { entity: "visit", id: "a", version: 3 },
    ]);
    expect(lines).toEqual(["note:z:2", "visit:a:3", "visit:b:1"]);
  });
  it("of nothing is sha256 of the empty text", async () => {
    expect(await checksumOf([])).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
