// Peer benchmark: runs the Stepflow benchmark workloads (bench/workloads/) with the npm package
// `aws-local-stepfunctions` (an in-process TypeScript ASL interpreter, no persistence) and prints, per
// workload, one line (and a `RESULT {json}` line of workload W1 for bench/report.py):
//   peer aws-local-stepfunctions <workload> executions=N seconds=S exec_per_s=X transitions_per_s=Y
//
// Normally started by run_aws_local_stepfunctions.sh, which installs the package in a scratch directory
// and passes it with --modules. Usage:
//   node bench.mjs --modules DIR [--workloads DIR] [--pass-chain N] [--pass-chain-100 N] [--map N] [--choice N]
//                  [--concurrency K] [--warmup W] [--only WORKLOAD]...
//
// What is measured, per workload:
// - The StateMachine is constructed (and its definition validated) once, outside the timing, as a
//   server registers a definition once.
// - One untimed verification run consumes the execution's event log and counts StateEntered events,
//   including those of every Map iteration (the package forwards them to the root log). That count is
//   the number of state transitions per execution; the workloads are deterministic, so the timed runs
//   enter the same states (their outputs are checked after the timing too).
// - The timed runs do not read the event log; the package records the events anyway.
// - Inputs are passed as already-parsed JavaScript values; JSON parsing is not timed.
// - --warmup W runs W more untimed executions first (default 0). With small N the figures include V8's
//   JIT warm-up: pass_chain_10 at N=200 takes only tens of milliseconds.
// - Executions run one after another (--concurrency 1, the default); with --concurrency K, K executions
//   are in flight at once on Node's single thread.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

// Node 20 lacks Promise.withResolvers (Node 22+), which the package calls. It must exist before the
// package is imported, hence the dynamic import below.
if (typeof Promise.withResolvers !== 'function') {
  Promise.withResolvers = function withResolvers() {
    let resolvePromise;
    let rejectPromise;
    const promise = new this((res, rej) => {
      resolvePromise = res;
      rejectPromise = rej;
    });
    return { promise, resolve: resolvePromise, reject: rejectPromise };
  };
}

const HERE = dirname(fileURLToPath(import.meta.url));
const PACKAGE = 'aws-local-stepfunctions';

function usage(message) {
  if (message) {
    console.error(`bench.mjs: ${message}`);
  }
  console.error(
    'usage: node bench.mjs --modules DIR [--workloads DIR] [--pass-chain N] [--pass-chain-100 N] [--map N] [--choice N] ' +
      '[--concurrency K] [--warmup W] [--only WORKLOAD]...',
  );
  process.exit(2);
}

function positiveInt(flag, text) {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    usage(`${flag} needs a positive integer, got '${text}'`);
  }
  return n;
}

function parseArgs(argv) {
  const args = {
    modules: process.env.AWS_LOCAL_SFN_DIR || process.cwd(),
    workloads: resolve(HERE, '..', 'workloads'),
    executions: { pass_chain_10: 200, pass_chain_100: 20, map_1000: 5, choice_loop_100: 50 },
    concurrency: 1,
    warmup: 0,
    only: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) {
        usage(`${flag} needs a value`);
      }
      return argv[++i];
    };
    switch (flag) {
      case '--modules':
        args.modules = resolve(value());
        break;
      case '--workloads':
        args.workloads = resolve(value());
        break;
      case '--pass-chain':
        args.executions.pass_chain_10 = positiveInt(flag, value());
        break;
      case '--pass-chain-100':
        args.executions.pass_chain_100 = positiveInt(flag, value());
        break;
      case '--map':
        args.executions.map_1000 = positiveInt(flag, value());
        break;
      case '--choice':
        args.executions.choice_loop_100 = positiveInt(flag, value());
        break;
      case '--concurrency':
        args.concurrency = positiveInt(flag, value());
        break;
      case '--warmup': {
        const text = value();
        args.warmup = text === '0' ? 0 : positiveInt(flag, text);
        break;
      }
      case '--only':
        args.only.push(value());
        break;
      case '-h':
      case '--help':
        usage();
        break;
      default:
        usage(`unknown flag '${flag}'`);
    }
  }
  for (const name of args.only) {
    if (!(name in args.executions)) {
      usage(`unknown workload '${name}' (known: ${Object.keys(args.executions).join(', ')})`);
    }
  }
  return args;
}

