// Small shared pieces of the desk's screens: loading state, errors, form fields, the bar chart.
import type { ComponentChildren } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, unavailable } from "./api";
import { t } from "./i18n";
import { lang } from "../shared/i18n";

export type Async<T> = { data: T | undefined; error: unknown; loading: boolean; reload: () => void };

/** Runs `load` now and whenever `deps` change (and on reload()); a slower earlier answer never wins. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => mine === seq.current && setState({ data, error: null, loading: false }),
      (error) => mine === seq.current && setState({ data: undefined, error, loading: false }),
    );
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** Calls `fn` every `ms` while the screen is shown and the tab visible. */
export function usePolling(fn: () => void, ms: number, deps: unknown[] = []): void {
  useEffect(() => {
    const id = setInterval(() => {
      if (document.visibilityState === "visible") fn();
    }, ms);
    return () => clearInterval(id);
  }, deps);
}

export function errorText(error: unknown): string {
  if (unavailable(error)) return t("unavailable");
  if (error instanceof ApiError) {
    const fields = error.fields;
    return fields.length ? `${error.message} (${fields.join("; ")})` : error.message;
  }
  return String((error as Error)?.message ?? error);
}

export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  const missing = unavailable(error);
  return (
    <p class={missing ? "notice" : "error"} role="alert" data-testid={missing ? "unavailable" : "error"}>
      {errorText(error)}
    </p>
  );
}

/** Shows the loading state or the error of `state`, else renders `children(data)`. */
export function Loaded<T>({ state, children }: { state: Async<T>; children: (data: T) => ComponentChildren }) {
  if (state.error) return <ErrorText error={state.error} />;
  if (state.data === undefined) return <p class="muted" aria-busy="true">{t("loading")}</p>;
  return <>{children(state.data)}</>;
}

