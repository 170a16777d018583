// The client of the Stepflow public API (proto/stepflow/v1/stepflow.proto), Promise-based.
//
//   const client = await Client.connect('127.0.0.1:7233');
//   const execution = await client.startExecution('hello', { who: 'world' });
//   for await (const event of client.getExecutionHistory(execution.arn)) console.log(event.type);
//
// Every method rejects with the StepflowError subclass named after the server's AWS error name
// (ExecutionDoesNotExist, InvalidDefinition, ...; see errors.ts). Inputs and outputs are JSON: pass any
// JSON-serialisable value (a string is taken as JSON text already). list*() and getExecutionHistory() are
// async iterators that fetch page after page; *Page() methods return one page. Calls take an optional
// AbortSignal that cancels them (Cancelled).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { errorNamePrefix, makeError, toStepflowError, type StepflowError } from './errors.js';
import type { ProtoGrpcType } from './gen/stepflow.js';
import type { DeadLettersClient } from './gen/stepflow/v1/DeadLetters.js';
import type { ExecutionsClient } from './gen/stepflow/v1/Executions.js';
import type { DiscardDeadLettersResponse__Output } from './gen/stepflow/v1/DiscardDeadLettersResponse.js';
import type { GetExecutionHistoryResponse__Output } from './gen/stepflow/v1/GetExecutionHistoryResponse.js';
import type { HeartbeatTaskResponse__Output } from './gen/stepflow/v1/HeartbeatTaskResponse.js';
import type { ListDeadLettersResponse__Output } from './gen/stepflow/v1/ListDeadLettersResponse.js';
import type { ListExecutionsResponse__Output } from './gen/stepflow/v1/ListExecutionsResponse.js';
import type { ListStateMachineAliasesResponse__Output } from './gen/stepflow/v1/ListStateMachineAliasesResponse.js';
import type { ListStateMachinesResponse__Output } from './gen/stepflow/v1/ListStateMachinesResponse.js';
import type { ListStateMachineVersionsResponse__Output } from './gen/stepflow/v1/ListStateMachineVersionsResponse.js';
import type { PollTaskBatchResponse__Output } from './gen/stepflow/v1/PollTaskBatchResponse.js';
import type { PollTaskResponse__Output } from './gen/stepflow/v1/PollTaskResponse.js';
import type { ReportTaskBatchResponse__Output } from './gen/stepflow/v1/ReportTaskBatchResponse.js';
import type { TaskReport as TaskReportMessage } from './gen/stepflow/v1/TaskReport.js';
import type { TaskReportResult__Output } from './gen/stepflow/v1/TaskReportResult.js';
import type { RedriveDeadLettersResponse__Output } from './gen/stepflow/v1/RedriveDeadLettersResponse.js';
import type { TestStateResponse__Output } from './gen/stepflow/v1/TestStateResponse.js';
import type { ValidateDefinitionResponse__Output } from './gen/stepflow/v1/ValidateDefinitionResponse.js';
import type { StateMachinesClient } from './gen/stepflow/v1/StateMachines.js';
import type { TasksClient } from './gen/stepflow/v1/Tasks.js';
import { channelCredentials, channelOptions, DEFAULT_CALL_TIMEOUT_MS, type ClientOptions } from './options.js';
import {
  deadLetterFrom, executionFrom, filterMessage, historyEventFrom, stateMachineAliasFrom, stateMachineFrom,
  stateMachineVersionFrom, taskFrom, testStateResultFrom, toTimestamp,
  type DeadLetter, type DeadLetterFilter, type DeadLetterOutcome, type Execution, type ExecutionStatus,
  type HistoryEvent, type Page, type Route, type StateMachine, type StateMachineAlias, type StateMachineType,
  type StateMachineVersion, type Task, type TestStateResult, type Validation,
} from './types.js';

const PROTO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'proto');

let loaded: ProtoGrpcType | undefined;
function services(): ProtoGrpcType {
  if (loaded === undefined) {
    const definition = protoLoader.loadSync('stepflow/v1/stepflow.proto', {
      longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [PROTO_DIR],
    });
    loaded = grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType;
  }
  return loaded;
}

