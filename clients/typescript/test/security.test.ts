// TLS, mutual TLS and bearer tokens (ClientOptions) against servers started with --tls-cert, --tls-client-ca
// and --token-file. Certificates are made at run time with the openssl command, as tests/integration does.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { Client, errors, StepflowError, withEnvironment } from '../src/index.js';
import { Server, tempDir } from './server.js';

const TOKENS: Record<string, string> = { reader: 'secret-reader-1', admin: 'secret-admin-1', worker: 'secret-worker-1' };
const PASS = { StartAt: 'P', States: { P: { Type: 'Pass', End: true } } };
const servers: Server[] = [];

after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

function makeCertificates(dir: string): void {
  const key = '-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes';
  execFileSync('sh', ['-c', `set -e; cd '${dir}'
openssl req -x509 ${key} -keyout ca.key -out ca.pem -days 2 -subj /CN=stepflow-test-ca
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
openssl req ${key} -keyout server.key -out server.csr -subj /CN=localhost
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
openssl req ${key} -keyout client.key -out client.csr -subj /CN=worker-7
openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2
`], { stdio: 'ignore' });
}

async function start(dir: string, extra: string[]): Promise<Server> {
  const s = await Server.start(extra, dir);
  servers.push(s);
  return s;
}

test('TLS and mutual TLS', async () => {
  const dir = tempDir();
  makeCertificates(dir);
  const p = (name: string): string => join(dir, name);
  const tls = ['--tls-cert', p('server.pem'), '--tls-key', p('server.key')];
  const s = await start(join(dir, 'tls'), tls);
  const c = await Client.connect(s.address, { caCert: p('ca.pem') });
  assert.equal((await c.createStateMachine('over-tls', PASS)).name, 'over-tls');
  c.close();
  await assert.rejects(Client.connect(s.address, {}, 1000), errors.ServiceUnavailable);
  await assert.rejects(Client.connect(s.address, { tls: true }, 1000), errors.ServiceUnavailable);
  assert.throws(() => new Client(s.address, { caCert: p('no-such.pem') }), errors.InvalidArgument);
  assert.throws(() => new Client(s.address, { caCert: p('ca.pem'), clientCert: p('client.pem') }), errors.InvalidArgument);

  const m = await start(join(dir, 'mtls'), [...tls, '--tls-client-ca', p('ca.pem')]);
  const mutual = await Client.connect(m.address, { caCert: p('ca.pem'), clientCert: p('client.pem'), clientKey: p('client.key') });
  assert.equal((await mutual.validateDefinition(PASS)).valid, true);
  mutual.close();
  const noCert = new Client(m.address, { caCert: p('ca.pem'), callTimeoutMs: 3000 });
  await assert.rejects(noCert.validateDefinition(PASS), StepflowError);
  noCert.close();
});

test('bearer tokens and roles', async () => {
  const dir = tempDir();
  const tokens = Object.entries(TOKENS).map(([role, secret]) => ({
    name: `${role}-token`, sha256: createHash('sha256').update(secret).digest('hex'), role,
    ...(role === 'worker' ? { queues: ['q1'] } : {}),
  }));
  writeFileSync(join(dir, 'tokens.json'), JSON.stringify({ tokens }));
  const s = await start(join(dir, 'server'), ['--token-file', join(dir, 'tokens.json')]);
  const anonymous = await Client.connect(s.address);
  await assert.rejects(anonymous.listStateMachinesPage(), errors.UnrecognizedClientException);
  anonymous.close();
  const adminOptions = withEnvironment({}, { STEPFLOW_TOKEN: TOKENS.admin });
  assert.equal(adminOptions.token, TOKENS.admin);
  const admin = await Client.connect(s.address, adminOptions);
  await admin.createStateMachine('secured', PASS);
  admin.close();
  const reader = await Client.connect(s.address, { token: TOKENS.reader });
  assert.equal((await reader.listStateMachinesPage()).items[0].name, 'secured');
  await assert.rejects(reader.startExecution('secured'), errors.AccessDeniedException);
  reader.close();
  const worker = await Client.connect(s.address, { token: TOKENS.worker });
  assert.equal(await worker.pollTask('q1', '', 1), undefined);
  await assert.rejects(worker.pollTask('q2', '', 1), errors.AccessDeniedException);
  worker.close();
  assert.throws(() => withEnvironment({}, { STEPFLOW_TLS: 'maybe' }), errors.InvalidArgument);
});
