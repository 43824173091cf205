// Which visits show where on the home screen: overdue first, then by time; today, this week, the rest.
const FINAL = new Set(["completed", "no_contact", "refused", "cancelled"]);

export function isOverdue(v: Record<string, any>, now: Date): boolean {
  if (FINAL.has(v.status)) return false;
  if (v.overdue === true) return true;
  return Boolean(v.window_end) && Date.parse(v.window_end) < now.getTime();
}

function dayStart(d: Date): number {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

export function groupVisits(visits: Record<string, any>[], now: Date) {
  const sorted = [...visits].sort((a, b) => {
    const oa = isOverdue(a, now) ? 0 : 1;
    const ob = isOverdue(b, now) ? 0 : 1;
    if (oa !== ob) return oa - ob;
    return String(a.window_start ?? "").localeCompare(String(b.window_start ?? ""));
  });
  const today0 = dayStart(now);
  const tomorrow0 = today0 + 86_400_000;
  const week0 = today0 + 7 * 86_400_000;
  const out = { today: [] as Record<string, any>[], week: [] as Record<string, any>[], later: [] as Record<string, any>[] };
  for (const v of sorted) {
    const start = Date.parse(v.window_start ?? "");
    if (isOverdue(v, now) || (start >= today0 && start < tomorrow0)) out.today.push(v);
    else if (start >= tomorrow0 && start < week0) out.week.push(v);
    else out.later.push(v);
  }
  return out;
}
