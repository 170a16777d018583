// The TypeScript worker: runs handlers for the tasks of Stepflow queues, over the public Tasks API only.
//
//   const worker = new Worker(client, { concurrency: 4 });
//   worker.handle('charge-card', async (ctx, input) => {
//     if (declined) throw new TaskError('Payment.Declined', 'card expired');
//     return { charged: true };
//   });
//   await worker.run();  // until SIGTERM/SIGINT or stop(); then drains
//
// The contract is the C++ worker's (clients/cpp/worker.h), and so are the calls it makes: the batched
// Tasks.PollBatch and Tasks.ReportBatch (the unary Poll/Complete/Fail/Heartbeat stay for other clients).
// - A queue is polled only while one of the `concurrency` handler slots is free, so the worker never holds a
//   task it cannot start: each PollBatch reserves every free slot (up to the queue's share, concurrency /
//   queues) for the length of its long poll and asks for that many tasks; it gets the first task to come and
//   those waiting with it. Two polls per queue, so that one is under way while the other's tasks start.
// - The handler gets the task's input (parsed JSON) and a TaskContext (execution, state, attempt, deadline,
//   cancellation). Its result (undefined = {}) becomes the task's output; a thrown TaskError(error, cause)
//   fails it with that error and cause.
// - While the handler runs, the worker heartbeats the task every third of its HeartbeatSeconds, or every
//   defaultHeartbeatIntervalMs when the state has none (to learn of cancellation).
// - Results, failures and heartbeats go in ReportBatch calls: those made in one turn of the event loop go
//   together, at most two calls are under way at once and the reports made meanwhile gather for the next (at
//   most 1,000 reports and 4 MiB per call; a report that alone nears 4 MiB goes as its unary call). Each
//   report is answered as its unary call would be; a repeated completion changes nothing (the first counts).
// - A report call that carries results also asks, per queue, for as many tasks as they free slots (not once
//   the worker stops): the server answers with the tasks the reports' own commits schedule (a workflow's next
//   step, started in that commit) and then any waiting; each takes a reported task's slot, so a busy worker
//   gets its next tasks without polls and never holds more tasks than its slots.
// - Cancellation reaches the handler through ctx.signal (an AbortSignal), ctx.cancelled and ctx.cancelReason
//   when a heartbeat answers cancelled, when the server refuses the token (the task timed out), when the
//   task's deadline passes, or when a drain runs out of time.
// - Errors the worker makes up (ASL error names a Retry or Catch can match):
//     Worker.Exception     the handler threw anything but a TaskError (cause: the error's message, or its
//                          name), or returned a value JSON cannot encode
//     Worker.InvalidInput  the task's input is not JSON (the server should never send that)
//     Worker.Shutdown      the worker stopped and the handler had not returned within the drain timeout
// - Failed polls are retried with exponential backoff (initialBackoffMs doubling to maxBackoffMs). Polls wait
//   for a server that is away (wait-for-ready) and the channel reconnects within 0.5 s, so workers are back
//   within a second of a restart; report calls wait for the server the same way (within the client's call
//   timeout), so that a task finished during an outage is reported as soon as the server is back. A report
//   whose call failed with ServiceUnavailable or Timeout is retried (in a later call) for reportTimeoutMs; a
//   report refused because the task is gone (TaskTimedOut, TaskDoesNotExist) is dropped.
// Handlers share Node's one thread: a handler that blocks it (a long synchronous loop) blocks heartbeats too.
import * as grpc from '@grpc/grpc-js';
import { hostname } from 'node:os';

import type { Client, TaskReport } from './client.js';
import { StepflowError, toStepflowError } from './errors.js';
import { ReportBatcher, type SlotSink } from './report_batcher.js';
import { TaskContext, TaskError, type CancelReason } from './task_context.js';
import type { Task } from './types.js';

export { TaskContext, TaskError, type CancelReason };

/** A queue's handler: (context, input) -> output, or a Promise of it. May throw TaskError. */
export type Handler = (ctx: TaskContext, input: unknown) => unknown;

