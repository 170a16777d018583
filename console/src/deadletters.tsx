// Dead letters: the list (filters by queue, state machine and error, in the URL), one entry with its attempts
// and input, redrive with a patched-input JSON editor, and discard.
import { useEffect, useState } from "preact/hooks";
import { api, DeadLetter, encodeArn, query } from "./api";
import { href, navigate, Route } from "./router";
import { ErrorBanner, Json, formatTime, useLoad } from "./ui";

interface Outcome {
  id: string;
  executionArn: string;
  error: string;
}

export function DeadLettersPage({ route }: { route: Route }) {
  const p = route.params;
  const f = { queue: p.get("queue") ?? undefined, stateMachine: p.get("stateMachine") ?? undefined, error: p.get("error") ?? undefined };
  const list = useLoad(() => api<{ deadLetters: DeadLetter[] }>(`/dead-letters${query({ ...f, pageSize: "100" })}`), [f.queue, f.stateMachine, f.error]);
  const set = (k: string, v: string) => navigate(["dead-letters"], { ...Object.fromEntries(p.entries()), [k]: v.trim() || undefined });
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
      </form>
      <table class="list" aria-label="dead letters">
        <thead><tr><th>Id</th><th>Queue</th><th>State</th><th>Error</th><th>Execution</th><th>Created</th></tr></thead>
        <tbody>
          {(list.data?.deadLetters ?? []).map((d) => (
            <tr key={d.id} data-id={d.id}>
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
