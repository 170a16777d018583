// The Worker on the batched calls (Tasks.PollBatch, Tasks.ReportBatch), seen from the server: its audit log
// names every call a worker makes (one line per call), so these tests count the calls the server answered.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Client, errors, Worker, type Execution, type WorkerLogger } from '../src/index.js';
import { freePort, Server, taskMachine, tempDir } from './server.js';

const N = 8;

// A server on a fixed port (so that it can restart under its workers) with its audit log in a file.
class AuditedServer extends Server {
  readonly auditPath: string;

  constructor(directory: string, port: number) {
    const auditPath = join(directory, 'audit.jsonl');
    super(directory, ['--audit-log', auditPath], port);
    this.auditPath = auditPath;
  }

  /** Calls of `rpc` ("PollBatch", "Complete", ...) on the Tasks service in the audit log. */
  calls(rpc: string): number {
    return readFileSync(this.auditPath, 'utf8').split('\n').filter((line) => line !== '')
      .filter((line) => (JSON.parse(line) as { rpc: string }).rpc === `/stepflow.v1.Tasks/${rpc}`).length;
  }

  forgetCalls(): void {
    writeFileSync(this.auditPath, '');
  }
}

let server: AuditedServer;
let client: Client;

before(async () => {
  server = new AuditedServer(tempDir(), await freePort());
  await server.start();
  client = await Client.connect(server.address);
});

after(async () => {
  client.close();
  assert.equal(await server.stop(), 0, server.log());
});

async function waitForEnd(c: Client, arn: string): Promise<Execution> {
  for await (const _ of c.watchExecutionHistory(arn, 0, { timeoutMs: 60000 })) {
    // the stream ends when the execution does
  }
  return c.describeExecution(arn);
}

