import { useEffect, useMemo, useState } from "preact/hooks";
import { login, LoggedOut } from "../shared/api";
import { db, getMeta, uuid, type PhotoRow, type ResultRow } from "../shared/db";
import { formatTime, label, t } from "../shared/i18n";
import { evaluate, type Band, type Item } from "../shared/rules";
import * as store from "../shared/store";
import { conflictFields, openConflicts, resolveConflict } from "../shared/sync";
import { queuePhoto, uploadQueued } from "../shared/uploads";
import { boot, getStatus, onStatus, start, syncNow, type Status } from "./controller";
import { groupVisits, isOverdue } from "./visits";

/** Re-run `load` whenever the local store changes. */
function useStore<T>(load: () => Promise<T>, deps: unknown[]): T | undefined {
  const [value, setValue] = useState<T | undefined>(undefined);
  useEffect(() => {
    let alive = true;
    const run = () =>
      load().then(
        (v) => alive && setValue(v),
        () => undefined,
      );
    void run();
    const off = store.subscribe(() => void run());
    return () => {
      alive = false;
      off();
    };
  }, deps);
  return value;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = () => setHash(location.hash);
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return hash;
}

export function App() {
  const [session, setSession] = useState<"loading" | "in" | "out">("loading");
  const [wiped, setWiped] = useState<string | null>(null);
  useEffect(() => {
    start({
      onWiped: (reason) => {
        setWiped(reason);
        setSession("out");
      },
      onLoggedOut: () => setSession("out"),
    });
    void (async () => {
      const tokens = await getMeta("tokens");
      if (tokens) {
        setSession("in");
        await boot();
        void syncNow();
      } else setSession("out");
    })();
  }, []);
  if (session === "loading") return <main aria-busy="true" />;
  if (session === "out")
    return (
      <Login
        wiped={wiped}
        onIn={async () => {
          setWiped(null);
          setSession("in");
          await boot();
          await syncNow();
        }}
      />
    );
  return <Shell />;
}

