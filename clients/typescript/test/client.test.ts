// The client against the real server: every call, its typed results and its named errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Client, errors, StepflowError, type Execution } from '../src/index.js';
import { freePort, Server, taskMachine } from './server.js';

const PASS_CHAIN = { StartAt: 'One', States: {
  One: { Type: 'Pass', Result: 1, ResultPath: '$.one', Next: 'Two' },
  Two: { Type: 'Pass', Result: 2, ResultPath: '$.two', End: true } } };
const WAIT = { StartAt: 'Pause', States: { Pause: { Type: 'Wait', Seconds: 600, End: true } } };

let server: Server;
let client: Client;

before(async () => {
  server = await Server.start();
  client = await Client.connect(server.address);
});

after(async () => {
  client.close();
  assert.equal(await server.stop(), 0, server.log());
});

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) {
    out.push(item);
  }
  return out;
}

const otherArn = (arn: string): string => `${arn.slice(0, arn.lastIndexOf(':'))}:no-such-execution`;

test('state machines: create, describe, update, list pages, validate, delete, named errors', async () => {
  const sm = await client.createStateMachine('chain', PASS_CHAIN);
  assert.equal(sm.version, 1);
  assert.equal(sm.type, 'STANDARD');
  assert.ok(sm.creationDate instanceof Date);
  assert.deepEqual(JSON.parse((await client.describeStateMachine('chain')).definition), PASS_CHAIN);
  assert.equal((await client.updateStateMachine(sm.arn, JSON.stringify(WAIT))).version, 2);
  for (let i = 0; i < 3; i++) {
    await client.createStateMachine(`extra-${i}`, PASS_CHAIN, 'EXPRESS');
  }
  const first = await client.listStateMachinesPage(2);
  assert.equal(first.items.length, 2);
  assert.ok(first.nextPageToken);
  const names = (await collect(client.listStateMachines(2))).map((m) => m.name).sort();
  assert.deepEqual(names, ['chain', 'extra-0', 'extra-1', 'extra-2']);
  const bad = await client.validateDefinition({ StartAt: 'Nope', States: { A: { Type: 'Pass', Next: 'B' } } });
  assert.equal(bad.valid, false);
  assert.ok(bad.diagnostics.length >= 2);
  await assert.rejects(client.createStateMachine('bad', { StartAt: 'Nope', States: {} }), errors.InvalidDefinition);
  await assert.rejects(client.createStateMachine('chain', { StartAt: 'X', States: { X: { Type: 'Succeed' } } }),
    errors.StateMachineAlreadyExists);
  await client.deleteStateMachine('extra-0');
  await assert.rejects(client.describeStateMachine('extra-0'), (e: unknown) => {
    assert.ok(e instanceof errors.StateMachineDoesNotExist && e instanceof StepflowError);
    assert.equal(e.name, 'StateMachineDoesNotExist');
    assert.match(e.message, /^StateMachineDoesNotExist: /);
    return true;
  });
});

