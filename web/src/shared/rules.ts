// The checklist rules of the server (app/checklists/rules.py: evaluate), on the phone. Both sides run the
// same table of cases: tests/fixtures/checklist_rule_cases.json.

export interface Option {
  value: string;
  label?: Record<string, string>;
}
export interface Item {
  key: string;
  type: string;
  label?: Record<string, string>;
  options?: Option[];
  required?: boolean;
  visible_if?: Condition | null;
  weight?: number | Record<string, number> | null;
  min?: number | null;
  max?: number | null;
  unit?: Record<string, string> | null;
}
export interface Band {
  min: number;
  max?: number | null;
  band: string;
  label?: Record<string, string>;
  risk_level?: string | null;
}
export type Condition = Record<string, any>;

export interface Evaluation {
  visible: Record<string, boolean>;
  score: number | null;
  band: Band | null;
  missing_required: string[];
}

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

export function isAnswered(value: unknown): boolean {
  return value !== null && value !== undefined && value !== "" && !(Array.isArray(value) && value.length === 0);
}

function same(a: unknown, b: unknown): boolean {
  if (typeof a === "boolean" || typeof b === "boolean") return typeof a === typeof b && a === b;
  return a === b;
}

export function evaluateCondition(cond: Condition, effective: Record<string, unknown>): boolean {
  if ("all" in cond) return (cond.all as Condition[]).every((c) => evaluateCondition(c, effective));
  if ("any" in cond) return (cond.any as Condition[]).some((c) => evaluateCondition(c, effective));
  if ("not" in cond) return !evaluateCondition(cond.not, effective);
  const key = cond.item as string;
  const answered = Object.prototype.hasOwnProperty.call(effective, key);
  if ("answered" in cond) return answered === Boolean(cond.answered);
  if (!answered) return false;
  const value = effective[key];
  if ("equals" in cond) return same(value, cond.equals);
  if ("not_equals" in cond) return !same(value, cond.not_equals);
  if ("in" in cond) {
    const wanted = cond.in as unknown[];
    if (Array.isArray(value)) return value.some((v) => wanted.some((w) => same(v, w)));
    return wanted.some((w) => same(value, w));
  }
  if ("contains" in cond) return Array.isArray(value) && value.includes(cond.contains);
  let ok = true;
  if ("gte" in cond) ok = ok && isNumber(value) && value >= cond.gte;
  if ("lte" in cond) ok = ok && isNumber(value) && value <= cond.lte;
  return ok;
}

export function contribution(item: Item, value: unknown): number {
  const weight = item.weight;
  if (weight === null || weight === undefined || !isAnswered(value)) return 0;
  if (item.type === "boolean") return value === true ? Number(weight) : 0;
  if (item.type === "single_choice" && typeof weight === "object") return Number(weight[value as string] ?? 0);
  if (item.type === "multi_choice" && typeof weight === "object" && Array.isArray(value))
    return value.reduce((s: number, v) => s + Number(weight[v as string] ?? 0), 0);
  return 0;
}

/** Visibility, score, band and missing required items for `values` ({item key: value}). */
export function evaluate(items: Item[], bands: Band[], values: Record<string, unknown>): Evaluation {
  const visible: Record<string, boolean> = {};
  const effective: Record<string, unknown> = {};
  const scored = items.some((i) => i.weight !== null && i.weight !== undefined);
  let total = 0;
  const missing: string[] = [];
  for (const item of items) {
    const cond = item.visible_if;
    const shown = cond === null || cond === undefined ? true : evaluateCondition(cond, effective);
    visible[item.key] = shown;
    const value = values[item.key];
    if (shown && isAnswered(value)) {
      effective[item.key] = value;
      total += contribution(item, value);
    } else if (shown && item.required) {
      missing.push(item.key);
    }
  }
  const score = scored ? total : null;
  let band: Band | null = null;
  if (score !== null) {
    band = bands.find((b) => b.min <= score && (b.max === null || b.max === undefined || score <= b.max)) ?? null;
  }
  return { visible, score, band, missing_required: missing };
}
