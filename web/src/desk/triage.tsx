// The triage queue: households by priority with their signals, risk and deadline; crisis reports to triage
// (link to a household, create one, dismiss with a reason the reporter is told).
import { useEffect, useState } from "preact/hooks";
import { all, get, post, type Me } from "./api";
import { e, t } from "./i18n";
import { Action, Field, Loaded, Section, Select, day, time, useAsync } from "./ui";

const SOURCES = ["bigdata", "lonely_death_screening", "agency_referral", "resident_report", "honorary_official", "benefit_rejected"];
const RISKS = ["critical", "high", "moderate", "low"];
const DEADLINE_STATES = ["overdue", "at_risk", "on_track"];

export function Triage({ who }: { who: Me }) {
  const [dong, setDong] = useState("");
  const [source, setSource] = useState("");
  const [risk, setRisk] = useState("");
  const [deadline, setDeadline] = useState("");
  const reports = useAsync(() => all("/v1/reports", { status: "new" }, 200), []);
  const queue = useAsync(async () => {
    const page = await get("/v1/triage", { dong_code: dong, risk_level: risk, limit: 50 });
    const rows = await Promise.all(
      (page.items as any[]).map(async (h) => ({
        household: h,
        signals: (await get(`/v1/households/${h.id}/signals`, { limit: 20 })).items as any[],
      })),
    );
    return rows;
  }, [dong, risk]);
  const [seen, setSeen] = useState<string[]>([]);
  useEffect(() => {
    const codes = (queue.data ?? []).map((r) => r.household.dong_code as string);
    if (codes.some((c) => !seen.includes(c))) setSeen([...new Set([...seen, ...codes])].sort());
  }, [queue.data]);
  const dongs = [...new Set([...who.jurisdiction.filter((c) => c.length > 5), ...seen])].sort();
  const dongOptions: [string, string][] = [["", t("all")], ...dongs.map((c): [string, string] => [c, c])];
  return (
    <>
      <h1 class="screen-title">{t("triage_title")}</h1>
      <Section title={t("reports_title")} testid="reports">
        <Loaded state={reports}>
          {(items: any[]) =>
            items.length === 0 ? (
              <p class="muted">{t("no_reports")}</p>
            ) : (
              <ul class="plain">
                {items.map((r) => (
                  <ReportItem key={r.id} report={r} onDone={() => (reports.reload(), queue.reload())} />
                ))}
              </ul>
            )
          }
        </Loaded>
      </Section>
      <Section title={t("filters")} testid="triage-filters">
        <div class="row">
          <Select label={t("dong")} value={dong} onChange={setDong} options={dongOptions} testid="filter-dong" />
          <Select
            label={t("source")}
            value={source}
            onChange={setSource}
            options={[["", t("all")], ...SOURCES.map((s): [string, string] => [s, e(s)])]}
            testid="filter-source"
          />
          <Select
            label={t("risk")}
            value={risk}
            onChange={setRisk}
            options={[["", t("all")], ...RISKS.map((s): [string, string] => [s, e(s)])]}
            testid="filter-risk"
          />
          <Select
            label={t("deadline_state")}
            value={deadline}
            onChange={setDeadline}
            options={[["", t("all")], ...DEADLINE_STATES.map((s): [string, string] => [s, e(s)])]}
            testid="filter-deadline"
          />
        </div>
      </Section>
      <Section title={t("triage_title")} testid="triage-queue">
        <Loaded state={queue}>
          {(rows) => {
            const shown = rows.filter(
              (r) =>
                (!source || r.signals.some((s) => s.source === source)) &&
                (!deadline || r.household.deadline_state === deadline),
            );
            if (!shown.length) return <p class="muted">{t("no_households")}</p>;
            return (
              <table class="grid">
                <thead>
                  <tr>
                    <th scope="col">{t("priority")}</th>
                    <th scope="col">{t("household")}</th>
                    <th scope="col">{t("dong")}</th>
                    <th scope="col">{t("risk")}</th>
                    <th scope="col">{t("status")}</th>
                    <th scope="col">{t("signals")}</th>
                    <th scope="col">{t("deadline_state")}</th>
                    <th scope="col">{t("due")}</th>
                  </tr>
                </thead>
                <tbody>
                  {shown.map(({ household: h, signals }) => (
                    <tr key={h.id} data-testid="triage-row" data-household-id={h.id} data-risk={h.risk_level}>
                      <td>{h.priority}</td>
                      <td>
                        <a href={`#/households/${h.id}`}>{h.head_name}</a>
                        <div class="muted">{h.address}</div>
                      </td>
                      <td>{h.dong_code}</td>
                      <td>
                        <span class={`badge risk-${h.risk_level}`}>{e(h.risk_level)}</span>
                      </td>
                      <td>{e(h.status)}</td>
                      <td>
                        {signals.slice(0, 3).map((s) => (
                          <div key={s.id} class="signal">
                            {e(s.source)} · {s.indicators.join(", ")} · {day(s.observed_at)}
                          </div>
                        ))}
                        {signals.length > 3 ? <div class="muted">+{signals.length - 3}</div> : null}
                      </td>
                      <td>{h.deadline_state ? <span class={`badge dl-${h.deadline_state}`}>{e(h.deadline_state)}</span> : "—"}</td>
                      <td>{time(h.due_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            );
          }}
        </Loaded>
      </Section>
    </>
  );
}

function ReportItem({ report: r, onDone }: { report: any; onDone: () => void }) {
  const [mode, setMode] = useState<"" | "link" | "create" | "dismiss">("");
  const [householdId, setHouseholdId] = useState(r.suggested_household_id ?? "");
  const [headName, setHeadName] = useState(r.subject_name ?? "");
  const [phone, setPhone] = useState(r.subject_phone ?? "");
  const [address, setAddress] = useState(r.address ?? "");
  const [living, setLiving] = useState("");
  const [birthYear, setBirthYear] = useState("");
  const [reason, setReason] = useState("");
  const [message, setMessage] = useState("");
  const triage = async (body: Record<string, unknown>) => {
    await post(`/v1/reports/${r.id}/triage`, body);
    onDone();
  };
  return (
    <li class="report" data-testid="report-item" data-report-id={r.id}>
      <p>
        <strong>{r.observation}</strong>
      </p>
      <p class="muted">
        {e(r.source)} · {r.address} · {r.dong_code} · {t("reported_at")} {time(r.created_at)}
        {r.indicators?.length ? ` · ${t("indicators")}: ${r.indicators.join(", ")}` : ""}
      </p>
      <div class="row">
        <button type="button" data-testid="report-link" onClick={() => setMode("link")}>
          {t("link_household")}
        </button>
        <button type="button" data-testid="report-create" onClick={() => setMode("create")}>
          {t("create_household")}
        </button>
        <button type="button" data-testid="report-dismiss" onClick={() => setMode("dismiss")}>
          {t("dismiss")}
        </button>
      </div>
      {mode === "link" ? (
        <div class="form">
          {r.suggested_household_id ? (
            <p class="muted">
              {t("suggested")}: <a href={`#/households/${r.suggested_household_id}`}>{r.suggested_household_id}</a>
            </p>
          ) : null}
          <Field label={t("household_id")} value={householdId} onInput={setHouseholdId} testid="link-household-id" />
          <Field label={t("reporter_message")} value={message} onInput={setMessage} />
          <Action
            primary
            label={t("link_household")}
            testid="link-submit"
            run={() => triage({ decision: "household", household_id: householdId, message: message || null })}
          />
        </div>
      ) : null}
      {mode === "create" ? (
        <div class="form" data-testid="create-form">
          <div class="row">
            <Field label={t("head_name")} value={headName} onInput={setHeadName} testid="create-head-name" required />
            <Field label={t("birth_year")} type="number" value={birthYear} onInput={setBirthYear} testid="create-birth-year" />
            <Field label={t("contact_phone")} type="tel" value={phone} onInput={setPhone} testid="create-phone" />
          </div>
          <Field label={t("address")} value={address} onInput={setAddress} testid="create-address" />
          <Field label={t("living_situation")} value={living} onInput={setLiving} testid="create-living" />
          <Field label={t("reporter_message")} value={message} onInput={setMessage} />
          <Action
            primary
            label={t("create_household")}
            testid="create-submit"
            run={() =>
              triage({
                decision: "household",
                create_new: true,
                message: message || null,
                household: {
                  head_name: headName,
                  address,
                  contact_phone: phone || null,
                  living_situation: living || null,
                  district_code: r.district_code,
                  dong_code: r.dong_code,
                  members: headName
                    ? [{ name: headName, relation: "head", birth_year: birthYear ? Number(birthYear) : null, tags: [] }]
                    : [],
                },
              })
            }
          />
        </div>
      ) : null}
      {mode === "dismiss" ? (
        <div class="form">
          <Field label={t("dismiss_reason")} value={reason} onInput={setReason} testid="dismiss-reason" required />
          <Field label={t("reporter_message")} value={message} onInput={setMessage} testid="dismiss-message" />
          <Action
            primary
            label={t("dismiss")}
            testid="dismiss-submit"
            run={() => triage({ decision: "dismiss", reason, message: message || null })}
          />
        </div>
      ) : null}
    </li>
  );
}
