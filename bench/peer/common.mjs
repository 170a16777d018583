// Helpers shared by the peer benchmark drivers (restate_bench.mjs, bullmq_bench.mjs): flags, percentiles,
// process CPU and memory from /proc, child processes stopped by PID, and the RESULT lines that
// bench/report.py reads:
//   RESULT {"engine":"restate","workload":"W2","case":"inflight=64","durability":"...","metrics":{...}}
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Node 20 lacks Promise.withResolvers (Node 22+), which some packages call.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolve;
    let reject;
    const promise = new this((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export function parseFlags(argv, defaults) {
  const flags = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      throw new Error(`unexpected argument '${a}'`);
    }
    const key = a.slice(2).replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (!(key in defaults)) {
      throw new Error(`unknown flag '${a}' (known: ${Object.keys(defaults).join(', ')})`);
    }
    if (i + 1 >= argv.length) {
      throw new Error(`${a} needs a value`);
    }
    const v = argv[++i];
    flags[key] = typeof defaults[key] === 'number' ? Number(v) : v;
  }
  return flags;
}

export function percentile(sorted, p) {
  if (sorted.length === 0) {
    return 0;
  }
  const k = Math.min(sorted.length - 1, Math.round(p * (sorted.length - 1)));
  return sorted[k];
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// CPU seconds (user + system) of process `pid` so far; -1 when it is gone.
export function cpuSeconds(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return (Number(fields[11]) + Number(fields[12])) / 100;  // USER_HZ is 100 on Linux
  } catch {
    return -1;
  }
}

export function selfCpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

// Resident memory of `pid` in MiB (VmRSS); -1 when unknown.
export function rssMiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : -1;
  } catch {
    return -1;
  }
}

// Bytes of all files under `dir`.
export function diskBytes(dir) {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      total += diskBytes(p);
    } else if (e.isFile()) {
      try {
        total += statSync(p).size;
      } catch {
        // removed meanwhile (compaction)
      }
    }
  }
  return total;
}

// Child processes of this run, stopped by PID at exit (SIGKILL if they linger). The file named by the
// environment variable STEPFLOW_BENCH_PIDS (optional) gets "PID COMMAND" appended for each, so that the
// shell driver can stop them by PID too if this process dies.
const children = new Set();

export function startChild(command, args, { env, stdout, stderr, cwd } = {}) {
  const child = spawn(command, args, {
    env: { ...process.env, ...(env ?? {}) },
    stdio: ['ignore', stdout ?? 'ignore', stderr ?? 'ignore'],
    cwd,
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  if (process.env.STEPFLOW_BENCH_PIDS) {
    appendFileSync(process.env.STEPFLOW_BENCH_PIDS, `${child.pid} ${command}\n`);
  }
  return child;
}

export async function stopChild(child, signal = 'SIGTERM', timeoutMs = 10000) {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

export function killChildrenNow() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // gone
    }
  }
}

process.on('exit', killChildrenNow);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    killChildrenNow();
    process.exit(130);
  });
}

export function result(engine, workload, caseName, durability, metrics) {
  const rounded = {};
  for (const [k, v] of Object.entries(metrics)) {
    rounded[k] = typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(6)) : v;
  }
  console.log(`RESULT ${JSON.stringify({ engine, workload, case: caseName, durability, metrics: rounded })}`);
}

export function log(message) {
  console.log(`# ${message}`);
}
