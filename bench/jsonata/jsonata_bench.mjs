// jsonata-js's side of bench/jsonata/jsonata_bench.sh: the same cases and data as jsonata_bench.cc, timed
// the same way (compile once; evaluate until --min-seconds have passed, the clock read between batches of
// evaluations; each evaluation awaited, as jsonata 2.x's evaluate is asynchronous). Prints, per case:
//   jsonata-js <name> evals=N ns_per_eval=X cpu_ns_per_eval=C result_bytes=B
// C is the process's CPU time (user + system, every thread: the compiler and collector included) per
// evaluation, which a busy machine distorts less than the wall-clock X.
// Usage: node jsonata_bench.mjs --modules DIR --cases CASES.json --data DATA.json [--min-seconds S] [--only NAME]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const args = { only: [] };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  const flag = process.argv[i].replace(/^--/, '');
  if (flag === 'only') args.only.push(process.argv[i + 1]);
  else args[flag] = process.argv[i + 1];
}
const require = createRequire(path.join(args.modules, 'package.json'));
const jsonata = require('jsonata');
const cases = JSON.parse(readFileSync(args.cases, 'utf8')).cases;
const data = JSON.parse(readFileSync(args.data, 'utf8'));
const minSeconds = Number(args['min-seconds'] ?? 1);
// The clock is read once per batch of evaluations, the batch doubling while it takes less than this (as in
// jsonata_bench.cc), so that a fast case's figure is the evaluation's cost rather than hrtime's.
const BATCH_SECONDS = 1e-3;

for (const c of cases) {
  if (args.only.length > 0 && !args.only.includes(c.name)) continue;
  const expression = jsonata(c.expr);
  const input = data[c.input];
  let evals = 0;
  let resultBytes = 0;
  const cpuStart = process.cpuUsage();
  const start = process.hrtime.bigint();
  let elapsed = 0;
  let batch = 1;
  while (elapsed < minSeconds) {
    for (let i = 0; i < batch; i += 1) {
      const result = await expression.evaluate(input);
      if (evals === 0) resultBytes = result === undefined ? 0 : JSON.stringify(result).length;
      evals += 1;
    }
    const before = elapsed;
    elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (elapsed - before < BATCH_SECONDS) batch *= 2;
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuNs = (cpu.user + cpu.system) * 1000;
  console.log(`jsonata-js ${c.name} evals=${evals} ns_per_eval=${Math.round((elapsed * 1e9) / evals)} ` +
    `cpu_ns_per_eval=${Math.round(cpuNs / evals)} result_bytes=${resultBytes}`);
}
