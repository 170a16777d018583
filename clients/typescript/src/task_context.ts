// What a worker's handler gets besides its input: the task, and its cancellation (an AbortSignal).
import type { Task } from './types.js';

/** Thrown by a handler to fail its task with an ASL error ("" = States.TaskFailed) and a cause. */
export class TaskError extends Error {
  readonly error: string;
  override readonly cause: string;
  constructor(error = '', cause = '') {
    super(cause ? `${error}: ${cause}` : error);
    this.name = 'TaskError';
    this.error = error;
    this.cause = cause;
  }
}

export type CancelReason = 'none' | 'cancelled' | 'task gone' | 'deadline' | 'shutdown';

/** One task handed to a handler: what the server said about it, and its cancellation. */
export class TaskContext {
  readonly task: Task;
  private readonly controller = new AbortController();
  private reason: CancelReason = 'none';

  constructor(task: Task) {
    this.task = task;
  }

  get queue(): string { return this.task.queue; }
  get taskToken(): string { return this.task.token; }
  get executionArn(): string { return this.task.executionArn; }
  get stateMachineArn(): string { return this.task.stateMachineArn; }
  get stateName(): string { return this.task.stateName; }
  /** 0 for the first try, n for the n-th retry. */
  get attempt(): number { return this.task.attempt; }
  /** When TimeoutSeconds runs out; undefined when the state has none. */
  get deadline(): Date | undefined { return this.task.deadline; }
  get heartbeatSeconds(): number { return this.task.heartbeatSeconds; }
  /** Aborted when the task is cancelled; pass it to fetch() and friends. */
  get signal(): AbortSignal { return this.controller.signal; }
  get cancelled(): boolean { return this.controller.signal.aborted; }
  get cancelReason(): CancelReason { return this.reason; }

  /** Resolves true when the task is cancelled, false when `timeoutMs` passes first. */
  waitForCancellation(timeoutMs: number): Promise<boolean> {
    if (this.cancelled) {
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve(false);
      }, timeoutMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Cancels the task (the first reason wins). The worker calls this; tests may too. */
  cancel(reason: CancelReason): void {
    if (!this.cancelled) {
      this.reason = reason;
      this.controller.abort(new Error(`task ${reason}`));
    }
  }
}
