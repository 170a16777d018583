// The REST API (/api/v1, docs/rest-api.md) as the console uses it. A 401 asks for a bearer token once, keeps it
// in sessionStorage and retries; every error is thrown as an ApiError carrying the server's AWS error name.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly name: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "stepflow.token";
type TokenAsker = () => Promise<string | null>;
let askToken: TokenAsker = async () => window.prompt("This server needs a bearer token:");

export function setTokenAsker(asker: TokenAsker): void {
  askToken = asker;
}

// Concurrent requests refused together ask once: they share the pending answer. A request sent with a token
// that another request has replaced since then retries with the new one without asking.
let pendingAsk: Promise<string | null> | null = null;
async function askOnce(sentWith: string | undefined): Promise<string | null> {
  const current = token();
  if (current && sentWith !== `Bearer ${current}`) return current;
  if (!pendingAsk) {
    pendingAsk = askToken().finally(() => {
      pendingAsk = null;
    });
  }
  return pendingAsk;
}

function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function encodeArn(arn: string): string {
  return encodeURIComponent(arn);
}

export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v) q.set(k, v);
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
    if (init.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(`/api/v1${path}`, {
      method: init.method ?? "GET",
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    if (res.status === 401 && attempt === 0) {
      const t = await askOnce(headers.Authorization);
      if (t) {
        sessionStorage.setItem(TOKEN_KEY, t.trim());
        continue;
      }
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null;
    }
    if (!res.ok) {
      const e = (body ?? {}) as { error?: string; message?: string };
      throw new ApiError(res.status, e.error ?? `HTTP ${res.status}`, e.message ?? text.trim());
    }
    return body as T;
  }
}

export type ExecutionStatus = "RUNNING" | "SUCCEEDED" | "FAILED" | "TIMED_OUT" | "ABORTED" | "QUARANTINED";
export const STATUSES: ExecutionStatus[] = ["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "QUARANTINED"];

export interface Execution {
  arn: string;
  name: string;
  stateMachineArn: string;
  status: ExecutionStatus;
  input: unknown;
  output: unknown;
  error: string;
  cause: string;
  startDate: string | null;
  stopDate: string | null;
  redriveCount?: number;
}

export interface HistoryEvent {
  id: string;
  previousEventId: string;
  timestamp: string;
  type: string;
  detailsKey: string;
  details: unknown;
}

export interface StateSummary {
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED";
  entered: number;
  exited: number;
  lastInput?: unknown;
  lastOutput?: unknown;
  mapIterations?: { started: number; succeeded: number; failed: number; aborted: number };
}

export interface ExecutionSummary {
  status: string;
  truncated: boolean;
  states: Record<string, StateSummary>;
}

export interface StateMachine {
  name: string;
  arn: string;
  definition: unknown;
  type: string;
  version: string;
  creationDate: string | null;
}

export interface DeadLetter {
  id: string;
  queue: string;
  executionArn: string;
  stateMachineArn: string;
  stateName: string;
  input: unknown;
  attempts: Array<Record<string, unknown>>;
  error: string;
  cause: string;
  created: string | null;
}

// A published version (GET /state-machines/{arn}/versions, newest first; int64 fields are strings in proto3 JSON).
export interface StateMachineVersion {
  arn: string;
  stateMachineArn: string;
  version: string;
  revision: string; // the state machine's revision (StateMachine.version) it captured
  description: string;
  definition: unknown; // null in list results
  creationDate: string | null;
}

export interface StateMachineAlias {
  arn: string;
  name: string;
  stateMachineArn: string;
  description: string;
  routing: Array<{ versionArn: string; weight: number }>;
  creationDate: string | null;
  updateDate: string | null;
}