async function waitUntil(predicate: () => boolean, timeoutMs = 30000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!predicate() && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return predicate();
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

// The reports a worker has given to its batcher and not had answered yet.
function unanswered(w: Worker): number {
  return (w as unknown as { reports: { unanswered: number } }).reports.unanswered;
}

// A worker of N slots on `queue` whose handlers wait for `release`; `started` resolves when all N run.
function holdingWorker(c: Client, queue: string, release: Promise<void>, logger?: WorkerLogger):
  { worker: Worker; started: Promise<void> } {
  const all = deferred();
  let running = 0;
  const worker = new Worker(c, { concurrency: N, pollWaitSeconds: 2, logger });
  worker.handle(queue, async (_ctx, input) => {
    if (++running === N) {
      all.resolve();
    }
    await release;
    return { i: (input as { i: number }).i };
  });
  return { worker, started: all.promise };
}

async function startMany(machine: string): Promise<string[]> {
  await client.createStateMachine(machine, taskMachine(machine));
  const arns: string[] = [];
  for (let i = 0; i < N; i++) {
    arns.push((await client.startExecution(machine, { i })).arn);
  }
  return arns;
}

async function expectSucceededOnce(c: Client, arns: string[]): Promise<void> {
  for (const [i, arn] of arns.entries()) {
    const e = await waitForEnd(c, arn);
    assert.equal(e.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(e.output), { i });
    const types: string[] = [];
    for await (const h of c.getExecutionHistory(arn)) {
      types.push(h.type);
    }
    assert.equal(types.filter((t) => t === 'TaskSucceeded').length, 1, types.join(' '));
  }
}

test('waiting tasks come in one PollBatch and their results in fewer ReportBatch calls than tasks', async () => {
  const arns = await startMany('batch');
  server.forgetCalls();
  const release = deferred();
  const { worker, started } = holdingWorker(client, 'batch', release.promise);
  worker.start();
  try {
    await started;
    // The N slots were free and N tasks waited: one call handed them all out.
    assert.equal(worker.stats().polls, 1);
    release.resolve();  // the N handlers return in one turn of the event loop: their results go together
    await expectSucceededOnce(client, arns);
    assert.ok(await waitUntil(() => worker.stats().completed === N));
  } finally {
    release.resolve();
    assert.equal(await worker.stop(), true);
  }
  assert.equal(server.calls('ReportBatch'), 1);
  assert.ok(server.calls('PollBatch') >= 1);
  for (const unary of ['Poll', 'Complete', 'Fail', 'Heartbeat']) {
    assert.equal(server.calls(unary), 0, unary);
  }
});

test('reports made while the server is away gather and go in a few calls when it is back', async () => {
  const arns = await startMany('gather');
  const workerClient = await Client.connect(server.address);
  const release = deferred();
  const { worker, started } = holdingWorker(workerClient, 'gather', release.promise);
  worker.start();
  try {
    await started;
    await server.stop();
    release.resolve();
    assert.ok(await waitUntil(() => unanswered(worker) === N));
    server.forgetCalls();
    await server.start();
    const c = await Client.connect(server.address);
    try {
      await expectSucceededOnce(c, arns);
    } finally {
      c.close();
    }
    assert.ok(await waitUntil(() => worker.stats().completed === N));
    // At most two calls were under way when the server came back; the other reports went in one more.
    const calls = server.calls('ReportBatch');
    assert.ok(calls >= 1 && calls <= 3, `${calls} ReportBatch calls`);
    assert.equal(server.calls('Complete'), 0);
  } finally {
    release.resolve();
    assert.equal(await worker.stop(), true);
    workerClient.close();
  }
  client.close();
  client = await Client.connect(server.address);
});

test('a report whose batch call failed is retried', async () => {
  const arns = await startMany('retry');
  // Calls time out after 1 s: the report calls made while the server is away fail (Timeout).
  const workerClient = await Client.connect(server.address, { callTimeoutMs: 1000 });
  const lines: string[] = [];
  let retried = (): void => {};
  const retriedOnce = new Promise<void>((resolve) => { retried = resolve; });
  const logger: WorkerLogger = {
    info: (m) => { lines.push(m); if (m.includes('(retrying in')) retried(); },
    warn: (m) => lines.push(m),
    error: (m) => lines.push(m),
  };
  const release = deferred();
  const { worker, started } = holdingWorker(workerClient, 'retry', release.promise, logger);
  worker.start();
  try {
    await started;
    await server.stop();
    release.resolve();
    await retriedOnce;
    await server.start();
    const c = await Client.connect(server.address);
    try {
      await expectSucceededOnce(c, arns);
    } finally {
      c.close();
    }
    assert.ok(await waitUntil(() => worker.stats().completed === N), lines.join('\n'));
    assert.equal(worker.stats().failed, 0);
  } finally {
    release.resolve();
    assert.equal(await worker.stop(), true);
    workerClient.close();
  }
  client.close();
  client = await Client.connect(server.address);
});

test('pollTasks and reportTasks: a batch, a repeated completion, errors per report', async () => {
  await client.createStateMachine('calls', taskMachine('calls'));
  const arns: string[] = [];
  for (let i = 0; i < 3; i++) {
    arns.push((await client.startExecution('calls', { i })).arn);
  }
  const tasks = await client.pollTasks('calls', 'tester', 3, 10);
  assert.deepEqual(tasks.map((t) => (JSON.parse(t.input) as { i: number }).i).sort(), [0, 1, 2]);
  const first = tasks.map((t) => ({ kind: 'complete' as const, taskToken: t.token, output: { first: true } }));
  assert.deepEqual(await client.reportTasks(first), [0, 1, 2].map(() => ({ cancelled: false })));
  // Reported twice (a retry whose first answer was lost): OK, and the first completion counts.
  const again = tasks.map((t) => ({ kind: 'complete' as const, taskToken: t.token, output: {} }));
  assert.equal((await client.reportTasks([...first, ...again])).filter((o) => o.error !== undefined).length, 0);
  for (const arn of arns) {
    const e = await waitForEnd(client, arn);
    assert.equal(e.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(e.output), { first: true });
  }
  const bad = await client.reportTasks([{ kind: 'heartbeat', taskToken: 'not-a-token' },
    { kind: 'fail', taskToken: tasks[0].token, error: 'Too.Late' }]);
  assert.ok(bad[0].error instanceof errors.InvalidToken, String(bad[0].error));
  assert.equal(bad[1].error, undefined, 'a late failure of a completed task changes nothing (the first report counts)');
  assert.deepEqual(JSON.parse((await client.describeExecution(arns[0])).output), { first: true });
  assert.deepEqual(await client.pollTasks('calls', '', 5, 1), []);
  await assert.rejects(client.pollTasks('calls', '', 257, 1), errors.ValidationException);
});