function Login({ wiped, onIn }: { wiped: string | null; onIn: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await login(username, password);
      onIn();
    } catch (err) {
      setError(navigator.onLine === false ? t("offline_login") : err instanceof TypeError ? t("offline_login") : `${t("login_failed")}: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <header>
        <h1>{t("app_title")}</h1>
      </header>
      <main>
        {wiped !== null && (
          <div class="notice" role="alert" data-testid="wiped-notice">
            {t("wiped")} {t("wiped_reason")}: {wiped}
          </div>
        )}
        <form onSubmit={submit}>
          <label for="username">{t("username")}</label>
          <input id="username" type="text" autocomplete="username" value={username}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
          <label for="password">{t("password")}</label>
          <input id="password" type="password" autocomplete="current-password" value={password}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
          {error && <p class="error" role="alert" data-testid="login-error">{error}</p>}
          <p>
            <button class="primary" type="submit" disabled={busy} data-testid="login-submit">{t("login")}</button>
          </p>
        </form>
      </main>
    </>
  );
}

function SyncStatus() {
  const [s, setS] = useState<Status>(getStatus());
  useEffect(() => onStatus(setS), []);
  return (
    <>
      <span class="status" role="status" data-testid="sync-status" data-pending={String(s.pending)}
        data-state={s.state} data-last-sync={s.lastSync}>
        {t(`state_${s.state}`)}{s.state === "error" && s.error ? ` (${s.error})` : ""} · {t("pending")} {s.pending} · {t("last_sync")}{" "}
        {s.lastSync ? formatTime(s.lastSync) : t("never")}
      </span>
      <button type="button" data-testid="sync-now" onClick={() => void syncNow()}>{t("sync_now")}</button>
    </>
  );
}

function Shell() {
  const hash = useHash();
  const m = /^#\/visits\/([^/?]+)/.exec(hash);
  return (
    <>
      <header>
        <h1><a href="#/" style="color:#fff;text-decoration:none">{t("app_title")}</a></h1>
        <SyncStatus />
      </header>
      <main>
        <Conflicts />
        {m ? <VisitScreen id={decodeURIComponent(m[1])} /> : <VisitList />}
      </main>
    </>
  );
}

function Conflicts() {
  const list = useStore(openConflicts, []);
  const rejected = useStore(
    () => db.results.where("status").equals("rejected").reverse().limit(5).toArray(),
    [],
  );
  if (!list?.length && !rejected?.length) return null;
  return (
    <section aria-label={t("conflicts")}>
      {list && list.length > 0 && <h2>{t("conflicts")}</h2>}
      {list?.map((r: ResultRow) => (
        <div class="card" data-testid="conflict" data-mutation-id={r.mutation_id} data-entity={r.entity} key={r.mutation_id}>
          <p>{t("conflict_help")}</p>
          {conflictFields(r).map((f) => (
            <p key={f.field}>
              <strong>{f.field}</strong>
              <br />
              {t("conflict_server")}: <span data-testid="conflict-server">{show(f.server)}</span>
              <br />
              {t("conflict_mine")}: <span data-testid="conflict-mine">{show(f.mine)}</span>
            </p>
          ))}
          <div class="row">
            <button type="button" data-testid="conflict-keep-server" onClick={() => void resolveConflict(r, "server")}>
              {t("keep_server")}
            </button>
            <button type="button" data-testid="conflict-keep-mine" onClick={() => void resolveConflict(r, "mine")}>
              {t("keep_mine")}
            </button>
          </div>
        </div>
      ))}
      {rejected && rejected.length > 0 && (
        <details>
          <summary>{t("rejected")} ({rejected.length})</summary>
          <ul>
            {rejected.map((r) => (
              <li key={r.mutation_id} data-testid="rejected">{r.entity} {r.error?.title ?? r.error?.detail ?? ""}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}

function show(v: unknown): string {
  if (v === true) return t("yes");
  if (v === false) return t("no");
  if (v === null || v === undefined) return "—";
  if (Array.isArray(v)) return v.join(", ");
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

function VisitList() {
  const data = useStore(async () => {
    const visits = await store.all("visit");
    const households = new Map((await store.all("household")).map((h) => [h.id, h]));
    return { visits, households };
  }, []);
  if (!data) return <div data-testid="visit-list" aria-busy="true" />;
  const groups = groupVisits(data.visits, new Date());
  const section = (title: string, list: Record<string, any>[]) =>
    list.length > 0 && (
      <section>
        <h2>{title}</h2>
        <ul class="visits">
          {list.map((v) => (
            <VisitItem key={v.id} visit={v} household={v.view === "restricted" ? null : data.households.get(v.household_id)} />
          ))}
        </ul>
      </section>
    );
  return (
    <div data-testid="visit-list">
      {section(t("today"), groups.today)}
      {section(t("this_week"), groups.week)}
      {section(t("later"), groups.later)}
      {data.visits.length === 0 && <p class="muted">{t("no_visits")}</p>}
    </div>
  );
}

function teamText(team: any[] | undefined): string {
  return (team ?? [])
    .map((m) => `${m.display_name ?? ""}${m.organization_name ? ` (${m.organization_name})` : ""}`)
    .join(", ");
}

function VisitItem({ visit, household }: { visit: Record<string, any>; household: Record<string, any> | null | undefined }) {
  const overdue = isOverdue(visit, new Date());
  return (
    <li data-testid="visit-item" data-visit-id={visit.id} data-overdue={String(overdue)}>
      <a href={`#/visits/${visit.id}`}>
        {overdue && <span class="badge overdue">{t("overdue")}</span>}
        <span class="badge">{t(`status.${visit.status}`)}</span>
        <span class="badge">{t(`purpose.${visit.purpose}`)}</span>
        <div>{formatTime(visit.window_start)} – {formatTime(visit.window_end)}</div>
        <div class="muted">{t("dong")} {visit.dong_code ?? ""} · {t("team")}: {teamText(visit.team)}</div>
        {household ? <div class="muted">{household.head_name ?? ""} {household.address ?? ""}</div> : null}
      </a>
    </li>
  );
}

const TRANSITIONS: Record<string, string[]> = {
  scheduled: ["in_progress", "no_contact", "refused"],
  in_progress: ["completed", "no_contact", "refused"],
};

function VisitScreen({ id }: { id: string }) {
  const visit = useStore(() => store.get("visit", id), [id]);
  const [outcome, setOutcome] = useState("");
  if (visit === undefined) return <p aria-busy="true" />;
  if (visit === null) return <p>{t("not_found")} <a href="#/">{t("back")}</a></p>;
  const restricted = visit.view === "restricted";
  const allowed = TRANSITIONS[visit.status] ?? [];
  const go = (to: string) => void store.transitionVisit(id, to, to === "in_progress" ? undefined : outcome).then(() => syncNow());
  return (
    <div>
      <p><a href="#/">← {t("back")}</a></p>
      <section class="card">
        <h2>{t(`purpose.${visit.purpose}`)}</h2>
        <p>
          {t("status")}:{" "}
          <strong data-testid="visit-status" data-status={visit.status}>{t(`status.${visit.status}`)}</strong>
          {isOverdue(visit, new Date()) && <span class="badge overdue">{t("overdue")}</span>}
        </p>
        <p class="muted">{t("window")}: {formatTime(visit.window_start)} – {formatTime(visit.window_end)} · {t("dong")} {visit.dong_code}</p>
        <p class="muted">{t("team")}: {teamText(visit.team)}</p>
        {(visit.checked_in_device_at || visit.checked_in_at) && (
          <p class="muted">{t("checked_in_at")}: {formatTime(visit.checked_in_device_at ?? visit.checked_in_at)}</p>
        )}
        {(visit.checked_out_device_at || visit.checked_out_at) && (
          <p class="muted">{t("checked_out_at")}: {formatTime(visit.checked_out_device_at ?? visit.checked_out_at)}</p>
        )}
        {allowed.length > 0 && (
          <>
            <label for="visit-outcome">{t("outcome")}</label>
            <textarea id="visit-outcome" data-testid="visit-outcome" value={outcome}
              onInput={(e) => setOutcome((e.target as HTMLTextAreaElement).value)} />
            <div class="row">
              {allowed.includes("in_progress") && (
                <button class="primary" type="button" data-testid="check-in" onClick={() => go("in_progress")}>{t("check_in")}</button>
              )}
              {allowed.includes("completed") && (
                <button class="primary" type="button" data-testid="check-out" onClick={() => go("completed")}>{t("check_out")}</button>
              )}
              {allowed.map((to) => (
                <button key={to} type="button" data-testid={`transition-${to}`} onClick={() => go(to)}>{t(`status.${to}`)}</button>
              ))}
            </div>
          </>
        )}
        {visit.outcome && <p>{t("outcome")}: {visit.outcome}</p>}
      </section>
      {restricted ? (
        <section class="card" data-testid="household-summary">
          <p data-testid="household-restricted">{t("restricted")}</p>
        </section>
      ) : visit.household_id ? (
        <Household id={visit.household_id} />
      ) : null}
      <section>
        <h2>{t("checklists")}</h2>
        {(visit.checklists ?? []).map((c: { key: string; version: number }) => (
          <Checklist key={`${c.key}:${c.version}`} visitId={id} templateKey={c.key} templateVersion={c.version} />
        ))}
      </section>
      <Notes visitId={id} />
      <Photos visitId={id} />
    </div>
  );
}

function Household({ id }: { id: string }) {
  const h = useStore(() => store.get("household", id), [id]);
  const [editing, setEditing] = useState(false);
  const [form, setForm] = useState<Record<string, string>>({});
  if (!h) return null;
  const save = async (e: Event) => {
    e.preventDefault();
    const changed = Object.fromEntries(Object.entries(form).filter(([k, v]) => v !== (h[k] ?? "")));
    if (Object.keys(changed).length) await store.patchHousehold(id, changed);
    setEditing(false);
    void syncNow();
  };
  return (
    <section class="card" data-testid="household-summary">
      <h2>{t("household")}</h2>
      {h.head_name && <p>{h.head_name}</p>}
      {h.address && <p class="muted">{h.address} {h.address_detail ?? ""}</p>}
      {h.contact_phone && <p class="muted">{t("contact_phone")}: {h.contact_phone}</p>}
      {h.living_situation && <p class="muted">{t("living_situation")}: {h.living_situation}</p>}
      {h.risk_level && <p class="muted">{t("risk")}: {h.risk_level}</p>}
      {Array.isArray(h.members) && h.members.length > 0 && (
        <p class="muted">{t("members")}: {h.members.map((m: any) => `${m.name ?? ""} ${m.birth_year ?? ""}`).join(", ")}</p>
      )}
      {!editing ? (
        <button type="button" data-testid="household-edit" onClick={() => {
          setForm({ contact_phone: h.contact_phone ?? "", living_situation: h.living_situation ?? "", address_detail: h.address_detail ?? "" });
          setEditing(true);
        }}>{t("household_edit")}</button>
      ) : (
        <form onSubmit={save}>
          {(["contact_phone", "address_detail"] as const).map((f) => (
            <label key={f}>{t(f)}
              <input type={f === "contact_phone" ? "tel" : "text"} name={f} value={form[f]}
                onInput={(e) => {
                  const value = (e.target as HTMLInputElement).value;
                  setForm((old) => ({ ...old, [f]: value }));
                }} />
            </label>
          ))}
          <label>{t("living_situation")}
            <textarea name="living_situation" value={form.living_situation}
              onInput={(e) => {
                const value = (e.target as HTMLTextAreaElement).value;
                setForm((old) => ({ ...old, living_situation: value }));
              }} />
          </label>
          <button class="primary" type="submit" data-testid="household-save">{t("save")}</button>
        </form>
      )}
    </section>
  );
}

function Checklist({ visitId, templateKey, templateVersion }: { visitId: string; templateKey: string; templateVersion: number }) {
  const data = useStore(async () => ({
    tpl: await store.template(templateKey, templateVersion),
    response: await store.responseFor(visitId, templateKey),
  }), [visitId, templateKey, templateVersion]);
  const [draft, setDraft] = useState<Record<string, unknown>>({});
  const [responseId] = useState(uuid());
  const [saved, setSaved] = useState(false);
  const stored = useMemo(() => {
    const answers = data?.response?.answers ?? {};
    return Object.fromEntries(Object.entries(answers).map(([k, v]: [string, any]) => [k, v?.value]));
  }, [data?.response]);
  if (!data?.tpl) return null;
  const items = data.tpl.items as Item[];
  const values = { ...stored, ...draft };
  const ev = evaluate(items, data.tpl.bands as Band[], values);
  const setValue = (key: string, v: unknown) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [key]: v })); // functional: two quick answers must not lose one
  };
  const save = async () => {
    const changed = Object.fromEntries(Object.entries(draft).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(stored[k])));
    const complete = ev.missing_required.length === 0;
    if (Object.keys(changed).length || (complete && !data.response?.completed)) {
      await store.answerChecklist(
        data.response?.id ?? responseId, visitId, templateKey, templateVersion, changed, complete ? true : undefined,
      );
    }
    setDraft({});
    setSaved(true);
    void syncNow();
  };
  return (
    <div class="card" data-testid="checklist" data-template-key={templateKey}>
      <h2>{label(data.tpl.title)}</h2>
      {items.filter((i) => ev.visible[i.key]).map((item) => (
        <ItemInput key={item.key} item={item} value={values[item.key]} onChange={(v) => setValue(item.key, v)} />
      ))}
      <p>
        {t("score")}: <strong data-testid="checklist-score">{ev.score ?? "—"}</strong> · {t("band")}:{" "}
        <strong data-testid="checklist-band" data-band={ev.band?.band ?? ""}>{ev.band ? label(ev.band.label) : "—"}</strong>
      </p>
      {ev.missing_required.length > 0 && (
        <p class="muted" data-testid="checklist-missing">
          {t("missing")}: {ev.missing_required.map((k) => label(items.find((i) => i.key === k)?.label)).join(", ")}
        </p>
      )}
      <button class="primary" type="button" data-testid="checklist-save" onClick={() => void save()}>{t("save")}</button>
      {saved && <span class="muted" role="status"> {t("saved")}</span>}
    </div>
  );
}

