// Importing a crisis list (CSV or XLSX): upload, watch progress, download the per-row results.
import { useState } from "preact/hooks";
import { ApiError, call, download, get } from "./api";
import { e, t } from "./i18n";
import { Action, ErrorText, Section, usePolling } from "./ui";

export function Imports() {
  const [file, setFile] = useState<File | null>(null);
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
        <Action
          primary
          label={t("upload")}
          testid="import-upload"
          disabled={!file}
          run={async () => {
            setError(null);
            const form = new FormData();
            form.append("file", file!, file!.name);
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
              max={job.rows || 1}
              value={(job.applied ?? 0) + (job.unchanged ?? 0) + (job.rejected ?? 0)}
              aria-label={t("rows")}
            />
            <dl class="facts">
              <dt>{t("rows")}</dt>
              <dd>{job.rows ?? "—"}</dd>
              <dt>{t("applied")}</dt>
              <dd>{job.applied ?? 0}</dd>
              <dt>{t("unchanged")}</dt>
              <dd>{job.unchanged ?? 0}</dd>
              <dt>{t("rejected")}</dt>
              <dd>{job.rejected ?? 0}</dd>
            </dl>
            {job.status === "done" || job.status === "failed" ? (
              <div class="row">
                <Action
                  label={`${t("results")} (CSV)`}
                  run={() => download(`/v1/integrations/imports/${job.id}/results`, "import results", `import-${job.id}.csv`, "text/csv")}
                />
                <Action
                  label={`${t("results")} (XLSX)`}
                  run={() =>
                    download(
                      `/v1/integrations/imports/${job.id}/results`,
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
