// A state's data flow, from the history of its last entry: input → after InputPath → Parameters (the effective
// task input) → result → output. Steps the history does not record (ResultSelector and ResultPath applied
// inside the state) are derived only when the history holds both sides; otherwise they say so.
import type { HistoryEvent } from "./api";
import { Json } from "./ui";

function parsed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

function detail(e: HistoryEvent | undefined, key: string): unknown {
  const d = e?.details as Record<string, unknown> | null | undefined;
  return d && typeof d === "object" ? parsed(d[key]) : undefined;
}

// "$", "$.a.b" (and null: {}) applied to `value`; undefined for any other path (not evaluated here).
function simplePath(path: unknown, value: unknown): unknown {
  if (path === undefined || path === "$") return value;
  if (path === null) return {};
  if (typeof path !== "string" || !/^\$(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) return undefined;
  let v: unknown = value;
  for (const k of path.slice(2).split(".")) v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

// The definition of state `name`, searched in Parallel branches and Map processors too (at most 1,000 machines).
export function findState(definition: unknown, name: string): Record<string, unknown> | undefined {
  const queue: unknown[] = [definition];
  for (let seen = 0; queue.length > 0 && seen < 1000; seen++) {
    const m = queue.shift() as { States?: Record<string, Record<string, unknown>> } | undefined;
    const states = m && typeof m === "object" ? m.States : undefined;
    if (!states || typeof states !== "object") continue;
    if (states[name]) return states[name];
    for (const st of Object.values(states)) {
      if (Array.isArray(st?.Branches)) queue.push(...st.Branches);
      if (st?.ItemProcessor) queue.push(st.ItemProcessor);
      if (st?.Iterator) queue.push(st.Iterator);
    }
  }
  return undefined;
}

export interface Step {
  label: string;
  value: unknown;
  known: boolean;
}

export function dataFlow(events: HistoryEvent[], name: string, state: Record<string, unknown> | undefined): Step[] {
  let entered = -1;
  events.forEach((e, i) => {
    if (/StateEntered$/.test(e.type) && detail(e, "name") === name) entered = i;
  });
  if (entered < 0) return [];
  let exited: HistoryEvent | undefined;
  let scheduled: HistoryEvent | undefined;
  let succeeded: HistoryEvent | undefined;
  for (const e of events.slice(entered + 1)) {
    if (/StateExited$/.test(e.type) && detail(e, "name") === name) {
      exited = e;
      break;
    }
    if (e.type === "TaskScheduled" && !scheduled) scheduled = e;
    if (e.type === "TaskSucceeded") succeeded = e;
  }
  const input = detail(events[entered], "input");
  const afterInputPath = simplePath(state?.InputPath, input);
  const parameters = scheduled ? detail(scheduled, "parameters") : state?.Parameters === undefined ? afterInputPath : undefined;
  const result = succeeded ? detail(succeeded, "output") : state?.Type === "Pass" && state.Result !== undefined ? state.Result : undefined;
  const output = exited ? detail(exited, "output") : undefined;
  return [
    { label: "input", value: input, known: true },
    { label: "after InputPath", value: afterInputPath, known: afterInputPath !== undefined },
    { label: "after Parameters", value: parameters, known: parameters !== undefined },
    { label: "result", value: result, known: result !== undefined },
    { label: "after ResultSelector, ResultPath, OutputPath: output", value: output, known: exited !== undefined },
  ];
}

export function DataFlow(props: { steps: Step[] }) {
  if (props.steps.length === 0) return null;
  return (
    <ol class="data-flow" aria-label="data flow">
      {props.steps.map((s) => (
        <li key={s.label} class="flow-step" data-step={s.label}>
          <h4>{s.label}</h4>
          {s.known ? <Json value={s.value} /> : <p class="muted">not recorded in the history</p>}
        </li>
      ))}
    </ol>
  );
}
