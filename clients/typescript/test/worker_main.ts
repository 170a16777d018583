// A worker process for the tests: `node worker_main.js ADDRESS QUEUE MODE`. MODE hold: the handler prints
// "started" and waits for a line on stdin, then returns it. MODE echo: returns the attempt. Prints
// "stopped true|false" (what Worker.run() resolved to) before it exits.
import { createInterface } from 'node:readline';

import { Client, Worker } from '../src/index.js';

const [address, queue, mode] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const client = await Client.connect(address);
const worker = new Worker(client, { concurrency: 2, identity: `proc-${mode}` });
worker.handle(queue, async (ctx) => {
  if (mode === 'hold') {
    console.log('started');
    const line = await lines.next();
    return { released: line.value, cancelled: ctx.cancelled };
  }
  return { attempt: ctx.attempt, by: mode };
});
console.log('ready');
const result = await worker.run();
console.log(`stopped ${result}`);
client.close();
process.exit(0);
