// One household: summary, members (reveal of a registration number with a reason), signals, visits, contact
// attempts, notes, photos (thumbnails; downloads with a reason), supports ledger, cases with stage deadlines,
// consents (record, attach the signed form, withdraw), duplicates and merge.
import { useEffect, useState } from "preact/hooks";
import { ApiError, all, call, download, get, imageUrl, json, post, unavailable, type Me } from "./api";
import { e, t } from "./i18n";
import { useStaff } from "./assign";
import { Action, Checks, ErrorText, Field, Loaded, Section, Select, day, errorText, time, useAsync } from "./ui";

const PURPOSES = ["identification", "assessment", "joint_consultation", "follow_up", "service_linkage", "case_management"];

export function HouseholdScreen({ id, who }: { id: string; who: Me }) {
  const household = useAsync(() => get(`/v1/households/${id}`), [id]);
  const visits = useAsync(() => all("/v1/visits", { household_id: id }, 200), [id]);
  const merged = household.error instanceof ApiError && /household-merged$/.test(household.error.problem?.type ?? "");
  if (merged) {
    const into = (household.error as ApiError).problem?.merged_into as string | undefined;
    return (
      <p class="notice" data-testid="household-merged">
        {errorText(household.error)} {into ? <a href={`#/households/${into}`}>{t("merged_into")}</a> : null}
      </p>
    );
  }
  return (
    <Loaded state={household}>
      {(h: any) => (
        <div data-testid="household" data-household-id={h.id}>
          <h1 class="screen-title">
            {h.head_name} <span class={`badge risk-${h.risk_level}`}>{e(h.risk_level)}</span>
          </h1>
          <p>
            <a class="button primary" href={`#/assign/${h.id}`} data-testid="assign-visit">
              {t("assign_visit")}
            </a>
          </p>
          <div class="columns">
            <div>
              <Summary h={h} />
              <Members h={h} />
              <Signals id={id} />
              <Visits state={visits} />
              <ContactAttempts id={id} />
              <Notes id={id} />
            </div>
            <div>
              <Consents h={h} onChange={household.reload} />
              <Photos visits={visits.data ?? []} />
              <Ledger id={id} />
              <Cases id={id} />
              <Duplicates id={id} />
            </div>
          </div>
        </div>
      )}
    </Loaded>
  );
}

function Summary({ h }: { h: any }) {
  return (
    <Section title={t("summary")} testid="household-summary">
      <dl class="facts">
        <dt>{t("address")}</dt>
        <dd>
          {h.address} {h.address_detail ?? ""}
        </dd>
        <dt>{t("dong")}</dt>
        <dd>{h.dong_code}</dd>
        <dt>{t("contact_phone")}</dt>
        <dd>{h.contact_phone ?? "—"}</dd>
        <dt>{t("status")}</dt>
        <dd data-testid="household-status">{e(h.status)}</dd>
        <dt>{t("priority")}</dt>
        <dd>{h.priority}</dd>
        <dt>{t("living_situation")}</dt>
        <dd>{h.living_situation ?? "—"}</dd>
        <dt>{t("tags")}</dt>
        <dd>{h.tags.join(", ") || "—"}</dd>
        {h.deadline_state ? (
          <>
            <dt>{t("deadline_state")}</dt>
            <dd>
              {e(h.deadline_state)} · {time(h.due_at)}
            </dd>
          </>
        ) : null}
        {h.unreachable ? (
          <>
            <dt>{t("unreachable")}</dt>
            <dd data-testid="unreachable">
              {time(h.unreachable_at)} · {t("next_step")}: {e(h.next_contact_step) || "—"}
            </dd>
          </>
        ) : null}
        {h.recurrence_count ? (
          <>
            <dt>{t("recurrence")}</dt>
            <dd>
              {h.recurrence_count} · {time(h.recurrence_at)}
            </dd>
          </>
        ) : null}
      </dl>
    </Section>
  );
}

