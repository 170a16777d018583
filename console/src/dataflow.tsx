// A state's data flow at its last entry (up to the time-travel event): input → InputPath → Parameters → result →
// ResultSelector → ResultPath → OutputPath → output. The server evaluates each step with the definition's own
// compiled paths and templates (GET /executions/{arn}/data-flow, docs/rest-api.md); this view only shows them,
// each with the field of the state's definition that made it.
import { api, encodeArn } from "./api";
import { Json, useLoad } from "./ui";

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

// One step as the server answers it: a value, or why it is unknown, or the evaluation's error.
export interface FlowStep {
  step: string;
  value?: unknown;
  unknown?: string;
  error?: string;
  recorded?: boolean;
  note?: string;
}

interface StateDataFlow {
  state: string;
  type: string;
  queryLanguage: string;
  enteredEventId: number;
  steps: FlowStep[];
}

// The definition field behind each step, shown beside its value ("InputPath: $.a").
const FIELD: Record<string, string> = {
  InputPath: "InputPath",
  Parameters: "Parameters",
  ResultSelector: "ResultSelector",
  ResultPath: "ResultPath",
  OutputPath: "OutputPath",
  Arguments: "Arguments",
};

function label(step: FlowStep): string {
  if (step.step === "input") return "input";
  if (step.step === "result") return step.recorded ? "result (recorded)" : "result";
  if (step.step === "output") return "output (recorded)";
  return `after ${step.step}${step.recorded ? " (recorded)" : ""}`;
}

function fieldText(state: Record<string, unknown> | undefined, step: string): string | undefined {
  const field = FIELD[step];
  if (!field || !state) return undefined;
  const v = state[field] ?? (field === "Parameters" ? state.ItemSelector : undefined);
  if (v === undefined) return step === "ResultSelector" || step === "Parameters" ? "(none)" : "(default: $)";
  return typeof v === "string" ? v : v === null ? "null" : JSON.stringify(v);
}

export function DataFlow(props: { arn: string; state: string; atEventId: string; refresh: unknown; definition: unknown }) {
  const { arn, state, atEventId } = props;
  const flow = useLoad(
    () => api<StateDataFlow>(`/executions/${encodeArn(arn)}/data-flow?state=${encodeURIComponent(state)}${atEventId !== "0" ? `&atEventId=${atEventId}` : ""}`),
    [arn, state, atEventId, props.refresh],
  );
  if (flow.error) return <p class="muted">data flow: {String((flow.error as Error).message ?? flow.error)}</p>;
  const steps = flow.data?.steps ?? [];
  if (steps.length === 0) return flow.data ? <p class="muted">Not entered by then.</p> : null;
  const def = findState(props.definition, state);
  return (
    <ol class="data-flow" aria-label="data flow" data-entered={flow.data?.enteredEventId}>
      {steps.map((s) => {
        const field = fieldText(def, s.step);
        return (
          <li key={s.step} class="flow-step" data-step={s.step}>
            <h4>
              {label(s)} {field && <code class="flow-field">{field}</code>}
            </h4>
            {s.value !== undefined && <Json value={s.value} />}
            {s.unknown && <p class="muted">{s.unknown}</p>}
            {s.error && <p class="flow-error">{s.error}</p>}
            {s.note && <p class="muted">{s.note}</p>}
          </li>
        );
      })}
    </ol>
  );
}