/** A button whose action is async: disabled while it runs, its error shown beside it. */
export function Action({
  label,
  run,
  testid,
  primary,
  disabled,
  done,
}: {
  label: string;
  run: () => Promise<unknown>;
  testid?: string;
  primary?: boolean;
  disabled?: boolean;
  done?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [ok, setOk] = useState(false);
  return (
    <span class="action">
      <button
        type="button"
        class={primary ? "primary" : ""}
        data-testid={testid}
        disabled={busy || disabled}
        onClick={async () => {
          setBusy(true);
          setError(null);
          setOk(false);
          try {
            await run();
            setOk(true);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        {label}
      </button>
      {ok && done ? (
        <span class="ok" role="status">
          {done}
        </span>
      ) : null}
      <ErrorText error={error} />
    </span>
  );
}

let fieldSeq = 0;
export function useId(prefix = "f"): string {
  const ref = useRef<string>();
  ref.current ??= `${prefix}-${++fieldSeq}`;
  return ref.current;
}

export function Field({
  label,
  value,
  onInput,
  type = "text",
  testid,
  required,
  placeholder,
}: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: string;
  testid?: string;
  required?: boolean;
  placeholder?: string;
}) {
  const id = useId();
  return (
    <label for={id} class="field">
      <span>{label}</span>
      {type === "textarea" ? (
        <textarea id={id} value={value} required={required} data-testid={testid} onInput={(ev) => onInput((ev.target as HTMLTextAreaElement).value)} />
      ) : (
        <input
          id={id}
          type={type}
          value={value}
          required={required}
          placeholder={placeholder}
          data-testid={testid}
          onInput={(ev) => onInput((ev.target as HTMLInputElement).value)}
        />
      )}
    </label>
  );
}

export function Select({
  label,
  value,
  onChange,
  options,
  testid,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: [string, string][];
  testid?: string;
}) {
  const id = useId();
  return (
    <label for={id} class="field">
      <span>{label}</span>
      <select id={id} value={value} data-testid={testid} onChange={(ev) => onChange((ev.target as HTMLSelectElement).value)}>
        {options.map(([v, l]) => (
          <option key={v} value={v}>
            {l}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Checks({
  legend,
  options,
  value,
  onChange,
  testid,
}: {
  legend: string;
  options: [string, string][];
  value: string[];
  onChange: (v: string[]) => void;
  testid?: string;
}) {
  return (
    <fieldset class="checks" data-testid={testid}>
      <legend>{legend}</legend>
      {options.map(([v, l]) => (
        <label key={v}>
          <input
            type="checkbox"
            value={v}
            checked={value.includes(v)}
            onChange={(ev) => {
              const on = (ev.target as HTMLInputElement).checked;
              onChange(on ? [...value, v] : value.filter((x) => x !== v));
            }}
          />{" "}
          {l}
        </label>
      ))}
    </fieldset>
  );
}

export function Section({ title, children, testid }: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <section class="card" data-testid={testid} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

export function time(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso).toLocaleString(lang === "ko" ? "ko-KR" : "en-GB", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Seoul",
  });
}

export function day(iso: string | null | undefined): string {
  if (!iso) return "—";
  return new Date(iso.length === 10 ? `${iso}T00:00:00+09:00` : iso).toLocaleDateString(
    lang === "ko" ? "ko-KR" : "en-GB",
    { year: "numeric", month: "short", day: "numeric", timeZone: "Asia/Seoul" },
  );
}

export type Series = { key: string; label: string; color: string };

/**
 * A grouped bar chart in SVG (no library: a few rectangles), with the same figures in a table for screen readers
 * and for reading exact values.
 */
export function BarChart({
  title,
  rows,
  series,
  testid,
}: {
  title: string;
  rows: { label: string; values: Record<string, number> }[];
  series: Series[];
  testid?: string;
}) {
  const max = Math.max(1, ...rows.flatMap((r) => series.map((s) => r.values[s.key] ?? 0)));
  const barW = 12;
  const groupW = series.length * barW + 16;
  const h = 160;
  const width = Math.max(320, rows.length * groupW + 40);
  return (
    <figure class="chart" data-testid={testid}>
      <figcaption>{title}</figcaption>
      <div class="legend" aria-hidden="true">
        {series.map((s) => (
          <span key={s.key}>
            <i style={{ background: s.color }} /> {s.label}
          </span>
        ))}
      </div>
      <div class="chart-scroll">
        <svg width={width} height={h + 40} role="img" aria-label={title}>
          {rows.map((r, i) =>
            series.map((s, j) => {
              const v = r.values[s.key] ?? 0;
              const bh = Math.round((v / max) * h);
              return (
                <rect
                  key={`${i}-${s.key}`}
                  x={30 + i * groupW + j * barW}
                  y={h - bh + 10}
                  width={barW - 2}
                  height={bh}
                  fill={s.color}
                >
                  <title>{`${r.label} · ${s.label}: ${v}`}</title>
                </rect>
              );
            }),
          )}
          {rows.map((r, i) => (
            <text key={r.label} x={30 + i * groupW} y={h + 28} font-size="11" fill="#1d1d1f">
              {r.label.slice(0, 10)}
            </text>
          ))}
          <line x1="28" x2={width} y1={h + 10} y2={h + 10} stroke="#555" />
          <text x="0" y="18" font-size="11" fill="#1d1d1f">
            {max}
          </text>
        </svg>
      </div>
      <table class="figures">
        <thead>
          <tr>
            <th scope="col">{title}</th>
            {series.map((s) => (
              <th key={s.key} scope="col">
                {s.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.label} data-row={r.label}>
              <th scope="row">{r.label}</th>
              {series.map((s) => (
                <td key={s.key} data-key={s.key}>
                  {r.values[s.key] ?? 0}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </figure>
  );
}

/** The campaign a screen opens on: the active one running today, else the next to start, else the latest. */
export function currentCampaign(items: any[]): any | undefined {
  const today = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Seoul" }).format(new Date());
  const active = items.filter((c) => c.active && c.ends_on >= today).sort((a, b) => a.starts_on.localeCompare(b.starts_on));
  return active[0] ?? items.slice().sort((a, b) => b.ends_on.localeCompare(a.ends_on))[0];
}
