// The no-op W3 worker of the TypeScript SDK (clients/typescript), run by task_bench --worker-command:
//   node typescript_worker.mjs SDK_DIR ADDRESS QUEUE CONCURRENCY
// SDK_DIR is a built copy of the SDK (tests/sdk/ts_build.sh: the build directory's tests/sdk/typescript).
// Serves QUEUE with CONCURRENCY handler slots, each handler returning its input; prints "ready" and drains on
// SIGTERM (Worker.run).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [sdkDir, address, queue, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText);
if (!sdkDir || !address || !queue || !Number.isInteger(concurrency) || concurrency < 1) {
  console.error('usage: node typescript_worker.mjs SDK_DIR ADDRESS QUEUE CONCURRENCY (>= 1)');
  process.exit(2);
}
const { Client, Worker } = await import(pathToFileURL(path.join(path.resolve(sdkDir), 'dist/src/index.js')).href);
const client = await Client.connect(address);
const worker = new Worker(client, { concurrency, identity: 'bench-typescript-sdk' });
worker.handle(queue, (_ctx, input) => input);
console.log('ready');
const drained = await worker.run();
client.close();
process.exit(drained ? 0 : 1);
