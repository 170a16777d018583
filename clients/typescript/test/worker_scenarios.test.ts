// The shared worker scenarios (tests/sdk/worker_scenarios.json) on the Worker against the real server: the same
// file drives the C++ and Python workers, so the three keep one contract. Each scenario gets its own server; an
// unknown behaviour word or key fails the scenario.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { Client, TaskError, Worker, type Execution, type TaskContext } from '../src/index.js';
import { Server } from './server.js';

type Json = unknown;
interface Behaviour { do?: string; [parameter: string]: Json }
interface HandlerCall { attempt: number; cancel_reason: string }
interface Scenario {
  name: string;
  definition: Json;
  queue: string;
  input: Json;
  worker?: { default_heartbeat_interval_ms?: number };
  handler: Behaviour[];
  stop?: { after_event: string; error: string; cause: string };
  expect: {
    status: string; output?: Json; error?: string; cause?: string; events?: Record<string, number>;
    handler_calls?: { attempt: number; cancel_reason: string | string[] }[];
  };
}

const SCENARIO_KEYS = ['name', 'description', 'definition', 'queue', 'input', 'worker', 'handler', 'stop', 'expect'];
const EXPECT_KEYS = ['status', 'output', 'error', 'cause', 'events', 'handler_calls'];
const WORKER_KEYS = ['default_heartbeat_interval_ms'];
const STOP_KEYS = ['after_event', 'error', 'cause'];
const CALL_KEYS = ['attempt', 'cancel_reason'];
const WORDS = ['echo', 'return', 'describe_context', 'fail', 'raise', 'sleep_ms', 'wait_for_cancel'];
const WAIT_MS = 60000; // the bound of every wait on the server or the handler

function scenarioPath(): string {
  const path = process.env.STEPFLOW_WORKER_SCENARIOS ||
    join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'tests', 'sdk', 'worker_scenarios.json');
  if (!existsSync(path)) {
    throw new Error(`the shared worker scenarios are not at ${path}: set STEPFLOW_WORKER_SCENARIOS`);
  }
  return path;
}

function checkKeys(what: string, got: object, allowed: string[]): void {
  const unknown = Object.keys(got).filter((k) => !allowed.includes(k));
  assert.deepEqual(unknown, [], `unknown ${what} keys (known: ${allowed.join(', ')})`);
}

// What each handler call saw when it returned; waitable.
class Calls {
  readonly seen: HandlerCall[] = [];
  private waiters: (() => void)[] = [];

  record(ctx: TaskContext): void {
    this.seen.push({ attempt: ctx.attempt, cancel_reason: ctx.cancelReason });
    this.waiters.splice(0).forEach((wake) => wake());
  }

  async waitFor(n: number): Promise<HandlerCall[]> {
    const end = Date.now() + WAIT_MS;
    while (this.seen.length < n && Date.now() < end) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, end - Date.now());
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
    return [...this.seen].sort((a, b) => a.attempt - b.attempt);
  }
}

// One behaviour word of the scenario file (its "behaviours" section says what each does).
async function runBehaviour(b: Behaviour, ctx: TaskContext, input: Json): Promise<Json> {
  switch (b.do) {
    case 'echo':
      return input;
    case 'return':
      return b.value;
    case 'describe_context':
      return { input, attempt: ctx.attempt, state: ctx.stateName, heartbeat_seconds: ctx.heartbeatSeconds,
        has_deadline: ctx.deadline !== undefined };
    case 'fail':
      throw new TaskError(String(b.error), String(b.cause));
    case 'raise':
      throw new Error(String(b.message));
    case 'sleep_ms': {
      const cancelled = await ctx.waitForCancellation(Number(b.ms));
      return { cancelled, reason: ctx.cancelReason };
    }
    case 'wait_for_cancel':
      if (!(await ctx.waitForCancellation(Number(b.timeout_ms)))) {
        throw new TaskError('Scenario.NotCancelled', `not cancelled within ${String(b.timeout_ms)} ms`);
      }
      return { cancelled: true, reason: ctx.cancelReason };
    default:
      throw new Error(`unknown behaviour word ${JSON.stringify(b.do)} in ${JSON.stringify(b)}`);
  }
}

async function waitForEvent(client: Client, arn: string, type: string): Promise<void> {
  for await (const event of client.watchExecutionHistory(arn, 0, { timeoutMs: WAIT_MS })) {
    if (event.type === type) {
      return;
    }
  }
  assert.fail(`the execution ended without a ${type} event`);
}

