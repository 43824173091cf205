import { describe, expect, it } from "vitest";
import table from "../../../tests/fixtures/checklist_rule_cases.json";
import { evaluate, type Band, type Item } from "./rules";

// The same table tests/test_checklist_rule_cases.py runs against app/checklists/rules.py.
describe("checklist rules: the shared table of cases", () => {
  const templates = table.templates as unknown as Record<string, { items: Item[]; bands: Band[] }>;
  it("has cases", () => expect(table.cases.length).toBeGreaterThan(10));
  for (const c of table.cases) {
    it(c.name, () => {
      const t = templates[c.template];
      const ev = evaluate(t.items, t.bands, c.answers as Record<string, unknown>);
      const visible = Object.entries(ev.visible).filter(([, v]) => v).map(([k]) => k).sort();
      expect(visible).toEqual(c.visible);
      expect(ev.score).toEqual(c.score);
      expect(ev.band?.band ?? null).toEqual(c.band);
      expect(ev.missing_required).toEqual(c.missing_required);
    });
  }
});
