// The typed results of the Stepflow client, built from the API's messages. JSON text fields (definitions,
// inputs, outputs, history details) stay text as the server sent them; parse them with JSON.parse.
// Timestamps become Date values (undefined when unset).
import type { DeadLetter__Output } from './gen/stepflow/v1/DeadLetter.js';
import type { DeadLetterFilter as DeadLetterFilterMessage } from './gen/stepflow/v1/DeadLetterFilter.js';
import type { Execution__Output } from './gen/stepflow/v1/Execution.js';
import type { HistoryEvent__Output } from './gen/stepflow/v1/HistoryEvent.js';
import type { PollTaskResponse__Output } from './gen/stepflow/v1/PollTaskResponse.js';
import type { StateMachine__Output } from './gen/stepflow/v1/StateMachine.js';
import type { StateMachineAlias__Output } from './gen/stepflow/v1/StateMachineAlias.js';
import type { StateMachineVersion__Output } from './gen/stepflow/v1/StateMachineVersion.js';
import type { TestStateResponse__Output } from './gen/stepflow/v1/TestStateResponse.js';
import type { Timestamp, Timestamp__Output } from './gen/google/protobuf/Timestamp.js';

export type StateMachineType = 'STANDARD' | 'EXPRESS';
export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED' | 'QUARANTINED';

export interface Page<T> {
  items: T[];
  /** "" on the last page. */
  nextPageToken: string;
}

export interface Diagnostic { location: string; code: string; message: string }
export interface Validation { valid: boolean; diagnostics: Diagnostic[] }

export interface StateMachine {
  name: string;
  arn: string;
  /** JSON text as submitted ("" in lists). */
  definition: string;
  type: StateMachineType;
  /** 1 on create, +1 on every update. */
  version: number;
  creationDate?: Date;
  updateDate?: Date;
  /** Create/update with `publish`: the version published (AWS's stateMachineVersionArn); "" otherwise. */
  stateMachineVersionArn: string;
}

/** A published version (arn:...:stateMachine:NAME:N): an immutable snapshot of one revision. */
export interface StateMachineVersion {
  arn: string;
  stateMachineArn: string;
  /** N: 1, 2, ... per state machine, never reused. */
  version: number;
  /** The StateMachine.version it captured. */
  revision: number;
  description: string;
  /** JSON text ("" in lists). */
  definition: string;
  type: StateMachineType;
  creationDate?: Date;
}

/** One route of an alias: a version ARN and its share of the starts (0..100). */
export interface Route {
  versionArn: string;
  weight: number;
}

/** An alias (arn:...:stateMachine:NAME:ALIAS) routing starts to one or two versions by weight. */
export interface StateMachineAlias {
  arn: string;
  name: string;
  stateMachineArn: string;
  description: string;
  routing: Route[];
  creationDate?: Date;
  updateDate?: Date;
}

export interface Execution {
  arn: string;
  name: string;
  stateMachineArn: string;
  stateMachineVersion: number;
  status: ExecutionStatus;
  /** JSON text ("" in lists). */
  input: string;
  /** JSON text; SUCCEEDED only. */
  output: string;
  error: string;
  cause: string;
  startDate?: Date;
  /** Unset while RUNNING. */
  stopDate?: Date;
  redriveCount: number;
  /** The published version and alias it was started on ("" when started on the state machine itself). */
  stateMachineVersionArn: string;
  stateMachineAliasArn: string;
}

/** An AWS history event: `type` is AWS's name, `details` the JSON text of its `detailsKey` object. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp?: Date;
  type: string;
  detailsKey: string;
  details: string;
}

/** A task handed out by pollTask. */
export interface Task {
  token: string;
  queue: string;
  /** JSON text: the state's effective input. */
  input: string;
  executionArn: string;
  stateMachineArn: string;
  stateName: string;
  /** 0 for the first try, n for the n-th retry. */
  attempt: number;
  /** When TimeoutSeconds runs out; unset without one. */
  deadline?: Date;
  /** 0 = none. */
  heartbeatSeconds: number;
  scheduled?: Date;
}

