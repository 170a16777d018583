// One execution: status header (error, cause, duration), input and output side by side, the graph coloured by
// the server's per-state summary, the event table, live updates over the history:follow Server-Sent Events, and
// stop / redrive, export of the history as a JSON file, and time travel (timetravel.tsx).
import { useEffect, useState } from "preact/hooks";
import { api, authHeaders, encodeArn, Execution, ExecutionSummary, HistoryEvent, StateMachine } from "./api";
import { EventTable } from "./events";
import { Graph } from "./graph";
import { DataFlow, dataFlow, findState } from "./dataflow";
import { TimeTravel, foldStates } from "./timetravel";
import { href } from "./router";
import { ErrorBanner, Json, StatusBadge, duration, formatTime, useLoad } from "./ui";

const MAX_HISTORY_PAGES = 100; // 100 pages of 1,000: the table holds at most 100,000 events

async function loadHistory(arn: string): Promise<HistoryEvent[]> {
  const events: HistoryEvent[] = [];
  let token = "";
  for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
    const r = await api<{ events: HistoryEvent[]; nextPageToken: string }>(
      `/executions/${encodeArn(arn)}/history?pageSize=1000${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`,
    );
    events.push(...r.events);
    if (!r.nextPageToken) break;
    token = r.nextPageToken;
  }
  return events;
}

// Follows the history over SSE after `afterId` while the execution runs; EventSource cannot send an
// Authorization header, so with a token the stream is read with fetch.
function follow(arn: string, afterId: string, onEvent: (e: HistoryEvent) => void, onEnd: () => void): () => void {
  const ctl = new AbortController();
  (async () => {
    const res = await fetch(`/api/v1/executions/${encodeArn(arn)}/history:follow?afterEventId=${afterId}`, {
      headers: { Accept: "text/event-stream", ...authHeaders() },
      signal: ctl.signal,
    });
    if (!res.ok || !res.body) return;
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut;
      while ((cut = buf.indexOf("\n\n")) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trim()).join("\n");
        if (/^event: end/m.test(block) || /^event: error/m.test(block)) {
          onEnd();
          return;
        }
        if (data) onEvent(JSON.parse(data) as HistoryEvent);
      }
    }
    onEnd();
  })().catch(() => undefined);
  return () => ctl.abort();
}

export function ExecutionPage({ arn }: { arn: string }) {
  const exec = useLoad(() => api<Execution>(`/executions/${encodeArn(arn)}`), [arn]);
  const sm = useLoad(() => api<StateMachine>(`/executions/${encodeArn(arn)}/state-machine`), [arn]);
  const summary = useLoad(() => api<ExecutionSummary>(`/executions/${encodeArn(arn)}/summary`), [arn]);
  const history = useLoad(() => loadHistory(arn), [arn]);
  const [selectedState, setSelectedState] = useState<string | undefined>();
  const [travelAt, setTravelAt] = useState(0); // 0 = live
  const [actionError, setActionError] = useState<unknown>(null);
  const running = exec.data?.status === "RUNNING";
  const lastId = history.data?.length ? history.data[history.data.length - 1].id : undefined;

  useEffect(() => {
    if (!running || lastId === undefined) return;
    return follow(
      arn,
      lastId,
      (e) => history.setData((old) => (old && !old.some((o) => o.id === e.id) ? [...old, e] : old)),
      () => {
        exec.reload();
        summary.reload();
      },
    );
    // Re-follow only when the execution starts or stops running.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [arn, running, lastId === undefined]);
  useEffect(() => {
    if (running) summary.reload();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [history.data?.length]);

  const act = async (what: "stop" | "redrive") => {
    if (what === "stop" && !window.confirm(`Stop ${exec.data?.name}?`)) return;
    try {
      await api(`/executions/${encodeArn(arn)}:${what}`, { method: "POST", body: what === "stop" ? { error: "Console.Stopped", cause: "stopped from the console" } : {} });
      setActionError(null);
      exec.reload();
      summary.reload();
      history.reload();
    } catch (e) {
      setActionError(e);
    }
  };
  // The whole history as loaded (followed events included), as a JSON file: {"executionArn", "events": [...]}.
  const exportHistory = () => {
    const body = JSON.stringify({ executionArn: arn, events: history.data ?? [] }, null, 2);
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([body], { type: "application/json" }));
    link.download = `${exec.data?.name ?? "execution"}-history.json`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  };
  const e = exec.data;
  const shownStates = travelAt > 0 && history.data ? foldStates(history.data, travelAt) : summary.data?.states;
  const st = selectedState ? shownStates?.[selectedState] : undefined;
  return (
    <section>
      <ErrorBanner error={exec.error ?? actionError} />
      {e && (
        <header class="exec-header">
          <h1>
            {e.name} <StatusBadge status={e.status} />
          </h1>
          <dl>
            <dt>State machine</dt><dd><a href={href(["state-machines", e.stateMachineArn])}>{e.stateMachineArn}</a></dd>
            <dt>Started</dt><dd>{formatTime(e.startDate)}</dd>
            <dt>Duration</dt><dd class="duration">{duration(e.startDate, e.stopDate)}</dd>
            {e.redriveCount ? <><dt>Redrives</dt><dd>{e.redriveCount}</dd></> : null}
            {e.error && <><dt>Error</dt><dd class="exec-error">{e.error}</dd></>}
            {e.cause && <><dt>Cause</dt><dd class="exec-cause">{e.cause}</dd></>}
          </dl>
          <div class="actions">
            <button name="stop" disabled={!running} onClick={() => act("stop")}>Stop</button>
            <button name="redrive" disabled={running || e.status === "SUCCEEDED"} onClick={() => act("redrive")}>Redrive</button>
            <button name="export" disabled={!history.data} onClick={exportHistory}>Export history (JSON)</button>
          </div>
        </header>
      )}
      <div class="side-by-side">
        <div><h2>Input</h2><Json value={e?.input} label="input" /></div>
        <div><h2>Output</h2><Json value={e?.output} label="output" /></div>
      </div>
      <h2>Graph</h2>
      <ErrorBanner error={sm.error ?? summary.error} />
      {history.data && <TimeTravel events={history.data} at={Math.min(travelAt, history.data.length)} onChange={setTravelAt} />}
      <div class="graph-split">
        <div class="graph-box">{sm.data && <Graph definition={sm.data.definition} states={shownStates} selected={selectedState} onSelect={setSelectedState} />}</div>
        {selectedState && (
          <div class="state-detail" aria-label="state detail">
            <h3>{selectedState} {st && <StatusBadge status={st.status} />}</h3>
            {st ? <>
              <p>entered {st.entered}, exited {st.exited}</p>
              <h4>Last input</h4><Json value={st.lastInput} />
              <h4>Last output</h4><Json value={st.lastOutput} />
              <h4>Data flow</h4>
              <DataFlow steps={dataFlow(travelAt > 0 ? (history.data ?? []).slice(0, travelAt) : history.data ?? [], selectedState, findState(sm.data?.definition, selectedState))} />
            </> : <p class="muted">Not entered.</p>}
          </div>
        )}
      </div>
      <h2>Events</h2>
      <ErrorBanner error={history.error} />
      {history.data && <EventTable events={history.data} />}
    </section>
  );
}
