// State machines: the list, one definition drawn as a graph and shown as JSON (the latest revision, or with
// `?version=N` that published version's), create / update from the page (editor.tsx: validated by the server,
// diagnostics at their lines), and its versions and aliases (versions.tsx).
import { useState } from "preact/hooks";
import { api, encodeArn, StateMachine, StateMachineVersion } from "./api";
import { DefinitionEditor } from "./editor";
import { Graph } from "./graph";
import { href } from "./router";
import { ErrorBanner, Json, formatTime, useLoad } from "./ui";
import { VersionsSection } from "./versions";

export function StateMachinesPage() {
  const list = useLoad(() => api<{ stateMachines: StateMachine[] }>(`/state-machines?pageSize=100`), []);
  const [creating, setCreating] = useState(false);
  return (
    <section>
      <h1>State machines</h1>
      <ErrorBanner error={list.error} />
      <p><button name="new" onClick={() => setCreating(!creating)}>{creating ? "Cancel" : "New state machine"}</button></p>
      {creating && <DefinitionEditor />}
      <table class="list" aria-label="state machines">
        <thead><tr><th>Name</th><th>Type</th><th>Revision</th><th>Created</th><th /></tr></thead>
        <tbody>
          {(list.data?.stateMachines ?? []).map((m) => (
            <tr key={m.arn} data-name={m.name}>
              <td><a href={href(["state-machines", m.arn])}>{m.name}</a></td>
              <td>{m.type}</td>
              <td>{m.version}</td>
              <td>{formatTime(m.creationDate)}</td>
              <td><a href={href(["executions"], { stateMachine: m.arn })}>executions</a></td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function StateMachinePage({ arn, params }: { arn: string; params: URLSearchParams }) {
  const sm = useLoad(() => api<StateMachine>(`/state-machines/${encodeArn(arn)}`), [arn]);
  const selected = params.get("version") ?? undefined;
  const versionsPage = params.get("versionsPage") ?? undefined;
  const shown = useLoad(
    () => (selected && sm.data ? api<StateMachineVersion>(`/versions/${encodeArn(`${sm.data.arn}:${selected}`)}`) : Promise.resolve(undefined)),
    [sm.data?.arn, selected],
  );
  const [editing, setEditing] = useState(false);
  const definition = selected ? shown.data?.definition : sm.data?.definition;
  return (
    <section>
      <p><a href={href(["state-machines"])}>← State machines</a></p>
      <ErrorBanner error={sm.error} />
      {sm.data && (
        <>
          <h1>{sm.data.name}</h1>
          <p class="muted">{sm.data.arn} · revision <span class="sm-version">{sm.data.version}</span> · <a href={href(["executions"], { stateMachine: sm.data.arn })}>executions</a>{" "}
            <button name="edit" onClick={() => setEditing(!editing)}>{editing ? "Cancel" : "Edit"}</button></p>
          {editing && <DefinitionEditor existing={sm.data} onSaved={() => { setEditing(false); sm.reload(); }} />}
          {selected && (
            <p class="shown-version">
              Definition of published version {selected}{shown.data && ` (revision ${shown.data.revision})`} ·{" "}
              <a href={href(["state-machines", sm.data.arn], { versionsPage })}>show the latest revision</a>
            </p>
          )}
          <ErrorBanner error={shown.error} />
          {definition !== undefined && (
            <div class="side-by-side">
              <div class="graph-box"><Graph definition={definition} /></div>
              <div><Json value={definition} label="definition" /></div>
            </div>
          )}
          <VersionsSection sm={sm.data} selected={selected} versionsPage={versionsPage} />
        </>
      )}
    </section>
  );
}
