// The winter campaign dashboard (charts by dong and by source, exports with a reason) and weather alerts: declare
// one, and watch its tasks close in a dong table that polls the service.
import { useState } from "preact/hooks";
import { all, download, get, post, type Me } from "./api";
import { e, t, type Key } from "./i18n";
import { Action, BarChart, currentCampaign, Checks, ErrorText, Field, Loaded, Section, Select, time, usePolling, useAsync, type Series } from "./ui";

const MEASURES: [string, string][] = [
  ["identified", "#1f4e79"],
  ["reached", "#2e7d32"],
  ["visited", "#00838f"],
  ["unreachable", "#b00020"],
  ["supported", "#6a1b9a"],
  ["monitored", "#8a6d00"],
  ["deadlines_missed", "#5d4037"],
];

function seriesOf(rows: any[]): Series[] {
  return MEASURES.filter(([k]) => rows.some((r) => typeof r[k] === "number")).map(([key, color]) => ({
    key,
    label: t(key as Key),
    color,
  }));
}

export function Campaign({ who }: { who: Me }) {
  const campaigns = useAsync(() => all("/v1/campaigns", {}, 100), []);
  const [picked, setPicked] = useState("");
  const list = (campaigns.data ?? []) as any[];
  const current = picked || currentCampaign(list)?.id || "";
  const summary = useAsync(() => (current ? get(`/v1/campaigns/${current}/summary`) : Promise.resolve(null)), [current]);
  const [reason, setReason] = useState("");
  return (
    <>
      <h1 class="screen-title">{t("campaign_title")}</h1>
      <Loaded state={campaigns}>
        {(items: any[]) => (
          <div class="row end">
            <Select
              label={t("campaign")}
              value={current}
              onChange={setPicked}
              options={items.map((c): [string, string] => [c.id, `${c.name} (${c.starts_on} – ${c.ends_on})`])}
              testid="campaign-pick"
            />
            <button type="button" onClick={summary.reload} data-testid="campaign-refresh">
              {t("refresh")}
            </button>
          </div>
        )}
      </Loaded>
      <Loaded state={summary}>
        {(s: any) =>
          !s ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <div data-testid="campaign-summary" data-campaign-id={s.campaign_id}>
              <p class="muted">
                {t("as_of")} {time(s.as_of)}
              </p>
              <ul class="tiles">
                {[...MEASURES.map(([k]) => k).filter((k) => typeof s.totals?.[k] === "number")].map((k) => (
                  <li key={k} data-testid={`total-${k}`} data-value={s.totals[k]}>
                    <span>{t(k as Key)}</span>
                    <b>{s.totals[k]}</b>
                  </li>
                ))}
                <li data-testid="total-visits_completed" data-value={s.visits_completed}>
                  <span>{t("visits_completed")}</span>
                  <b>{s.visits_completed}</b>
                </li>
              </ul>
              <div class="columns">
                <BarChart
                  title={t("by_dong")}
                  testid="chart-dong"
                  series={seriesOf(s.by_dong)}
                  rows={(s.by_dong as any[]).map((d) => ({ label: d.dong_name ? `${d.dong_name}` : d.dong_code, values: d }))}
                />
                <BarChart
                  title={t("by_source")}
                  testid="chart-source"
                  series={seriesOf(s.by_source)}
                  rows={(s.by_source as any[]).map((d) => ({ label: e(d.source), values: d }))}
                />
              </div>
              {s.by_dong_source?.length ? <DongSource rows={s.by_dong_source} /> : null}
              <div class="row end">
                <Field label={t("export_reason")} value={reason} onInput={setReason} testid="export-reason" />
                <Action
                  label={t("export")}
                  testid="export"
                  disabled={reason.trim().length < 2}
                  run={() =>
                    download(
                      `/v1/exports/campaign-summaries?campaign_id=${encodeURIComponent(s.campaign_id)}&format=csv`,
                      reason,
                      `campaign-${s.campaign_id}.csv`,
                      "text/csv",
                    )
                  }
                />
              </div>
            </div>
          )
        }
      </Loaded>
      <Alerts who={who} />
    </>
  );
}

