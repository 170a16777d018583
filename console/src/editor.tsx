// Create or update a state machine from the page: the definition as JSON text, validated by the server
// (POST /state-machines:validate) before it is saved, each diagnostic shown at the line of its location (the
// JSON pointer the validator gives).
import { useState } from "preact/hooks";
import { api, ApiError, encodeArn, StateMachine } from "./api";
import { navigate } from "./router";
import { ErrorBanner } from "./ui";

interface Diagnostic {
  location: string;
  code: string;
  message: string;
}

// Pretty-prints `value` two spaces deep and records the line each JSON pointer's value starts on.
export function linesByPointer(value: unknown): { lines: string[]; lineOf: Map<string, number> } {
  const lines: string[] = [];
  const lineOf = new Map<string, number>();
  const escape = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
  const walk = (v: unknown, pointer: string, indent: string, prefix: string, suffix: string) => {
    lineOf.set(pointer, lines.length);
    const entries: Array<[string, unknown]> | null = Array.isArray(v)
      ? v.map((x, i) => [String(i), x])
      : v && typeof v === "object"
        ? Object.entries(v as Record<string, unknown>)
        : null;
    if (!entries || entries.length === 0) {
      lines.push(`${indent}${prefix}${JSON.stringify(v)}${suffix}`);
      return;
    }
    const [open, close] = Array.isArray(v) ? ["[", "]"] : ["{", "}"];
    lines.push(`${indent}${prefix}${open}`);
    entries.forEach(([k, x], i) => {
      const key = Array.isArray(v) ? "" : `${JSON.stringify(k)}: `;
      walk(x, `${pointer}/${escape(k)}`, `${indent}  `, key, i < entries.length - 1 ? "," : "");
    });
    lines.push(`${indent}${close}${suffix}`);
  };
  walk(value, "", "", "", "");
  return { lines, lineOf };
}

// The line of `pointer`, or of its nearest ancestor that exists (a missing field is reported at its parent).
function lineFor(lineOf: Map<string, number>, pointer: string): number {
  for (let p = pointer; ; p = p.slice(0, p.lastIndexOf("/"))) {
    const line = lineOf.get(p);
    if (line !== undefined) return line;
    if (!p) return 0;
  }
}

export function DefinitionEditor(props: { existing?: StateMachine; onSaved?: (sm: StateMachine) => void }) {
  const [name, setName] = useState("");
  const [type, setType] = useState("STANDARD");
  const [text, setText] = useState(props.existing ? JSON.stringify(props.existing.definition, null, 2) : '{\n  "StartAt": "Start",\n  "States": {\n    "Start": { "Type": "Pass", "End": true }\n  }\n}');
  const [diagnostics, setDiagnostics] = useState<Diagnostic[] | null>(null);
  const [shown, setShown] = useState<{ lines: string[]; lineOf: Map<string, number> } | null>(null);
  const [error, setError] = useState<unknown>(null);

  // Parses and validates; true when the server found nothing wrong.
  const validate = async (): Promise<unknown | undefined> => {
    let definition: unknown;
    try {
      definition = JSON.parse(text);
    } catch (e) {
      setError(new ApiError(0, "InvalidDefinition", `not JSON: ${(e as Error).message}`));
      return undefined;
    }
    setError(null);
    const body: Record<string, unknown> = { definition };
    if (!props.existing) body.type = type;
    const r = await api<{ valid: boolean; diagnostics?: Diagnostic[] }>("/state-machines:validate", { method: "POST", body });
    setDiagnostics(r.diagnostics ?? []);
    setShown(linesByPointer(definition));
    return r.valid ? definition : undefined;
  };
  const save = async () => {
    try {
      const definition = await validate();
      if (definition === undefined) return;
      const saved = props.existing
        ? await api<StateMachine>(`/state-machines/${encodeArn(props.existing.arn)}`, { method: "PUT", body: { definition } })
        : await api<StateMachine>("/state-machines", { method: "POST", body: { name, definition, type } });
      if (props.onSaved) props.onSaved(saved);
      else navigate(["state-machines", saved.arn], {});
    } catch (e) {
      setError(e);
    }
  };
  const marked = new Map<number, Diagnostic[]>();
  for (const d of diagnostics ?? []) {
    if (!shown) break;
    const line = lineFor(shown.lineOf, d.location);
    marked.set(line, [...(marked.get(line) ?? []), d]);
  }
  return (
    <form class="definition-editor" aria-label="definition editor" onSubmit={(e) => e.preventDefault()}>
      {!props.existing && (
        <p>
          <label>Name <input name="name" value={name} onInput={(e) => setName(e.currentTarget.value.trim())} /></label>{" "}
          <label>Type{" "}
            <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
              <option>STANDARD</option><option>EXPRESS</option>
            </select>
          </label>
        </p>
      )}
      <textarea name="definition" rows={16} spellcheck={false} value={text} onInput={(e) => setText(e.currentTarget.value)} />
      <p>
        <button type="button" name="validate" onClick={() => validate().catch(setError)}>Validate</button>{" "}
        <button type="button" name="save" onClick={save}>{props.existing ? "Save new version" : "Create"}</button>
      </p>
      <ErrorBanner error={error} />
      {diagnostics && diagnostics.length === 0 && <p class="valid">Valid.</p>}
      {diagnostics && diagnostics.length > 0 && shown && (
        <div class="diagnostics" aria-label="diagnostics">
          <ul>
            {diagnostics.map((d) => (
              <li key={`${d.location}|${d.code}|${d.message}`} class="diagnostic" data-location={d.location}>
                <code>{d.location || "/"}</code> {d.code}: {d.message}
              </li>
            ))}
          </ul>
          <pre class="def-lines">
            {shown.lines.map((l, i) => (
              <div key={i} class={`def-line ${marked.has(i) ? "diag" : ""}`} data-line={i + 1}
                title={marked.get(i)?.map((d) => `${d.code}: ${d.message}`).join("\n")}>
                <span class="line-no">{i + 1}</span> {l}
                {marked.get(i)?.map((d) => <span class="diag-note"> ← {d.code}</span>)}
              </div>
            ))}
          </pre>
        </div>
      )}
    </form>
  );
}