export interface WorkerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface WorkerOptions {
  /** Recorded on each task attempt (and in dead letters). Default: "HOSTNAME:PID". */
  identity?: string;
  /** Handlers running at once, over all queues. Default: 1. */
  concurrency?: number;
  /** Long-poll wait of each PollBatch in seconds (the server caps it at 60). Default: 20. */
  pollWaitSeconds?: number;
  /** Heartbeat interval for tasks whose state has no HeartbeatSeconds; 0 = none. Default: 10000 ms. */
  defaultHeartbeatIntervalMs?: number;
  /** How long stop() waits for running handlers before cancelling them. Default: 30000 ms. */
  drainTimeoutMs?: number;
  /** After that, how long before their tasks fail with Worker.Shutdown. Default: 5000 ms. */
  shutdownGraceMs?: number;
  /** Poll retry backoff, doubling from initial to max. Default: 100 ms to 2000 ms. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a Complete/Fail failing with ServiceUnavailable or Timeout is retried. Default: 60000 ms. */
  reportTimeoutMs?: number;
  /** Where log lines go. Default: warnings and errors to the console. */
  logger?: WorkerLogger;
}

export interface WorkerStats {
  running: number;
  started: number;
  completed: number;
  failed: number;
  polls: number;
  heartbeats: number;
}

const GONE = new Set(['TaskTimedOut', 'TaskDoesNotExist']);
// Polls under way per queue: two, so that one is under way while the other's tasks start.
const POLLERS_PER_QUEUE = 2;
// The most tasks one PollBatch asks for (the server's bound).
const MAX_POLL_TASKS = 256;
const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);

type Outcome = { kind: 'complete'; output: string } | { kind: 'fail'; error: string; cause: string };