async function waitForEnd(client: Client, arn: string): Promise<Execution> {
  for await (const _ of client.watchExecutionHistory(arn, 0, { timeoutMs: WAIT_MS })) {
    // the stream ends when the execution does
  }
  const e = await client.describeExecution(arn);
  assert.notEqual(e.status, 'RUNNING');
  return e;
}

async function runScenario(scenario: Scenario, client: Client): Promise<void> {
  checkKeys('scenario', scenario, SCENARIO_KEYS);
  const expect = scenario.expect;
  checkKeys('expect', expect, EXPECT_KEYS);
  const workerOptions = scenario.worker ?? {};
  checkKeys('worker', workerOptions, WORKER_KEYS);
  for (const b of scenario.handler) { // loudly, before anything runs
    assert.ok(WORDS.includes(String(b.do)), `unknown behaviour word ${JSON.stringify(b.do)} in ${JSON.stringify(b)}`);
  }
  const calls = new Calls();
  const behaviours = scenario.handler;

  await client.createStateMachine('scenario', scenario.definition);
  const worker = new Worker(client, {
    pollWaitSeconds: 1, concurrency: 2, drainTimeoutMs: 5000, shutdownGraceMs: 1000,
    ...(workerOptions.default_heartbeat_interval_ms !== undefined
      ? { defaultHeartbeatIntervalMs: workerOptions.default_heartbeat_interval_ms } : {}),
  });
  worker.handle(scenario.queue, async (ctx, input) => {
    try {
      return await runBehaviour(behaviours[Math.min(ctx.attempt, behaviours.length - 1)]!, ctx, input);
    } finally {
      calls.record(ctx);
    }
  });
  worker.start();
  try {
    const arn = (await client.startExecution('scenario', JSON.stringify(scenario.input))).arn;
    if (scenario.stop !== undefined) {
      checkKeys('stop', scenario.stop, STOP_KEYS);
      await waitForEvent(client, arn, scenario.stop.after_event);
      await client.stopExecution(arn, scenario.stop.error, scenario.stop.cause);
    }
    const e = await waitForEnd(client, arn);
    const history: string[] = [];
    for await (const event of client.getExecutionHistory(arn)) {
      history.push(event.type);
    }
    const what = `${e.status} error=${e.error} cause=${e.cause} output=${e.output}\nhistory: ${history.join(' ')}`;

    assert.equal(e.status, expect.status, what);
    if ('output' in expect) {
      assert.deepStrictEqual(JSON.parse(e.output), expect.output, what);
    }
    if (expect.error !== undefined) {
      assert.equal(e.error, expect.error, what);
    }
    if (expect.cause !== undefined) {
      assert.equal(e.cause, expect.cause, what);
    }
    for (const [type, count] of Object.entries(expect.events ?? {})) {
      assert.equal(history.filter((t) => t === type).length, count, `${type}: ${what}`);
    }
    if (expect.handler_calls !== undefined) {
      const want = expect.handler_calls;
      const seen = await calls.waitFor(want.length);
      const shown = `handler calls ${JSON.stringify(seen)}, expected ${JSON.stringify(want)}`;
      assert.equal(seen.length, want.length, shown);
      want.forEach((wanted, i) => {
        checkKeys('handler_calls', wanted, CALL_KEYS);
        const reasons = Array.isArray(wanted.cancel_reason) ? wanted.cancel_reason : [wanted.cancel_reason];
        assert.ok(seen[i]!.attempt === wanted.attempt && reasons.includes(seen[i]!.cancel_reason), shown);
      });
    }
  } finally {
    await worker.stop();
  }
}

const scenarios = (JSON.parse(readFileSync(scenarioPath(), 'utf8')) as { scenarios: Scenario[] }).scenarios;
assert.ok(scenarios.length > 0, 'the scenario file has no scenarios');

for (const scenario of scenarios) {
  test(String(scenario.name), async () => {
    const server = await Server.start();
    const client = await Client.connect(server.address);
    try {
      await runScenario(scenario, client);
    } catch (error) {
      console.error(`---- server log ----\n${server.log()}`);
      throw error;
    } finally {
      client.close();
      assert.equal(await server.stop(), 0, server.log());
    }
  });
}
