// Assigning a joint visit (purpose, window, checklists, a team from public and private organizations, with the
// workload of each worker beside them) and bulk reassignment when a worker leaves.
import { useMemo, useState } from "preact/hooks";
import { all, get, me, post, unavailable, type Me } from "./api";
import { e, t, type Key } from "./i18n";
import { Action, Checks, ErrorText, Field, Loaded, Section, Select, currentCampaign, useAsync, type Async } from "./ui";

const PURPOSES = ["joint_consultation", "identification", "assessment", "follow_up"];

function seoulInput(offsetHours: number): string {
  const at = new Date(Date.now() + offsetHours * 3600_000);
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "Asia/Seoul",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(at);
  const p = Object.fromEntries(parts.map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}T${p.hour}:00`;
}
/** A datetime-local value read as Seoul time, to RFC 3339 UTC. */
function fromSeoul(v: string): string {
  return new Date(`${v}:00+09:00`).toISOString();
}

export type StaffMember = {
  id: string;
  display_name: string;
  role: string;
  organization_id: string;
  organization_name: string;
  organization_kind: string;
};
export type Staff = { users: StaffMember[]; visits: any[] };

function seoulDay(days = 0): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(new Date(Date.now() + days * 86400_000));
}

/**
 * The workers a coordinator can put on a team: everyone on a visit of their jurisdiction these four weeks (a
 * visit's team names each member's organization and its kind; the user list itself is for admins).
 */
export function useStaff(): Async<Staff> {
  return useAsync(async () => {
    const [visits, workload] = await Promise.all([
      all("/v1/visits", { from: seoulDay(-14), to: seoulDay(14) }, 3000),
      get("/v1/workload").catch((err) => {
        if (unavailable(err)) return null;
        throw err;
      }),
    ]);
    const users = new Map<string, StaffMember>();
    const self = me();
    if (self && self.role !== "admin") {
      // the coordinator may join a team too (a joint consultation they attend)
      users.set(self.id, {
        id: self.id,
        display_name: self.display_name,
        role: self.role,
        organization_id: self.organization.id,
        organization_name: self.organization.name,
        organization_kind: self.organization.kind,
      });
    }
    for (const v of visits) {
      for (const m of v.team ?? []) {
        if (!users.has(m.user_id)) users.set(m.user_id, { ...m, id: m.user_id });
      }
    }
    // every worker who may take work in the jurisdiction (GET /v1/workload), partners of private organizations
    for (const w of (workload?.workers ?? []) as any[]) {
      if (users.has(w.user_id) || w.active === false) continue;
      users.set(w.user_id, {
        id: w.user_id,
        display_name: w.display_name,
        role: w.role,
        organization_id: w.organization_id,
        organization_name: w.organization_name,
        organization_kind: w.organization_kind ?? (w.role === "partner" ? "private" : "public"),
      });
    }
    const order = (u: StaffMember) => (u.organization_kind === "public" ? 0 : 1);
    return {
      users: [...users.values()].sort((a, b) => order(a) - order(b) || a.display_name.localeCompare(b.display_name)),
      visits,
    };
  }, []);
}

type Load = Map<string, { day: string; total: number }[]>;
type Open = Map<string, number>;

/**
 * The open work per worker per day: GET /v1/workload (visits, cases, tasks, monitoring); while the service does
 * not offer it, the open visits of `staff.visits` per assignee and day (`source` says which).
 */
function useWorkload(staff: Async<Staff>): Async<{ load: Load; open: Open; source: "workload" | "visits" }> {
  return useAsync(async () => {
    let body: any;
    try {
      body = await get("/v1/workload");
    } catch (err) {
      if (!unavailable(err)) throw err;
      const load: Load = new Map();
      for (const v of staff.data?.visits ?? []) {
        if (v.status !== "scheduled" && v.status !== "in_progress") continue;
        const d = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(new Date(v.window_start));
        for (const uid of v.assignees ?? []) {
          const days = load.get(uid) ?? [];
          const at = days.find((x) => x.day === d);
          if (at) at.total += 1;
          else days.push({ day: d, total: 1 });
          load.set(uid, days);
        }
      }
      const open: Open = new Map();
      for (const [uid, days] of load) {
        days.sort((a, b) => a.day.localeCompare(b.day));
        open.set(uid, days.reduce((n, d) => n + d.total, 0));
      }
      return { load, open, source: "visits" };
    }
    const load: Load = new Map();
    const open: Open = new Map();
    const rows: any[] = body.workers ?? body.items ?? [];
    for (const r of rows) {
      const uid = r.user_id ?? r.worker_id ?? r.user?.id;
      if (typeof r.open?.total === "number") open.set(uid, r.open.total);
      const days: any[] = r.days ?? (r.day ? [r] : []);
      for (const d of days) {
        const total =
          d.total ?? ["visits", "cases", "tasks", "monitoring"].reduce((n, k) => n + (typeof d[k] === "number" ? d[k] : 0), 0);
        if (total > 0) load.set(uid, [...(load.get(uid) ?? []), { day: d.day ?? d.date, total }]);
      }
      if (!days.length && typeof r.total === "number") load.set(uid, [{ day: "", total: r.total }]);
    }
    return { load, open, source: "workload" };
  }, [staff.data]);
}

function WorkloadCell({ load, open }: { load?: { day: string; total: number }[]; open?: number }) {
  if (!load?.length && !open) return <span class="muted">0</span>;
  return (
    <span class="load" data-testid="workload-cell" data-open={open ?? 0}>
      <span class="load-day">
        {t("open")} <b>{open ?? 0}</b>
      </span>
      {(load ?? []).slice(0, 7).map((d) => (
        <span key={d.day} class="load-day" title={d.day}>
          {d.day.slice(5)} <b>{d.total}</b>
        </span>
      ))}
    </span>
  );
}

export function Assign({ householdId, who }: { householdId: string; who: Me }) {
  const household = useAsync(() => get(`/v1/households/${householdId}`), [householdId]);
  const staff = useStaff();
  const workload = useWorkload(staff);
  const templates = useAsync(() => all("/v1/checklist-templates", { status: "published" }, 200), []);
  const campaigns = useAsync(() => all("/v1/campaigns", { active: true }, 50), []);
  const [purpose, setPurpose] = useState("joint_consultation");
  const [start, setStart] = useState(seoulInput(1));
  const [end, setEnd] = useState(seoulInput(3));
  const [checklists, setChecklists] = useState<string[]>([]);
  const [team, setTeam] = useState<string[]>([]);
  const [lead, setLead] = useState("");
  const [campaign, setCampaign] = useState<string | null>(null);
  const [created, setCreated] = useState<any>(null);
  const campaignValue = campaign ?? (currentCampaign((campaigns.data ?? []) as any[])?.id || "");
  const latest = useMemo(() => {
    const m = new Map<string, any>();
    for (const tpl of (templates.data ?? []) as any[]) {
      const have = m.get(tpl.key);
      if (!have || have.version < tpl.version) m.set(tpl.key, tpl);
    }
    return [...m.values()];
  }, [templates.data]);
  return (
    <>
      <h1 class="screen-title">{t("assign_title")}</h1>
      <Loaded state={household}>
        {(h: any) => (
          <p>
            <a href={`#/households/${h.id}`}>{h.head_name}</a> · {h.address} · {h.dong_code}
          </p>
        )}
      </Loaded>
      <Section title={t("assign_title")} testid="assign-form">
        <div class="row">
          <Select
            label={t("purpose")}
            value={purpose}
            onChange={setPurpose}
            options={PURPOSES.map((p): [string, string] => [p, e(p)])}
            testid="assign-purpose"
          />
          <Field label={t("window_start")} type="datetime-local" value={start} onInput={setStart} testid="assign-start" />
          <Field label={t("window_end")} type="datetime-local" value={end} onInput={setEnd} testid="assign-end" />
          <Loaded state={campaigns}>
            {(items: any[]) => (
              <Select
                label={t("campaign")}
                value={campaignValue}
                onChange={setCampaign}
                options={[["", t("no_campaign")], ...items.map((c): [string, string] => [c.id, c.name])]}
                testid="assign-campaign"
              />
            )}
          </Loaded>
        </div>
        <Loaded state={templates}>
          {() => (
            <Checks
              legend={t("checklists")}
              options={latest.map((tpl): [string, string] => [`${tpl.key}@${tpl.version}`, `${typeof tpl.title === "string" ? tpl.title : tpl.title?.ko ?? tpl.key} (v${tpl.version})`])}
              value={checklists}
              onChange={setChecklists}
              testid="assign-checklists"
            />
          )}
        </Loaded>
        <h3>{t("team")}</h3>
        {workload.error ? <ErrorText error={workload.error} /> : null}
        {workload.data?.source === "visits" ? <p class="muted">{t("workload_visits_only")}</p> : null}
        <Loaded state={staff}>
          {({ users }) => (
            <table class="grid" data-testid="assign-team">
              <thead>
                <tr>
                  <th scope="col">{t("team")}</th>
                  <th scope="col">{t("organization")}</th>
                  <th scope="col">{t("lead")}</th>
                  <th scope="col">{t("workload")}</th>
                </tr>
              </thead>
              <tbody>
                {users
                  .filter((u) => u.id !== who.id || who.role === "coordinator")
                  .map((u) => {
                    const id = `team-${u.id}`;
                    return (
                      <tr key={u.id} data-testid="team-row" data-user-id={u.id}>
                        <td>
                          <input
                            id={id}
                            type="checkbox"
                            checked={team.includes(u.id)}
                            data-testid="team-pick"
                            onChange={(ev) =>
                              setTeam((ev.target as HTMLInputElement).checked ? [...team, u.id] : team.filter((x) => x !== u.id))
                            }
                          />{" "}
                          <label for={id}>
                            {u.display_name} ({e(u.role)})
                          </label>
                        </td>
                        <td>
                          {u.organization_name}{" "}
                          <span class="badge">{u.organization_kind === "private" ? t("private_org") : t("public_org")}</span>
                        </td>
                        <td>
                          <input
                            type="radio"
                            name="lead"
                            aria-label={`${t("lead")}: ${u.display_name}`}
                            checked={lead === u.id}
                            disabled={!team.includes(u.id)}
                            onChange={() => setLead(u.id)}
                          />
                        </td>
                        <td>
                          <WorkloadCell load={workload.data?.load.get(u.id)} open={workload.data?.open.get(u.id)} />
                        </td>
                      </tr>
                    );
                  })}
              </tbody>
            </table>
          )}
        </Loaded>
        <Action
          primary
          label={t("assign")}
          testid="assign-submit"
          done={t("assigned")}
          disabled={!team.length}
          run={async () => {
            const v = await post("/v1/visits", {
              household_id: householdId,
              purpose,
              window_start: fromSeoul(start),
              window_end: fromSeoul(end),
              assignees: team,
              lead_id: lead && team.includes(lead) ? lead : null,
              campaign_id: campaignValue || null,
              checklists: checklists.map((c) => {
                const [key, version] = c.split("@");
                return { key, version: Number(version) };
              }),
            });
            setCreated(v);
          }}
        />
        {!team.length ? <p class="muted">{t("pick_team")}</p> : null}
        {created ? (
          <p data-testid="assign-created" data-visit-id={created.id}>
            <a href={`#/households/${householdId}`}>{t("assigned")}</a>
          </p>
        ) : null}
      </Section>
    </>
  );
}