function Members({ h }: { h: any }) {
  const [reason, setReason] = useState("");
  const [revealed, setRevealed] = useState<Record<string, string | null> | null>(null);
  return (
    <Section title={t("members")} testid="members">
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">{t("member_name")}</th>
            <th scope="col">{t("relation")}</th>
            <th scope="col">{t("birth_year")}</th>
            <th scope="col">{t("tags")}</th>
            {revealed ? <th scope="col">{t("revealed")}</th> : null}
          </tr>
        </thead>
        <tbody>
          {h.members.map((m: any) => (
            <tr key={m.key}>
              <td>{m.name}</td>
              <td>{e(m.relation)}</td>
              <td>{m.birth_year ?? "—"}</td>
              <td>{m.tags.join(", ")}</td>
              {revealed ? <td data-testid="rrn">{revealed[m.key] ?? "—"}</td> : null}
            </tr>
          ))}
        </tbody>
      </table>
      <div class="row end">
        <Field label={t("reveal_reason")} value={reason} onInput={setReason} testid="reveal-reason" />
        <Action
          label={t("reveal")}
          testid="reveal"
          disabled={reason.trim().length < 2}
          run={async () => {
            const r = await post(`/v1/households/${h.id}/reveal`, { reason });
            setRevealed(Object.fromEntries((r.members as any[]).map((m) => [m.key, m.rrn])));
          }}
        />
      </div>
    </Section>
  );
}

function Signals({ id }: { id: string }) {
  const signals = useAsync(() => all(`/v1/households/${id}/signals`, {}, 200), [id]);
  return (
    <Section title={t("signals_timeline")} testid="signals">
      <Loaded state={signals}>
        {(items: any[]) => (
          <ol class="timeline">
            {items
              .slice()
              .sort((a, b) => b.observed_at.localeCompare(a.observed_at))
              .map((s) => (
                <li key={s.id}>
                  <time>{time(s.observed_at)}</time> {e(s.source)} — {s.indicators.join(", ") || "—"}
                  {s.external_ref ? <span class="muted"> · {s.external_ref}</span> : null}
                </li>
              ))}
          </ol>
        )}
      </Loaded>
    </Section>
  );
}

