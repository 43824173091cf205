import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ApiError, unavailable, withQuery } from "./api";

describe("desk api", () => {
  it("tells a missing route from a record that is not there", () => {
    // the service's own words for a path without a route (app/core/i18n.py): if they change, this must follow
    const i18n = readFileSync(new URL("../../../app/core/i18n.py", import.meta.url), "utf8");
    const line = i18n.split("\n").find((l) => l.includes('"detail.route-not-found"')) ?? "";
    expect(line).toContain("이 경로는 존재하지 않습니다.");
    expect(line).toContain("No such path.");
    const route = new ApiError(404, { type: "https://ongi.example/problems/not-found", detail: "No such path." });
    const routeKo = new ApiError(404, { type: "https://ongi.example/problems/not-found", detail: "이 경로는 존재하지 않습니다." });
    const record = new ApiError(404, {
      type: "https://ongi.example/problems/not-found",
      detail: "The resource does not exist or is not accessible.",
    });
    expect(unavailable(route)).toBe(true);
    expect(unavailable(routeKo)).toBe(true);
    expect(unavailable(new ApiError(405, null))).toBe(true);
    expect(unavailable(record)).toBe(false);
    expect(unavailable(new ApiError(403, null))).toBe(false);
    expect(unavailable(new Error("x"))).toBe(false);
  });

  it("writes queries without empty values and with repeated keys", () => {
    expect(withQuery("/v1/triage", { dong_code: "", risk_level: null, limit: 50 })).toBe("/v1/triage?limit=50");
    expect(withQuery("/v1/x", { a: ["1", "2"], b: true })).toBe("/v1/x?a=1&a=2&b=true");
    expect(withQuery("/v1/x?c=1", { d: "한" })).toBe("/v1/x?c=1&d=%ED%95%9C");
  });

  it("lists a 422's field errors", () => {
    const e = new ApiError(422, { detail: "bad", errors: [{ field: "body.reason", message: "required" }] });
    expect(e.fields).toEqual(["body.reason: required"]);
  });
});
