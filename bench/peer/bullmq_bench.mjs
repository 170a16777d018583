// BullMQ peer benchmark (W3 task dispatch round trip, W4 retries and dead letters). Starts its own
// Debian `redis-server` on 127.0.0.1 with a fresh directory under --scratch, either
//   --persistence aof-always  appendonly yes, appendfsync always (every write fsynced before the reply:
//                             the durable row), or
//   --persistence none        no AOF, no RDB snapshots (in memory only: the labelled second row),
// a worker process (bullmq_worker.mjs) and drives the queue from this process; stops both by PID.
//
//   w3: for each K of --inflight, K producer loops each keep one job in flight: Queue.add, then
//       job.waitUntilFinished (QueueEvents) once the no-op worker (concurrency K) completed it, for
//       --seconds after --warmup: tasks/s, p50/p99 of add -> finished as the producer sees it.
//   w4: --executions executions of 10 sequential jobs (the worker adds step n+1 when step n succeeds)
//       started at once; every job fails its first attempt and 1% of them (step 9 of every 10th
//       execution) always fail, into BullMQ's failed set. Attempts 3, exponential backoff 1000 ms.
//       First the same executions without failures (the baseline), then with: executions/s, dead
//       letters, CPU per retry ((CPU with failures - CPU without) / retries; redis + worker + producer),
//       and each retry's measured delay against the expected 1000 / 2000 ms.
//
// Usage: node bullmq_bench.mjs --modules DIR --scratch DIR --workload w3|w4 --persistence aof-always|none
import { fork } from 'node:child_process';
import { appendFileSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { cpuSeconds, log, parseFlags, percentile, result, selfCpuSeconds, sleep, startChild, stopChild } from './common.mjs';
import { RETRY_OPTIONS } from './bullmq_worker.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const flags = parseFlags(process.argv.slice(2), {
  modules: '',
  scratch: '',
  workload: 'w3',
  persistence: 'aof-always',
  inflight: '1,64',
  seconds: 5,
  warmup: 1,
  executions: 200,
  port: 19379,
  redisServer: 'redis-server',
});
if (!flags.modules || !flags.scratch || !['aof-always', 'none'].includes(flags.persistence)) {
  console.error('usage: node bullmq_bench.mjs --modules DIR --scratch DIR --workload w3|w4 --persistence aof-always|none');
  process.exit(2);
}
const DURABILITY = flags.persistence === 'aof-always' ? 'redis AOF, appendfsync always' : 'redis in memory, no persistence';
const ENGINE = flags.persistence === 'aof-always' ? 'bullmq-aof' : 'bullmq-mem';

// CommonJS builds, loaded from the scratch directory's node_modules.
const requireFromModules = createRequire(join(flags.modules, 'package.json'));
const bullmq = requireFromModules('bullmq');
const { Queue, QueueEvents } = bullmq;
const connection = { host: '127.0.0.1', port: flags.port, maxRetriesPerRequest: null };

const runDir = join(flags.scratch, `bullmq-${flags.workload}-${process.pid}`);
mkdirSync(runDir, { recursive: true });

function startRedis() {
  const persistence =
    flags.persistence === 'aof-always'
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
  const out = openSync(join(runDir, 'redis.log'), 'a');
  return startChild(
    flags.redisServer,
    ['--port', String(flags.port), '--bind', '127.0.0.1', '--dir', runDir, '--save', '', '--daemonize', 'no',
      '--protected-mode', 'yes', ...persistence],
    { stdout: out, stderr: out },
  );
}

async function waitForRedis() {
  const Redis = requireFromModules('ioredis').default ?? requireFromModules('ioredis');
  for (let i = 0; i < 400; i++) {
    const r = new Redis({ ...connection, lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => {});
    try {
      await r.connect();
      await r.ping();
      const info = await r.info('server');
      r.disconnect();
      return /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    } catch {
      r.disconnect();
      await sleep(25);
    }
  }
  throw new Error('redis-server did not answer PING');
}

function startWorker(message) {
  const out = openSync(join(runDir, 'worker.log'), 'a');
  const child = fork(join(HERE, 'bullmq_worker.mjs'), [], { stdio: ['ignore', out, out, 'ipc'] });
  if (process.env.STEPFLOW_BENCH_PIDS) {
    appendFileSync(process.env.STEPFLOW_BENCH_PIDS, `${child.pid} node\n`);
  }
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
    child.on('message', (m) => m.ready && resolve());
  });
  child.send({ cmd: 'start', modules: flags.modules, port: flags.port, ...message });
  return { child, ready };
}

async function stopWorker(child) {
  const stopped = new Promise((resolve) => child.on('message', (m) => m.stopped && resolve(m)));
  child.send({ cmd: 'stop' });
  const m = await Promise.race([stopped, sleep(15000).then(() => null)]);
  await stopChild(child, 'SIGTERM');
  return m;
}

