// A state machine's versions and aliases (docs/rest-api.md): the published versions newest first, one page at a
// time (the cursor is the URL's `versionsPage`), Publish version, and the aliases with their routing.
import { useState } from "preact/hooks";
import { StateMachine, StateMachineAlias, StateMachineVersion, api, encodeArn, query } from "./api";
import { href } from "./router";
import { ErrorBanner, formatTime, useLoad } from "./ui";

const PAGE_SIZE = "50";
const MAX_DESCRIPTION = 256; // the server's bound on a version description

// A version ARN ends in ":N" (qualified_arns.h); the number is what an operator reads in a route.
function versionNumber(versionArn: string): string {
  return versionArn.slice(versionArn.lastIndexOf(":") + 1);
}

export function VersionsSection(props: { sm: StateMachine; selected?: string; versionsPage?: string }) {
  const { sm, versionsPage } = props;
  const base = `/state-machines/${encodeArn(sm.arn)}`;
  const versions = useLoad(
    () => api<{ versions: StateMachineVersion[]; nextPageToken: string }>(`${base}/versions${query({ pageSize: PAGE_SIZE, pageToken: versionsPage })}`),
    [sm.arn, versionsPage],
  );
  const [description, setDescription] = useState("");
  const [published, setPublished] = useState<{ version: StateMachineVersion; existed: boolean } | null>(null);
  const [publishError, setPublishError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  async function publish() {
    if (!window.confirm(`Publish revision ${sm.version} of ${sm.name} as a new version?`)) return;
    setBusy(true);
    setPublishError(null);
    try {
      // `revision` guards the publish: if the definition changed since this page loaded, the server answers
      // 409 ConflictException instead of publishing a revision the operator has not seen.
      const v = await api<StateMachineVersion>(`${base}/versions`, { method: "POST", body: { description, revision: sm.version } });
      const existed = (versions.data?.versions ?? []).some((x) => x.arn === v.arn);
      setPublished({ version: v, existed });
      setDescription("");
      versions.reload();
    } catch (e) {
      setPublishError(e);
    } finally {
      setBusy(false);
    }
  }

  const rows = versions.data?.versions ?? [];
  const next = versions.data?.nextPageToken;
  return (
    <div class="versions">
      <h2>Versions</h2>
      <ErrorBanner error={versions.error} />
      <div class="filters">
        <label>
          Description{" "}
          <input name="versionDescription" value={description} maxLength={MAX_DESCRIPTION} size={40}
            onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
        </label>
        <button name="publish" disabled={busy} onClick={publish}>Publish version</button>
        <span class="muted">publishes revision {sm.version}</span>
      </div>
      <ErrorBanner error={publishError} />
      {published && (
        <div class="ok-banner" role="status">
          {published.existed
            ? `Revision ${published.version.revision} was already published as version ${published.version.version}.`
            : `Published version ${published.version.version} (revision ${published.version.revision}).`}
        </div>
      )}
      {versions.data && rows.length === 0 && !versionsPage && <p class="empty">No published versions.</p>}
      {rows.length > 0 && (
        <table class="list" aria-label="versions">
          <thead><tr><th>Version</th><th>Description</th><th>Created</th><th>Revision</th></tr></thead>
          <tbody>
            {rows.map((v) => (
              <tr key={v.arn} data-version={v.version} class={v.version === props.selected ? "selected" : ""}>
                <td><a href={href(["state-machines", sm.arn], { version: v.version, versionsPage })} aria-current={v.version === props.selected ? "true" : undefined}>{v.version}</a></td>
                <td>{v.description}</td>
                <td>{formatTime(v.creationDate)}</td>
                <td>{v.revision}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p>
        {versionsPage && <a href={href(["state-machines", sm.arn])}>First page</a>}{" "}
        {next && <a href={href(["state-machines", sm.arn], { versionsPage: next })}>Next page</a>}
      </p>
      <AliasesSection sm={sm} reloadKey={published?.version.arn} />
    </div>
  );
}

function AliasesSection(props: { sm: StateMachine; reloadKey?: string }) {
  const aliases = useLoad(
    () => api<{ aliases: StateMachineAlias[] }>(`/state-machines/${encodeArn(props.sm.arn)}/aliases?pageSize=100`),
    [props.sm.arn, props.reloadKey],
  );
  const rows = aliases.data?.aliases ?? [];
  return (
    <>
      <h2>Aliases</h2>
      <ErrorBanner error={aliases.error} />
      {aliases.data && rows.length === 0 && <p class="empty">No aliases.</p>}
      {rows.length > 0 && (
        <table class="list" aria-label="aliases">
          <thead><tr><th>Name</th><th>Routing</th><th>Description</th><th>Updated</th></tr></thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.arn} data-name={a.name}>
                <td>{a.name}</td>
                <td class="routing">
                  {a.routing.map((r) => `version ${versionNumber(r.versionArn)}: ${r.weight}%`).join(", ")}
                </td>
                <td>{a.description}</td>
                <td>{formatTime(a.updateDate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
