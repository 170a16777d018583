// Small shared pieces: JSON view, status badge, time and duration, error banner, data loading hook.
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "./api";

export function Json(props: { value: unknown; label?: string }) {
  return (
    <pre class="json" aria-label={props.label} tabIndex={0}>
      {props.value === undefined ? "" : JSON.stringify(props.value, null, 2)}
    </pre>
  );
}

export function StatusBadge(props: { status: string }) {
  return <span class={`badge status-${props.status}`}>{props.status}</span>;
}

export function formatTime(t: string | null | undefined): string {
  if (!t) return "";
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? t : d.toISOString().replace("T", " ").replace("Z", "");
}

// A datetime-local input's value (local time, as kept in the URL) as the ISO instant the REST filters take;
// undefined when empty or not a date.
export function toIso(local: string | null): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function duration(start: string | null, stop: string | null): string {
  if (!start) return "";
  const ms = (stop ? new Date(stop).getTime() : Date.now()) - new Date(start).getTime();
  if (!(ms >= 0)) return "";
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function ErrorBanner(props: { error: unknown }) {
  if (!props.error) return null;
  const e = props.error;
  const text = e instanceof ApiError ? `${e.name}: ${e.message}` : String(e);
  return (
    <div class="error-banner" role="alert">
      {text}
    </div>
  );
}

// Loads `load()` on mount and whenever `deps` change; `reload` runs it again (live refresh).
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(() => {
    let cancelled = false;
    load().then(
      (d) => {
        if (!cancelled) {
          setData(d);
          setError(null);
        }
      },
      (e) => !cancelled && setError(e),
    );
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  useEffect(run, [run]);
  return { data, error, reload: run, setData };
}

// Calls `fn` every `ms` while `on` (live refresh).
export function useInterval(fn: () => void, ms: number, on: boolean): void {
  useEffect(() => {
    if (!on) return;
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, [fn, ms, on]);
}