async function importPackage(modulesDir) {
  const pkgDir = join(modulesDir, 'node_modules', PACKAGE);
  let pkg;
  try {
    pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  } catch (e) {
    usage(`cannot read ${PACKAGE} under ${modulesDir}/node_modules (${e.message}); run npm install there`);
  }
  const entry = pkg.exports?.import ?? pkg.module;
  const mod = await import(pathToFileURL(join(pkgDir, entry)).href);
  return { StateMachine: mod.StateMachine, version: pkg.version };
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

// Each workload: files, the transitions per execution its definition implies, and an output check.
const WORKLOADS = [
  {
    name: 'pass_chain_10',
    definition: 'pass_chain_10.json',
    input: 'pass_chain_10_input.json',
    expectedTransitions: 10,
    check: (output, input) => isDeepStrictEqual(output, input) || 'output differs from input',
  },
  {
    name: 'pass_chain_100',
    definition: 'pass_chain_100.json',
    input: 'pass_chain_10_input.json',
    expectedTransitions: 100,
    check: (output, input) => isDeepStrictEqual(output, input) || 'output differs from input',
  },
  {
    name: 'map_1000',
    definition: 'map_1000.json',
    input: 'map_1000_input.json',
    expectedTransitions: 1001,
    check: (output, input) =>
      (Array.isArray(output) && output.length === 1000 && isDeepStrictEqual(output, input)) ||
      `expected the 1000 input items, got ${Array.isArray(output) ? `${output.length} elements` : typeof output}`,
  },
  {
    name: 'choice_loop_100',
    definition: 'choice_loop_100.json',
    input: 'choice_loop_100_input.json',
    expectedTransitions: 203,
    check: (output) => output?.counter === 100 || `expected counter 100, got ${JSON.stringify(output)}`,
  },
];

function verify(workload, output, input) {
  const verdict = workload.check(output, input);
  if (verdict !== true) {
    throw new Error(`${workload.name}: wrong output: ${verdict}`);
  }
}

// One untimed execution that reads the whole event log; returns the number of states entered.
async function countTransitions(stateMachine, workload, input) {
  const execution = stateMachine.run(input);
  let entered = 0;
  const drained = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') {
        entered++;
      }
    }
  })();
  const output = await execution.result;
  await drained;
  verify(workload, output, input);
  if (entered !== workload.expectedTransitions) {
    console.error(
      `warning: ${workload.name}: counted ${entered} state transitions, the definition implies ` +
        `${workload.expectedTransitions}; using the counted figure`,
    );
  }
  return entered;
}

async function timedRuns(stateMachine, input, executions, concurrency) {
  const outputs = new Array(executions);
  let next = 0;
  const worker = async () => {
    while (next < executions) {
      const i = next++;
      outputs[i] = await stateMachine.run(input).result;
    }
  };
  const start = process.hrtime.bigint();
  await Promise.all(Array.from({ length: Math.min(concurrency, executions) }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { outputs, seconds };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const { StateMachine, version } = await importPackage(args.modules);
  console.error(
    `# ${PACKAGE} ${version}, node ${process.version}, concurrency ${args.concurrency}, ` +
      `warmup ${args.warmup}, workloads ${args.workloads}`,
  );
  for (const workload of WORKLOADS) {
    if (args.only.length > 0 && !args.only.includes(workload.name)) {
      continue;
    }
    const definition = readJson(join(args.workloads, workload.definition));
    const input = readJson(join(args.workloads, workload.input));
    const stateMachine = new StateMachine(definition);
    const transitionsPerExecution = await countTransitions(stateMachine, workload, input);
    for (let i = 0; i < args.warmup; i++) {
      verify(workload, await stateMachine.run(input).result, input);
    }
    const executions = args.executions[workload.name];
    const { outputs, seconds } = await timedRuns(stateMachine, input, executions, args.concurrency);
    for (const output of outputs) {
      verify(workload, output, input);
    }
    const execPerS = executions / seconds;
    console.log(
      `peer ${PACKAGE} ${workload.name} executions=${executions} seconds=${seconds.toFixed(3)} ` +
        `exec_per_s=${execPerS.toFixed(1)} transitions_per_s=${(execPerS * transitionsPerExecution).toFixed(0)}`,
    );
    const resultLine = {
      engine: PACKAGE,
      workload: 'W1',
      case: workload.name,
      durability: 'in memory (no persistence)',
      metrics: {
        exec_per_s: Number(execPerS.toFixed(1)),
        transitions_per_s: Math.round(execPerS * transitionsPerExecution),
        executions,
      },
    };
    console.log(`RESULT ${JSON.stringify(resultLine)}`);
  }
}

main().catch((e) => {
  console.error(`bench.mjs: ${e?.stack ?? e}`);
  process.exit(1);
});
