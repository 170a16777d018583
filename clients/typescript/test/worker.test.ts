// The Worker against the real server: slots, results, errors, heartbeats, cancellation, drain on SIGTERM,
// a killed worker, reconnecting after a restart (the contract of clients/cpp/worker.h).
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, test } from 'node:test';

import { Client, errors, TaskError, Worker, type Execution, type Handler, type WorkerOptions } from '../src/index.js';
import { freePort, Server, taskMachine, tempDir } from './server.js';

let server: Server;
let client: Client;
const workers: Worker[] = [];

before(async () => {
  server = await Server.start();
  client = await Client.connect(server.address);
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
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

function startWorker(handlers: Record<string, Handler>, options: WorkerOptions = {}, c = client): Worker {
  const w = new Worker(c, { pollWaitSeconds: 2, ...options });
  for (const [queue, handler] of Object.entries(handlers)) {
    w.handle(queue, handler);
  }
  w.start();
  workers.push(w);
  return w;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

test('N slots run at once and complete their tasks', async () => {
  await client.createStateMachine('slots', taskMachine('slots'));
  const allThree = deferred();
  let running = 0;
  let most = 0;
  const w = startWorker({ slots: async (ctx, input) => {
    const i = (input as { i: number }).i;
    running += 1;
    most = Math.max(most, running);
    if (running === 3) {
      allThree.resolve();
    }
    if (i < 3) {
      await allThree.promise; // the first three run at the same time, or this never resolves
    }
    running -= 1;
    return { doubled: i * 2, attempt: ctx.attempt, state: ctx.stateName };
  } }, { concurrency: 3 });
  const arns = [];
  for (let i = 0; i < 7; i++) {
    arns.push((await client.startExecution('slots', { i })).arn);
  }
  for (const [i, arn] of arns.entries()) {
    const e = await waitForEnd(client, arn);
    assert.equal(e.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(e.output), { doubled: i * 2, attempt: 0, state: 'Work' });
  }
  assert.equal(most, 3);
  // The execution ends when the server commits the last completion, a moment before the worker learns it.
  while (w.stats().completed < 7) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.deepEqual({ ...w.stats(), polls: 0, heartbeats: 0 },
    { running: 0, started: 7, completed: 7, failed: 0, polls: 0, heartbeats: 0 });
  assert.equal(await w.stop(), true);
});

test("a busy worker's next steps come with its reports, in the reported tasks' slots", async () => {
  const steps = 5;
  const states: Record<string, unknown> = {};
  for (let k = 0; k < steps; k++) {
    const next = k + 1 < steps ? { Next: `S${k + 1}` } : { End: true };
    states[`S${k}`] = { Type: 'Task', Resource: 'activity:steps', ...next };
  }
  await client.createStateMachine('steps', { StartAt: 'S0', States: states });
  const arns = [];
  for (let i = 0; i < 4; i++) {
    arns.push((await client.startExecution('steps', { i })).arn);
  }
  let running = 0;
  let most = 0;
  // The last steps wait until every execution is at its last step: a slot freed earlier (an execution ended)
  // would long-poll, and a poll that waits is served before a report's, so it could take another execution's
  // next step and count a poll more.
  let atLastStep = 0;
  let allAtLastStep: () => void = () => {};
  const lastSteps = new Promise<void>((r) => { allAtLastStep = r; });
  const w = startWorker({ steps: async (ctx, input) => {
    running += 1;
    most = Math.max(most, running);
    await new Promise((r) => setImmediate(r));
    if (ctx.stateName === `S${steps - 1}`) {
      if (++atLastStep === 4) {
        allAtLastStep();
      }
      await lastSteps;
    }
    running -= 1;
    return input;
  } }, { concurrency: 4 });
  for (const [i, arn] of arns.entries()) {
    const e = await waitForEnd(client, arn);
    assert.equal(e.status, 'SUCCEEDED');
    assert.deepEqual(JSON.parse(e.output), { i });
  }
  while (w.stats().completed < 4 * steps) {
    await new Promise((r) => setTimeout(r, 10));
  }
  // The first poll handed out the four first steps; every later step came back with the report of the one
  // before it (started in that report's commit), in its slot: no poll for them.
  assert.ok(w.stats().polls <= 2, `polls: ${w.stats().polls}`);
  assert.ok(most <= 4, `running at once: ${most}`);
  assert.equal(await w.stop(), true);
});

// One slot, two queues with nothing to do: the queue whose poll found nothing lets the other's waiting poller have
// the slot, so a task of either is polled within a poll's wait or two. (Before, the loop of the empty poll took
// the slot it freed again at once, and the other queue never polled.)
test('queues take turns with the one slot when their polls find nothing', async () => {
  const c = await Client.connect(server.address);
  try {
    const polls = new Map<string, number>([['turn-a', 0], ['turn-b', 0]]);
    const pollTasks = c.pollTasks.bind(c);
    c.pollTasks = (queue, ...rest) => {
      polls.set(queue, (polls.get(queue) ?? 0) + 1);
      return pollTasks(queue, ...rest);
    };
    startWorker({ 'turn-a': () => 'a', 'turn-b': () => 'b' }, { concurrency: 1, pollWaitSeconds: 1 }, c);
    const deadline = Date.now() + 20000;
    while (polls.get('turn-a')! + polls.get('turn-b')! < 3 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.ok(polls.get('turn-a')! >= 1 && polls.get('turn-b')! >= 1, JSON.stringify([...polls]));
    const quiet = polls.get('turn-a')! < polls.get('turn-b')! ? 'turn-a' : 'turn-b';  // the other had it last
    await client.createStateMachine(quiet, taskMachine(quiet));
    const { arn } = await client.startExecution(quiet, {});
    const ended = await waitForEnd(client, arn);
    assert.equal(ended.status, 'SUCCEEDED', `queue ${quiet} never got the slot: ${JSON.stringify([...polls])}`);
  } finally {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    c.close();
  }
});

test('TaskError and other exceptions become task failures', async () => {
  await client.createStateMachine('errors', taskMachine('errors'));
  startWorker({ errors: (_ctx, input) => {
    if (input === 'task-error') {
      throw new TaskError('Payment.Declined', 'card expired');
    }
    if (input === 'exception') {
      throw new RangeError('out of range');
    }
    if (input === 'not-json') {
      return { big: BigInt(1) };
    }
    if (input === 'async') {
      return Promise.reject(new TaskError('Async.Error', 'rejected'));
    }
    return undefined;
  } });
  const expected: Record<string, [string, string]> = {
    'task-error': ['Payment.Declined', 'card expired'], exception: ['Worker.Exception', 'out of range'],
    async: ['Async.Error', 'rejected'],
  };
  for (const [input, [error, cause]] of Object.entries(expected)) {
    const e = await waitForEnd(client, (await client.startExecution('errors', JSON.stringify(input))).arn);
    assert.deepEqual([e.status, e.error, e.cause], ['FAILED', error, cause]);
  }
  const bad = await waitForEnd(client, (await client.startExecution('errors', '"not-json"')).arn);
  assert.equal(bad.error, 'Worker.Exception');
  assert.match(bad.cause, /not JSON/);
  const ok = await waitForEnd(client, (await client.startExecution('errors', '"none"')).arn);
  assert.deepEqual([ok.status, JSON.parse(ok.output)], ['SUCCEEDED', {}]);
});

test('heartbeats keep a long task alive; a missed heartbeat times it out', async () => {
  await client.createStateMachine('long', taskMachine('long', { HeartbeatSeconds: 1 }));
  const w = startWorker({ long: async (ctx) => {
    const cancelled = await ctx.waitForCancellation(2500); // 2.5 heartbeat periods
    return { cancelled, reason: ctx.cancelReason };
  } });
  const e = await waitForEnd(client, (await client.startExecution('long', {})).arn);
  assert.equal(e.status, 'SUCCEEDED');
  assert.deepEqual(JSON.parse(e.output), { cancelled: false, reason: 'none' });
  assert.ok(w.stats().heartbeats >= 3, `heartbeats: ${w.stats().heartbeats}`);
  await w.stop();

  await client.createStateMachine('silent', taskMachine('silent', { HeartbeatSeconds: 1 }));
  const arn = (await client.startExecution('silent', {})).arn;
  const task = await client.pollTask('silent', 'silent-worker', 10); // and never heartbeat
  assert.ok(task);
  const timedOut = await waitForEnd(client, arn);
  assert.deepEqual([timedOut.status, timedOut.error], ['FAILED', 'States.HeartbeatTimeout']);
  await assert.rejects(client.completeTask(task.token, {}), errors.TaskTimedOut);
});

test('cancellation reaches the handler after StopExecution', async () => {
  await client.createStateMachine('cancel', taskMachine('cancel'));
  const started = deferred();
  const seen = deferred();
  let reason = '';
  startWorker({ cancel: async (ctx) => {
    started.resolve();
    await once(ctx.signal, 'abort');
    reason = ctx.cancelReason;
    seen.resolve();
    return {};
  } }, { defaultHeartbeatIntervalMs: 200 });
  const arn = (await client.startExecution('cancel', {})).arn;
  await started.promise;
  await client.stopExecution(arn, 'Stopped', 'by the test');
  await seen.promise;
  assert.equal(reason, 'cancelled');
});

test('stop() fails a handler that ignores cancellation with Worker.Shutdown', async () => {
  await client.createStateMachine('stuck', taskMachine('stuck'));
  const started = deferred();
  const release = deferred();
  const w = new Worker(client, { pollWaitSeconds: 2, drainTimeoutMs: 200, shutdownGraceMs: 200 });
  w.handle('stuck', async () => {
    started.resolve();
    await release.promise;
    return {};
  });
  w.start();
  const arn = (await client.startExecution('stuck', {})).arn;
  await started.promise;
  assert.equal(await w.stop(), false);
  release.resolve();
  const e = await waitForEnd(client, arn);
  assert.deepEqual([e.status, e.error], ['FAILED', 'Worker.Shutdown']);
  assert.equal(await w.stop(), false);
  assert.throws(() => new Worker(client).start());
});

const MAIN = join(dirname(fileURLToPath(import.meta.url)), 'worker_main.js');

class WorkerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly iterator: AsyncIterator<string>;
  constructor(address: string, queue: string, mode: string) {
    this.child = spawn(process.execPath, [MAIN, address, queue, mode]);
    this.child.stderr.resume();
    this.lines = createInterface({ input: this.child.stdout });
    this.iterator = this.lines[Symbol.asyncIterator]();
  }
  async line(): Promise<string> {
    const next = await this.iterator.next();
    return next.done ? '' : next.value;
  }
}

test('SIGTERM drains the running task; a killed worker times out and the retry runs elsewhere', async () => {
  await client.createStateMachine('drain', taskMachine('drain'));
  const w = new WorkerProcess(server.address, 'drain', 'hold');
  assert.equal(await w.line(), 'ready');
  const arn = (await client.startExecution('drain', {})).arn;
  assert.equal(await w.line(), 'started');
  const exited = once(w.child, 'exit');
  w.child.kill('SIGTERM');
  assert.equal(w.child.exitCode, null); // still draining
  w.child.stdin.write('go\n');
  assert.equal(await w.line(), 'stopped true');
  assert.deepEqual(await exited, [0, null]);
  const e = await client.describeExecution(arn);
  assert.deepEqual([e.status, JSON.parse(e.output)], ['SUCCEEDED', { released: 'go', cancelled: false }]);

  const retry = [{ ErrorEquals: ['States.HeartbeatTimeout'], IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 1 }];
  await client.createStateMachine('killed', taskMachine('killed', { HeartbeatSeconds: 1, Retry: retry }));
  const victim = new WorkerProcess(server.address, 'killed', 'hold');
  assert.equal(await victim.line(), 'ready');
  const killedArn = (await client.startExecution('killed', {})).arn;
  assert.equal(await victim.line(), 'started');
  victim.child.kill('SIGKILL');
  await once(victim.child, 'exit');
  const rescuer = new WorkerProcess(server.address, 'killed', 'rescuer');
  try {
    const done = await waitForEnd(client, killedArn);
    assert.deepEqual([done.status, JSON.parse(done.output)], ['SUCCEEDED', { attempt: 1, by: 'rescuer' }]);
  } finally {
    rescuer.child.kill('SIGKILL');
  }
});

test('a worker polls again within a second of a server restart', async () => {
  const restarted = new Server(tempDir(), [], await freePort());
  await restarted.start();
  const runs: number[] = [];
  let ran: (() => void) | undefined;
  const workerClient = await Client.connect(restarted.address);
  const w = startWorker({ reconnect: (_ctx, input) => {
    runs.push(performance.now());
    ran?.();
    return input;
  } }, { pollWaitSeconds: 20, identity: 'reconnect' }, workerClient);
  try {
    let c = await Client.connect(restarted.address);
    await c.createStateMachine('reconnect', taskMachine('reconnect'));
    assert.equal((await waitForEnd(c, (await c.startExecution('reconnect', { i: 0 })).arn)).status, 'SUCCEEDED');
    c.close();
    for (const [round, signal] of [[1, 'SIGTERM'], [2, 'SIGKILL']] as const) {
      await restarted.stop(signal);
      await new Promise((r) => setTimeout(r, 3000)); // an outage long enough for every backoff to reach its cap
      await restarted.start();
      const listening = performance.now();
      const handed = new Promise<void>((resolve) => { ran = resolve; });
      c = await Client.connect(restarted.address);
      await c.startExecution('reconnect', { i: round });
      const started = performance.now();
      await handed;
      c.close();
      assert.equal(runs.length, round + 1);
      // The worker's poll is back within the channel's reconnect backoff (at most 0.5 s, plus grpc-js's 20%
      // jitter) of the server listening, and the task is handed over as soon as both the poll and the
      // execution are there: 20-450 ms at a load of 11, measured from the moment this test's own start
      // returned. The bound is 3 s because on a machine loaded far beyond its cores (CI runs two suites at
      // once on 2 cores) Node's timers fire late: once 1.8 s. A poll stuck on the
      // dead connection (20 s) still fails it.
      const timing = `round ${round}: listening → started ${(started - listening).toFixed(0)} ms, ` +
        `started → handled ${(runs[round] - started).toFixed(0)} ms`;
      assert.ok(runs[round] - started < 3000, timing);
      console.log(`# ${timing}`);
    }
  } finally {
    assert.equal(await w.stop(), true);
    workerClient.close();
    await restarted.stop();
  }
});

test('the order example runs on the TypeScript SDK worker', async () => {
  const examples = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples');
  // The repository's examples folder (CTest sets STEPFLOW_EXAMPLES_DIR: the tests run from a copy).
  const repoExamples = process.env.STEPFLOW_EXAMPLES_DIR ??
    join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'examples');
  const definition = readFileSync(join(repoExamples, 'order.asl.json'), 'utf8');
  await client.createStateMachine('order', definition);
  const child = spawn(process.execPath, [join(examples, 'order_worker.js'), server.address]);
  child.stderr.resume();
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  try {
    assert.equal((await lines.next()).value, 'order workers ready');
    const ok = await waitForEnd(client, (await client.startExecution('order', { orderId: 'o-1', total: 42.5 })).arn);
    assert.equal(ok.status, 'SUCCEEDED');
    const output = JSON.parse(ok.output) as { fulfilment: unknown; charge: unknown };
    assert.deepEqual(output.fulfilment, { tracking: 'TRACK-o-1', emailed: true });
    assert.deepEqual(output.charge, { chargeId: 'ch-o-1' });
    const declined = await waitForEnd(client, (await client.startExecution('order', { orderId: 'o-2', total: 5000 })).arn);
    assert.deepEqual([declined.status, declined.error], ['FAILED', 'Card.Declined']);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
  } finally {
    child.kill('SIGKILL');
  }
});