export interface TaskAttempt {
  attempt: number;
  workerIdentity: string;
  scheduled?: Date;
  started?: Date;
  ended?: Date;
  error: string;
  cause: string;
}

export interface DeadLetter {
  id: string;
  queue: string;
  executionArn: string;
  stateMachineArn: string;
  stateName: string;
  input: string;
  /** Oldest first. */
  attempts: TaskAttempt[];
  error: string;
  cause: string;
  created?: Date;
}

/** Which dead letters a list, redrive or discard applies to; every field is optional. */
export interface DeadLetterFilter {
  queue?: string;
  /** Name or ARN. */
  stateMachine?: string;
  /** The last attempt's error name. */
  error?: string;
  /** Inclusive. */
  createdAfter?: Date;
  /** Exclusive. */
  createdBefore?: Date;
}

export interface DeadLetterOutcome {
  id: string;
  executionArn: string;
  /** "" when it succeeded, else "ErrorName: message". */
  error: string;
}

export function toDate(ts: Timestamp__Output | null | undefined): Date | undefined {
  return ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) : undefined;
}

export function toTimestamp(date: Date | undefined): Timestamp | null {
  if (date === undefined) {
    return null;
  }
  const ms = date.getTime();
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

export function stateMachineFrom(m: StateMachine__Output): StateMachine {
  return {
    name: m.name, arn: m.arn, definition: m.definition, type: m.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
    version: Number(m.version), creationDate: toDate(m.creationDate), updateDate: toDate(m.updateDate),
    stateMachineVersionArn: m.stateMachineVersionArn,
  };
}

export function stateMachineVersionFrom(m: StateMachineVersion__Output): StateMachineVersion {
  return {
    arn: m.arn, stateMachineArn: m.stateMachineArn, version: Number(m.version), revision: Number(m.revision),
    description: m.description, definition: m.definition, type: m.type === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
    creationDate: toDate(m.creationDate),
  };
}

export function stateMachineAliasFrom(m: StateMachineAlias__Output): StateMachineAlias {
  return {
    arn: m.arn, name: m.name, stateMachineArn: m.stateMachineArn, description: m.description,
    routing: m.routing.map((r) => ({ versionArn: r.versionArn, weight: r.weight })),
    creationDate: toDate(m.creationDate), updateDate: toDate(m.updateDate),
  };
}

export function executionFrom(m: Execution__Output): Execution {
  return {
    arn: m.arn, name: m.name, stateMachineArn: m.stateMachineArn, stateMachineVersion: Number(m.stateMachineVersion),
    status: m.status as ExecutionStatus, input: m.input, output: m.output, error: m.error, cause: m.cause,
    startDate: toDate(m.startDate), stopDate: toDate(m.stopDate), redriveCount: m.redriveCount,
    stateMachineVersionArn: m.stateMachineVersionArn, stateMachineAliasArn: m.stateMachineAliasArn,
  };
}

export function historyEventFrom(m: HistoryEvent__Output): HistoryEvent {
  return {
    id: Number(m.id), previousEventId: Number(m.previousEventId), timestamp: toDate(m.timestamp), type: m.type,
    detailsKey: m.detailsKey, details: m.details,
  };
}

export function taskFrom(m: PollTaskResponse__Output, queue: string): Task {
  const c = m.context;
  return {
    token: m.taskToken, queue: m.queue || queue, input: m.input, executionArn: c?.executionArn ?? '',
    stateMachineArn: c?.stateMachineArn ?? '', stateName: c?.stateName ?? '', attempt: c?.attempt ?? 0,
    deadline: toDate(c?.deadline), heartbeatSeconds: c?.heartbeatSeconds ?? 0, scheduled: toDate(c?.scheduled),
  };
}

export function deadLetterFrom(m: DeadLetter__Output): DeadLetter {
  return {
    id: m.id, queue: m.queue, executionArn: m.executionArn, stateMachineArn: m.stateMachineArn,
    stateName: m.stateName, input: m.input, error: m.error, cause: m.cause, created: toDate(m.created),
    attempts: m.attempts.map((a) => ({
      attempt: a.attempt, workerIdentity: a.workerIdentity, scheduled: toDate(a.scheduled),
      started: toDate(a.started), ended: toDate(a.ended), error: a.error, cause: a.cause,
    })),
  };
}

export function filterMessage(f: DeadLetterFilter | undefined): DeadLetterFilterMessage | null {
  if (f === undefined) {
    return null;
  }
  return {
    queue: f.queue ?? '', stateMachine: f.stateMachine ?? '', error: f.error ?? '',
    createdAfter: toTimestamp(f.createdAfter), createdBefore: toTimestamp(f.createdBefore),
  };
}

/** AWS's errorDetails: what handled a RETRIABLE or CAUGHT_ERROR state's failure. */
export interface InspectionErrorDetails {
  catchIndex?: number;
  retryIndex?: number;
  retryBackoffIntervalSeconds?: number;
}

/** AWS's inspectionData (DEBUG and TRACE): each payload JSON text, "" when the state did not reach that step. */
export interface InspectionData {
  input: string;
  afterInputPath: string;
  afterParameters: string;
  afterArguments: string;
  result: string;
  afterResultSelector: string;
  afterResultPath: string;
  variables: string;
  errorDetails?: InspectionErrorDetails;
  /** Map states: the items after ItemsPath, every iteration's input after ItemSelector, the numeric fields. */
  afterItemsPath: string;
  afterItemSelector: string;
  maxConcurrency?: number;
  toleratedFailureCount?: number;
  toleratedFailurePercentage?: number;
}

/** AWS's TestState answer. `nextState`: where a SUCCEEDED or CAUGHT_ERROR state goes ("" when it ends the
 * machine), the state itself when RETRIABLE. */
export interface TestStateResult {
  status: 'SUCCEEDED' | 'FAILED' | 'RETRIABLE' | 'CAUGHT_ERROR';
  output: string;
  error: string;
  cause: string;
  nextState: string;
  /** DEBUG and TRACE only. */
  inspectionData?: InspectionData;
}

// A proto3 `optional` field: its value when set (proto-loader marks it in the synthetic oneof `_<name>`).
function optionalField(m: object, name: string): number | undefined {
  const fields = m as Record<string, unknown>;
  return fields[`_${name}`] === name && typeof fields[name] === 'number' ? fields[name] as number : undefined;
}

export function testStateResultFrom(m: TestStateResponse__Output): TestStateResult {
  const d = m.inspectionData;
  const e = d?.errorDetails;
  return {
    status: m.status as TestStateResult['status'], output: m.output, error: m.error, cause: m.cause,
    nextState: m.nextState,
    inspectionData: d ? {
      input: d.input, afterInputPath: d.afterInputPath, afterParameters: d.afterParameters,
      afterArguments: d.afterArguments, result: d.result, afterResultSelector: d.afterResultSelector,
      afterResultPath: d.afterResultPath, variables: d.variables,
      errorDetails: e ? {
        catchIndex: optionalField(e, 'catchIndex'), retryIndex: optionalField(e, 'retryIndex'),
        retryBackoffIntervalSeconds: optionalField(e, 'retryBackoffIntervalSeconds'),
      } : undefined,
      afterItemsPath: d.afterItemsPath, afterItemSelector: d.afterItemSelector,
      maxConcurrency: optionalField(d, 'maxConcurrency'), toleratedFailureCount: optionalField(d, 'toleratedFailureCount'),
      toleratedFailurePercentage: optionalField(d, 'toleratedFailurePercentage'),
    } : undefined,
  };
}