const KINDS = ["visits", "cases", "tasks", "monitoring"];

export function Work() {
  const staff = useStaff();
  const workload = useWorkload(staff);
  const [from, setFrom] = useState("");
  const [fromDay, setFromDay] = useState("");
  const [result, setResult] = useState<any>(null);
  const [to, setTo] = useState<string[]>([]);
  const [kinds, setKinds] = useState<string[]>(KINDS);
  return (
    <>
      <h1 class="screen-title">{t("work_title")}</h1>
      <Section title={t("workload")} testid="workload">
        {workload.error ? <ErrorText error={workload.error} /> : null}
        {workload.data?.source === "visits" ? <p class="muted">{t("workload_visits_only")}</p> : null}
        <Loaded state={staff}>
          {({ users }) => (
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">{t("worker")}</th>
                  <th scope="col">{t("organization")}</th>
                  <th scope="col">{t("workload")}</th>
                </tr>
              </thead>
              <tbody>
                {users.map((u) => (
                  <tr key={u.id} data-testid="worker-row" data-user-id={u.id}>
                    <td>
                      {u.display_name} ({e(u.role)})
                    </td>
                    <td>{u.organization_name}</td>
                    <td>
                      <WorkloadCell load={workload.data?.load.get(u.id)} open={workload.data?.open.get(u.id)} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Loaded>
      </Section>
      <Section title={t("reassign")} testid="reassign">
        <Loaded state={staff}>
          {({ users }) => {
            const options = users.map((u): [string, string] => [u.id, `${u.display_name} (${e(u.role)})`]);
            return (
              <>
                <Select label={t("reassign_from")} value={from} onChange={setFrom} options={[["", "—"], ...options]} />
                <Checks
                  legend={t("reassign_to")}
                  options={options.filter(([id]) => id !== from)}
                  value={to}
                  onChange={setTo}
                />
                <Checks legend={t("kinds")} options={KINDS.map((k): [string, string] => [k, t(`kind_${k}` as Key)])} value={kinds} onChange={setKinds} />
                <Field label={t("reassign_from_day")} type="date" value={fromDay} onInput={setFromDay} />
                <Action
                  primary
                  label={t("reassign")}
                  done={t("reassigned")}
                  disabled={!from || !to.length}
                  run={async () => {
                    setResult(await post(`/v1/users/${from}/reassign`, { to, kinds, from: fromDay || null }));
                    staff.reload();
                  }}
                />
                {result ? (
                  <p data-testid="reassigned">
                    {t("reassigned")}: {KINDS.map((k) => `${t(`kind_${k}` as Key)} ${result.moved?.[k] ?? 0}`).join(" · ")}
                  </p>
                ) : null}
              </>
            );
          }}
        </Loaded>
      </Section>
    </>
  );
}