/** Households identified per dong (rows) and source (columns). */
function DongSource({ rows }: { rows: any[] }) {
  const sources = [...new Set(rows.map((r) => r.source as string))].sort();
  const dongs = [...new Map(rows.map((r) => [r.dong_code, r.dong_name ?? r.dong_code])).entries()];
  const at = new Map(rows.map((r) => [`${r.dong_code}|${r.source}`, r.identified ?? 0]));
  return (
    <Section title={t("dong_source")} testid="dong-source">
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">{t("dong")}</th>
            {sources.map((src) => (
              <th key={src} scope="col">
                {e(src)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {dongs.map(([code, name]) => (
            <tr key={code}>
              <th scope="row">{name}</th>
              {sources.map((src) => (
                <td key={src}>{at.get(`${code}|${src}`) ?? 0}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

function Alerts({ who }: { who: Me }) {
  const alerts = useAsync(() => all("/v1/alerts", {}, 100), []);
  const [kind, setKind] = useState("cold_wave");
  const summaryDongs = useAsync(async () => {
    const c = currentCampaign(await all("/v1/campaigns", {}, 100));
    return c ? ((await get(`/v1/campaigns/${c.id}/summary`)).by_dong as any[]) : [];
  }, []);
  const names = new Map<string, string>((summaryDongs.data ?? []).map((d) => [d.dong_code, d.dong_name ?? d.dong_code]));
  const dongs = [...new Set([...who.jurisdiction.filter((c) => c.length > 5), ...names.keys()])].sort();
  const [dongCodes, setDongCodes] = useState<string[]>([]);
  const [risks, setRisks] = useState<string[]>(["critical", "high"]);
  const [hours, setHours] = useState("24");
  const [watch, setWatch] = useState("");
  return (
    <Section title={t("alerts")} testid="alerts">
      <Loaded state={alerts}>
        {(items: any[]) => (
          <>
            <ul class="plain">
              {items.map((a) => (
                <li key={a.id} data-testid="alert-item" data-alert-id={a.id}>
                  <button type="button" onClick={() => setWatch(a.id)} aria-pressed={watch === a.id}>
                    {t((a.kind ?? "cold_wave") as Key)} · {time(a.starts_at)} – {time(a.ends_at)} · {(a.dong_codes ?? []).join(", ")}
                  </button>
                </li>
              ))}
            </ul>
            <div class="form">
              <h3>{t("alert_declare")}</h3>
              <div class="row">
                <Select
                  label={t("alert_kind")}
                  value={kind}
                  onChange={setKind}
                  options={[
                    ["cold_wave", t("cold_wave")],
                    ["heavy_snow", t("heavy_snow")],
                    ["heat_wave", t("heat_wave")],
                  ]}
                />
                <Field label={t("due_hours")} type="number" value={hours} onInput={setHours} />
              </div>
              <Checks
                legend={t("dong")}
                options={dongs.map((d): [string, string] => [d, names.get(d) ?? d])}
                value={dongCodes}
                onChange={setDongCodes}
                testid="alert-dongs"
              />
              <Checks
                legend={t("criteria_risk")}
                options={["critical", "high", "moderate", "low"].map((r): [string, string] => [r, e(r)])}
                value={risks}
                onChange={setRisks}
                testid="alert-risks"
              />
              <Action
                primary
                testid="alert-submit"
                label={t("alert_declare")}
                done={t("declared")}
                disabled={!dongCodes.length}
                run={async () => {
                  const now = new Date();
                  const a = await post("/v1/alerts", {
                    kind,
                    dong_codes: dongCodes,
                    starts_at: now.toISOString(),
                    ends_at: new Date(now.getTime() + 48 * 3600_000).toISOString(),
                    criteria: { risk_levels: risks, tags: [] },
                    due_hours: Number(hours) || 24,
                  });
                  alerts.reload();
                  setWatch(a.id);
                }}
              />
            </div>
          </>
        )}
      </Loaded>
      {watch ? <AlertTable id={watch} /> : null}
    </Section>
  );
}

function AlertTable({ id }: { id: string }) {
  const summary = useAsync(() => get(`/v1/alerts/${id}/summary`), [id]);
  usePolling(summary.reload, 10_000, [id]);
  return (
    <div data-testid="alert-summary" data-alert-id={id} data-total={summary.data?.total} aria-live="polite">
      <p class="muted">{t("live")}</p>
      {summary.error && summary.data === undefined ? <ErrorText error={summary.error} /> : null}
      {summary.data ? (
        <table class="grid">
          <thead>
            <tr>
              <th scope="col">{t("dong")}</th>
              <th scope="col">{t("total")}</th>
              <th scope="col">{t("done")}</th>
              <th scope="col">{t("open")}</th>
              <th scope="col">{t("overdue")}</th>
              <th scope="col">{t("escalated")}</th>
              <th scope="col">{t("unassigned")}</th>
            </tr>
          </thead>
          <tbody>
            {[{ dong_code: t("total"), ...summary.data }, ...((summary.data.by_dong ?? []) as any[])].map((d) => (
              <tr key={d.dong_code} data-dong={d.dong_code}>
                <th scope="row">{d.dong_name ?? d.dong_code}</th>
                <td>{d.total}</td>
                <td>{d.done}</td>
                <td>{d.open}</td>
                <td>{d.overdue}</td>
                <td>{d.escalated ?? "—"}</td>
                <td>{d.unassigned ?? "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
