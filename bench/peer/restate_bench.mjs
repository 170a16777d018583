// Restate peer benchmark (W2 durable steps, W3 dispatch round trip, W5 recovery, footprint). Starts its own
// `restate-server` (the binary that the npm package @restatedev/restate-server ships) on 127.0.0.1 with a
// fresh data directory under --scratch, and the "bench" service of restate_service.mjs (Restate's
// TypeScript SDK) as a second Node process; registers the service through the admin API; drives the
// ingress over HTTP/1.1 keep-alive from this process; stops both by PID at the end.
//
// Durability: Restate's defaults, which are durable: every step is appended to its log (Bifrost, the
// local log-server's RocksDB with WAL fsync on) before it is acknowledged; the partition store is rebuilt
// from that log. One node, 2 partitions (--partitions), as Stepflow runs one partition per core.
//
// Workloads (--workload):
//   w2         bench/tenSteps (10 ctx.run steps) by K client loops each keeping one call in flight, for
//              --seconds after --warmup, for each K of --inflight: exec/s, p50/p99 of the call.
//   w3         bench/noop the same way: tasks/s, p50/p99.
//   w5         --recovery-n invocations of bench/hold (sleep until one common moment, then a recorded
//              step) sent with idempotency keys; kill -9 of restate-server once all are accepted; restart
//              after the moment has passed. From the restart's spawn: admin API healthy (listening_ms),
//              first admin read (first_read_ms), first new invocation accepted by the ingress (ready_ms),
//              all invocations' final step run (all_complete_ms); lost (never completed) and duplicated
//              (final step body run more than once).
//   footprint  --footprint-n calls of bench/tenSteps (64 in flight), then bytes on disk per invocation
//              and resident memory of restate-server.
//
// Usage: node restate_bench.mjs --modules DIR --scratch DIR --workload w2|w3|w5|footprint [flags]
import { request, Agent } from 'node:http';
import { mkdirSync, writeFileSync, rmSync, readFileSync, openSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  cpuSeconds,
  diskBytes,
  log,
  parseFlags,
  percentile,
  result,
  rssMiB,
  selfCpuSeconds,
  sleep,
  startChild,
  stopChild,
} from './common.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

const flags = parseFlags(process.argv.slice(2), {
  modules: '',
  scratch: '',
  workload: 'w2',
  inflight: '1,64',
  seconds: 5,
  warmup: 1,
  recoveryN: 10000,
  holdMs: 0, // 0: 3 s + 1.4 times the estimated time to send them all
  footprintN: 20000,
  partitions: 2,
  portBase: 19070,
  keep: 'no',
});
if (!flags.modules || !flags.scratch) {
  console.error('usage: node restate_bench.mjs --modules DIR --scratch DIR --workload w2|w3|w5|footprint');
  process.exit(2);
}

const ports = {
  admin: flags.portBase,
  ingress: flags.portBase + 10,
  fabric: flags.portBase + 52,
  pgsql: flags.portBase + 1,
  service: flags.portBase + 110,
  status: flags.portBase + 111,
};
const DURABILITY = 'log fsync on (default), 1 node';
const serverBinary = join(
  flags.modules,
  'node_modules',
  '@restatedev',
  `restate-server-${platform()}-${arch()}`,
  'bin',
  'restate-server',
);
const serverVersion = JSON.parse(
  readFileSync(join(flags.modules, 'node_modules', '@restatedev', 'restate-server', 'package.json'), 'utf8'),
).version;

const runDir = join(flags.scratch, `restate-${flags.workload}-${process.pid}`);
const dataDir = join(runDir, 'data');
mkdirSync(runDir, { recursive: true });
writeFileSync(
  join(runDir, 'config.toml'),
  `cluster-name = "stepflow-bench"
node-name = "bench"
base-dir = "${dataDir}"
default-num-partitions = ${flags.partitions}
rocksdb-total-memory-size = "512 MiB"
disable-telemetry = true
log-disable-ansi-codes = true
listen-mode = "tcp"
bind-address = "127.0.0.1:${ports.fabric}"
advertised-address = "http://127.0.0.1:${ports.fabric}/"

[admin]
bind-address = "127.0.0.1:${ports.admin}"
disable-web-ui = true

[admin.query-engine]
pgsql-bind-address = "127.0.0.1:${ports.pgsql}"

[ingress]
bind-address = "127.0.0.1:${ports.ingress}"
`,
);

let serverStarts = 0;
function startServer() {
  serverStarts++;
  const out = openSync(join(runDir, `server-${serverStarts}.log`), 'a');
  return startChild(serverBinary, ['--config-file', join(runDir, 'config.toml'), '--no-logo'], {
    stdout: out,
    stderr: out,
  });
}

let agent = new Agent({ keepAlive: true, maxSockets: 256 });

