// The console's benchmark in Chromium (issue 11): time to first render of the execution page for a history of
// ~25,000 events (AWS's limit), and how long the tab is blocked at most while it loads.
//
// Starts the real `stepflow server` (127.0.0.1, port 0, a fresh data directory) serving the built console,
// runs one execution whose history is just under 25,000 events (an inline Map over ITEMS items of one Pass
// state: 4 events an iteration), then opens its execution page REPEAT times in Debian's chromium (driven by
// playwright-core, no browser download) and reads, from the page's own clock (ms since navigation start):
//   first render: the header, the graph and the first rows of the event table are on screen;
//   all events:   the event table holds every event of the history (its type filter says "all (N)");
//   longest task: the longest main-thread task (PerformanceObserver "longtask") until all events are in:
//                 how long the tab was frozen at most.
// Prints human lines and `RESULT {json}` lines (workload "console").
//
// usage: node first_render.mjs STEPFLOW_BINARY CONSOLE_BUILD_DIR CONSOLE_PACKAGE_DIR [REPEAT]
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, rmSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const [binary, consoleDir, packageDir, repeatArg] = process.argv.slice(2);
if (!packageDir) {
  console.error("usage: node first_render.mjs STEPFLOW_BINARY CONSOLE_BUILD_DIR CONSOLE_PACKAGE_DIR [REPEAT]");
  process.exit(2);
}
const REPEAT = Number(repeatArg ?? 3);
const ITEMS = Number(process.env.FIRST_RENDER_ITEMS ?? 6240); // 4 events an item + 8 = 24,968 events
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.error(`no chromium at ${CHROMIUM}`);
  process.exit(1);
}
const { chromium } = createRequire(resolve(packageDir, "package.json"))("playwright-core");
const dataDir = mkdtempSync(join(tmpdir(), "stepflow-first-render-"));
let server;
process.on("exit", () => {
  if (server && server.exitCode === null) server.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

function startServer() {
  server = spawn(binary, ["server", "--data-dir", join(dataDir, "data"), "--grpc-address", "127.0.0.1:0",
    "--http-address", "127.0.0.1:0", "--durability", "async", "--console-dir", consoleDir, "--log-level", "warn"],
  { stdio: ["ignore", "pipe", openSync(join(dataDir, "server.log"), "w")] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the server did not start within 30 s")), 30_000);
    server.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: server.stdout }).on("line", (line) => {
      const m = /^stepflow server http on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
  });
}

const http = await startServer();
const base = `http://${http}`;
async function rest(method, path, body) {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
await rest("POST", "/state-machines", { name: "long", definition: {
  StartAt: "Each", States: { Each: { Type: "Map", ItemsPath: "$.items", ResultSelector: { "n.$": "States.ArrayLength($)" },
    ItemProcessor: { StartAt: "Step", States: { Step: { Type: "Pass", End: true } } }, End: true } } } });
const exec = await rest("POST", "/executions", { stateMachine: "long", name: "long-1",
  input: { items: Array.from({ length: ITEMS }, (_, i) => i) } });
const arn = exec.arn;
for (let tries = 0; ; tries++) {
  const d = await rest("GET", `/executions/${encodeURIComponent(arn)}`);
  if (d.status !== "RUNNING") {
    if (d.status !== "SUCCEEDED") throw new Error(`the execution ended ${d.status}: ${d.error} ${d.cause}`);
    break;
  }
  if (tries > 1200) throw new Error("the execution did not end within 60 s");
  await new Promise((r) => setTimeout(r, 50));
}
const last = await rest("GET", `/executions/${encodeURIComponent(arn)}/history?reverseOrder=true&pageSize=1`);
const total = Number(last.events[0].id);

// Records, on the page's clock, when the first event row and the complete table appear, and the long tasks.
const probe = (expected) => {
  // null when this Chromium reports no long tasks at all (then the figure is not measured).
  window.__bench = { firstRender: null, allEvents: null,
    longest: PerformanceObserver.supportedEntryTypes.includes("longtask") ? 0 : null };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (window.__bench.allEvents === null) window.__bench.longest = Math.max(window.__bench.longest, e.duration);
    }
  }).observe({ type: "longtask", buffered: true });
  const check = () => {
    const b = window.__bench;
    if (b.firstRender === null && document.querySelector(".event-row") && document.querySelector("svg.graph g.node")
        && document.querySelector(".exec-header")) {
      b.firstRender = performance.now();
    }
    if (b.allEvents === null && document.querySelector('select[name="eventType"] option[value=""]')?.textContent === `all (${expected})`) {
      b.allEvents = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { childList: true, subtree: true, characterData: true });
};

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const runs = [];
try {
  for (let run = 0; run < REPEAT; run++) {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    await page.addInitScript(probe, total);
    await page.goto(`${base}/#/execution/${encodeURIComponent(arn)}`);
    await page.waitForFunction(() => window.__bench.firstRender !== null && window.__bench.allEvents !== null, null,
      { timeout: 120_000, polling: 100 });
    // One frame more: the long task that built the table has been reported.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0))));
    const b = await page.evaluate(() => window.__bench);
    runs.push(b);
    console.log(`console execution page, ${total} events: first render ${b.firstRender.toFixed(0)} ms, all events ` +
      `${b.allEvents.toFixed(0)} ms, longest task ${b.longest?.toFixed(0)} ms (run ${run + 1})`);
    await context.close();
  }
} finally {
  await browser.close();
  server.kill("SIGTERM");
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const metrics = {
  first_render_ms: Math.round(median(runs.map((r) => r.firstRender))),
  all_events_ms: Math.round(median(runs.map((r) => r.allEvents))),
  longest_task_ms: runs[0].longest === null ? null : Math.round(median(runs.map((r) => r.longest))),
  events: total,
};
console.log(`console execution page, ${total} events (median of ${runs.length}): first render ${metrics.first_render_ms} ms, ` +
  `all events ${metrics.all_events_ms} ms, longest task ${metrics.longest_task_ms} ms`);
console.log(`RESULT ${JSON.stringify({ engine: "stepflow", workload: "console", case: `execution page, ${total} events`,
  durability: "async", metrics })}`);
