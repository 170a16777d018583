// The worker's reports (complete, fail, heartbeat) in Tasks.ReportBatch calls, as the C++ worker sends them
// (clients/cpp/worker.cc, ReportBatcher).
//
// A report waits for the end of the current turn of the event loop (setImmediate), so that the reports made in
// one turn (the handlers of one poll's tasks, the heartbeats due together) go in one call; while
// MAX_BATCHES_IN_FLIGHT calls are under way, reports gather for the next call, sent as soon as one ends. One
// call carries at most MAX_REPORT_ITEMS reports and MAX_REPORT_BYTES (the server's bounds,
// proto/stepflow/v1/stepflow.proto); a report that alone nears the byte bound goes as its unary call. Each
// report is answered as its unary call would have been; a call that fails as a whole answers its error for
// every report it carried (the caller retries as before).
//
// A call that carries results (sendResult) also asks, per queue, for as many tasks as those results free slots
// (ReportBatch's polls), unless the worker stops (SlotSink.accepting): the server answers with the tasks the
// reports' own commits schedule, started in those commits, and then any waiting. Each one takes the slot of a
// reported task (SlotSink.takeOver, before the reporters are answered).
import type { Client, TaskReport, TaskReportOutcome } from './client.js';
import type { Task } from './types.js';
import { toStepflowError } from './errors.js';

export const MAX_REPORT_ITEMS = 1000;
export const MAX_REPORT_BYTES = 4 << 20;
const REPORT_BYTES_SLACK = 64 << 10;
export const MAX_BATCHES_IN_FLIGHT = 2;
const MAX_POLL_TASKS = 256;  // the most tasks one call's polls ask for together (the server's bound)
const MAX_REPORT_POLLS = 100;  // the most polls (queues) one call carries (the server's bound)

/** Where the tasks that come back with reports go (the Worker). */
export interface SlotSink {
  /** Whether tasks may be asked for now (false once the worker stops). */
  accepting(): boolean;
  /** `tasks` came back: `passed` of them take the slots of reported tasks, the others need free slots of their
   * own (never, from a server that keeps to maxTasks). */
  takeOver(tasks: Task[], passed: number): void;
}

interface Item {
  report: TaskReport;
  bytes: number;
  slotQueue?: string;  // a result: the queue whose slot it frees
  slotPassed: boolean;  // set before resolve: a task that came back took its slot
  resolve: (outcome: TaskReportOutcome) => void;
}

// The bytes a report takes in a call (its token, output, error and cause, as UTF-8, and a little framing).
function reportBytes(report: TaskReport): number {
  let bytes = 16 + Buffer.byteLength(report.taskToken);
  if (report.kind === 'complete') {
    bytes += Buffer.byteLength(typeof report.output === 'string' ? report.output : JSON.stringify(report.output ?? {}));
  } else if (report.kind === 'fail') {
    bytes += Buffer.byteLength(report.error ?? '') + Buffer.byteLength(report.cause ?? '');
  }
  return bytes;
}

export class ReportBatcher {
  private readonly pending: Item[] = [];
  private inFlight = 0;
  private flushScheduled = false;
  private carried = 0;  // reports in the calls under way

  /** `slots` (optional): where tasks asked for with results go; without it, none are asked for. */
  constructor(private readonly client: Client, private readonly identity = '', private readonly slots?: SlotSink) {}

  /** Reports given to send() and not answered yet. */
  get unanswered(): number {
    return this.pending.length + this.carried;
  }

  /** Sends `report` (with the others of this turn) and resolves with what its unary call would have answered. */
  send(report: TaskReport): Promise<TaskReportOutcome> {
    return this.sendResult(report).then((r) => r.outcome);
  }

