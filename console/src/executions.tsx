// The executions list: server-side filters (status, state machine, name prefix, start-time range) kept in the
// URL, counts per status (GET /executions:counts; exact unless a name prefix or a time range narrows them), cursor
// paging, live refresh; stop or redrive of the selected executions, or of every execution of a state machine that
// the filters select (server-side, page by page), the exact number confirmed first.
import { useState } from "preact/hooks";
import { api, Execution, STATUSES, query, encodeArn } from "./api";
import { href, navigate, Route } from "./router";
import { ErrorBanner, StatusBadge, duration, formatTime, toIso, useInterval, useLoad } from "./ui";

interface Counts {
  counts: Record<string, number>;
  atLeast: string[];
}

const REDRIVABLE = ["FAILED", "TIMED_OUT", "ABORTED"];

// One page of POST /executions:stop-matching or :redrive-matching (zeros are left out of proto3 JSON).
interface BulkAnswer {
  done?: number;
  skipped?: number;
  failures?: Array<{ executionArn: string; error: string }>;
  nextPageToken?: string;
}

export function ExecutionsPage({ route }: { route: Route }) {
  const p = route.params;
  const filters = {
    status: p.get("status") ?? undefined,
    stateMachine: p.get("stateMachine") ?? undefined,
    namePrefix: p.get("namePrefix") ?? undefined,
    startedAfter: toIso(p.get("after")),
    startedBefore: toIso(p.get("before")),
  };
  const token = p.get("page") ?? undefined;
  const pageSize = p.get("pageSize") ?? "50";
  const live = p.get("live") !== "off";
  const key = [filters.status, filters.stateMachine, filters.namePrefix, filters.startedAfter, filters.startedBefore, token, pageSize].join("|");
  const list = useLoad(
    () => api<{ executions: Execution[]; nextPageToken: string }>(`/executions${query({ ...filters, pageSize, nextToken: token })}`),
    [key],
  );
  const counts = useLoad(
    () => api<Counts>(`/executions:counts${query({ ...filters, status: undefined })}`),
    [filters.stateMachine, filters.namePrefix, filters.startedAfter, filters.startedBefore],
  );
  useInterval(list.reload, 3000, live);
  useInterval(counts.reload, 3000, live);

  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [bulkResult, setBulkResult] = useState<string>("");
  const rows = list.data?.executions ?? [];
  const toggle = (arn: string, on: boolean) =>
    setSelected((old) => {
      const next = new Set(old);
      if (on) next.add(arn);
      else next.delete(arn);
      return next;
    });
  // Stops the selected RUNNING executions, or redrives the selected FAILED, TIMED_OUT and ABORTED ones, one
  // request each, after confirming how many; says how many the server took and how many it refused.
  const bulk = async (what: "stop" | "redrive") => {
    const targets = rows.filter((e) => selected.has(e.arn) && (what === "stop" ? e.status === "RUNNING" : REDRIVABLE.includes(e.status)));
    if (targets.length === 0 || !window.confirm(`${what === "stop" ? "Stop" : "Redrive"} ${targets.length} execution${targets.length === 1 ? "" : "s"}?`)) return;
    const body = what === "stop" ? { error: "Console.Stopped", cause: "stopped from the console (bulk)" } : {};
    const results = await Promise.allSettled(targets.map((e) => api(`/executions/${encodeArn(e.arn)}:${what}`, { method: "POST", body })));
    const refused = results.filter((r) => r.status === "rejected").length;
    setBulkResult(`${what === "stop" ? "stopped" : "redriven"}: ${targets.length - refused}${refused ? `, refused: ${refused}` : ""}`);
    setSelected(new Set());
    list.reload();
    counts.reload();
  };
  // Stops every RUNNING execution the filter selects (or redrives every one in the filter's FAILED, TIMED_OUT or
  // ABORTED status), on the server, page by page: a fresh count is confirmed first, and the server never acts on
  // more executions than confirmed (each call passes what is left of it).
  const bulkMatching = async (what: "stop" | "redrive") => {
    const status = what === "stop" ? "RUNNING" : filters.status!;
    const fresh = await api<Counts>(`/executions:counts${query({ ...filters, status: undefined })}`);
    const count = fresh.counts?.[status] ?? 0;
    const atLeast = fresh.atLeast?.includes(status);
    const verb = what === "stop" ? "Stop" : "Redrive";
    if (count === 0) {
      setBulkResult(`no ${status} executions match`);
      return;
    }
    const subject = `${atLeast ? `the first ${count} (of ${count} or more)` : `all ${count}`} ${status} execution${count === 1 ? "" : "s"} of ${filters.stateMachine} matching the filter`;
    if (!window.confirm(`${verb} ${subject}?`)) return;
    const filter = { stateMachine: filters.stateMachine, status, namePrefix: filters.namePrefix,
      startedAfter: filters.startedAfter, startedBefore: filters.startedBefore };
    const body = what === "stop" ? { error: "Console.Stopped", cause: "stopped from the console (all matching)" } : {};
    let done = 0;
    let skipped = 0;
    let failed = 0;
    let pageToken = "";
    try {
      do {
        const r = await api<BulkAnswer>(`/executions:${what}-matching`, {
          method: "POST",
          body: { ...body, filter, maxExecutions: count - done, pageToken: pageToken || undefined },
        });
        done += r.done ?? 0;
        skipped += r.skipped ?? 0;
        failed += r.failures?.length ?? 0;
        pageToken = r.nextPageToken ?? "";
        setBulkResult(`${what === "stop" ? "stopped" : "redriven"}: ${done} of ${count}…`);
      } while (pageToken && done < count);
      setBulkResult(`${what === "stop" ? "stopped" : "redriven"}: ${done} of ${count}${skipped ? `, skipped (changed meanwhile): ${skipped}` : ""}${failed ? `, refused: ${failed}` : ""}`);
    } catch (e) {
      setBulkResult(`${what === "stop" ? "stopped" : "redriven"}: ${done} of ${count}, then: ${e instanceof Error ? e.message : String(e)}`);
    }
    list.reload();
    counts.reload();
  };
  const set = (k: string, v: string | undefined) => {
    const next: Record<string, string | undefined> = Object.fromEntries(p.entries());
    next[k] = v || undefined;
    if (k !== "page") delete next.page;
    navigate(["executions"], next);
  };
  return (
    <section>
      <h1>Executions</h1>
      <ErrorBanner error={list.error ?? counts.error} />
      <div class="counts" role="group" aria-label="counts per status">
        <button class={!filters.status ? "active" : ""} onClick={() => set("status", undefined)}>
          All
        </button>
        {STATUSES.map((s) => (
          <button key={s} class={filters.status === s ? "active" : ""} data-status={s} onClick={() => set("status", s)}>
            <StatusBadge status={s} /> <span class="count">{counts.data?.counts?.[s] ?? 0}{counts.data?.atLeast?.includes(s) ? "+" : ""}</span>
          </button>
        ))}
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status{" "}
          <select name="status" value={filters.status ?? ""} onChange={(e) => set("status", e.currentTarget.value)}>
            <option value="">any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>{s}</option>
            ))}
          </select>
        </label>
        <label>
          State machine{" "}
          <input name="stateMachine" placeholder="name or ARN" value={filters.stateMachine ?? ""}
            onChange={(e) => set("stateMachine", e.currentTarget.value.trim())} />
        </label>
        <label>
          Name starts with{" "}
          <input name="namePrefix" placeholder="prefix" value={filters.namePrefix ?? ""}
            onChange={(e) => set("namePrefix", e.currentTarget.value.trim())} />
        </label>
        <label>
          Started after <input name="after" type="datetime-local" value={p.get("after") ?? ""} onChange={(e) => set("after", e.currentTarget.value)} />
        </label>
        <label>
          before <input name="before" type="datetime-local" value={p.get("before") ?? ""} onChange={(e) => set("before", e.currentTarget.value)} />
        </label>
        <label>
          <input type="checkbox" name="live" checked={live} onChange={(e) => set("live", e.currentTarget.checked ? undefined : "off")} /> live
        </label>
      </form>
      <div class="bulk" role="group" aria-label="bulk actions">
        <button name="bulkStop" disabled={!rows.some((e) => selected.has(e.arn) && e.status === "RUNNING")} onClick={() => bulk("stop")}>
          Stop selected
        </button>
        <button name="bulkRedrive" disabled={!rows.some((e) => selected.has(e.arn) && REDRIVABLE.includes(e.status))} onClick={() => bulk("redrive")}>
          Redrive selected
        </button>
        <button name="stopMatching" disabled={!filters.stateMachine || (!!filters.status && filters.status !== "RUNNING")}
          title="every RUNNING execution of the state machine that the filters select" onClick={() => bulkMatching("stop")}>
          Stop all matching
        </button>
        <button name="redriveMatching" disabled={!filters.stateMachine || !REDRIVABLE.includes(filters.status ?? "")}
          title="every execution of the state machine in the chosen FAILED, TIMED_OUT or ABORTED status that the filters select"
          onClick={() => bulkMatching("redrive")}>
          Redrive all matching
        </button>
        <span class="bulk-result" aria-live="polite">{bulkResult}</span>
      </div>
      <table class="list" aria-label="executions">
        <thead>
          <tr>
            <th><input type="checkbox" name="selectAll" aria-label="select all" checked={rows.length > 0 && rows.every((e) => selected.has(e.arn))}
              onChange={(e) => setSelected(e.currentTarget.checked ? new Set(rows.map((r) => r.arn)) : new Set())} /></th>
            <th>Name</th><th>Status</th><th>State machine</th><th>Started</th><th>Duration</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr key={e.arn} data-arn={e.arn} data-status={e.status}>
              <td><input type="checkbox" name="select" aria-label={`select ${e.name}`} checked={selected.has(e.arn)}
                onChange={(ev) => toggle(e.arn, ev.currentTarget.checked)} /></td>
              <td><a href={href(["execution", e.arn])}>{e.name}</a></td>
              <td><StatusBadge status={e.status} /></td>
              <td><a href={href(["state-machines", e.stateMachineArn])}>{e.stateMachineArn.split(":").pop()}</a></td>
              <td>{formatTime(e.startDate)}</td>
              <td>{duration(e.startDate, e.stopDate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data && list.data.executions.length === 0 && <p class="empty">No executions match.</p>}
      <div class="pager">
        {token && <button onClick={() => set("page", undefined)}>First page</button>}
        {list.data?.nextPageToken && <button onClick={() => set("page", list.data!.nextPageToken)}>Next page</button>}
      </div>
    </section>
  );
}

export { encodeArn };