// POST (or GET when body is null) to 127.0.0.1:port; resolves {status, body}; rejects on connection errors.
function http(port, path, body, headers = {}, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const data = body === null ? null : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: data === null ? 'GET' : 'POST',
        agent,
        headers: data === null ? headers : { 'content-type': 'application/json', 'content-length': data.length, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data !== null) {
      req.write(data);
    }
    req.end();
  });
}

async function until(what, fn, timeoutMs, pollMs = 5) {
  const t0 = Date.now();
  for (;;) {
    try {
      if (await fn()) {
        return;
      }
    } catch {
      // not yet
    }
    if (Date.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(pollMs);
  }
}

const adminHealthy = async () => (await http(ports.admin, '/health', null, {}, 1000)).status === 200;
const ingressServes = async () =>
  (await http(ports.ingress, '/bench/noop', { ping: true }, {}, 2000)).status === 200;

async function startAll() {
  const server = startServer();
  const serviceLog = openSync(join(runDir, 'service.log'), 'a');
  const service = startChild(
    process.execPath,
    [join(HERE, 'restate_service.mjs'), '--modules', flags.modules, '--port', String(ports.service), '--status-port', String(ports.status)],
    { stdout: serviceLog, stderr: serviceLog },
  );
  await until('the Restate admin API', adminHealthy, 60000, 50);
  await until(
    'the service deployment to register',
    async () => {
      const r = await http(ports.admin, '/deployments', { uri: `http://127.0.0.1:${ports.service}`, force: true });
      return r.status >= 200 && r.status < 300;
    },
    30000,
    100,
  );
  await until('the ingress to serve bench/noop', ingressServes, 60000, 20);
  log(
    `restate-server ${serverVersion} pid ${server.pid}, service pid ${service.pid}, partitions ${flags.partitions}, ` +
      `ingress 127.0.0.1:${ports.ingress}, data ${dataDir}`,
  );
  return { server, service };
}

async function throughput(handler, workload, procs) {
  for (const k of String(flags.inflight).split(',').map(Number)) {
    const body = JSON.stringify({ order: 'o-1', items: [1, 2, 3], note: 'bench' });
    const t0 = Date.now();
    const measureFrom = t0 + flags.warmup * 1000;
    const measureTo = measureFrom + flags.seconds * 1000;
    const latencies = [];
    let failures = 0;
    let firstFailure = '';
    let completed = 0;
    let inWindow = 0;
    const cpu0 = { server: cpuSeconds(procs.server.pid), service: cpuSeconds(procs.service.pid), client: selfCpuSeconds() };
    const loop = async () => {
      for (;;) {
        const start = performance.now() + performance.timeOrigin;
        if (start >= measureTo) {
          return;
        }
        try {
          const r = await http(ports.ingress, `/bench/${handler}`, body);
          if (r.status !== 200) {
            throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          }
          completed++;
          const done = performance.now() + performance.timeOrigin;
          if (done >= measureFrom && done <= measureTo) {
            inWindow++; // throughput: completions inside the window
          }
          if (start >= measureFrom && done <= measureTo) {
            latencies.push(done - start);
          }
        } catch (e) {
          if (failures++ === 0) {
            firstFailure = String(e.message ?? e);
          }
        }
      }
    };
    await Promise.all(Array.from({ length: k }, loop));
    const cpu = {
      server: cpuSeconds(procs.server.pid) - cpu0.server,
      service: cpuSeconds(procs.service.pid) - cpu0.service,
      client: selfCpuSeconds() - cpu0.client,
    };
    latencies.sort((a, b) => a - b);
    const perS = inWindow / flags.seconds;
    const unit = workload === 'W3' ? 'tasks_per_s' : 'exec_per_s';
    result('restate', workload, `inflight=${k}`, DURABILITY, {
      [unit]: perS,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      failures,
      server_cpu_ms_per_exec: (1000 * (cpu.server + cpu.service)) / Math.max(1, completed),
      client_cpu_ms_per_exec: (1000 * cpu.client) / Math.max(1, completed),
    });
    if (failures > 0) {
      log(`restate ${workload} inflight=${k}: ${failures} failures, first: ${firstFailure}`);
    }
  }
}

async function holdStatus() {
  return JSON.parse((await http(ports.status, '/holds', null, {}, 5000)).body);
}

async function recovery(procs) {
  const n = flags.recoveryN;
  await http(ports.status, `/holds/reset?expect=${n}`, '');
  // Every invocation sleeps until one moment: late enough that all are accepted before it (estimated
  // from 200 calibration sends, with a margin), so none completes before the kill.
  let holdMs = flags.holdMs;
  if (holdMs <= 0) {
    const c0 = Date.now();
    let c = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (c < 200) {
          c++;
          await http(ports.ingress, '/bench/noop/send', { calibrate: true });
        }
      }),
    );
    const perSendMs = (Date.now() - c0) / 200;
    holdMs = Math.round(3000 + 1.4 * n * perSendMs);
    log(`restate W5: calibration ${perSendMs.toFixed(2)} ms per send; every invocation sleeps ${holdMs} ms`);
  }
  const wake = Date.now() + holdMs;
  let next = 0;
  let failures = 0;
  let firstFailure = '';
  const s0 = Date.now();
  const sender = async () => {
    for (let i = next++; i < n; i = next++) {
      try {
        const r = await http(ports.ingress, '/bench/hold/send', { id: `h${i}`, until: wake }, { 'idempotency-key': `h${i}` });
        if (r.status !== 200 && r.status !== 202) {
          throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
        }
      } catch (e) {
        if (failures++ === 0) {
          firstFailure = String(e.message ?? e);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, sender));
  const sendS = (Date.now() - s0) / 1000;
  const before = await holdStatus();
  if (failures > 0) {
    throw new Error(`${failures} sends failed, first: ${firstFailure}`);
  }
  if (Date.now() >= wake || before.unique > 0) {
    log(`warning: sending took ${sendS.toFixed(1)} s, past the wake-up time; ${before.unique} had completed before the kill`);
  }
  // kill -9 the server; the service process (the "worker") stays up, as Stepflow's clients do.
  await stopChild(procs.server, 'SIGKILL');
  agent.destroy();
  agent = new Agent({ keepAlive: true, maxSockets: 256 });
  await sleep(Math.max(0, wake + 200 - Date.now()));
  const r0 = Date.now();
  procs.server = startServer();
  await until('the Restate admin API after the restart', adminHealthy, 120000, 2);
  const listeningMs = Date.now() - r0;
  await until(
    'the admin API to list deployments',
    async () => (await http(ports.admin, '/deployments', null, {}, 2000)).status === 200,
    120000,
    2,
  );
  const firstReadMs = Date.now() - r0;
  // Accepting new work: the first acknowledged (durably logged) new invocation after the restart.
  await until(
    'the ingress to accept a new invocation',
    async () => {
      const r = await http(ports.ingress, '/bench/noop/send', { probe: true }, { 'idempotency-key': 'probe-after-restart' }, 2000);
      return r.status === 200 || r.status === 202;
    },
    120000,
    2,
  );
  const readyMs = Date.now() - r0;
  let status = await holdStatus();
  const deadline = Date.now() + 300000;
  while (status.unique < n && Date.now() < deadline) {
    await sleep(5);
    status = await holdStatus();
  }
  const completeMs = status.allAt !== null ? status.allAt - r0 : -1;
  result('restate', 'W5', `n=${n}`, DURABILITY, {
    start_per_s: n / sendS,
    in_flight_at_kill: n - before.unique,
    listening_ms: listeningMs,
    first_read_ms: firstReadMs,
    ready_ms: readyMs,
    all_complete_ms: completeMs,
    lost: n - status.unique,
    duplicated: status.runs - status.unique,
  });
}

async function footprint(procs) {
  const n = flags.footprintN;
  let next = 0;
  let failures = 0;
  const body = JSON.stringify({ order: 'o-1', items: [1, 2, 3], note: 'bench' });
  const t0 = Date.now();
  const loop = async () => {
    for (let i = next++; i < n; i = next++) {
      try {
        const r = await http(ports.ingress, '/bench/tenSteps', body);
        failures += r.status === 200 ? 0 : 1;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, loop));
  const seconds = (Date.now() - t0) / 1000;
  await sleep(1000);
  result('restate', 'footprint', 'after N finished', DURABILITY, {
    executions: n,
    seconds,
    disk_bytes_per_exec: diskBytes(dataDir) / n,
    rss_mib: rssMiB(procs.server.pid),
    failures,
  });
}

async function main() {
  const procs = await startAll();
  try {
    if (flags.workload === 'w2') {
      await throughput('tenSteps', 'W2', procs);
    } else if (flags.workload === 'w3') {
      await throughput('noop', 'W3', procs);
    } else if (flags.workload === 'w5') {
      await recovery(procs);
    } else if (flags.workload === 'footprint') {
      await footprint(procs);
    } else {
      throw new Error(`unknown workload ${flags.workload}`);
    }
  } finally {
    agent.destroy();
    await stopChild(procs.service, 'SIGTERM');
    await stopChild(procs.server, 'SIGTERM', 15000);
    if (flags.keep !== 'yes') {
      rmSync(runDir, { recursive: true, force: true });
    } else {
      log(`kept ${runDir}`);
    }
  }
}

main().catch((e) => {
  console.error(`restate_bench: ${e?.stack ?? e}`);
  process.exit(1);
});
