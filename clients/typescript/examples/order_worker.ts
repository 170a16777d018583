// The workers of examples/order.asl.json with the TypeScript SDK: one process serves the charge-card, ship and
// email queues, 4 tasks at a time, until SIGTERM or Ctrl-C. After `npm run build`:
//
//   node dist/examples/order_worker.js [ADDRESS]     # default 127.0.0.1:7233
//
// Token and TLS settings come from STEPFLOW_TOKEN, STEPFLOW_TLS, STEPFLOW_CA_CERT, ... as for the CLI.
// (In your own project, import from '@stepflow/client' instead of '../src/index.js'.)
import { Client, TaskError, Worker, withEnvironment } from '../src/index.js';

interface ChargeTask { Payload?: { orderId?: string; amount?: number } }
interface Order { orderId?: string }

const client = await Client.connect(process.argv[2] ?? '127.0.0.1:7233', withEnvironment());
const worker = new Worker(client, { concurrency: 4 });

worker.handle('charge-card', (_ctx, input) => {
  const payload = (input as ChargeTask).Payload ?? {};
  if ((payload.amount ?? 0) > 1000) {
    throw new TaskError('Card.Declined', "amount over the card's limit"); // Retry matches it
  }
  // lambda:invoke results carry the function's answer under "Payload", as on AWS.
  return { Payload: { chargeId: `ch-${payload.orderId ?? '?'}` } };
});
worker.handle('ship', (_ctx, input) => ({ tracking: `TRACK-${(input as Order).orderId ?? '?'}` }));
worker.handle('email', async () => ({ sent: true }));

console.log('order workers ready');
const drained = await worker.run();
client.close();
process.exit(drained ? 0 : 1);