/** JSON text of a value: a string is sent as it is (it must be JSON text already); undefined = "{}". */
export function jsonText(value: unknown): string {
  if (value === undefined || value === null) {
    return '{}';
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One report of Client.reportTasks: a task's completion (output: JSON text or a value), failure or heartbeat. */
export type TaskReport =
  | { kind: 'complete'; taskToken: string; output?: unknown }
  | { kind: 'fail'; taskToken: string; error?: string; cause?: string }
  | { kind: 'heartbeat'; taskToken: string };

/** What a report's unary call would have answered. */
export interface TaskReportOutcome {
  /** undefined: OK. */
  error?: StepflowError;
  /** A heartbeat's answer: the execution no longer wants the result. */
  cancelled: boolean;
}

function reportMessage(report: TaskReport): TaskReportMessage {
  switch (report.kind) {
    case 'complete':
      return { complete: { taskToken: report.taskToken, output: jsonText(report.output) } };
    case 'fail':
      return { fail: { taskToken: report.taskToken, error: report.error ?? '', cause: report.cause ?? '' } };
    case 'heartbeat':
      return { heartbeat: { taskToken: report.taskToken } };
  }
}

function reportOutcome(r: TaskReportResult__Output): TaskReportOutcome {
  if (r.code === 0) {
    return { cancelled: r.cancelled };
  }
  const message = r.message || `code ${r.code}`;
  const name = r.error || errorNamePrefix(message) || 'InternalFailure';
  return { error: makeError(name, message.startsWith(`${name}: `) ? message : `${name}: ${message}`, r.code),
    cancelled: false };
}

export interface CallOptions {
  /** Cancels the call (it rejects with Cancelled). */
  signal?: AbortSignal;
  /** Deadline in ms instead of the client's callTimeoutMs. */
  timeoutMs?: number;
  /** Wait (within the deadline) for a server that is away instead of failing at once (ServiceUnavailable).
   * The worker's polls and reports use it, so that they go out as soon as a restarted server listens. */
  waitForReady?: boolean;
}

type Callback<T> = (error: grpc.ServiceError | null, value?: T) => void;

async function* pages<T>(fetch: (token: string) => Promise<Page<T>>): AsyncGenerator<T> {
  let token = '';
  do {
    const page = await fetch(token);
    yield* page.items;
    token = page.nextPageToken;
  } while (token);
}

/** One channel to a server and its StateMachines, Executions, Tasks and DeadLetters services. */
export class Client {
  readonly address: string;
  private readonly options: ClientOptions;
  private readonly channel: grpc.Channel;
  private readonly stateMachines: StateMachinesClient;
  private readonly executions: ExecutionsClient;
  private readonly tasks: TasksClient;
  private readonly deadLetters: DeadLettersClient;

  /** Opens a channel to `address` ("127.0.0.1:7233") without waiting for it (see connect()). */
  constructor(address: string, options: ClientOptions = {}) {
    this.address = address;
    this.options = options;
    const creds = channelCredentials(options);
    const chOptions = channelOptions(options);
    this.channel = new grpc.Channel(address, creds, chOptions);
    const v1 = services().stepflow.v1;
    const shared = { ...chOptions, channelOverride: this.channel };
    this.stateMachines = new v1.StateMachines(address, creds, shared);
    this.executions = new v1.Executions(address, creds, shared);
    this.tasks = new v1.Tasks(address, creds, shared);
    this.deadLetters = new v1.DeadLetters(address, creds, shared);
  }

  /** Opens a channel and waits until it is connected, at most `timeoutMs`. ServiceUnavailable when it does
   * not connect; InvalidArgument when a TLS file cannot be read. */
  static async connect(address: string, options: ClientOptions = {}, timeoutMs = 10000): Promise<Client> {
    const client = new Client(address, options);
    try {
      await new Promise<void>((resolve, reject) => {
        client.stateMachines.waitForReady(Date.now() + timeoutMs, (error) => (error ? reject(error) : resolve()));
      });
    } catch {
      client.close();
      throw makeError('ServiceUnavailable', `ServiceUnavailable: cannot connect to ${address} within ${timeoutMs} ms`,
        grpc.status.UNAVAILABLE);
    }
    return client;
  }

  close(): void {
    this.stateMachines.close();
    this.executions.close();
    this.tasks.close();
    this.deadLetters.close();
    this.channel.close();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.options.token) {
      md.set('authorization', `Bearer ${this.options.token}`);
    }
    return md;
  }

  private call<T>(start: (md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<T>) => grpc.ClientUnaryCall,
    options: CallOptions = {}): Promise<T> {
    const waitForReady = options.waitForReady ?? false;
    const timeoutMs = options.timeoutMs ?? this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      if (options.signal?.aborted) {
        reject(makeError('Cancelled', 'Cancelled: the call was aborted', grpc.status.CANCELLED));
        return;
      }
      const md = this.metadata();
      if (waitForReady) {
        md.setOptions({ waitForReady: true });
      }
      const call = start(md, { deadline: Date.now() + timeoutMs }, (error, value) => {
        options.signal?.removeEventListener('abort', abort);
        if (error) {
          reject(toStepflowError(error));
        } else {
          resolve(value as T);
        }
      });
      const abort = (): void => call.cancel();
      options.signal?.addEventListener('abort', abort, { once: true });
    });
  }

  // --- State machines. `stateMachine` is a name or an ARN; a definition is JSON text or an object.

  /** InvalidDefinition (every problem in the message), InvalidName, StateMachineAlreadyExists. With
   * `publish.publish` the revision is also published as a version (stateMachineVersionArn of the result). */
  async createStateMachine(name: string, definition: unknown, type: StateMachineType = 'STANDARD',
    options?: CallOptions & PublishOptions): Promise<StateMachine> {
    return stateMachineFrom(await this.call((md, o, cb) => this.stateMachines.Create(
      { name, definition: jsonText(definition), type, ...publishFields(options) }, md, o, cb), options));
  }

  /** A new version; running executions keep theirs. `publish`: as createStateMachine, in the same commit. */
  async updateStateMachine(stateMachine: string, definition: unknown,
    options?: CallOptions & PublishOptions): Promise<StateMachine> {
    return stateMachineFrom(await this.call((md, o, cb) => this.stateMachines.Update(
      { stateMachine, definition: jsonText(definition), ...publishFields(options) }, md, o, cb), options));
  }

  async describeStateMachine(stateMachine: string, options?: CallOptions): Promise<StateMachine> {
    return stateMachineFrom(await this.call((md, o, cb) =>
      this.stateMachines.Describe({ stateMachine }, md, o, cb), options));
  }

  async listStateMachinesPage(pageSize = 0, pageToken = '', options?: CallOptions): Promise<Page<StateMachine>> {
    const r = await this.call<ListStateMachinesResponse__Output>((md, o, cb) => this.stateMachines.List({ pageSize, pageToken }, md, o, cb), options);
    return { items: r.stateMachines.map(stateMachineFrom), nextPageToken: r.nextPageToken };
  }

  /** Every state machine (without definitions). */
  listStateMachines(pageSize = 0): AsyncGenerator<StateMachine> {
    return pages((token) => this.listStateMachinesPage(pageSize, token));
  }

  async deleteStateMachine(stateMachine: string, options?: CallOptions): Promise<void> {
    await this.call((md, o, cb) => this.stateMachines.Delete({ stateMachine }, md, o, cb), options);
  }

  async validateDefinition(definition: unknown, type: StateMachineType = 'STANDARD',
    options?: CallOptions): Promise<Validation> {
    const r = await this.call<ValidateDefinitionResponse__Output>((md, o, cb) =>
      this.stateMachines.Validate({ definition: jsonText(definition), type }, md, o, cb), options);
    return { valid: r.valid, diagnostics: r.diagnostics.map((d) => ({ ...d })) };
  }

  /** AWS's TestState: runs one state of `definition` (a state, or a state machine with `stateName`) on `input`
   * without an execution. A Task, Map or Parallel state needs a mock (`mockResult`, or `mockError` and
   * `mockCause`); `retrierRetryCount` retries are taken first. At `inspectionLevel` DEBUG or TRACE the result
   * has `inspectionData`. InvalidDefinition, InvalidExecutionInput, ValidationException. */
  async testState(definition: unknown, request: TestStateOptions = {}, options?: CallOptions): Promise<TestStateResult> {
    const mock = request.mockResult !== undefined ? { result: jsonText(request.mockResult) }
      : request.mockError !== undefined ? { errorOutput: { error: request.mockError, cause: request.mockCause ?? '' } }
        : null;
    const r = await this.call<TestStateResponse__Output>((md, o, cb) => this.stateMachines.TestState({
      definition: jsonText(definition), stateName: request.stateName ?? '', input: jsonText(request.input),
      inspectionLevel: request.inspectionLevel ?? 'INFO',
      variables: request.variables === undefined ? '' : jsonText(request.variables),
      retrierRetryCount: request.retrierRetryCount ?? 0, mock,
    }, md, o, cb), options);
    return testStateResultFrom(r);
  }

  // --- Published versions (AWS's PublishStateMachineVersion, ...). StateMachineDoesNotExist,
  // ResourceNotFound, ConflictException, ServiceQuotaExceededException, InvalidArn, ValidationException.

  /** Publishes the latest revision (idempotent). ConflictException when `revision` (0 = any) is not the latest. */
  async publishStateMachineVersion(stateMachine: string, description = '', revision = 0,
    options?: CallOptions): Promise<StateMachineVersion> {
    return stateMachineVersionFrom(await this.call((md, o, cb) =>
      this.stateMachines.PublishVersion({ stateMachine, description, revision }, md, o, cb), options));
  }

  async listStateMachineVersionsPage(stateMachine: string, pageSize = 0, pageToken = '',
    options?: CallOptions): Promise<Page<StateMachineVersion>> {
    const r = await this.call<ListStateMachineVersionsResponse__Output>((md, o, cb) =>
      this.stateMachines.ListVersions({ stateMachine, pageSize, pageToken }, md, o, cb), options);
    return { items: r.versions.map(stateMachineVersionFrom), nextPageToken: r.nextPageToken };
  }

  /** Every version, newest first, without definitions. */
  listStateMachineVersions(stateMachine: string, pageSize = 0): AsyncGenerator<StateMachineVersion> {
    return pages((token) => this.listStateMachineVersionsPage(stateMachine, pageSize, token));
  }

  async describeStateMachineVersion(versionArn: string, options?: CallOptions): Promise<StateMachineVersion> {
    return stateMachineVersionFrom(await this.call((md, o, cb) =>
      this.stateMachines.DescribeVersion({ versionArn }, md, o, cb), options));
  }

  /** Idempotent; ConflictException while an alias routes to the version. */
  async deleteStateMachineVersion(versionArn: string, options?: CallOptions): Promise<void> {
    await this.call((md, o, cb) => this.stateMachines.DeleteVersion({ versionArn }, md, o, cb), options);
  }

  // --- Aliases: a name routing starts to one or two versions by weight.

  async createStateMachineAlias(name: string, routing: Route[], description = '',
    options?: CallOptions): Promise<StateMachineAlias> {
    return stateMachineAliasFrom(await this.call((md, o, cb) =>
      this.stateMachines.CreateAlias({ name, description, routing }, md, o, cb), options));
  }

  /** Replaces what is given: `routing` (undefined or empty: unchanged) and `description` (undefined: unchanged). */
  async updateStateMachineAlias(aliasArn: string, change: { routing?: Route[]; description?: string },
    options?: CallOptions): Promise<StateMachineAlias> {
    return stateMachineAliasFrom(await this.call((md, o, cb) => this.stateMachines.UpdateAlias(
      { aliasArn, routing: change.routing ?? [], description: change.description }, md, o, cb), options));
  }

  async describeStateMachineAlias(aliasArn: string, options?: CallOptions): Promise<StateMachineAlias> {
    return stateMachineAliasFrom(await this.call((md, o, cb) =>
      this.stateMachines.DescribeAlias({ aliasArn }, md, o, cb), options));
  }

  async listStateMachineAliasesPage(stateMachine: string, pageSize = 0, pageToken = '',
    options?: CallOptions): Promise<Page<StateMachineAlias>> {
    const r = await this.call<ListStateMachineAliasesResponse__Output>((md, o, cb) =>
      this.stateMachines.ListAliases({ stateMachine, pageSize, pageToken }, md, o, cb), options);
    return { items: r.aliases.map(stateMachineAliasFrom), nextPageToken: r.nextPageToken };
  }

  /** Every alias, by name. */
  listStateMachineAliases(stateMachine: string, pageSize = 0): AsyncGenerator<StateMachineAlias> {
    return pages((token) => this.listStateMachineAliasesPage(stateMachine, pageSize, token));
  }

  /** ResourceNotFound. The versions it routed to stay. */
  async deleteStateMachineAlias(aliasArn: string, options?: CallOptions): Promise<void> {
    await this.call((md, o, cb) => this.stateMachines.DeleteAlias({ aliasArn }, md, o, cb), options);
  }

  // --- Executions.

  /** Same name and input returns the existing execution; a different input ExecutionAlreadyExists. */
  async startExecution(stateMachine: string, input?: unknown, name = '', options?: CallOptions): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) =>
      this.executions.Start({ stateMachine, name, input: jsonText(input) }, md, o, cb), options));
  }

  /** Starts and waits until the execution ends, at most timeoutMs (default 60 s; then Timeout, and it keeps
   * running). */
  async startSyncExecution(stateMachine: string, input?: unknown, name = '',
    options: CallOptions = {}): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) =>
      this.executions.StartSync({ stateMachine, name, input: jsonText(input) }, md, o, cb),
    { timeoutMs: 60000, ...options }));
  }

  async describeExecution(executionArn: string, options?: CallOptions): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) => this.executions.Describe({ executionArn }, md, o, cb), options));
  }

  /** The standard execution `name` of `stateMachine` (a name or an ARN), without its ARN. ExecutionDoesNotExist. */
  async describeExecutionByName(stateMachine: string, name: string, options?: CallOptions): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) =>
      this.executions.Describe({ stateMachine, name }, md, o, cb), options));
  }

  async getExecutionHistoryPage(executionArn: string, pageSize = 0, pageToken = '', reverseOrder = false,
    options?: CallOptions): Promise<Page<HistoryEvent>> {
    const r = await this.call<GetExecutionHistoryResponse__Output>((md, o, cb) =>
      this.executions.GetHistory({ executionArn, pageSize, pageToken, reverseOrder }, md, o, cb), options);
    return { items: r.events.map(historyEventFrom), nextPageToken: r.nextPageToken };
  }

  /** Every event, oldest first (newest first with reverseOrder). */
  getExecutionHistory(executionArn: string, reverseOrder = false, pageSize = 0): AsyncGenerator<HistoryEvent> {
    return pages((token) => this.getExecutionHistoryPage(executionArn, pageSize, token, reverseOrder));
  }

  /** Events with id > afterEventId, then each new one until the execution ends (or timeoutMs passes:
   * Timeout). Leaving the loop, or `signal`, cancels the stream. */
  async* watchExecutionHistory(executionArn: string, afterEventId = 0,
    options: { signal?: AbortSignal; timeoutMs?: number } = {}): AsyncGenerator<HistoryEvent> {
    const callOptions: grpc.CallOptions = options.timeoutMs ? { deadline: Date.now() + options.timeoutMs } : {};
    const stream = this.executions.WatchHistory({ executionArn, afterEventId }, this.metadata(), callOptions);
    const abort = (): void => stream.cancel();
    options.signal?.addEventListener('abort', abort, { once: true });
    try {
      for await (const event of stream) {
        yield historyEventFrom(event);
      }
    } catch (error) {
      throw toStepflowError(error);
    } finally {
      options.signal?.removeEventListener('abort', abort);
      stream.cancel();
    }
  }

  async listExecutionsPage(filter: ListExecutionsFilter = {}, pageSize = 0, pageToken = '',
    options?: CallOptions): Promise<Page<Execution>> {
    const request = {
      stateMachine: filter.stateMachine ?? '', status: filter.status ?? 'EXECUTION_STATUS_UNSPECIFIED',
      startedAfter: toTimestamp(filter.startedAfter), startedBefore: toTimestamp(filter.startedBefore), pageSize,
      pageToken,
    } as const;
    const r = await this.call<ListExecutionsResponse__Output>((md, o, cb) => this.executions.List(request, md, o, cb), options);
    return { items: r.executions.map(executionFrom), nextPageToken: r.nextPageToken };
  }

  /** Executions matching the filters, newest first, without input and output. */
  listExecutions(filter: ListExecutionsFilter = {}, pageSize = 0): AsyncGenerator<Execution> {
    return pages((token) => this.listExecutionsPage(filter, pageSize, token));
  }

  /** ExecutionDoesNotExist; ExecutionNotRunning. */
  async stopExecution(executionArn: string, error = '', cause = '', options?: CallOptions): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) =>
      this.executions.Stop({ executionArn, error, cause }, md, o, cb), options));
  }

  async describeStateMachineForExecution(executionArn: string, options?: CallOptions): Promise<StateMachine> {
    return stateMachineFrom(await this.call((md, o, cb) =>
      this.executions.DescribeStateMachineForExecution({ executionArn }, md, o, cb), options));
  }

  /** Resumes a FAILED, TIMED_OUT or ABORTED execution from the state that failed; ExecutionNotRedrivable. */
  async redriveExecution(executionArn: string, options?: CallOptions): Promise<Execution> {
    return executionFrom(await this.call((md, o, cb) => this.executions.Redrive({ executionArn }, md, o, cb), options));
  }

  // --- Tasks (Worker builds on these). A task is named by its opaque token.

  /** Long-polls `queue` for up to waitSeconds (0 = 20; at most 60); undefined when no task came. Waits for a
   * server that is away (wait-for-ready). */
  async pollTask(queue: string, identity = '', waitSeconds = 20, options: CallOptions = {}): Promise<Task | undefined> {
    const timeoutMs = (waitSeconds || 20) * 1000 + (this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    const r = await this.call<PollTaskResponse__Output>((md, o, cb) =>
      this.tasks.Poll({ queue, workerIdentity: identity, waitSeconds }, md, o, cb),
    { timeoutMs, waitForReady: true, ...options });
    return r.taskToken ? taskFrom(r, queue) : undefined;
  }

  /** Tasks.PollBatch: up to maxTasks tasks of `queue` (0 = 1; at most 256, ValidationException beyond): waits,
   * as pollTask, for the first, then takes those waiting at that moment; [] when none came within waitSeconds.
   * Waits for a server that is away (wait-for-ready). */
  async pollTasks(queue: string, identity = '', maxTasks = 1, waitSeconds = 20, options: CallOptions = {}): Promise<Task[]> {
    const timeoutMs = (waitSeconds || 20) * 1000 + (this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
    const r = await this.call<PollTaskBatchResponse__Output>((md, o, cb) =>
      this.tasks.PollBatch({ queue, workerIdentity: identity, waitSeconds, maxTasks }, md, o, cb),
    { timeoutMs, waitForReady: true, ...options });
    return r.tasks.map((t) => taskFrom(t, queue));
  }

  /** Tasks.ReportBatch: many Complete/Fail/Heartbeat reports in one call, at most 1,000 and 4 MiB
   * (ValidationException for the whole call beyond). Answers each report in order, as its unary call would have:
   * `error` undefined when it succeeded, else the StepflowError that call would have thrown; `cancelled` for a
   * heartbeat. InternalFailure when the server answers another number of results than reports. */
  async reportTasks(reports: TaskReport[], options?: CallOptions): Promise<TaskReportOutcome[]> {
    return (await this.reportTasksAndPoll(reports, [], options)).outcomes;
  }

  /** As reportTasks, with `polls` (one per queue): the call also answers tasks for the slots the reports free,
   * up to each poll's maxTasks without waiting, each started for its poll's identity: first those the reports'
   * own commits schedule (a workflow's next step, started in that commit), then those waiting. */
  async reportTasksAndPoll(reports: TaskReport[], polls: Array<{ queue: string; identity?: string; maxTasks: number }>,
    options?: CallOptions): Promise<{ outcomes: TaskReportOutcome[]; tasks: Task[] }> {
    const r = await this.call<ReportTaskBatchResponse__Output>((md, o, cb) =>
      this.tasks.ReportBatch({
        reports: reports.map(reportMessage),
        polls: polls.map((p) => ({ queue: p.queue, workerIdentity: p.identity ?? '', maxTasks: p.maxTasks })),
      }, md, o, cb), options);
    if (r.results.length !== reports.length) {
      throw makeError('InternalFailure',
        `InternalFailure: ReportBatch answered ${r.results.length} results to ${reports.length} reports`,
        grpc.status.INTERNAL);
    }
    return { outcomes: r.results.map(reportOutcome), tasks: r.tasks.map((t) => taskFrom(t, t.queue)) };
  }

  /** Repeating a completion is OK. InvalidToken, InvalidOutput, TaskDoesNotExist, TaskTimedOut. */
  async completeTask(taskToken: string, output?: unknown, options?: CallOptions): Promise<void> {
    await this.call((md, o, cb) => this.tasks.Complete({ taskToken, output: jsonText(output) }, md, o, cb), options);
  }

  /** Reports an ASL error ("" = States.TaskFailed) that Retry/Catch match on. */
  async failTask(taskToken: string, error = '', cause = '', options?: CallOptions): Promise<void> {
    await this.call((md, o, cb) => this.tasks.Fail({ taskToken, error, cause }, md, o, cb), options);
  }

  /** Resets the HeartbeatSeconds clock; true when the execution no longer wants the result. */
  async heartbeatTask(taskToken: string, options?: CallOptions): Promise<boolean> {
    const r = await this.call<HeartbeatTaskResponse__Output>((md, o, cb) => this.tasks.Heartbeat({ taskToken }, md, o, cb), options);
    return r.cancelled;
  }

  // --- Dead letters.

  async listDeadLettersPage(filter?: DeadLetterFilter, pageSize = 0, pageToken = '',
    options?: CallOptions): Promise<Page<DeadLetter>> {
    const r = await this.call<ListDeadLettersResponse__Output>((md, o, cb) =>
      this.deadLetters.List({ filter: filterMessage(filter), pageSize, pageToken }, md, o, cb), options);
    return { items: r.deadLetters.map(deadLetterFrom), nextPageToken: r.nextPageToken };
  }

  /** Entries matching `filter` by execution ARN, then oldest first. */
  listDeadLetters(filter?: DeadLetterFilter, pageSize = 0): AsyncGenerator<DeadLetter> {
    return pages((token) => this.listDeadLettersPage(filter, pageSize, token));
  }

  /** DeadLetterDoesNotExist. */
  async getDeadLetter(id: string, options?: CallOptions): Promise<DeadLetter> {
    return deadLetterFrom(await this.call((md, o, cb) => this.deadLetters.Get({ id }, md, o, cb), options));
  }

  /** Re-runs one entry (`id`) or every entry matching `filter`, resuming their executions; one outcome per
   * entry. `input` replaces the recorded task input. */
  async redriveDeadLetters(target: { id?: string; filter?: DeadLetterFilter; input?: unknown },
    options?: CallOptions): Promise<DeadLetterOutcome[]> {
    const request = {
      id: target.id ?? '', filter: filterMessage(target.filter),
      input: target.input === undefined ? '' : jsonText(target.input),
    };
    const r = await this.call<RedriveDeadLettersResponse__Output>((md, o, cb) => this.deadLetters.Redrive(request, md, o, cb), options);
    return r.outcomes.map((x) => ({ ...x }));
  }

  async discardDeadLetters(target: { id?: string; filter?: DeadLetterFilter },
    options?: CallOptions): Promise<DeadLetterOutcome[]> {
    const r = await this.call<DiscardDeadLettersResponse__Output>((md, o, cb) =>
      this.deadLetters.Discard({ id: target.id ?? '', filter: filterMessage(target.filter) }, md, o, cb), options);
    return r.outcomes.map((x) => ({ ...x }));
  }
}

/** AWS's publish / versionDescription on createStateMachine and updateStateMachine. */
/** What TestState runs (Client.testState): the state's input and variables, the mock, the inspection level. */
export interface TestStateOptions {
  /** A state machine definition: the state to test (default its StartAt). One state: its name. */
  stateName?: string;
  /** JSON value or text; undefined = {}. */
  input?: unknown;
  /** INFO (default), DEBUG or TRACE. */
  inspectionLevel?: 'INFO' | 'DEBUG' | 'TRACE';
  /** The variables in scope (an object, or its JSON text). */
  variables?: unknown;
  /** The mocked answer of a Task, Map or Parallel state: a result, or an error and cause. */
  mockResult?: unknown;
  mockError?: string;
  mockCause?: string;
  /** Retries already taken by the retrier that matches the mocked error. */
  retrierRetryCount?: number;
}

export interface PublishOptions {
  /** Also publish the revision as a version, in the same commit. */
  publish?: boolean;
  /** The version's description (at most 256 characters); only with publish (else ValidationException). */
  versionDescription?: string;
}

function publishFields(options: PublishOptions | undefined): { publish: boolean; versionDescription: string } {
  return { publish: options?.publish ?? false, versionDescription: options?.versionDescription ?? '' };
}

export interface ListExecutionsFilter {
  /** Name or ARN of a state machine, or a version or alias ARN: the executions started on it (not with
   * `status`: ValidationException). */
  stateMachine?: string;
  status?: ExecutionStatus;
  /** Inclusive. */
  startedAfter?: Date;
  /** Exclusive. */
  startedBefore?: Date;
}