function ItemInput({ item, value, onChange }: { item: Item; value: unknown; onChange: (v: unknown) => void }) {
  const text = `${label(item.label)}${item.required ? ` (${t("required")})` : ""}`;
  const id = `item-${item.key}`;
  const unit = item.unit ? ` ${label(item.unit)}` : "";
  let input;
  switch (item.type) {
    case "boolean":
      input = (
        <label><input type="checkbox" checked={value === true}
          onChange={(e) => onChange((e.target as HTMLInputElement).checked)} /> {text}</label>
      );
      return <div data-testid={id}>{input}</div>;
    case "single_choice":
      return (
        <fieldset data-testid={id}>
          <legend>{text}</legend>
          {(item.options ?? []).map((o) => (
            <label key={o.value}><input type="radio" name={id} value={o.value} checked={value === o.value}
              onChange={() => onChange(o.value)} /> {label(o.label) || o.value}</label>
          ))}
        </fieldset>
      );
    case "multi_choice": {
      const chosen = Array.isArray(value) ? (value as string[]) : [];
      return (
        <fieldset data-testid={id}>
          <legend>{text}</legend>
          {(item.options ?? []).map((o) => (
            <label key={o.value}><input type="checkbox" value={o.value} checked={chosen.includes(o.value)}
              onChange={(e) => {
                const on = (e.target as HTMLInputElement).checked;
                onChange(on ? [...chosen, o.value] : chosen.filter((c) => c !== o.value));
              }} /> {label(o.label) || o.value}</label>
          ))}
        </fieldset>
      );
    }
    case "number":
      return (
        <div data-testid={id}><label>{text}{unit}
          <input type="number" min={item.min ?? undefined} max={item.max ?? undefined} value={value === undefined || value === null ? "" : String(value)}
            onInput={(e) => {
              const raw = (e.target as HTMLInputElement).value;
              onChange(raw === "" ? null : Number(raw));
            }} /></label></div>
      );
    case "date":
    case "text":
      return (
        <div data-testid={id}><label>{text}
          <input type={item.type === "date" ? "date" : "text"} value={(value as string) ?? ""}
            onInput={(e) => onChange((e.target as HTMLInputElement).value || null)} /></label></div>
      );
    default:
      return <div data-testid={id} class="muted">{text}</div>;
  }
}

