// Dead letters: the list (filters by queue, state machine, error and creation-time range, in the URL; redrive or
// discard of the selected entries, the exact count confirmed first), one entry with its attempts and input,
// redrive with a patched-input JSON editor, and discard.
import { useEffect, useState } from "preact/hooks";
import { api, DeadLetter, encodeArn, query } from "./api";
import { href, navigate, Route } from "./router";
import { ErrorBanner, Json, formatTime, toIso, useLoad } from "./ui";

interface Outcome {
  id: string;
  executionArn: string;
  error: string;
}

export function DeadLettersPage({ route }: { route: Route }) {
  const p = route.params;
  const f = { queue: p.get("queue") ?? undefined, stateMachine: p.get("stateMachine") ?? undefined, error: p.get("error") ?? undefined };
  const range = { createdAfter: toIso(p.get("from")), createdBefore: toIso(p.get("to")) };
  const list = useLoad(() => api<{ deadLetters: DeadLetter[] }>(`/dead-letters${query({ ...f, ...range, pageSize: "100" })}`),
    [f.queue, f.stateMachine, f.error, range.createdAfter, range.createdBefore]);
  const set = (k: string, v: string) => navigate(["dead-letters"], { ...Object.fromEntries(p.entries()), [k]: v.trim() || undefined });
  const rows = list.data?.deadLetters ?? [];
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkResult, setBulkResult] = useState("");
  const [bulkFailures, setBulkFailures] = useState<Outcome[]>([]);
  const toggle = (id: string, on: boolean) =>
    setSelected((old) => {
      const next = new Set(old);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  // Redrives (with each entry's recorded input) or discards the selected entries shown, one request each (the API
  // takes one id or a filter), after confirming the exact count; says how many were done and each failure by id.
  const bulk = async (what: "redrive" | "discard") => {
    const ids = rows.filter((d) => selected.has(d.id)).map((d) => d.id);
    const verb = what === "redrive" ? "Redrive" : "Discard";
    if (ids.length === 0 || !window.confirm(`${verb} ${ids.length} dead letter${ids.length === 1 ? "" : "s"}?`)) return;
    const results = await Promise.allSettled(
      ids.map((id) => api<{ outcomes: Outcome[] }>(`/dead-letters:${what}`, { method: "POST", body: { id } })));
    const failures: Outcome[] = [];
    results.forEach((r, i) => {
      if (r.status === "rejected") failures.push({ id: ids[i], executionArn: "", error: String((r.reason as Error)?.message ?? r.reason) });
      else for (const o of r.value.outcomes ?? []) if (o.error) failures.push(o);
    });
    setBulkResult(`${what === "redrive" ? "redriven" : "discarded"}: ${ids.length - failures.length}${failures.length ? `, failed: ${failures.length}` : ""}`);
    setBulkFailures(failures);
    setSelected(new Set());
    list.reload();
  };
  return (
    <section>
      <h1>Dead letters</h1>
      <ErrorBanner error={list.error} />
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        {(["queue", "stateMachine", "error"] as const).map((k) => (
          <label key={k}>
            {k} <input name={k} value={f[k] ?? ""} onChange={(e) => set(k, e.currentTarget.value)} />
          </label>
        ))}
        <label>
          Created from <input name="from" type="datetime-local" value={p.get("from") ?? ""} onChange={(e) => set("from", e.currentTarget.value)} />
        </label>
        <label>
          to <input name="to" type="datetime-local" value={p.get("to") ?? ""} onChange={(e) => set("to", e.currentTarget.value)} />
        </label>
      </form>
      <div class="bulk" role="group" aria-label="bulk actions">
        <button name="bulkRedrive" disabled={!rows.some((d) => selected.has(d.id))} onClick={() => bulk("redrive")}>Redrive selected</button>
        <button name="bulkDiscard" disabled={!rows.some((d) => selected.has(d.id))} onClick={() => bulk("discard")}>Discard selected</button>
        <span class="bulk-result" aria-live="polite">{bulkResult}</span>
      </div>
      {bulkFailures.length > 0 && (
        <ul class="error-banner bulk-failures" role="alert">
          {bulkFailures.map((o) => <li key={o.id} data-id={o.id}>{o.id}: {o.error}</li>)}
        </ul>
      )}
      <table class="list" aria-label="dead letters">
        <thead>
          <tr>
            <th><input type="checkbox" name="selectAll" aria-label="select all" checked={rows.length > 0 && rows.every((d) => selected.has(d.id))}
              onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((d) => d.id)) : new Set())} /></th>
            <th>Id</th><th>Queue</th><th>State</th><th>Error</th><th>Execution</th><th>Created</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((d) => (
            <tr key={d.id} data-id={d.id}>
              <td><input type="checkbox" name="select" aria-label={`select ${d.id}`} checked={selected.has(d.id)}
                onChange={(ev) => toggle(d.id, ev.currentTarget.checked)} /></td>
              <td><a href={href(["dead-letters", d.id])}>{d.id}</a></td>
              <td>{d.queue}</td>
              <td>{d.stateName}</td>
              <td>{d.error}</td>
              <td><a href={href(["execution", d.executionArn])}>{d.executionArn.split(":").pop()}</a></td>
              <td>{formatTime(d.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.deadLetters.length === 0 && <p class="empty">No dead letters.</p>}
    </section>
  );
}

export function DeadLetterPage({ id }: { id: string }) {
  const dl = useLoad(() => api<DeadLetter>(`/dead-letters/${encodeURIComponent(id)}`), [id]);
  const [input, setInput] = useState("");
  const [parseError, setParseError] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [outcome, setOutcome] = useState<string>("");
  useEffect(() => {
    if (dl.data) setInput(JSON.stringify(dl.data.input, null, 2));
  }, [dl.data]);
  const act = async (what: "redrive" | "discard") => {
    let body: Record<string, unknown> = { id };
    if (what === "redrive") {
      try {
        body = { id, input: JSON.parse(input) };
      } catch (e) {
        setParseError(`The input is not JSON: ${(e as Error).message}`);
        return;
      }
    } else if (!window.confirm(`Discard dead letter ${id}?`)) {
      return;
    }
    setParseError("");
    try {
      const r = await api<{ outcomes: Outcome[] }>(`/dead-letters:${what}`, { method: "POST", body });
      const o = r.outcomes?.[0];
      if (o?.error) {
        setError(o.error);
      } else {
        setError(null);
        setOutcome(what === "redrive" ? `Redriven: execution ${o?.executionArn ?? ""}` : "Discarded");
      }
    } catch (e) {
      setError(e);
    }
  };
  const d = dl.data;
  return (
    <section>
      <p><a href={href(["dead-letters"])}>← Dead letters</a></p>
      <ErrorBanner error={dl.error ?? error} />
      {outcome && <div class="ok-banner" role="status">{outcome}</div>}
      {d && (
        <>
          <h1>Dead letter {d.id}</h1>
          <dl>
            <dt>Queue</dt><dd>{d.queue}</dd>
            <dt>State</dt><dd>{d.stateName}</dd>
            <dt>Execution</dt><dd><a href={href(["execution", d.executionArn])}>{d.executionArn}</a></dd>
            <dt>Error</dt><dd>{d.error}</dd>
            <dt>Cause</dt><dd>{d.cause}</dd>
          </dl>
          <h2>Attempts</h2>
          <Json value={d.attempts} label="attempts" />
          <h2>Input (edit to patch it before redriving)</h2>
          <textarea name="input" aria-label="patched input" rows={10} value={input} onInput={(e) => setInput(e.currentTarget.value)} />
          {parseError && <div class="error-banner" role="alert">{parseError}</div>}
          <div class="actions">
            <button name="redrive" onClick={() => act("redrive")}>Redrive</button>
            <button name="discard" onClick={() => act("discard")}>Discard</button>
          </div>
        </>
      )}
    </section>
  );
}

export { encodeArn };