interface Running {
  context: TaskContext;
  claimed: boolean;
  done: Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class Worker {
  private readonly client: Client;
  private readonly options: Required<Omit<WorkerOptions, 'logger'>>;
  private readonly log: WorkerLogger;
  private readonly handlers = new Map<string, Handler>();
  private readonly counters: WorkerStats = { running: 0, started: 0, completed: 0, failed: 0, polls: 0, heartbeats: 0 };
  private readonly inFlight = new Set<Running>();
  private readonly pollAbort = new AbortController();
  private readonly slotWaiters: Array<() => void> = [];
  private freeSlots = 0;  // handler slots not reserved by a poll or taken by a task
  private queueShare = 1;  // slots the polls of one queue may reserve at once
  private readonly polling = new Map<string, number>();  // slots reserved by the polls of each queue now
  // The pollers waiting for a slot, by when they began to wait (oldest first; a Map keeps insertion order): a
  // poller whose last poll found nothing lets an older waiter of another queue take a freed slot first.
  private readonly waitingPollers = new Map<number, string>();
  private nextWaiter = 0;
  private readonly reports: ReportBatcher;
  private started = false;
  private stopping = false;
  private stopResult: Promise<boolean> | undefined;
  private pollers: Promise<void>[] = [];
  private stopRequested: (() => void) | undefined;

  constructor(client: Client, options: WorkerOptions = {}) {
    this.client = client;
    this.options = {
      identity: options.identity || `${hostname()}:${process.pid}`,
      concurrency: options.concurrency ?? 1,
      pollWaitSeconds: options.pollWaitSeconds ?? 20,
      defaultHeartbeatIntervalMs: options.defaultHeartbeatIntervalMs ?? 10000,
      drainTimeoutMs: options.drainTimeoutMs ?? 30000,
      shutdownGraceMs: options.shutdownGraceMs ?? 5000,
      initialBackoffMs: options.initialBackoffMs ?? 100,
      maxBackoffMs: options.maxBackoffMs ?? 2000,
      reportTimeoutMs: options.reportTimeoutMs ?? 60000,
    };
    this.log = options.logger ?? { info: () => {}, warn: (m) => console.warn(m), error: (m) => console.error(m) };
    this.reports = new ReportBatcher(client, this.options.identity, this.slotSink());
  }

  /** Registers the handler of `queue`. Throws for an empty queue, one already registered, or once started. */
  handle(queue: string, handler: Handler): this {
    if (this.started) {
      throw new Error('handle: the worker has started');
    }
    if (!queue || this.handlers.has(queue)) {
      throw new Error(`handle: queue '${queue}' is empty or already has a handler`);
    }
    this.handlers.set(queue, handler);
    return this;
  }

  /** Starts polling every registered queue. Throws when no queue is registered, when started before, or for
   * concurrency < 1. */
  start(): void {
    if (this.started || this.handlers.size === 0) {
      throw new Error('start: no queue has a handler, or the worker was started before');
    }
    if (!(this.options.concurrency >= 1)) {
      throw new Error('start: concurrency must be at least 1');
    }
    this.started = true;
    this.freeSlots = this.options.concurrency;
    // Each queue's polls reserve at most its share of the slots, so that the idle long polls of one queue never
    // hold every slot while another queue has tasks.
    this.queueShare = Math.max(1, Math.floor(this.options.concurrency / this.handlers.size));
    const pollersPerQueue = Math.min(POLLERS_PER_QUEUE, this.queueShare);
    for (const queue of this.handlers.keys()) {
      this.polling.set(queue, 0);
      for (let i = 0; i < pollersPerQueue; i++) {
        this.pollers.push(this.pollLoop(queue));
      }
    }
  }

  stats(): WorkerStats {
    return { ...this.counters };
  }

  // --- Polling.

  /** Every free slot, up to the queue's share (and a PollBatch's bound): one call asks for as many tasks as can
   * start now. 0 when stopping. After a poll that found nothing, an older waiter of another queue goes first:
   * the empty poll's loop would otherwise take the slot it just freed again at once (the other pollers are only
   * being woken), and a queue with nothing to do could keep the slot from a queue with tasks. */
  private async reserveSlots(queue: string, foundNothing: boolean): Promise<number> {
    const since = ++this.nextWaiter;
    this.waitingPollers.set(since, queue);
    try {
      while (!this.stopping && (this.freeSlots === 0 || this.polling.get(queue)! >= this.queueShare ||
                                (foundNothing && this.anotherQueuesTurn(queue, since)))) {
        await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
      }
    } finally {
      this.waitingPollers.delete(since);
    }
    if (this.stopping) {
      return 0;
    }
    const n = Math.min(this.freeSlots, this.queueShare - this.polling.get(queue)!, MAX_POLL_TASKS);
    this.freeSlots -= n;
    this.polling.set(queue, this.polling.get(queue)! + n);
    if (this.freeSlots > 0) {
      this.wakeSlotWaiters();  // a poller that let this one go first may take what is left
    }
    return n;
  }

  /** Whether a poller of another queue that began to wait before `since` may take a free slot. The oldest waiter
   * never defers, so some poller always proceeds. */
  private anotherQueuesTurn(queue: string, since: number): boolean {
    for (const [waiter, other] of this.waitingPollers) {
      if (waiter >= since) {
        return false;
      }
      if (other !== queue && this.polling.get(other)! < this.queueShare) {
        return true;
      }
    }
    return false;
  }

  private releaseSlot(): void {
    this.freeSlots += 1;
    this.wakeSlotWaiters();
  }

  private wakeSlotWaiters(): void {
    for (const wake of this.slotWaiters.splice(0)) {
      wake();
    }
  }

  private async pollLoop(queue: string): Promise<void> {
    let backoff = this.options.initialBackoffMs;
    let failing = false;
    let foundNothing = false;  // the last poll handed out no task
    for (;;) {
      const slots = await this.reserveSlots(queue, foundNothing);
      if (slots === 0) {
        return;
      }
      let tasks: Task[] = [];
      let failure: StepflowError | undefined;
      try {
        tasks = (await this.client.pollTasks(queue, this.options.identity, slots, this.options.pollWaitSeconds,
          { signal: this.pollAbort.signal })).slice(0, slots);
        this.counters.polls += 1;
      } catch (error) {
        failure = toStepflowError(error);
      }
      foundNothing = tasks.length === 0;
      // The slots of the tasks handed out stay taken until they are reported.
      this.freeSlots += slots - tasks.length;
      this.polling.set(queue, this.polling.get(queue)! - slots);
      this.wakeSlotWaiters();
      this.runAll(tasks);
      if (failure !== undefined) {
        if (this.stopping) {
          return;
        }
        this.log.warn(`poll ${queue}: ${failure.message} (retrying in ${backoff} ms)`);
        failing = true;
        await sleep(backoff);
        backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
        continue;
      }
      if (failing) {
        this.log.info(`poll ${queue}: connected again`);
        failing = false;
        backoff = this.options.initialBackoffMs;
      }
    }
  }

  // --- Running a task.

  private runAll(tasks: Task[]): void {
    for (const task of tasks) {
      this.counters.started += 1;
      this.counters.running += 1;
      const running: Running = { context: new TaskContext(task), claimed: false, done: Promise.resolve() };
      this.inFlight.add(running);
      running.done = this.runTask(running);
    }
  }

  /** A result's call asks for tasks unless the worker stops; the tasks that came back run at once (the
   * reporters' slots pass to them). */
  private slotSink(): SlotSink {
    return {
      accepting: () => !this.stopping,
      takeOver: (tasks, passed) => {
        this.freeSlots -= tasks.length - passed;
        this.runAll(tasks);
      },
    };
  }

  private async callHandler(ctx: TaskContext): Promise<Outcome> {
    let input: unknown;
    try {
      input = ctx.task.input ? JSON.parse(ctx.task.input) : {};
    } catch (error) {
      return { kind: 'fail', error: 'Worker.InvalidInput', cause: `the task's input is not JSON: ${String(error)}` };
    }
    let result: unknown;
    try {
      result = await this.handlers.get(ctx.queue)!(ctx, input);
    } catch (error) {
      if (error instanceof TaskError) {
        return { kind: 'fail', error: error.error, cause: error.cause };
      }
      const cause = error instanceof Error ? (error.message || error.name) : String(error);
      return { kind: 'fail', error: 'Worker.Exception', cause };
    }
    try {
      const output = JSON.stringify(result === undefined ? {} : result);
      if (output === undefined) {
        throw new Error(`${typeof result} is not JSON`);
      }
      return { kind: 'complete', output };
    } catch (error) {
      return { kind: 'fail', error: 'Worker.Exception', cause: `the handler's result is not JSON: ${String(error)}` };
    }
  }

  private async runTask(running: Running): Promise<void> {
    const stopHeartbeats = this.startHeartbeats(running.context);
    let outcome: Outcome;
    try {
      outcome = await this.callHandler(running.context);
    } finally {
      stopHeartbeats();
    }
    if (!running.claimed) {
      running.claimed = true;
      this.finish(running, await this.report(running.context, outcome));
    }
  }

  private startHeartbeats(ctx: TaskContext): () => void {
    const timers: NodeJS.Timeout[] = [];
    const interval = ctx.heartbeatSeconds > 0 ? (ctx.heartbeatSeconds * 1000) / 3 : this.options.defaultHeartbeatIntervalMs;
    let beating = false;
    if (interval > 0) {
      timers.push(setInterval(() => {
        if (beating || ctx.cancelled) {
          return;
        }
        beating = true;
        this.reports.send({ kind: 'heartbeat', taskToken: ctx.taskToken }).then(({ error, cancelled }) => {
          if (error === undefined) {
            this.counters.heartbeats += 1;
            if (cancelled) {
              ctx.cancel('cancelled');
            }
          } else if (GONE.has(error.name)) {
            ctx.cancel('task gone');
          } else {
            this.log.warn(`heartbeat ${ctx.executionArn}: ${error.message}`);
          }
        }).finally(() => {
          beating = false;
        });
      }, interval));
    }
    if (ctx.deadline !== undefined) {
      timers.push(setTimeout(() => ctx.cancel('deadline'), Math.max(0, ctx.deadline.getTime() - Date.now())));
    }
    return () => timers.forEach((t) => clearTimeout(t));
  }

  /** Reports the result; true when a task that came back took the task's slot. */
  private async report(ctx: TaskContext, outcome: Outcome): Promise<boolean> {
    const report: TaskReport = outcome.kind === 'complete'
      ? { kind: 'complete', taskToken: ctx.taskToken, output: outcome.output }
      : { kind: 'fail', taskToken: ctx.taskToken, error: outcome.error, cause: outcome.cause };
    const giveUp = Date.now() + this.options.reportTimeoutMs;
    let backoff = this.options.initialBackoffMs;
    for (;;) {
      const { outcome: { error }, slotPassed } = await this.reports.sendResult(report, ctx.queue);
      if (error === undefined) {
        this.counters[outcome.kind === 'complete' ? 'completed' : 'failed'] += 1;
        return slotPassed;
      }
      if (GONE.has(error.name)) {
        this.log.info(`report of ${ctx.executionArn} dropped: ${error.message}`);
        return slotPassed;
      }
      if (!RETRYABLE.has(error.code) || Date.now() + backoff > giveUp) {
        this.log.error(`report of ${ctx.executionArn} failed: ${error.message}`);
        return slotPassed;
      }
      this.log.info(`report of ${ctx.executionArn}: ${error.message} (retrying in ${backoff} ms)`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, this.options.maxBackoffMs);
    }
  }

  private finish(running: Running, slotPassed = false): void {
    this.inFlight.delete(running);
    this.counters.running -= 1;
    if (!slotPassed) {
      this.releaseSlot();
    }
  }

  // --- Stopping.

  private async waitInFlight(timeoutMs: number): Promise<Running[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.all([...this.inFlight].map((r) => r.done)), timeout]);
    clearTimeout(timer);
    return [...this.inFlight];
  }

  /** Graceful drain: stops polling (in-flight polls are cancelled), waits up to drainTimeoutMs for running
   * handlers to return and be reported, then cancels the rest ('shutdown'), waits up to shutdownGraceMs, fails
   * what still runs with Worker.Shutdown and resolves. true when every handler finished and was reported.
   * Idempotent: later calls get the first one's result; true when never started. */
  stop(): Promise<boolean> {
    this.stopResult ??= this.drain();
    this.stopRequested?.();
    return this.stopResult;
  }

  private async drain(): Promise<boolean> {
    this.stopping = true;
    this.pollAbort.abort();
    this.wakeSlotWaiters();
    if (!this.started) {
      return true;
    }
    await Promise.all(this.pollers);
    let left = await this.waitInFlight(this.options.drainTimeoutMs);
    left.forEach((r) => r.context.cancel('shutdown'));
    if (left.length > 0) {
      left = await this.waitInFlight(this.options.shutdownGraceMs);
    }
    for (const running of left) {
      if (!running.claimed) {
        running.claimed = true;
        const seconds = (this.options.drainTimeoutMs + this.options.shutdownGraceMs) / 1000;
        await this.report(running.context, { kind: 'fail', error: 'Worker.Shutdown',
          cause: `the worker stopped and the handler did not return within ${seconds} s` });
        this.finish(running);
      }
    }
    if (left.length > 0) {
      this.log.warn(`stop: ${left.length} task(s) failed with Worker.Shutdown`);
    }
    return left.length === 0;
  }

  /** start(), then waits until stop() is called or the process receives SIGTERM or SIGINT, then stop();
   * resolves with stop()'s result. The signal listeners are removed as soon as the first signal arrives. */
  async run(): Promise<boolean> {
    this.start();
    const requested = new Promise<void>((resolve) => { this.stopRequested = resolve; });
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      this.log.info(`${signal}: draining`);
      this.stopRequested?.();
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      if (this.stopResult === undefined) {
        await requested;
      }
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    return this.stop();
  }
}