function Visits({ state }: { state: ReturnType<typeof useAsync<any[]>> }) {
  return (
    <Section title={t("visits")} testid="visits">
      <Loaded state={state}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <table class="grid">
              <thead>
                <tr>
                  <th scope="col">{t("window")}</th>
                  <th scope="col">{t("purpose")}</th>
                  <th scope="col">{t("team")}</th>
                  <th scope="col">{t("status")}</th>
                  <th scope="col">{t("outcome")}</th>
                </tr>
              </thead>
              <tbody>
                {items
                  .slice()
                  .sort((a, b) => b.window_start.localeCompare(a.window_start))
                  .map((v) => (
                    <tr key={v.id} data-testid="visit-row" data-visit-id={v.id} data-status={v.status}>
                      <td>{time(v.window_start)}</td>
                      <td>{e(v.purpose)}</td>
                      <td>{(v.team ?? []).map((m: any) => `${m.display_name} (${m.organization_name})`).join(", ")}</td>
                      <td>
                        {e(v.status)}
                        {v.overdue ? <span class="badge dl-overdue">{t("overdue")}</span> : null}
                      </td>
                      <td>{v.outcome ?? "—"}</td>
                    </tr>
                  ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Section>
  );
}

function ContactAttempts({ id }: { id: string }) {
  const attempts = useAsync(async () => {
    try {
      return await all(`/v1/households/${id}/contact-attempts`, {}, 200);
    } catch (err) {
      if (!unavailable(err)) throw err;
      return await all("/v1/contact-attempts", { household_id: id }, 200);
    }
  }, [id]);
  return (
    <Section title={t("contact_attempts")} testid="contact-attempts">
      <Loaded state={attempts}>
        {(items: any[]) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <ul class="plain">
              {items.map((a) => (
                <li key={a.id}>
                  {time(a.at)} · {e(a.method)} · {e(a.outcome)}
                  {a.note ? <span class="muted"> · {a.note}</span> : null}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Section>
  );
}

function Notes({ id }: { id: string }) {
  const notes = useAsync(() => all("/v1/notes", { household_id: id }, 200), [id]);
  return (
    <Section title={t("notes")} testid="notes">
      <Loaded state={notes}>
        {(items: any[]) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <ul class="plain">
              {items.map((n) => (
                <li key={n.id}>
                  <span class="muted">
                    {time(n.created_at)} · {n.kind}
                    {n.internal ? ` · ${t("internal")}` : ""}
                  </span>
                  <p class="note">{n.body}</p>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Section>
  );
}

function Thumb({ photo }: { photo: any }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let url: string | null = null;
    imageUrl(photo.thumbnail_url).then(
      (u) => setSrc((url = u)),
      () => setSrc(null),
    );
    return () => url && URL.revokeObjectURL(url);
  }, [photo.id]);
  return src ? (
    <img src={src} alt={photo.caption || t("photos")} width={120} height={Math.round((120 * photo.height) / photo.width) || 90} />
  ) : (
    <span class="thumb-missing" aria-hidden="true" />
  );
}

function Photos({ visits }: { visits: any[] }) {
  const ids = visits.map((v) => v.id).join(",");
  const photos = useAsync(async () => {
    const lists = await Promise.all(visits.map((v) => get(`/v1/visits/${v.id}/photos`, { limit: 100 })));
    return lists.flatMap((l) => l.items as any[]);
  }, [ids]);
  const [reason, setReason] = useState("");
  return (
    <Section title={t("photos")} testid="photos">
      <Field label={t("download_reason")} value={reason} onInput={setReason} testid="photo-reason" />
      <Loaded state={photos}>
        {(items) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <ul class="thumbs">
              {items.map((p) => (
                <li key={p.id} data-testid="photo" data-photo-id={p.id}>
                  <Thumb photo={p} />
                  <div class="muted">{p.caption ?? ""}</div>
                  <Action
                    label={t("download")}
                    disabled={reason.trim().length < 2}
                    run={() => download(p.content_url, reason, `photo-${p.id}.${p.content_type?.split("/")[1] ?? "jpg"}`)}
                  />
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Section>
  );
}

function Ledger({ id }: { id: string }) {
  const ledger = useAsync(async () => {
    try {
      const l = await get(`/v1/households/${id}/ledger`);
      return { ledger: true, items: (l.entries ?? l.items ?? []) as any[], totals: l.totals };
    } catch (err) {
      if (!unavailable(err)) throw err;
      return { ledger: false, items: await all("/v1/supports", { household_id: id }, 200), totals: null };
    }
  }, [id]);
  return (
    <Section title={t("ledger")} testid="ledger">
      <Loaded state={ledger}>
        {({ items, totals }) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <table class="grid">
              {totals ? (
                <caption>
                  {t("total")} {totals.count} · {t("amount")} {totals.amount?.toLocaleString?.() ?? totals.amount}
                </caption>
              ) : null}
              <thead>
                <tr>
                  <th scope="col">{t("resource")}</th>
                  <th scope="col">{t("provider")}</th>
                  <th scope="col">{t("status")}</th>
                  <th scope="col">{t("amount")}</th>
                  <th scope="col">{t("period")}</th>
                </tr>
              </thead>
              <tbody>
                {items.map((s) => (
                  <tr key={s.support_id ?? s.id} data-overlaps={String(!!s.overlaps?.length)}>
                    <td>
                      {s.resource_name ?? s.resource_id}
                      {s.overlaps?.length ? <span class="badge dl-at_risk">{t("overlaps")}</span> : null}
                    </td>
                    <td>{s.provider_name ?? "—"}</td>
                    <td>{e(s.status)}</td>
                    <td>{s.amount ?? "—"}</td>
                    <td>
                      {day(s.period_start)} – {day(s.period_end)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Section>
  );
}

function Cases({ id }: { id: string }) {
  const cases = useAsync(() => all("/v1/cases", { household_id: id }, 100), [id]);
  return (
    <Section title={t("cases")} testid="cases">
      <Loaded state={cases}>
        {(items: any[]) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <ul class="plain">
              {items.map((c) => (
                <li key={c.id}>
                  <strong>{e(c.stage)}</strong> {c.overdue ? <span class="badge dl-overdue">{t("overdue")}</span> : null}
                  <div class="muted">
                    {t("stage_due")}:{" "}
                    {Object.entries(c.due ?? {})
                      .map(([k, v]) => `${e(k)} ${day(v as string | null)}`)
                      .join(" · ")}
                  </div>
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Section>
  );
}

function Duplicates({ id }: { id: string }) {
  const dups = useAsync(() => get(`/v1/households/${id}/duplicates`), [id]);
  return (
    <Section title={t("duplicates")} testid="duplicates">
      <Loaded state={dups}>
        {(d: any) => {
          const items = (d.items ?? d.candidates ?? []) as any[];
          if (!items.length) return <p class="muted">{t("none")}</p>;
          return (
            <ul class="plain">
              {items.map((c) => {
                const other = c.household ?? c;
                const otherId = other.id ?? c.household_id;
                return (
                  <li key={otherId} data-testid="duplicate" data-household-id={otherId}>
                    <a href={`#/households/${otherId}`}>{other.head_name ?? otherId}</a>{" "}
                    <span class="muted">
                      {t("why")}: {(c.reasons ?? c.why ?? []).join?.(", ") ?? String(c.why ?? "")}
                    </span>{" "}
                    <Action
                      label={t("merge_into")}
                      testid="merge"
                      done={t("merged")}
                      run={() => post(`/v1/households/${otherId}/merge`, { into: id })}
                    />
                  </li>
                );
              })}
            </ul>
          );
        }}
      </Loaded>
    </Section>
  );
}

function Consents({ h, onChange }: { h: any; onChange: () => void }) {
  const consents = useAsync(() => all(`/v1/households/${h.id}/consents`, {}, 200), [h.id, h.version]);
  const staff = useStaff();
  const [status, setStatus] = useState("given");
  const [givenBy, setGivenBy] = useState(h.head_name ?? "");
  const [recipient, setRecipient] = useState("all_partners");
  const [purposes, setPurposes] = useState<string[]>(["joint_consultation", "service_linkage"]);
  const [until, setUntil] = useState("");
  const [withdrawReason, setWithdrawReason] = useState("");
  const privateOrgs = new Map<string, string>();
  for (const u of staff.data?.users ?? []) if (u.organization_kind === "private") privateOrgs.set(u.organization_id, u.organization_name);
  return (
    <Section title={t("consents")} testid="consents">
      <Loaded state={consents}>
        {(items: any[]) =>
          items.length === 0 ? (
            <p class="muted">{t("none")}</p>
          ) : (
            <ul class="plain">
              {items.map((c) => (
                <li key={c.id} data-testid="consent-item" data-consent-id={c.id} data-in-force={String(c.in_force)}>
                  <strong>{c.status === "given" ? t("consent_given") : t("consent_refused")}</strong> · {c.given_by} ·{" "}
                  {c.recipient_kind === "all_partners"
                    ? t("all_partners")
                    : privateOrgs.get(c.recipient_organization_id) ?? c.recipient_organization_id}{" "}
                  · {c.purposes.map((p: string) => e(p)).join(", ")} · {day(c.valid_from)} – {day(c.valid_until)}
                  {c.withdrawn_at ? (
                    <span class="badge">
                      {t("withdrawn")} {time(c.withdrawn_at)}
                    </span>
                  ) : c.in_force ? (
                    <span class="badge ok">{t("in_force")}</span>
                  ) : null}
                  {!c.withdrawn_at ? (
                    <div class="row end">
                      <Field label={t("withdraw_reason")} value={withdrawReason} onInput={setWithdrawReason} />
                      <Action
                        label={t("withdraw")}
                        testid="consent-withdraw"
                        disabled={withdrawReason.trim().length < 2}
                        run={async () => {
                          await json("POST", `/v1/households/${h.id}/consents/${c.id}/withdraw`, {
                            body: { reason: withdrawReason },
                          });
                          consents.reload();
                          onChange();
                        }}
                      />
                    </div>
                  ) : null}
                  {c.status === "given" ? <SignedForm consent={c} household={h} onChange={consents.reload} /> : null}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
      <div class="form" data-testid="consent-form">
        <h3>{t("consent_record")}</h3>
        <div class="row">
          <Select
            label={t("status")}
            value={status}
            onChange={setStatus}
            options={[
              ["given", t("consent_given")],
              ["refused", t("consent_refused")],
            ]}
            testid="consent-status"
          />
          <Field label={t("given_by")} value={givenBy} onInput={setGivenBy} testid="consent-given-by" />
          <Select
            label={t("recipient")}
            value={recipient}
            onChange={setRecipient}
            options={[["all_partners", t("all_partners")], ...[...privateOrgs].map(([id, name]): [string, string] => [id, name])]}
            testid="consent-recipient"
          />
          <Field label={t("valid_until")} type="date" value={until} onInput={setUntil} testid="consent-until" />
        </div>
        <Checks
          legend={t("purposes")}
          options={PURPOSES.map((p): [string, string] => [p, e(p)])}
          value={purposes}
          onChange={setPurposes}
          testid="consent-purposes"
        />
        <Action
          primary
          label={t("consent_record")}
          testid="consent-submit"
          done={t("done")}
          run={async () => {
            await post(`/v1/households/${h.id}/consents`, {
              status,
              given_by: givenBy,
              recipient_kind: recipient === "all_partners" ? "all_partners" : "organization",
              recipient_organization_id: recipient === "all_partners" ? null : recipient,
              purposes,
              valid_until: until ? new Date(`${until}T23:59:59+09:00`).toISOString() : null,
            });
            consents.reload();
            onChange();
          }}
        />
      </div>
    </Section>
  );
}

/**
 * The signed form, photographed or scanned (JPEG, PNG, HEIC, WebP or PDF), goes up as the consent's own form:
 * `PUT /v1/households/{id}/consents/{consent_id}/form` with the file as the body (the service reads the type
 * from the bytes and strips a photo's EXIF/GPS). One form per consent; downloading it needs a reason.
 */
function SignedForm({ consent, household, onChange }: { consent: any; household: any; onChange: () => void }) {
  const [state, setState] = useState<"" | "uploading" | "uploaded">(consent.form ? "uploaded" : "");
  const [error, setError] = useState<unknown>(null);
  const [reason, setReason] = useState("");
  const url = `/v1/households/${household.id}/consents/${consent.id}/form`;
  if (consent.form) {
    const f = consent.form;
    const ext = f.content_type === "application/pdf" ? "pdf" : (f.content_type.split("/")[1] ?? "jpg");
    return (
      <div class="form" data-testid="signed-form" data-state="uploaded" data-sha256={f.sha256}>
        <span class="ok" role="status">
          {t("signed_form_attached")} · {f.content_type} · {Math.ceil(f.size / 1024)} KiB · {time(f.uploaded_at)}
        </span>
        <div class="row end">
          <Field label={t("download_reason")} value={reason} onInput={setReason} testid="signed-form-reason" />
          <Action
            label={t("download")}
            testid="signed-form-download"
            disabled={reason.trim().length < 2}
            run={() => download(url, reason, `consent-${consent.id}.${ext}`)}
          />
        </div>
      </div>
    );
  }
  return (
    <div class="form" data-testid="signed-form" data-state={state}>
      <label class="field">
        <span>{t("signed_form")}</span>
        <input
          type="file"
          accept="image/jpeg,image/png,image/webp,image/heic,application/pdf"
          data-testid="signed-form-file"
          onChange={async (ev) => {
            const file = (ev.target as HTMLInputElement).files?.[0];
            if (!file) return;
            setError(null);
            setState("uploading");
            try {
              await json("PUT", url, { raw: file });
              setState("uploaded");
              onChange();
            } catch (err) {
              setState("");
              setError(err);
            }
          }}
        />
      </label>
      {state === "uploading" ? <progress aria-label={t("uploading")} /> : null}
      <ErrorText error={error} />
    </div>
  );
}
