// One execution: status header (error, cause, duration), input and output side by side, the graph coloured by
// the server's per-state summary, the event table, live updates over the history:follow Server-Sent Events, and
// stop / redrive, export of the history as a JSON file, and time travel (timetravel.tsx).
import { useEffect, useState } from "preact/hooks";
import { api, authHeaders, encodeArn, Execution, ExecutionSummary, HistoryEvent, StateMachine } from "./api";
import { EventTable } from "./events";
import { Graph } from "./graph";
import { DataFlow } from "./dataflow";
import { TimeTravel, Variables, foldStates } from "./timetravel";
import { href } from "./router";
import { ErrorBanner, Json, StatusBadge, duration, formatTime, useLoad } from "./ui";

const MAX_HISTORY_PAGES = 100; // 100 pages of 1,000: the table holds at most 100,000 events
const SHOW_EVERY_MS = 500; // while a long history loads, how often the events loaded so far are shown

// The history, page by page: `data` grows as each page arrives (the first page renders at once, a 25,000-event
// history fills in behind it), `complete` once the last page is in. `reload` starts over; `setData` edits it
// (followed events are appended).
function useHistory(arn: string) {
  const [data, setData] = useState<HistoryEvent[] | undefined>(undefined);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let cancelled = false;
    setComplete(false);
    (async () => {
      const events: HistoryEvent[] = [];
      let token = "";
      let shownAt = 0;
      for (let page = 0; page < MAX_HISTORY_PAGES; page++) {
        const r = await api<{ events: HistoryEvent[]; nextPageToken: string }>(
          `/executions/${encodeArn(arn)}/history?pageSize=1000${token ? `&nextToken=${encodeURIComponent(token)}` : ""}`,
        );
        if (cancelled) return;
        events.push(...r.events);
        // The first page at once, then at most every SHOW_EVERY_MS (each showing rebuilds the table's filters).
        if (page === 0 || !r.nextPageToken || performance.now() - shownAt >= SHOW_EVERY_MS) {
          setData(events.slice());
          setError(null);
          shownAt = performance.now();
        }
        if (!r.nextPageToken) break;
        token = r.nextPageToken;
      }
      setData(events.slice());
      setComplete(true);
    })().catch((e) => !cancelled && setError(e));
    return () => {
      cancelled = true;
    };
  }, [arn, generation]);
  return { data, complete, error, setData, reload: () => setGeneration((g) => g + 1) };
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
  const history = useHistory(arn);
  const [selectedState, setSelectedState] = useState<string | undefined>();
  const [travelAt, setTravelAt] = useState(0); // 0 = live
  const [actionError, setActionError] = useState<unknown>(null);
  const running = exec.data?.status === "RUNNING";
  // Followed from the last event loaded, once every page is in (so that followed events come after them).
  const lastId = history.complete && history.data?.length ? history.data[history.data.length - 1].id : undefined;

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
    if (running && history.complete) summary.reload();
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
            <button name="export" disabled={!history.complete} onClick={exportHistory}>Export history (JSON)</button>
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
      {history.data && sm.data && <Variables events={history.data} at={Math.min(travelAt, history.data.length)} definition={sm.data.definition} />}
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
              <DataFlow arn={arn} state={selectedState} definition={sm.data?.definition}
                atEventId={travelAt > 0 && history.data ? history.data[travelAt - 1].id : "0"}
                refresh={travelAt > 0 ? 0 : history.complete ? history.data?.length : -1} />
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