test('executions: start, sync, describe, history, watch, list with filters, stop, errors', async () => {
  await client.createStateMachine('chain2', PASS_CHAIN);
  await client.createStateMachine('wait', WAIT);
  const done: Execution[] = [];
  for (let i = 0; i < 4; i++) {
    done.push(await client.startSyncExecution('chain2', { i }, `e${i}`));
  }
  assert.equal(done[0].status, 'SUCCEEDED');
  assert.deepEqual(JSON.parse(done[0].output), { i: 0, one: 1, two: 2 });
  const described = await client.describeExecution(done[0].arn);
  assert.ok(described.stopDate instanceof Date);
  const events = await collect(client.getExecutionHistory(done[0].arn, false, 2));
  assert.equal(events[0].type, 'ExecutionStarted');
  assert.equal(events.at(-1)!.type, 'ExecutionSucceeded');
  assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1));
  const reversed = await collect(client.getExecutionHistory(done[0].arn, true, 3));
  assert.deepEqual(reversed.map((e) => e.id), events.map((e) => e.id).reverse());
  assert.deepEqual((await collect(client.watchExecutionHistory(done[0].arn))).map((e) => e.type), events.map((e) => e.type));
  assert.equal((await client.describeStateMachineForExecution(done[0].arn)).name, 'chain2');

  const running = await client.startExecution('wait', {}, 'w');
  const page = await client.listExecutionsPage({ stateMachine: 'chain2' }, 2);
  assert.equal(page.items.length, 2);
  assert.ok(page.nextPageToken);
  const all = (await collect(client.listExecutions({ stateMachine: 'chain2' }, 3))).map((e) => e.arn).sort();
  assert.deepEqual(all, done.map((e) => e.arn).sort());
  assert.deepEqual((await collect(client.listExecutions({ status: 'RUNNING' }))).map((e) => e.arn), [running.arn]);
  assert.deepEqual(await collect(client.listExecutions({ startedBefore: new Date(0) })), []);

  assert.equal((await client.startExecution('chain2', { i: 0 }, 'e0')).arn, done[0].arn);
  await assert.rejects(client.startExecution('chain2', { i: 9 }, 'e0'), errors.ExecutionAlreadyExists);
  await assert.rejects(client.describeExecution(otherArn(done[0].arn)), errors.ExecutionDoesNotExist);
  assert.equal((await client.describeExecutionByName('chain2', 'e1')).arn, done[1].arn);
  assert.equal((await client.describeExecutionByName(done[1].stateMachineArn, 'e1')).arn, done[1].arn);
  await assert.rejects(client.describeExecutionByName('chain2', 'no-such-execution'), errors.ExecutionDoesNotExist);
  await assert.rejects(client.startExecution('no-such-machine'), errors.StateMachineDoesNotExist);
  const stopped = await client.stopExecution(running.arn, 'Operator.Stop', 'enough');
  assert.equal(stopped.status, 'ABORTED');
  await assert.rejects(client.stopExecution(running.arn), errors.ExecutionNotRunning);
});

test('tasks, redrive and dead letters', async () => {
  await client.createStateMachine('task', taskMachine('ts-work'));
  const t = await client.startExecution('task', { n: 1 });
  let task = await client.pollTask('ts-work', 'tester', 10);
  assert.ok(task);
  assert.equal(task.executionArn, t.arn);
  assert.deepEqual(JSON.parse(task.input), { n: 1 });
  await assert.rejects(client.completeTask(task.token, '{not json'), errors.InvalidOutput);
  await client.failTask(task.token, 'Bad', 'first');
  const failed = await client.describeExecution(t.arn);
  assert.deepEqual([failed.status, failed.error, failed.cause], ['FAILED', 'Bad', 'first']);

  const letters = await collect(client.listDeadLetters({ queue: 'ts-work' }));
  assert.deepEqual(letters.map((d) => d.executionArn), [t.arn]);
  const letter = await client.getDeadLetter(letters[0].id);
  assert.equal(letter.attempts.at(-1)!.workerIdentity, 'tester');
  assert.deepEqual(await collect(client.listDeadLetters({ error: 'Other' })), []);
  const outcomes = await client.redriveDeadLetters({ id: letter.id, input: { fixed: true } });
  assert.deepEqual(outcomes.map((o) => o.error), ['']);
  task = await client.pollTask('ts-work', 'tester', 10);
  assert.ok(task);
  assert.deepEqual(JSON.parse(task.input), { fixed: true });
  assert.equal(await client.heartbeatTask(task.token), false);
  await client.completeTask(task.token, { ok: true });
  await client.completeTask(task.token, { ok: true }); // a repeated completion changes nothing
  assert.equal((await client.describeExecution(t.arn)).status, 'SUCCEEDED');
  await assert.rejects(client.redriveExecution(t.arn), errors.ExecutionNotRedrivable);
  await assert.rejects(client.getDeadLetter(letter.id), errors.DeadLetterDoesNotExist);

  const second = await client.startExecution('task', { n: 2 });
  task = await client.pollTask('ts-work', 'tester', 10);
  assert.ok(task);
  await client.failTask(task.token, 'Bad', 'again');
  assert.equal((await client.redriveExecution(second.arn)).redriveCount, 1);
  assert.deepEqual((await client.discardDeadLetters({ filter: { queue: 'ts-work' } })).map((o) => o.error), ['']);
  assert.equal(await client.pollTask('empty-queue', '', 1), undefined);
  await assert.rejects(client.completeTask('not-a-token'), errors.InvalidToken);
});

test('an abort signal cancels a call; an unreachable server is ServiceUnavailable', async () => {
  const controller = new AbortController();
  const poll = client.pollTask('never', '', 30, { signal: controller.signal });
  controller.abort();
  await assert.rejects(poll, errors.Cancelled);
  await assert.rejects(Client.connect(`127.0.0.1:${await freePort()}`, {}, 300), errors.ServiceUnavailable);
});
