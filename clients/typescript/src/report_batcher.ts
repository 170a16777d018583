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
import type { Client, TaskReport, TaskReportOutcome } from './client.js';
import { toStepflowError } from './errors.js';

export const MAX_REPORT_ITEMS = 1000;
export const MAX_REPORT_BYTES = 4 << 20;
const REPORT_BYTES_SLACK = 64 << 10;
export const MAX_BATCHES_IN_FLIGHT = 2;

interface Item {
  report: TaskReport;
  bytes: number;
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

  constructor(private readonly client: Client) {}

  /** Reports given to send() and not answered yet. */
  get unanswered(): number {
    return this.pending.length + this.carried;
  }

  /** Sends `report` (with the others of this turn) and resolves with what its unary call would have answered. */
  send(report: TaskReport): Promise<TaskReportOutcome> {
    const bytes = reportBytes(report);
    if (bytes > MAX_REPORT_BYTES - REPORT_BYTES_SLACK) {
      return this.sendAlone(report);
    }
    return new Promise<TaskReportOutcome>((resolve) => {
      this.pending.push({ report, bytes, resolve });
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
    let outcomes: TaskReportOutcome[];
    try {
      // Waits (within the call timeout) for a server that is away, so that reports made during an outage go
      // out as soon as it is back.
      outcomes = await this.client.reportTasks(batch.map((item) => item.report), { waitForReady: true });
    } catch (error) {
      const e = toStepflowError(error);
      outcomes = batch.map(() => ({ error: e, cancelled: false }));
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
