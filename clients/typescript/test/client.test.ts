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

test('testState: statuses, next state, errorDetails, Map inspection, named errors', async () => {
  const task = {
    Type: 'Task', Resource: 'activity:x', ResultPath: '$.r', Next: 'Done',
    Retry: [{ ErrorEquals: ['Flaky'], IntervalSeconds: 2, MaxAttempts: 2 }],
    Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Recover' }],
  };
  const ok = await client.testState(task, { input: { a: 1 }, mockResult: { v: 5 }, inspectionLevel: 'DEBUG' });
  assert.equal(ok.status, 'SUCCEEDED');
  assert.equal(ok.nextState, 'Done');
  assert.deepEqual(JSON.parse(ok.output), { a: 1, r: { v: 5 } });
  assert.equal(ok.inspectionData?.errorDetails, undefined);
  const retriable = await client.testState(task, { mockError: 'Flaky', inspectionLevel: 'DEBUG', retrierRetryCount: 1 });
  assert.equal(retriable.status, 'RETRIABLE');
  assert.equal(retriable.nextState, 'TestState');
  assert.deepEqual(retriable.inspectionData?.errorDetails,
    { catchIndex: undefined, retryIndex: 0, retryBackoffIntervalSeconds: 4 });
  const caught = await client.testState(task, { mockError: 'Other', mockCause: 'no', inspectionLevel: 'TRACE' });
  assert.equal(caught.status, 'CAUGHT_ERROR');
  assert.equal(caught.nextState, 'Recover');
  assert.equal(caught.inspectionData?.errorDetails?.catchIndex, 0);
  assert.equal((await client.testState(task, { mockResult: {} })).inspectionData, undefined);
  const mapped = await client.testState({
    Type: 'Map', ItemsPath: '$.xs', MaxConcurrency: 3, End: true,
    ItemProcessor: { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } },
  }, { input: { xs: [1, 2] }, mockResult: [], inspectionLevel: 'DEBUG' });
  assert.deepEqual(JSON.parse(mapped.inspectionData?.afterItemSelector ?? 'null'), [1, 2]);
  assert.equal(mapped.inspectionData?.maxConcurrency, 3);
  assert.equal(mapped.inspectionData?.toleratedFailureCount, undefined);
  await assert.rejects(client.testState(task), errors.ValidationException);
  await assert.rejects(client.testState({ Type: 'Nope' }), errors.InvalidDefinition);
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

const passResult = (n: number): object => ({ StartAt: 'P', States: { P: { Type: 'Pass', Result: n, End: true } } });

test('versions and aliases: publish on create/update, list, describe, delete, named errors', async () => {
  const created = await client.createStateMachine('ts-vers', passResult(1), 'STANDARD',
    { publish: true, versionDescription: 'one' });
  const v1 = created.stateMachineVersionArn;
  assert.ok(v1.endsWith(':ts-vers:1'), v1);
  await assert.rejects(client.createStateMachine('ts-other', passResult(1), 'STANDARD', { versionDescription: 'x' }),
    errors.ValidationException);
  assert.equal((await client.updateStateMachine('ts-vers', passResult(2))).stateMachineVersionArn, '');
  await assert.rejects(client.publishStateMachineVersion('ts-vers', '', 1), errors.ConflictException);
  const v2 = await client.publishStateMachineVersion('ts-vers', 'two', 2);
  assert.equal(v2.version, 2);
  assert.equal(v2.revision, 2);
  assert.deepEqual((await collect(client.listStateMachineVersions('ts-vers', 1))).map((v) => v.arn), [v2.arn, v1]);
  const described = await client.describeStateMachineVersion(v1);
  assert.equal(described.description, 'one');
  assert.deepEqual(JSON.parse(described.definition), passResult(1));
  await assert.rejects(client.describeStateMachineVersion(`${v1}9`), errors.ResourceNotFound);
  await assert.rejects(client.describeStateMachineVersion('arn:nope'), errors.InvalidArn);
  await assert.rejects(client.publishStateMachineVersion('ts-none'), errors.StateMachineDoesNotExist);

  await assert.rejects(client.createStateMachineAlias('bad', [{ versionArn: v1, weight: 60 }]),
    errors.ValidationException);
  const alias = await client.createStateMachineAlias('live',
    [{ versionArn: v1, weight: 50 }, { versionArn: v2.arn, weight: 50 }], 'canary');
  assert.ok(alias.arn.endsWith(':ts-vers:live'));
  await assert.rejects(client.createStateMachineAlias('live', [{ versionArn: v1, weight: 100 }]),
    errors.ConflictException);
  await assert.rejects(client.deleteStateMachineVersion(v1), errors.ConflictException);
  const moved = await client.updateStateMachineAlias(alias.arn, { routing: [{ versionArn: v2.arn, weight: 100 }] });
  assert.deepEqual(moved.routing, [{ versionArn: v2.arn, weight: 100 }]);
  assert.equal(moved.description, 'canary');
  assert.equal((await client.updateStateMachineAlias(alias.arn, { description: 'all on 2' })).routing.length, 1);
  assert.equal((await client.describeStateMachineAlias(alias.arn)).description, 'all on 2');
  assert.deepEqual((await collect(client.listStateMachineAliases('ts-vers'))).map((a) => a.arn), [alias.arn]);

  // Executions listed by the version or alias they started on, page by page; not with a status filter.
  const onV1: string[] = [];
  const viaAlias: string[] = [];
  for (let i = 0; i < 3; ++i) {
    onV1.push((await client.startExecution(v1, {}, `v1-${i}`)).arn);
    viaAlias.push((await client.startExecution(alias.arn, {}, `a-${i}`)).arn);
  }
  const listedV1 = await collect(client.listExecutions({ stateMachine: v1 }, 2));
  assert.deepEqual(listedV1.map((e) => e.arn).sort(), [...onV1].sort());
  assert.ok(listedV1.every((e) => e.stateMachineVersionArn === v1));
  const listedAlias = await collect(client.listExecutions({ stateMachine: alias.arn }, 2));
  assert.deepEqual(listedAlias.map((e) => e.arn).sort(), [...viaAlias].sort());
  assert.equal((await collect(client.listExecutions({ stateMachine: v2.arn }))).length, 3);
  await assert.rejects(client.listExecutionsPage({ stateMachine: v1, status: 'RUNNING' }), errors.ValidationException);

  // Concurrent update+publish calls each publish their own revision.
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) =>
    client.updateStateMachine('ts-vers', passResult(100 + i), { publish: true })));
  assert.equal(new Set(results.map((r) => r.stateMachineVersionArn)).size, 10);
  for (const r of results) {
    assert.equal((await client.describeStateMachineVersion(r.stateMachineVersionArn)).revision, r.version);
  }

  await client.deleteStateMachineAlias(alias.arn);
  await assert.rejects(client.deleteStateMachineAlias(alias.arn), errors.ResourceNotFound);
  await assert.rejects(client.describeStateMachineAlias(alias.arn), errors.ResourceNotFound);
  await client.deleteStateMachineVersion(v1);
  await client.deleteStateMachineVersion(v1); // idempotent, as AWS
});
