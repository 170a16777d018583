// Time travel: the execution as it stood at one event of its history. The states' statuses, counts and last
// input/output, and the workflow variables, are folded from the first N events in the browser (the server's
// summary is the fold of them all), so the graph can be coloured as it was at event N.
import type { HistoryEvent, StateSummary } from "./api";
import { Json } from "./ui";

const ENTERED = /StateEntered$/;
const EXITED = /StateExited$/;
const ENDED: Record<string, StateSummary["status"]> = {
  ExecutionFailed: "FAILED",
  ExecutionTimedOut: "FAILED",
  ExecutionAborted: "ABORTED",
};

// A field of the event's details; input and output are JSON text in AWS's events, shown parsed.
function detail(e: HistoryEvent, key: string): unknown {
  const d = e.details as Record<string, unknown> | null | undefined;
  const v = d && typeof d === "object" ? d[key] : undefined;
  if (typeof v !== "string" || key === "name") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

// The states after the first `count` events: entered and not yet exited is RUNNING; exited as often as
// entered is SUCCEEDED; a state still open when the execution failed or was aborted takes that status; a
// redrive reopens the failed ones.
export function foldStates(events: HistoryEvent[], count: number): Record<string, StateSummary> {
  const states: Record<string, StateSummary> = {};
  for (const e of events.slice(0, Math.max(0, count))) {
    const name = detail(e, "name");
    if (typeof name === "string" && ENTERED.test(e.type)) {
      const s = (states[name] ??= { status: "RUNNING", entered: 0, exited: 0 });
      s.entered++;
      s.status = "RUNNING";
      s.lastInput = detail(e, "input");
    } else if (typeof name === "string" && EXITED.test(e.type) && states[name]) {
      const s = states[name];
      s.exited++;
      s.lastOutput = detail(e, "output");
      s.status = s.exited >= s.entered ? "SUCCEEDED" : "RUNNING";
    } else if (ENDED[e.type]) {
      for (const s of Object.values(states)) {
        if (s.status === "RUNNING") s.status = ENDED[e.type];
      }
    } else if (e.type === "ExecutionRedriven") {
      for (const s of Object.values(states)) {
        if (s.status === "FAILED" || s.status === "ABORTED") {
          s.status = "RUNNING";
          s.entered = s.exited + 1;
        }
      }
    }
  }
  return states;
}

// The workflow variables (Assign) after the first `count` events: each <Type>StateExited of a top-level state
// lists the variables its Assign set ("assignedVariables": name -> JSON text, as AWS records them). Variables
// set inside a Map iteration or a Parallel branch belong to it and are left out (`topLevel` names the
// top-level states).
export function foldVariables(events: HistoryEvent[], count: number, topLevel: Set<string>): Record<string, unknown> {
  const variables: Record<string, unknown> = {};
  for (const e of events.slice(0, Math.max(0, count))) {
    if (!EXITED.test(e.type)) continue;
    const d = e.details as { name?: unknown; assignedVariables?: Record<string, unknown> } | null;
    if (!d || typeof d.name !== "string" || !topLevel.has(d.name) || !d.assignedVariables) continue;
    for (const [name, text] of Object.entries(d.assignedVariables)) {
      try {
        variables[name] = typeof text === "string" ? JSON.parse(text) : text;
      } catch {
        variables[name] = text;
      }
    }
  }
  return variables;
}

// The top-level state names of a definition.
export function topLevelStates(definition: unknown): Set<string> {
  const states = (definition as { States?: Record<string, unknown> } | null)?.States;
  return new Set(states && typeof states === "object" ? Object.keys(states) : []);
}

// The variables as of the slider's event (or now, when live).
export function Variables(props: { events: HistoryEvent[]; at: number; definition: unknown }) {
  const { events, at } = props;
  const variables = foldVariables(events, at > 0 ? at : events.length, topLevelStates(props.definition));
  const names = Object.keys(variables);
  return (
    <div class="travel-variables" aria-label="variables">
      <h4>Variables {at > 0 ? `as of event ${events[at - 1]?.id}` : "now"}</h4>
      {names.length === 0 ? <p class="muted">none assigned</p> : <Json value={variables} label="variables JSON" />}
    </div>
  );
}

// The slider: 0 = live (the server's summary), N = as of event N.
export function TimeTravel(props: { events: HistoryEvent[]; at: number; onChange: (at: number) => void }) {
  const { events, at } = props;
  const event = at > 0 ? events[at - 1] : undefined;
  const running = at > 0 ? Object.entries(foldStates(events, at)).filter(([, s]) => s.status === "RUNNING").map(([n]) => n) : [];
  return (
    <div class="time-travel" aria-label="time travel">
      <label>
        Time travel{" "}
        <input type="range" name="timeTravel" min={0} max={events.length} value={at}
          aria-valuetext={at === 0 ? "live" : `event ${at}`}
          onInput={(e) => props.onChange(Number(e.currentTarget.value))} />
      </label>
      {at === 0 ? (
        <span class="muted">live: the execution as it is now (move the slider to replay it event by event)</span>
      ) : (
        <span class="travel-at">
          event <b class="travel-event-id">{event?.id}</b> of {events.length}: <code class="travel-event-type">{event?.type}</code>{" "}
          {event?.timestamp}; current states: <span class="travel-current">{running.join(", ") || "none"}</span>{" "}
          <button name="live" onClick={() => props.onChange(0)}>Back to live</button>
        </span>
      )}
    </div>
  );
}
