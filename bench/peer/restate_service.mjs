// The Restate side of the peer benchmarks: one Restate service, "bench", served over HTTP/2 on 127.0.0.1
// (the Restate server calls it; it is registered through the admin API by bench/peer/restate.sh). Its
// handlers are what bench/peer/restate_bench.mjs invokes through the Restate ingress:
//   tenSteps  W2: ten `ctx.run` steps, each journaled (durable) before the next starts; returns the input.
//   noop      W3: a handler that returns its input: the durable invocation round trip (ingress -> log ->
//             partition processor -> this endpoint -> result), Restate's counterpart of a task handed to
//             a worker and completed.
//   hold      W5: reads the journaled clock, sleeps (a durable timer) until input.until (epoch ms), then
//             records its completion in one `ctx.run` step. The recording counts how often the step's
//             body ran per id: Restate runs a step at least once and journals its result once, so a crash
//             between the body and the journal write would show as a duplicate here.
// A second, plain HTTP/1.1 listener (--status-port) answers GET /holds with the hold counters:
//   {"unique":N,"runs":M,"allAt":<epoch ms when `expect` unique ids had completed, or null>}
// and POST /holds/reset?expect=N clears them.
//
// Usage: node restate_service.mjs --modules DIR --port P --status-port Q
import { createServer as createHttp2Server } from 'node:http2';
import { createServer as createHttpServer } from 'node:http';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFileSync } from 'node:fs';

// Node 20 lacks Promise.withResolvers (Node 22+), which the SDK calls.
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

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const modules = arg('--modules', process.cwd());
const port = Number(arg('--port', '0'));
const statusPort = Number(arg('--status-port', '0'));

const pkgDir = join(modules, 'node_modules', '@restatedev', 'restate-sdk');
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const restate = await import(pathToFileURL(join(pkgDir, pkg.exports['.'].import)).href);

const holds = { runs: new Map(), unique: 0, total: 0, expect: 0, allAt: null };

const bench = restate.service({
  name: 'bench',
  handlers: {
    tenSteps: async (ctx, input) => {
      let value = input;
      for (let i = 0; i < 10; i++) {
        const current = value;
        value = await ctx.run(`step${i}`, () => current);
      }
      return value;
    },
    noop: async (_ctx, input) => input,
    hold: async (ctx, input) => {
      const now = await ctx.date.now();
      if (input.until > now) {
        await ctx.sleep(input.until - now);
      }
      await ctx.run('done', () => {
        const n = (holds.runs.get(input.id) ?? 0) + 1;
        holds.runs.set(input.id, n);
        holds.total++;
        if (n === 1) {
          holds.unique++;
          if (holds.expect > 0 && holds.unique === holds.expect) {
            holds.allAt = Date.now();
          }
        }
        return true;
      });
      return 'done';
    },
  },
});

const endpoint = createHttp2Server(restate.createEndpointHandler({ services: [bench] }));
endpoint.listen(port, '127.0.0.1', () => {
  const status = createHttpServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    if (req.method === 'POST' && url.pathname === '/holds/reset') {
      holds.runs.clear();
      holds.unique = 0;
      holds.total = 0;
      holds.allAt = null;
      holds.expect = Number(url.searchParams.get('expect') ?? '0');
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ unique: holds.unique, runs: holds.total, allAt: holds.allAt }));
  });
  status.listen(statusPort, '127.0.0.1', () => {
    console.log(
      `restate_service listening endpoint=127.0.0.1:${endpoint.address().port} ` +
        `status=127.0.0.1:${status.address().port} sdk=${pkg.version}`,
    );
  });
});