function Notes({ visitId }: { visitId: string }) {
  const notes = useStore(async () => (await store.all("note")).filter((n) => n.visit_id === visitId), [visitId]);
  const [body, setBody] = useState("");
  const [internal, setInternal] = useState(false);
  const add = async () => {
    if (!body.trim()) return;
    await store.addNote(visitId, body.trim(), internal);
    setBody("");
    setInternal(false);
    void syncNow();
  };
  return (
    <section class="card">
      <h2>{t("notes")}</h2>
      <ul>
        {(notes ?? []).map((n) => (
          <li key={n.id} data-testid="note-item" data-note-id={n.id}>
            {n.internal && <span class="badge">{t("internal")}</span>}{n.body}
            {n.created_at && <span class="muted"> · {formatTime(n.created_at)}</span>}
          </li>
        ))}
      </ul>
      <label for="note-body">{t("note_body")}</label>
      <textarea id="note-body" data-testid="note-body" value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
      <label><input type="checkbox" data-testid="note-internal" checked={internal}
        onChange={(e) => setInternal((e.target as HTMLInputElement).checked)} /> {t("note_internal")}</label>
      <button type="button" data-testid="note-add" onClick={() => void add()}>{t("note_add")}</button>
    </section>
  );
}

function Photos({ visitId }: { visitId: string }) {
  const data = useStore(async () => ({
    local: await db.photos.where("visit_id").equals(visitId).toArray(),
    server: (await store.all("photo")).filter((p) => p.visit_id === visitId),
  }), [visitId]);
  const local = data?.local ?? [];
  const localIds = new Set(local.map((p) => p.id));
  const take = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    for (const file of Array.from(input.files ?? [])) await queuePhoto(visitId, file);
    input.value = "";
    if (navigator.onLine !== false) void uploadQueued().catch(() => undefined).then(() => syncNow());
  };
  return (
    <section class="card">
      <h2>{t("photos")}</h2>
      <label>{t("photo_take")}
        <input type="file" accept="image/*" capture="environment" data-testid="photo-input" onChange={(e) => void take(e)} />
      </label>
      <ul>
        {local.map((p: PhotoRow) => (
          <li key={p.id} data-testid="photo-item" data-photo-id={p.id} data-state={p.state} data-progress={String(p.progress)}>
            {p.filename} · {t(`photo_${p.state}`)} {p.state === "uploading" ? `${p.progress}%` : ""}
          </li>
        ))}
        {(data?.server ?? []).filter((p) => !localIds.has(p.id)).map((p) => (
          <li key={p.id} data-testid="photo-item" data-photo-id={p.id} data-state="uploaded" data-progress="100">
            {p.caption ?? p.item_key ?? p.id.slice(0, 8)} · {t("photo_uploaded")}
          </li>
        ))}
      </ul>
    </section>
  );
}

export { LoggedOut };
