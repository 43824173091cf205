import { describe, expect, it } from "vitest";
import server from "./__fixtures__/server-checksum.json";
import { checksumLines, checksumOf, recordHash } from "./checksum";

const ONE = "6b59a2d5675d3066";

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
  it("of nothing is zero", async () => {
    expect(await checksumOf([])).toBe("0000000000000000");
  });
  it("is a sum: a record's part added to the rest's gives the whole (the server keeps it that way)", async () => {
    const [first, ...rest] = server.records;
    const whole = BigInt(`0x${await checksumOf(rest)}`) + (await recordHash(`${first.entity}:${first.id}:${first.version}`));
    expect((whole % (1n << 64n)).toString(16).padStart(16, "0")).toBe(server.checksum);
  });
  it("of one record is the first 8 bytes of sha256 of its line", async () => {
    // sha256("note:00000000-0000-0000-0000-000000000001:1"), computed independently (hashlib)
    expect(await checksumOf([{ entity: "note", id: "00000000-0000-0000-0000-000000000001", version: 1 }])).toBe(ONE);
  });
});
