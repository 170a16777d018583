// The worker's ReportBatcher against a fake client: the reports of one turn go in one call, never more than two
// calls are under way, reports made meanwhile gather, each sender gets its own answer, calls stay within the
// bounds, and a failed call answers its error for every report it carried.
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';

import type { Client, TaskReport, TaskReportOutcome } from '../src/client.js';
import { makeError } from '../src/errors.js';
import { MAX_BATCHES_IN_FLIGHT, MAX_REPORT_BYTES, MAX_REPORT_ITEMS, ReportBatcher } from '../src/report_batcher.js';

class FakeClient {
  calls: number[] = [];  // reports per ReportBatch call
  unary: string[] = [];
  inFlight = 0;
  mostInFlight = 0;
  held: Array<() => void> = [];
  hold = 0;  // the first `hold` calls wait until release()
  failNext: Error | undefined;

  async reportTasks(reports: TaskReport[]): Promise<TaskReportOutcome[]> {
    this.calls.push(reports.length);
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    assert.ok(reports.length <= MAX_REPORT_ITEMS);
    if (this.calls.length <= this.hold) {
      await new Promise<void>((resolve) => this.held.push(resolve));
    } else {
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.inFlight -= 1;
    const failure = this.failNext;
    this.failNext = undefined;
    if (failure !== undefined) {
      throw failure;
    }
    return reports.map((r) => r.taskToken.startsWith('gone-')
      ? { error: makeError('TaskTimedOut', `TaskTimedOut: ${r.taskToken}`, grpc.status.FAILED_PRECONDITION), cancelled: false }
      : { cancelled: r.taskToken.startsWith('beat-cancel-') });
  }

  asked: Array<Record<string, number>> = [];  // per call with polls: maxTasks by queue

  async reportTasksAndPoll(reports: TaskReport[], polls: Array<{ queue: string; maxTasks: number }>):
    Promise<{ outcomes: TaskReportOutcome[]; tasks: never[] }> {
    this.asked.push(Object.fromEntries(polls.map((p) => [p.queue, p.maxTasks])));
    return { outcomes: await this.reportTasks(reports), tasks: [] };
  }

  async completeTask(taskToken: string): Promise<void> {
    this.unary.push(taskToken);
  }

  release(): void {
    this.held.splice(0).forEach((resolve) => resolve());
  }
}

function batcherOf(fake: FakeClient): ReportBatcher {
  return new ReportBatcher(fake as unknown as Client);
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('the reports of one turn go in one call', async () => {
  const fake = new FakeClient();
  const batcher = batcherOf(fake);
  const outcomes = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    batcher.send({ kind: 'complete', taskToken: `t-${i}`, output: '{}' })));
  assert.deepEqual(fake.calls, [10]);
  assert.ok(outcomes.every((o) => o.error === undefined));
});

test('at most two calls at once; reports made meanwhile gather; each sender gets its own answer', async () => {
  const fake = new FakeClient();
  fake.hold = MAX_BATCHES_IN_FLIGHT;
  const batcher = batcherOf(fake);
  const answers = new Map<string, Promise<TaskReportOutcome>>();
  const send = (token: string): void => {
    const report: TaskReport = token.startsWith('beat') ? { kind: 'heartbeat', taskToken: token }
      : { kind: 'complete', taskToken: token, output: '{}' };
    answers.set(token, batcher.send(report));
  };
  // Two turns, one report each: two calls, both held.
  send('ok-first');
  await turn();
  send('ok-second');
  await turn();
  assert.equal(fake.held.length, MAX_BATCHES_IN_FLIGHT);
  const tokens: string[] = [];
  for (let i = 0; i < 20; i++) {
    for (const kind of ['ok', 'gone', 'beat-cancel', 'beat']) {
      tokens.push(`${kind}-${i}`);
      send(`${kind}-${i}`);
      if (i % 5 === 0) {
        await turn();  // reports over several turns, all while the two calls are held
      }
    }
  }
  assert.equal(batcher.unanswered, tokens.length + 2);
  assert.deepEqual(fake.calls, [1, 1]);
  fake.release();
  for (const [token, answer] of answers) {
    const { error, cancelled } = await answer;
    if (token.startsWith('gone-')) {
      assert.equal(error?.name, 'TaskTimedOut');
      assert.ok(error?.message.includes(token));
    } else {
      assert.equal(error, undefined, token);
    }
    assert.equal(cancelled, token.startsWith('beat-cancel-'), token);
  }
  assert.ok(fake.mostInFlight <= MAX_BATCHES_IN_FLIGHT);
  assert.deepEqual(fake.calls, [1, 1, tokens.length]);
  assert.equal(batcher.unanswered, 0);
});

test('a call is split at the bounds and a huge report goes alone', async () => {
  const fake = new FakeClient();
  const batcher = batcherOf(fake);
  await Promise.all(Array.from({ length: 2 * MAX_REPORT_ITEMS + 5 }, (_, i) =>
    batcher.send({ kind: 'complete', taskToken: `t-${i}`, output: '{}' })));
  assert.deepEqual([...fake.calls].sort((a, b) => b - a), [MAX_REPORT_ITEMS, MAX_REPORT_ITEMS, 5]);
  const huge = `"${'x'.repeat(MAX_REPORT_BYTES)}"`;
  assert.deepEqual(await batcher.send({ kind: 'complete', taskToken: 'huge', output: huge }), { cancelled: false });
  assert.deepEqual(fake.unary, ['huge']);
  fake.calls = [];
  const third = `"${'x'.repeat(Math.floor(MAX_REPORT_BYTES / 3))}"`;  // three of them fit no call
  await Promise.all([0, 1, 2].map((i) => batcher.send({ kind: 'complete', taskToken: `h-${i}`, output: third })));
  assert.deepEqual(fake.calls, [2, 1]);
});

test('a failed call answers its error for every report it carried', async () => {
  const fake = new FakeClient();
  fake.failNext = makeError('ServiceUnavailable', 'ServiceUnavailable: away', grpc.status.UNAVAILABLE);
  const batcher = batcherOf(fake);
  const outcomes = await Promise.all(['a', 'b'].map((t) =>
    batcher.send({ kind: 'complete', taskToken: t, output: '{}' })));
  assert.deepEqual(fake.calls, [2]);
  assert.deepEqual(outcomes.map((o) => o.error?.name), ['ServiceUnavailable', 'ServiceUnavailable']);
});

test('results ask for the slots they free, within the server\'s bound of 256 tasks a call', async () => {
  const fake = new FakeClient();
  let accepting = true;
  const sink = { accepting: () => accepting, takeOver: () => assert.fail('the fake client hands back no task') };
  const batcher = new ReportBatcher(fake as unknown as Client, 'w', sink);
  const complete = (token: string): TaskReport => ({ kind: 'complete', taskToken: token, output: '{}' });
  await Promise.all(Array.from({ length: 3 }, (_, i) => batcher.sendResult(complete(`a-${i}`), 'a')));
  assert.deepEqual(fake.asked, [{ a: 3 }]);
  await Promise.all(Array.from({ length: 296 }, (_, i) => batcher.sendResult(complete(`b-${i}`), 'b')));
  assert.deepEqual(fake.asked[1], { b: 256 });
  // Heartbeats free no slot, and a stopping worker asks for nothing.
  await batcher.send({ kind: 'heartbeat', taskToken: 'beat-1' });
  accepting = false;
  await batcher.sendResult(complete('c-1'), 'c');
  assert.equal(fake.asked.length, 2);
});
