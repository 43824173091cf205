// For admins: the monthly access review (flags, per-user figures, drill-down to the audit events, sign-off) and
// devices (what a lost phone still holds; revoke).
import { useState } from "preact/hooks";
import { all, get, post } from "./api";
import { e, t } from "./i18n";
import { Action, Field, Loaded, Section, time, useAsync } from "./ui";

function lastMonth(): string {
  const now = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul", year: "numeric", month: "2-digit" }).format(new Date());
  const [y, m] = now.split("-").map(Number);
  return m === 1 ? `${y - 1}-12` : `${y}-${String(m - 1).padStart(2, "0")}`;
}

export function Review() {
  const [month, setMonth] = useState(lastMonth());
  const report = useAsync(() => get("/v1/audit-reports/monthly", { month }), [month]);
  const [drill, setDrill] = useState<{ actor: string; result?: string } | null>(null);
  const [comment, setComment] = useState("");
  return (
    <>
      <h1 class="screen-title">{t("review_title")}</h1>
      <div class="row end">
        <Field label={t("month")} type="month" value={month} onInput={(v) => v && setMonth(v)} testid="review-month" />
      </div>
      <Loaded state={report}>
        {(r: any) => (
          <div data-testid="review" data-month={r.month} data-signed={String(!!r.sign_off)}>
            <ul class="tiles">
              {(["users", "household_reads", "household_writes", "reveals", "denied"] as const).map((k) => (
                <li key={k}>
                  <span>{k === "users" ? t("users") : k === "household_reads" ? t("reads") : k === "household_writes" ? t("writes") : t(k)}</span>
                  <b>{r.totals[k]}</b>
                </li>
              ))}
            </ul>
            <Section title={t("flags")} testid="review-flags">
              {(r.flags ?? []).length === 0 ? (
                <p class="muted">{t("no_flags")}</p>
              ) : (
                <table class="grid">
                  <thead>
                    <tr>
                      <th scope="col">{t("flags")}</th>
                      <th scope="col">{t("user")}</th>
                      <th scope="col">#</th>
                      <th scope="col">{t("reason")}</th>
                      <th scope="col">{t("events")}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {(r.flags as any[]).map((f, i) => (
                      <tr key={i} data-testid="flag" data-kind={f.kind}>
                        <td>{f.kind}</td>
                        <td>{f.username ?? f.user_id}</td>
                        <td>
                          {f.count}
                          {f.baseline != null ? ` / ${f.baseline}` : ""}
                        </td>
                        <td>{f.reason ?? "—"}</td>
                        <td>
                          <button
                            type="button"
                            onClick={() => setDrill({ actor: f.user_id, result: f.kind === "denied" ? "denied" : undefined })}
                          >
                            {t("drill")}
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </Section>
            <Section title={t("users")} testid="review-users">
              <table class="grid">
                <thead>
                  <tr>
                    <th scope="col">{t("user")}</th>
                    <th scope="col">{t("organization")}</th>
                    <th scope="col">{t("reads")}</th>
                    <th scope="col">{t("writes")}</th>
                    <th scope="col">{t("reveals")}</th>
                    <th scope="col">{t("denied")}</th>
                    <th scope="col">{t("events")}</th>
                  </tr>
                </thead>
                <tbody>
                  {(r.users as any[]).map((u) => (
                    <tr key={u.user_id}>
                      <td>
                        {u.display_name ?? u.username} ({e(u.role)})
                      </td>
                      <td>{u.organization_name ?? "—"}</td>
                      <td>{u.household_reads}</td>
                      <td>{u.household_writes}</td>
                      <td>{u.reveals}</td>
                      <td>{u.denied}</td>
                      <td>
                        <button type="button" data-testid="drill" onClick={() => setDrill({ actor: u.user_id })}>
                          {t("drill")} ({u.events})
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Section>
            {drill ? <Events actor={drill.actor} result={drill.result} from={r.period_start} to={r.period_end} /> : null}
            <Section title={t("sign_off")} testid="review-sign-off">
              {r.sign_off ? (
                <p data-testid="signed-off">
                  {t("signed_off")}: {r.sign_off.signed_by_name} · {time(r.sign_off.signed_at)} — {r.sign_off.comment}
                </p>
              ) : (
                <>
                  <Field label={t("sign_off_comment")} type="textarea" value={comment} onInput={setComment} testid="sign-off-comment" />
                  <Action
                    primary
                    label={t("sign_off")}
                    testid="sign-off"
                    disabled={!comment.trim()}
                    run={async () => {
                      await post(`/v1/audit-reports/monthly/${r.month}/sign-off`, { comment });
                      report.reload();
                    }}
                  />
                </>
              )}
            </Section>
          </div>
        )}
      </Loaded>
    </>
  );
}

function Events({ actor, result, from, to }: { actor: string; result?: string; from: string; to: string }) {
  const events = useAsync(() => get("/v1/audit-events", { actor_id: actor, result, from, to, limit: 100 }), [actor, result]);
  return (
    <Section title={t("events")} testid="audit-events">
      <Loaded state={events}>
        {(page: any) => (
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">{t("at")}</th>
                <th scope="col">{t("action")}</th>
                <th scope="col">{t("household")}</th>
                <th scope="col">{t("reason")}</th>
                <th scope="col">{t("result")}</th>
              </tr>
            </thead>
            <tbody>
              {(page.items as any[]).map((ev) => (
                <tr key={ev.id} data-testid="audit-event">
                  <td>{time(ev.at)}</td>
                  <td>{ev.action}</td>
                  <td>{ev.household_id ?? "—"}</td>
                  <td>{ev.purpose ?? "—"}</td>
                  <td>{e(ev.result)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </Section>
  );
}

export function Devices() {
  const devices = useAsync(async () => {
    const [items, users] = await Promise.all([all("/v1/devices", {}, 500), all("/v1/users", {}, 1000)]);
    return { items, users: new Map(users.map((u: any) => [u.id, u])) };
  }, []);
  const [open, setOpen] = useState("");
  return (
    <>
      <h1 class="screen-title">{t("devices_title")}</h1>
      <Loaded state={devices}>
        {({ items, users }) => (
          <table class="grid" data-testid="devices">
            <thead>
              <tr>
                <th scope="col">{t("device")}</th>
                <th scope="col">{t("user")}</th>
                <th scope="col">{t("last_seen")}</th>
                <th scope="col">{t("status")}</th>
                <th scope="col">{t("holdings")}</th>
              </tr>
            </thead>
            <tbody>
              {(items as any[]).map((d) => (
                <tr key={d.id} data-testid="device-row" data-device-id={d.id} data-revoked={String(!!d.revoked_at)}>
                  <td>{d.name}</td>
                  <td>{users.get(d.user_id)?.display_name ?? d.user_id}</td>
                  <td>{time(d.last_seen_at)}</td>
                  <td>{d.revoked_at ? `${t("revoked")} ${time(d.revoked_at)} · ${d.revoke_reason ?? ""}` : "—"}</td>
                  <td>
                    {open === d.id ? (
                      <Holdings device={d} onRevoked={devices.reload} />
                    ) : (
                      <button type="button" data-testid="show-holdings" onClick={() => setOpen(d.id)}>
                        {t("show_holdings")}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Loaded>
    </>
  );
}

function Holdings({ device, onRevoked }: { device: any; onRevoked: () => void }) {
  const holdings = useAsync(() => get(`/v1/devices/${device.id}/holdings`), [device.id]);
  const [reason, setReason] = useState("");
  return (
    <div data-testid="holdings">
      <Loaded state={holdings}>
        {(h: any) => {
          const held = (h.items as any[]).filter((i) => !i.revoked_at);
          const byEntity = new Map<string, number>();
          for (const i of held) byEntity.set(i.entity, (byEntity.get(i.entity) ?? 0) + 1);
          const households = new Set(held.map((i) => i.household_id).filter(Boolean));
          return (
            <>
              <p>
                {[...byEntity].map(([k, n]) => `${k} ${n}`).join(" · ") || t("none")} · {t("holdings_households")}{" "}
                <b data-testid="holdings-households">{households.size}</b>
              </p>
              <p class="muted">
                pull {time(h.last_pull_at)} · push {time(h.last_push_at)}
              </p>
            </>
          );
        }}
      </Loaded>
      {!device.revoked_at ? (
        <div class="row end">
          <Field label={t("revoke_reason")} value={reason} onInput={setReason} />
          <Action
            label={t("revoke")}
            testid="revoke"
            disabled={reason.trim().length < 2}
            run={async () => {
              await post(`/v1/devices/${device.id}/revoke`, { reason });
              onRevoked();
            }}
          />
        </div>
      ) : null}
    </div>
  );
}
