// Importing a crisis list (CSV or XLSX): upload, watch progress, download the per-row results.
import { useState } from "preact/hooks";
import { ApiError, call, download, get } from "./api";
import { e, t } from "./i18n";
import { Action, ErrorText, Section, Select, usePolling } from "./ui";

export function Imports() {
  const [file, setFile] = useState<File | null>(null);
  const [source, setSource] = useState("bigdata");
  const [job, setJob] = useState<any>(null);
  const [error, setError] = useState<unknown>(null);
  const running = job && (job.status === "queued" || job.status === "running");
  usePolling(
    () => {
      if (running) get(`/v1/integrations/imports/${job.id}`).then(setJob, setError);
    },
    1000,
    [job?.id, running],
  );
  return (
    <>
      <h1 class="screen-title">{t("imports_title")}</h1>
      <Section title={t("imports_title")} testid="imports">
        <label class="field">
          <span>{t("file")}</span>
          <input
            type="file"
            accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            data-testid="import-file"
            onChange={(ev) => setFile((ev.target as HTMLInputElement).files?.[0] ?? null)}
          />
        </label>
        <Select
          label={t("import_source")}
          value={source}
          onChange={setSource}
          options={["bigdata", "lonely_death_screening", "agency_referral", "resident_report", "honorary_official", "benefit_rejected"].map(
            (v): [string, string] => [v, e(v)],
          )}
          testid="import-source"
        />
        <Action
          primary
          label={t("upload")}
          testid="import-upload"
          disabled={!file}
          run={async () => {
            setError(null);
            const form = new FormData();
            form.append("file", file!, file!.name);
            form.append("source", source);
            const r = await call("POST", "/v1/integrations/imports", { form });
            const body = await r.json().catch(() => null);
            if (!r.ok) throw new ApiError(r.status, body);
            setJob(body);
          }}
        />
        <ErrorText error={error} />
        {job ? (
          <div data-testid="import-job" data-status={job.status}>
            <p>
              {t("status")}: <strong>{e(job.status)}</strong>
            </p>
            <progress
              max={1}
              value={job.progress ?? (job.status === "done" ? 1 : 0)}
              aria-label={t("progress")}
            />
            <dl class="facts">
              <dt>{t("rows")}</dt>
              <dd>
                {job.rows ?? "—"}
                {job.rows_total ? ` / ${job.rows_total}` : ""}
              </dd>
              <dt>{t("applied")}</dt>
              <dd>{job.applied ?? 0}</dd>
              <dt>{t("unchanged")}</dt>
              <dd>{job.unchanged ?? 0}</dd>
              <dt>{t("rejected")}</dt>
              <dd>{job.rejected ?? 0}</dd>
            </dl>
            {job.error ? <p class="error">{job.error}</p> : null}
            {job.status === "done" || job.status === "failed" ? (
              <div class="row">
                <Action
                  label={`${t("results")} (CSV)`}
                  run={() => download(job.results_url ?? `/v1/integrations/imports/${job.id}/results`, "import results", `import-${job.id}.csv`, "text/csv")}
                />
                <Action
                  label={`${t("results")} (XLSX)`}
                  run={() =>
                    download(
                      job.results_url ?? `/v1/integrations/imports/${job.id}/results`,
                      "import results",
                      `import-${job.id}.xlsx`,
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    )
                  }
                />
              </div>
            ) : null}
          </div>
        ) : null}
      </Section>
    </>
  );
}