async function w3(redis) {
  const queue = new Queue('bench-noop', { connection });
  const events = new QueueEvents('bench-noop', { connection });
  queue.setMaxListeners(0);
  events.setMaxListeners(0);
  await events.waitUntilReady();
  for (const k of String(flags.inflight).split(',').map(Number)) {
    const { child, ready } = startWorker({ workload: 'w3', concurrency: k });
    await ready;
    const data = { order: 'o-1', items: [1, 2, 3], note: 'bench' };
    const t0 = Date.now();
    const measureFrom = t0 + flags.warmup * 1000;
    const measureTo = measureFrom + flags.seconds * 1000;
    const latencies = [];
    let failures = 0;
    let firstFailure = '';
    let completed = 0;
    let inWindow = 0;
    const cpu0 = { redis: cpuSeconds(redis.pid), worker: cpuSeconds(child.pid), self: selfCpuSeconds() };
    const loop = async () => {
      for (;;) {
        const start = performance.timeOrigin + performance.now();
        if (start >= measureTo) {
          return;
        }
        try {
          const job = await queue.add('noop', data);
          await job.waitUntilFinished(events, 60000);
          completed++;
          const done = performance.timeOrigin + performance.now();
          if (done >= measureFrom && done <= measureTo) {
            inWindow++; // throughput: completions inside the window
          }
          if (start >= measureFrom && done <= measureTo) {
            latencies.push(done - start);
          }
        } catch (e) {
          if (failures++ === 0) {
            firstFailure = String(e?.message ?? e);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: k }, loop));
    const cpu = {
      redis: cpuSeconds(redis.pid) - cpu0.redis,
      worker: cpuSeconds(child.pid) - cpu0.worker,
      self: selfCpuSeconds() - cpu0.self,
    };
    await stopWorker(child);
    latencies.sort((a, b) => a - b);
    result(ENGINE, 'W3', `inflight=${k}`, DURABILITY, {
      tasks_per_s: inWindow / flags.seconds,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      failures,
      server_cpu_ms_per_exec: (1000 * (cpu.redis + cpu.worker)) / Math.max(1, completed),
      client_cpu_ms_per_exec: (1000 * cpu.self) / Math.max(1, completed),
    });
    if (failures > 0) {
      log(`${ENGINE} W3 inflight=${k}: ${failures} failures, first: ${firstFailure}`);
    }
  }
  await events.close();
  await queue.close();
}

// One run of W4's executions (with or without failures); returns its figures.
async function w4Run(redis, queue, fail, firstExec) {
  const n = flags.executions;
  const { child, ready } = startWorker({ workload: 'w4', concurrency: 64, fail });
  await ready;
  let done = 0;
  let succeeded = 0;
  const finished = new Promise((resolve) => {
    child.on('message', (m) => {
      if (m.done !== undefined) {
        done++;
        succeeded += m.ok ? 1 : 0;
        if (done === n) {
          resolve();
        }
      }
    });
  });
  const cpu0 = cpuSeconds(redis.pid) + cpuSeconds(child.pid) + selfCpuSeconds();
  const t0 = Date.now();
  await queue.addBulk(
    Array.from({ length: n }, (_, i) => ({ name: 'step', data: { exec: firstExec + i, step: 0 }, opts: RETRY_OPTIONS })),
  );
  const timeout = sleep(300000).then(() => {
    throw new Error(`W4: only ${done} of ${n} executions finished in 300 s`);
  });
  await Promise.race([finished, timeout]);
  const seconds = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(redis.pid) + cpuSeconds(child.pid) + selfCpuSeconds() - cpu0;
  const stats = await stopWorker(child);
  return { seconds, cpu, succeeded, stats };
}

async function w4(redis) {
  const queue = new Queue('bench-retry', { connection });
  const n = flags.executions;
  // Execution numbers decide which tasks always fail (exec % 10 == 9, step 9): both runs use 0..n-1.
  const base = await w4Run(redis, queue, false, 0);
  await queue.obliterate({ force: true });
  const run = await w4Run(redis, queue, true, 0);
  const deadLetters = await queue.getFailedCount();
  await queue.close();
  const d1 = run.stats.delays[1].sort((a, b) => a - b);
  const d2 = run.stats.delays[2].sort((a, b) => a - b);
  result(ENGINE, 'W4', `executions=${n}`, DURABILITY, {
    exec_per_s: n / run.seconds,
    baseline_exec_per_s: n / base.seconds,
    succeeded: run.succeeded,
    dead_letters: deadLetters,
    retries: run.stats.retries,
    cpu_ms_per_retry: (1000 * (run.cpu - base.cpu)) / Math.max(1, run.stats.retries),
    cpu_ms_per_attempt: (1000 * run.cpu) / Math.max(1, run.stats.attempts),
    retry1_delay_p50_ms: percentile(d1, 0.5),
    retry1_delay_p99_ms: percentile(d1, 0.99),
    retry2_delay_p50_ms: percentile(d2, 0.5),
    retry2_delay_p99_ms: percentile(d2, 0.99),
    retry1_expected_ms: 1000,
    retry2_expected_ms: 2000,
  });
}

async function main() {
  const redis = startRedis();
  try {
    const version = await waitForRedis();
    const bullmqVersion = JSON.parse(readFileSync(join(flags.modules, 'node_modules', 'bullmq', 'package.json'), 'utf8')).version;
    log(`redis-server ${version} pid ${redis.pid} (${DURABILITY}), bullmq ${bullmqVersion}, 127.0.0.1:${flags.port}`);
    if (flags.workload === 'w3') {
      await w3(redis);
    } else if (flags.workload === 'w4') {
      await w4(redis);
    } else {
      throw new Error(`unknown workload ${flags.workload}`);
    }
  } finally {
    await stopChild(redis, 'SIGTERM');
    rmSync(runDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bullmq_bench: ${e?.stack ?? e}`);
    process.exit(1);
  },
);
