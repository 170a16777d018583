// Routes live in the URL hash ("#/executions?status=FAILED"), so every view is a shareable link and the server
// needs no knowledge of client routes.
import { useEffect, useState } from "preact/hooks";

export interface Route {
  path: string[]; // "#/executions/arn..." -> ["executions", "arn..."] (decoded)
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [p, q] = raw.split("?", 2);
  return { path: p ? p.split("/").map(decodeURIComponent) : [], params: new URLSearchParams(q ?? "") };
}

export function href(path: string[], params?: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) {
    if (v) q.set(k, v);
  }
  const s = q.toString();
  return `#/${path.map(encodeURIComponent).join("/")}${s ? `?${s}` : ""}`;
}

export function navigate(path: string[], params?: Record<string, string | undefined>, replace = false): void {
  const h = href(path, params);
  if (replace) history.replaceState(null, "", h);
  else location.hash = h;
  if (replace) window.dispatchEvent(new HashChangeEvent("hashchange"));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}