  /** Sends a report; with `queue`, the result (complete or fail) of a task of that queue, whose slot a task that
   * comes back may take (`slotPassed`). */
  async sendResult(report: TaskReport, queue?: string): Promise<{ outcome: TaskReportOutcome; slotPassed: boolean }> {
    const bytes = reportBytes(report);
    if (bytes > MAX_REPORT_BYTES - REPORT_BYTES_SLACK) {
      return { outcome: await this.sendAlone(report), slotPassed: false };
    }
    return new Promise((resolve) => {
      const item: Item = {
        report, bytes, slotQueue: queue, slotPassed: false,
        resolve: (outcome) => resolve({ outcome, slotPassed: item.slotPassed }),
      };
      this.pending.push(item);
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.inFlight >= MAX_BATCHES_IN_FLIGHT || this.pending.length === 0) {
      return;
    }
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < MAX_BATCHES_IN_FLIGHT && this.pending.length > 0) {
      const batch: Item[] = [];
      let bytes = 0;
      while (this.pending.length > 0 && batch.length < MAX_REPORT_ITEMS &&
             bytes + this.pending[0].bytes + REPORT_BYTES_SLACK <= MAX_REPORT_BYTES) {
        const item = this.pending.shift()!;
        bytes += item.bytes;
        batch.push(item);
      }
      this.inFlight += 1;
      this.carried += batch.length;
      void this.sendBatch(batch).finally(() => {
        this.inFlight -= 1;
        this.carried -= batch.length;
        this.scheduleFlush();
      });
    }
  }

  private async sendBatch(batch: Item[]): Promise<void> {
    // The results that free a slot, by queue, and (unless the worker stops) a poll for each queue's slots.
    const freeing = new Map<string, Item[]>();
    for (const item of batch) {
      if (item.slotQueue !== undefined) {
        const results = freeing.get(item.slotQueue);
        if (results === undefined) {
          freeing.set(item.slotQueue, [item]);
        } else {
          results.push(item);
        }
      }
    }
    const polls: Array<{ queue: string; identity: string; maxTasks: number }> = [];
    if (this.slots !== undefined && freeing.size > 0 && this.slots.accepting()) {
      let room = MAX_POLL_TASKS;  // the server's bound on the tasks of one call's polls together
      for (const [queue, results] of freeing) {
        const n = Math.min(results.length, room);
        if (n === 0 || polls.length === MAX_REPORT_POLLS) {
          break;
        }
        polls.push({ queue, identity: this.identity, maxTasks: n });
        room -= n;
      }
    }
    let outcomes: TaskReportOutcome[];
    let tasks: Task[] = [];
    try {
      // Waits (within the call timeout) for a server that is away, so that reports made during an outage go
      // out as soon as it is back.
      const reports = batch.map((item) => item.report);
      if (polls.length > 0) {
        ({ outcomes, tasks } = await this.client.reportTasksAndPoll(reports, polls, { waitForReady: true }));
      } else {
        outcomes = await this.client.reportTasks(reports, { waitForReady: true });
      }
    } catch (error) {
      const e = toStepflowError(error);
      outcomes = batch.map(() => ({ error: e, cancelled: false }));
    }
    if (tasks.length > 0 && this.slots !== undefined) {
      // Each task that came back takes the slot of a result of its queue in this call.
      let passed = 0;
      for (const task of tasks) {
        const item = freeing.get(task.queue)?.pop();
        if (item !== undefined) {
          item.slotPassed = true;
          passed += 1;
        }
      }
      this.slots.takeOver(tasks, passed);
    }
    batch.forEach((item, i) => item.resolve(outcomes[i]));
  }

  private async sendAlone(report: TaskReport): Promise<TaskReportOutcome> {
    try {
      switch (report.kind) {
        case 'complete':
          await this.client.completeTask(report.taskToken, report.output, { waitForReady: true });
          return { cancelled: false };
        case 'fail':
          await this.client.failTask(report.taskToken, report.error, report.cause, { waitForReady: true });
          return { cancelled: false };
        case 'heartbeat':
          return { cancelled: await this.client.heartbeatTask(report.taskToken) };
      }
    } catch (error) {
      return { error: toStepflowError(error), cancelled: false };
    }
  }
}
