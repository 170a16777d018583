// The BullMQ worker process of bullmq_bench.mjs (started with child_process.fork; talks to its parent over
// IPC). The parent sends {cmd:"start", ...} and later {cmd:"stop"}; the worker answers "ready", then for
// W4 one message per finished execution, and "stopped" with its timings.
//
//   w3: queue "bench-noop", processor returns the job's data (a no-op task), concurrency --concurrency.
//   w4: queue "bench-retry", jobs {exec, step} of a 10-step execution: the processor fails the first
//       attempt of every job (and every attempt of the jobs that always fail: 1% of the tasks), and on
//       success adds the execution's next step as a new job (attempts 3, exponential backoff of 1000 ms:
//       retries after 1 s and 2 s, as ASL's IntervalSeconds 1, BackoffRate 2, MaxAttempts 2). A job
//       that fails its 3rd attempt stays in BullMQ's failed set (its dead-letter list) and its execution
//       ends failed. Each retry's delay is measured from the failed attempt's throw to the retry's start.
import { join } from 'node:path';
import { createRequire } from 'node:module';
import './common.mjs';

let worker;
let queue;
const delays = { 1: [], 2: [] };
const failedAt = new Map();
let attempts = 0;
let retries = 0;

export const STEPS = 10;
export const RETRY_OPTIONS = { attempts: 3, backoff: { type: 'exponential', delay: 1000 } };

// 1% of the tasks always fail: step 9 of every 10th execution.
export function alwaysFails(exec, step) {
  return (exec * STEPS + step) % 100 === 99;
}

process.on('message', async (msg) => {
  if (msg.cmd === 'start') {
    const { Worker, Queue } = createRequire(join(msg.modules, 'package.json'))('bullmq');
    const connection = { host: '127.0.0.1', port: msg.port, maxRetriesPerRequest: null };
    if (msg.workload === 'w3') {
      worker = new Worker('bench-noop', async (job) => job.data, { connection, concurrency: msg.concurrency });
    } else {
      queue = new Queue('bench-retry', { connection });
      const fail = msg.fail;
      worker = new Worker(
        'bench-retry',
        async (job) => {
          const now = Date.now();
          attempts++;
          const { exec, step } = job.data;
          if (job.attemptsMade > 0) {
            retries++;
            const f = failedAt.get(job.id);
            if (f !== undefined && delays[job.attemptsMade]) {
              delays[job.attemptsMade].push(now - f);
            }
          }
          if (fail && (job.attemptsMade === 0 || alwaysFails(exec, step))) {
            failedAt.set(job.id, Date.now());
            throw new Error('bench failure');
          }
          if (step + 1 < STEPS) {
            await queue.add('step', { exec, step: step + 1 }, RETRY_OPTIONS);
          } else {
            process.send({ done: exec, ok: true });
          }
          return null;
        },
        { connection, concurrency: msg.concurrency },
      );
      worker.on('failed', (job) => {
        if (job && job.attemptsMade >= RETRY_OPTIONS.attempts) {
          process.send({ done: job.data.exec, ok: false });
        }
      });
    }
    await worker.waitUntilReady();
    process.send({ ready: true });
  } else if (msg.cmd === 'stop') {
    await worker.close();
    if (queue) {
      await queue.close();
    }
    process.send({ stopped: true, delays, attempts, retries });
    setTimeout(() => process.exit(0), 100);
  }
});
