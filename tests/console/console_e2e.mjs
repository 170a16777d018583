// End-to-end test of the ops console in a real browser: starts the real `stepflow server` on 127.0.0.1 (port 0)
// serving the built console, seeds executions of every kind over REST (and a dead letter with a CLI worker),
// then drives Debian's chromium with playwright-core and checks what each page shows and that the console's
// actions change the server's state. Screenshots go to OUT_DIR. Every wait is on an event (a selector, a
// response, a server state), bounded by a timeout; nothing sleeps for a fixed time.
//
// usage: node console_e2e.mjs STEPFLOW_BINARY CONSOLE_BUILD_DIR CONSOLE_PACKAGE_DIR OUT_DIR
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, mkdirSync, rmSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";

const [binary, consoleDir, packageDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error("usage: node console_e2e.mjs STEPFLOW_BINARY CONSOLE_BUILD_DIR CONSOLE_PACKAGE_DIR OUT_DIR");
  process.exit(2);
}
if (!existsSync(join(consoleDir, "index.html"))) {
  console.error(`no console build in ${consoleDir}: run \`make console\` first`);
  process.exit(1);
}
const { chromium } = createRequire(resolve(packageDir, "package.json"))("playwright-core");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
if (!existsSync(CHROMIUM)) {
  console.error(`no chromium at ${CHROMIUM}: install Debian's chromium (make deps) or set CHROMIUM`);
  process.exit(1);
}
const TIMEOUT_MS = 15_000;
const children = [];
const dataDir = mkdtempSync(join(tmpdir(), "stepflow-console-"));
mkdirSync(outDir, { recursive: true });

function killAll() {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
}
process.on("exit", () => {
  killAll();
  rmSync(dataDir, { recursive: true, force: true });
});

// Starts the server and resolves with its HTTP and gRPC addresses (read from its stdout).
// With `defaultConsole`, no --console-dir: the server finds the console beside its binary.
function startServer(name, extraArgs = [], { defaultConsole = false } = {}) {
  const consoleArgs = defaultConsole ? [] : ["--console-dir", consoleDir];
  const child = spawn(binary, ["server", "--data-dir", join(dataDir, name), "--grpc-address", "127.0.0.1:0",
    "--http-address", "127.0.0.1:0", "--durability", "async", "--partitions", "2", ...consoleArgs,
    ...extraArgs], { stdio: ["ignore", "pipe", openSync(join(outDir, `console-${name}.log`), "w")] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const addr = {};
    const timer = setTimeout(() => reject(new Error("the server did not start within 30 s")), 30_000);
    child.on("exit", (code) => reject(new Error(`the server exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = /^stepflow server (listening|http) on (\S+)/.exec(line);
      if (m) addr[m[1]] = m[2];
      if (addr.listening && addr.http) {
        clearTimeout(timer);
        resolve({ child, grpc: addr.listening, http: addr.http });
      }
    });
  });
}

const server = await startServer("server");
const base = `http://${server.http}`;

async function rest(method, path, body, { root = base, token } = {}) {
  const headers = body === undefined ? {} : { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${root}/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// GET `path` exactly as written (fetch would normalise the dot segments away).
function rawGet(path) {
  const [host, port] = server.http.split(":");
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => socket.end(`GET ${path} HTTP/1.1\r\nHost: ${server.http}\r\nConnection: close\r\n\r\n`));
    let answer = "";
    socket.on("data", (d) => (answer += d));
    socket.on("end", () => resolve(answer));
    socket.on("error", reject);
  });
}

// Polls `probe` until it returns a truthy value (the server's state is the event waited for).
async function until(what, probe) {
  const deadline = Date.now() + TIMEOUT_MS;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const pass = (next) => (next ? { Type: "Pass", Next: next } : { Type: "Pass", End: true });
const machines = {
  hello: { StartAt: "Greet", States: { Greet: { Type: "Pass", Result: { hello: "world" }, Next: "Done" }, Done: { Type: "Succeed" } } },
  broken: { StartAt: "Check", States: { Check: pass("Boom"), Boom: { Type: "Fail", Error: "Order.Invalid", Cause: "no items" } } },
  sleepy: { StartAt: "Nap", States: { Nap: { Type: "Wait", Seconds: 3600, Next: "After" }, After: pass() } },
  fanout: { StartAt: "Each", States: { Each: { Type: "Map", ItemsPath: "$.items", ItemProcessor: { StartAt: "Double", States: { Double: pass() } }, End: true } } },
  split: { StartAt: "Both", States: { Both: { Type: "Parallel", Branches: [{ StartAt: "Left", States: { Left: pass() } }, { StartAt: "Right", States: { Right: pass() } }], End: true } } },
  charge: { StartAt: "Charge", States: { Charge: { Type: "Task", Resource: "activity:cards",
    ResultSelector: { "paid.$": "$.amount" }, ResultPath: "$.payment", End: true } } },
  vars: { StartAt: "Pick", States: {
    Pick: { Type: "Pass", InputPath: "$.lines[?(@.qty > 1)]", Parameters: { "n.$": "States.ArrayLength($)" },
      ResultPath: "$.picked", Assign: { "count.$": "$.n" }, Next: "Tag" },
    Tag: { Type: "Pass", Assign: { tag: "second" }, Next: "Done" },
    Done: { Type: "Succeed" } } },
};
for (const [name, definition] of Object.entries(machines)) await rest("POST", "/state-machines", { name, definition });
const start = (sm, name, input = {}) => rest("POST", "/executions", { stateMachine: sm, name, input });
const ok = await start("hello", "hello-ok", { who: "console" });
const failed = await start("broken", "broken-1");
const running = await start("sleepy", "sleepy-1");
const map = await start("fanout", "fanout-1", { items: [1, 2, 3] });
const parallel = await start("split", "split-1");
const charge = await start("charge", "charge-1", { amount: 5 });
// Two more for the dead-letter page's bulk actions.
const spares = [await start("charge", "charge-2", { amount: 2 }), await start("charge", "charge-3", { amount: 3 })];
const bulkRuns = [await start("sleepy", "bulk-1"), await start("sleepy", "bulk-2")];
const varsRun = await start("vars", "vars-1", { lines: [{ sku: "a", qty: 1 }, { sku: "b", qty: 2 }, { sku: "c", qty: 3 }] });
const statusOf = async (arn) => (await rest("GET", `/executions/${encodeURIComponent(arn)}`)).status;
for (const [e, want] of [[ok, "SUCCEEDED"], [failed, "FAILED"], [map, "SUCCEEDED"], [parallel, "SUCCEEDED"], [varsRun, "SUCCEEDED"]]) {
  await until(`${e.arn} ${want}`, async () => (await statusOf(e.arn)) === want);
}

// A worker that fails every task: the Task has no Retry, so its failure is a dead letter.
const worker = spawn(binary, ["--server", server.grpc, "worker", "--queue", "cards", "--", "sh", "-c",
  'echo \'{"error":"Card.Declined","cause":"no funds"}\' >&2; exit 1'], { stdio: "ignore" });
children.push(worker);
const deadOf = async (arn) => (await rest("GET", "/dead-letters?queue=cards")).deadLetters.find((d) => d.executionArn === arn);
const dead = await until("a dead letter", () => deadOf(charge.arn));
const spareDead = [];
for (const e of spares) spareDead.push(await until(`${e.arn}'s dead letter`, () => deadOf(e.arn)));
for (const e of [charge, ...spares]) await until(`${e.arn} FAILED`, async () => (await statusOf(e.arn)) === "FAILED");
worker.kill("SIGTERM");
await new Promise((r) => (worker.exitCode !== null ? r() : worker.on("exit", r)));

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(TIMEOUT_MS);
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(e));
const shot = (name) => page.screenshot({ path: join(outDir, `console-${name}.png`), fullPage: true });
const enc = encodeURIComponent;

try {
  // The server serves the console and its client routes, with the right content types.
  const index = await fetch(`${base}/`);
  assert.match(index.headers.get("content-type"), /^text\/html/);
  const fallback = await fetch(`${base}/executions/some-client-route`);
  assert.equal(fallback.status, 200, "a client route falls back to index.html");
  for (const path of ["/assets/../../../../etc/passwd", "/..%2f..%2fetc/passwd", "/../index.html"]) {
    const answer = await rawGet(path);
    assert.match(answer, /^HTTP\/1\.1 404/, `${path}: ${answer.slice(0, 80)}`);
    assert.doesNotMatch(answer, /root:/);
  }
  assert.equal((await fetch(`${base}/missing.js`)).status, 404);

  // Executions: every seeded execution listed, counts per status, the status filter works server-side.
  await page.goto(`${base}/#/executions`);
  for (const e of [ok, failed, running, map, parallel, charge]) await page.waitForSelector(`tr[data-arn="${e.arn}"]`);
  await page.waitForFunction(() => document.querySelector('.counts button[data-status="FAILED"] .count')?.textContent === "4");
  await shot("executions");
  const filtered = page.waitForResponse((r) => r.url().includes("/api/v1/executions?") && r.url().includes("status=FAILED"));
  await page.click('.counts button[data-status="FAILED"]');
  await filtered;
  await page.waitForFunction(() => document.querySelectorAll("table.list tbody tr").length === 4);
  const statuses = await page.$$eval("table.list tbody tr", (rows) => rows.map((r) => r.getAttribute("data-status")));
  assert.deepEqual(statuses, ["FAILED", "FAILED", "FAILED", "FAILED"]); // broken-1 and charge-1..3
  assert.match(page.url(), /status=FAILED/, "the filter is in the shareable URL");
  await shot("executions-failed");

  // The name-prefix filter, server-side and in the URL; its counts narrow with it.
  await page.goto(`${base}/#/executions`);
  await page.waitForSelector(`tr[data-arn="${ok.arn}"]`);
  const byPrefix = page.waitForResponse((r) => r.url().includes("/api/v1/executions?") && r.url().includes("namePrefix=fan"));
  await page.fill('input[name="namePrefix"]', "fan");
  await page.press('input[name="namePrefix"]', "Tab");
  await byPrefix;
  await page.waitForFunction(() => document.querySelectorAll("table.list tbody tr").length === 1);
  assert.equal(await page.getAttribute("table.list tbody tr", "data-arn"), map.arn);
  assert.match(page.url(), /namePrefix=fan/, "the name prefix is in the shareable URL");
  await page.waitForFunction(() => document.querySelector('.counts button[data-status="SUCCEEDED"] .count')?.textContent === "1");
  const exactCounts = await rest("GET", "/executions:counts");
  assert.equal(exactCounts.exact, true);
  assert.equal(exactCounts.counts.FAILED, 4);

  // Execution (failed): status, error and cause, graph colours, events and the failed-only filter.
  await page.goto(`${base}/#/execution/${enc(failed.arn)}`);
  await page.waitForSelector(".exec-header .badge.status-FAILED");
  assert.equal(await page.textContent(".exec-error"), "Order.Invalid");
  assert.equal(await page.textContent(".exec-cause"), "no items");
  await page.waitForSelector('g.node[data-state="Check"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Boom"][data-status="FAILED"]');
  await page.waitForSelector('.event-row[data-type="ExecutionFailed"]');
  await page.check('input[name="failedOnly"]');
  const failedTypes = await page.$$eval(".event-row", (rows) => rows.map((r) => r.getAttribute("data-type")));
  assert.ok(failedTypes.length > 0 && failedTypes.every((t) => /Failed|TimedOut|Aborted/.test(t)), failedTypes.join());
  await page.click('.event-row[data-type="ExecutionFailed"]');
  await page.waitForSelector('pre[aria-label="event JSON"]');
  assert.match(await page.textContent('pre[aria-label="event JSON"]'), /Order\.Invalid/);
  await shot("execution-failed");

  // Redrive from the console: the server records it (the Fail state fails again, and the redrive is counted).
  await page.uncheck('input[name="failedOnly"]');
  const redrove = page.waitForResponse((r) => r.url().includes(":redrive") && r.request().method() === "POST");
  await page.click('button[name="redrive"]');
  assert.equal((await redrove).status(), 200);
  await until("broken-1 redriven on the server", async () =>
    (await rest("GET", `/executions/${enc(failed.arn)}`)).redriveCount === 1);
  await page.waitForSelector('.event-row[data-type="ExecutionRedriven"]');

  // Execution (succeeded): input and output side by side, states green, the type filter.
  await page.goto(`${base}/#/execution/${enc(ok.arn)}`);
  await page.waitForSelector(".exec-header .badge.status-SUCCEEDED");
  assert.match(await page.textContent('pre[aria-label="input"]'), /console/);
  assert.match(await page.textContent('pre[aria-label="output"]'), /world/);
  await page.waitForSelector('g.node[data-state="Greet"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Done"][data-status="SUCCEEDED"]');
  await page.click('g.node[data-state="Greet"]');
  await page.waitForSelector('[aria-label="state detail"] >> text=entered 1, exited 1');
  assert.match(await page.textContent('[aria-label="state detail"]'), /world/, "the state's last output");
  // Its data flow, evaluated by the server: the input, the Pass state's Result, ResultPath, OutputPath, the output.
  await page.waitForSelector('.flow-step[data-step="output"]');
  assert.match(await page.textContent('.flow-step[data-step="input"]'), /console/);
  assert.match(await page.textContent('.flow-step[data-step="InputPath"]'), /console/);
  assert.match(await page.textContent('.flow-step[data-step="result"]'), /world/);
  assert.match(await page.textContent('.flow-step[data-step="ResultPath"]'), /world/);
  assert.match(await page.textContent('.flow-step[data-step="OutputPath"]'), /world/);
  await page.locator('[aria-label="data flow"]').screenshot({ path: join(outDir, "console-data-flow.png") });
  await page.selectOption('select[name="eventType"]', "PassStateExited");
  await page.waitForFunction(() => [...document.querySelectorAll(".event-row")].every((r) => r.getAttribute("data-type") === "PassStateExited"));
  await shot("execution-succeeded");

  // Time travel: the slider replays the history; at event 2 Greet runs and Done was not reached, at event 3
  // Greet is done; "live" gives the server's colours back.
  await page.focus('input[name="timeTravel"]');
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await page.waitForSelector(".travel-event-type >> text=PassStateEntered");
  await page.waitForSelector('g.node[data-state="Greet"][data-status="RUNNING"]');
  await page.waitForSelector('g.node[data-state="Done"][data-status="NOT_STARTED"]');
  assert.equal(await page.textContent(".travel-current"), "Greet");
  assert.match(await page.textContent('[aria-label="state detail"] pre.json'), /"who": "console"/, "the input as it was, parsed");
  await shot("execution-time-travel");
  await page.keyboard.press("ArrowRight");
  await page.waitForSelector('g.node[data-state="Greet"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Done"][data-status="NOT_STARTED"]');
  await page.click('button[name="live"]');
  await page.waitForSelector('g.node[data-state="Done"][data-status="SUCCEEDED"]');

  // Variables in time travel (folded from each StateExited's assignedVariables), and a state's data flow with an
  // InputPath filter expression, evaluated by the server as of the slider's event.
  await page.goto(`${base}/#/execution/${enc(varsRun.arn)}`);
  await page.waitForSelector('g.node[data-state="Tag"][data-status="SUCCEEDED"]');
  await page.waitForSelector('[aria-label="variables"] >> text=Variables now');
  const variablesShown = async () => JSON.parse(await page.textContent('pre[aria-label="variables JSON"]'));
  assert.deepEqual(await variablesShown(), { count: 2, tag: "second" });
  await page.focus('input[name="timeTravel"]');
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight"); // event 2: Pick entered, nothing assigned yet
  await page.waitForSelector('[aria-label="variables"] >> text=none assigned');
  await page.keyboard.press("ArrowRight"); // event 3: Pick exited, its Assign applied
  await page.waitForSelector('[aria-label="variables"] >> text=Variables as of event 3');
  assert.deepEqual(await variablesShown(), { count: 2 });
  await page.click('g.node[data-state="Pick"]');
  await page.waitForSelector('.flow-step[data-step="OutputPath"]');
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="InputPath"] pre')),
    [{ sku: "b", qty: 2 }, { sku: "c", qty: 3 }], "the filter expression, evaluated by the server");
  assert.equal(await page.textContent('.flow-step[data-step="InputPath"] .flow-field'), "$.lines[?(@.qty > 1)]");
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="Parameters"] pre')), { n: 2 });
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="ResultPath"] pre')).picked, { n: 2 });
  await shot("execution-variables");
  await page.click('button[name="live"]');
  await page.waitForSelector('[aria-label="variables"] >> text=Variables now');

  // Map and Parallel: drawn as groups with their inner states, coloured.
  await page.goto(`${base}/#/execution/${enc(map.arn)}`);
  await page.waitForSelector('g.node.cluster[data-state="Each"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Double"][data-status="SUCCEEDED"]');
  await shot("execution-map");
  await page.goto(`${base}/#/execution/${enc(parallel.arn)}`);
  await page.waitForSelector('g.node.cluster[data-state="Both"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Left"][data-status="SUCCEEDED"]');
  await page.waitForSelector('g.node[data-state="Right"][data-status="SUCCEEDED"]');
  await shot("execution-parallel");

  // Execution (running): the Wait state is RUNNING; Stop in the console aborts it on the server, and the page
  // follows (the SSE stream ends, the header turns ABORTED).
  await page.goto(`${base}/#/execution/${enc(running.arn)}`);
  await page.waitForSelector('g.node[data-state="Nap"][data-status="RUNNING"]');
  await shot("execution-running");
  page.once("dialog", (d) => d.accept());
  const stopped = page.waitForResponse((r) => r.url().includes(":stop") && r.request().method() === "POST");
  await page.click('button[name="stop"]');
  assert.equal((await stopped).status(), 200);
  await until("sleepy-1 ABORTED on the server", async () => (await statusOf(running.arn)) === "ABORTED");
  await page.waitForSelector(".exec-header .badge.status-ABORTED");
  await page.waitForSelector('.event-row[data-type="ExecutionAborted"]');

  // History export: the download is the execution's whole history as JSON.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('button[name="export"]')]);
  assert.equal(download.suggestedFilename(), "sleepy-1-history.json");
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(exported.executionArn, running.arn);
  assert.equal(exported.events[0].type, "ExecutionStarted");
  assert.equal(exported.events.at(-1).type, "ExecutionAborted");

  // Bulk actions on a selection: the exact number is confirmed, then every selected execution changes on the
  // server (stopped, then redriven).
  await page.goto(`${base}/#/executions?namePrefix=bulk-`);
  for (const e of bulkRuns) await page.waitForSelector(`tr[data-arn="${e.arn}"][data-status="RUNNING"]`);
  await page.check('input[name="selectAll"]');
  const confirmations = [];
  page.on("dialog", (d) => {
    confirmations.push(d.message());
    d.accept();
  });
  await page.click('button[name="bulkStop"]');
  for (const e of bulkRuns) await until(`${e.arn} ABORTED`, async () => (await statusOf(e.arn)) === "ABORTED");
  await page.waitForSelector('.bulk-result >> text=stopped: 2');
  for (const e of bulkRuns) await page.waitForSelector(`tr[data-arn="${e.arn}"][data-status="ABORTED"]`);
  await page.check('input[name="selectAll"]');
  await shot("executions-bulk");
  await page.click('button[name="bulkRedrive"]');
  for (const e of bulkRuns) {
    await until(`${e.arn} redriven`, async () => (await rest("GET", `/executions/${enc(e.arn)}`)).redriveCount === 1);
  }
  await page.waitForSelector('.bulk-result >> text=redriven: 2');
  assert.deepEqual(confirmations, ["Stop 2 executions?", "Redrive 2 executions?"]);
  page.removeAllListeners("dialog");

  // Bulk actions over a filter, not a selection: every RUNNING "sleepy" execution named "many-" is stopped on
  // the server (page by page), after the exact count is confirmed; the others keep running. Then every ABORTED
  // one of them is redriven.
  const many = [];
  for (let i = 1; i <= 5; i++) many.push(await start("sleepy", `many-${i}`));
  const bystander = bulkRuns[0]; // "bulk-1", RUNNING again after its redrive: outside the name filter
  await page.goto(`${base}/#/executions?stateMachine=sleepy&namePrefix=many-&pageSize=2`);
  await page.waitForSelector("table.list tbody tr"); // one page of 2 shows; the action takes all 5
  const matchingConfirmations = [];
  page.on("dialog", (d) => {
    matchingConfirmations.push(d.message());
    d.accept();
  });
  await page.click('button[name="stopMatching"]');
  await page.waitForSelector(".bulk-result >> text=stopped: 5 of 5");
  for (const e of many) assert.equal(await statusOf(e.arn), "ABORTED");
  assert.equal(await statusOf(bystander.arn), "RUNNING", "an execution outside the filter keeps running");
  await shot("executions-stop-matching");
  await page.goto(`${base}/#/executions?stateMachine=sleepy&namePrefix=many-&status=ABORTED`);
  await page.waitForSelector('table.list tbody tr[data-status="ABORTED"]');
  await page.click('button[name="redriveMatching"]');
  await page.waitForSelector(".bulk-result >> text=redriven: 5 of 5");
  for (const e of many) assert.equal((await rest("GET", `/executions/${enc(e.arn)}`)).redriveCount, 1);
  assert.deepEqual(matchingConfirmations, [
    "Stop all 5 RUNNING executions of sleepy matching the filter?",
    "Redrive all 5 ABORTED executions of sleepy matching the filter?",
  ]);
  page.removeAllListeners("dialog");

  // Dead letters: listed; the entry shows its attempts; redrive with a patched input resumes the execution.
  await page.goto(`${base}/#/dead-letters`);
  await page.waitForSelector(`tr[data-id="${dead.id}"]`);
  await shot("dead-letters");
  // The creation-time filter goes to the server (createdAfter / createdBefore) and stays in the URL.
  const dlRanged = page.waitForResponse((r) => r.url().includes("/api/v1/dead-letters?") && r.url().includes("createdAfter="));
  await page.fill('input[name="from"]', "2999-01-01T00:00");
  assert.equal((await dlRanged).status(), 200);
  await page.waitForSelector("text=No dead letters.");
  assert.match(page.url(), /from=2999-01-01T00%3A00|from=2999-01-01T00:00/);
  const dlBefore = page.waitForResponse((r) => r.url().includes("createdBefore="));
  await page.goto(`${base}/#/dead-letters?to=2999-01-01T00:00`);
  assert.equal((await dlBefore).status(), 200);
  await page.waitForSelector(`tr[data-id="${dead.id}"]`);
  // Bulk discard of a selection, by keyboard: the exact count is confirmed, both entries leave the server, the
  // third (charge-1's) stays.
  const dlConfirmations = [];
  page.on("dialog", (d) => {
    dlConfirmations.push(d.message());
    d.accept();
  });
  for (const d of spareDead) {
    await page.focus(`input[aria-label="select ${d.id}"]`);
    await page.keyboard.press("Space");
  }
  await page.focus('button[name="bulkDiscard"]');
  const discarded = page.waitForResponse((r) => r.url().includes("/dead-letters:discard"));
  await page.keyboard.press("Enter");
  assert.equal((await discarded).status(), 200);
  await page.waitForSelector(".bulk-result:has-text('discarded: 2')");
  assert.deepEqual(dlConfirmations, ["Discard 2 dead letters?"]);
  page.removeAllListeners("dialog");
  for (const e of spares) assert.equal(await deadOf(e.arn), undefined, `${e.arn}'s dead letter discarded on the server`);
  assert.ok(await deadOf(charge.arn), "the unselected dead letter is kept");
  await until("the discarded rows gone", async () => (await page.$(`tr[data-id="${spareDead[0].id}"]`)) === null);
  await shot("dead-letters-bulk");
  await page.click(`tr[data-id="${dead.id}"] a`);
  await page.waitForSelector('pre[aria-label="attempts"]');
  assert.match(await page.textContent('pre[aria-label="attempts"]'), /Card\.Declined/);
  await page.fill('textarea[name="input"]', "{not json");
  await page.click('button[name="redrive"]');
  await page.waitForSelector("text=The input is not JSON");
  await page.fill('textarea[name="input"]', '{"amount": 1}');
  await shot("dead-letter");
  const redriven = page.waitForResponse((r) => r.url().includes("/dead-letters:redrive"));
  await page.click('button[name="redrive"]');
  assert.equal((await redriven).status(), 200);
  await page.waitForSelector(".ok-banner");
  await until("charge-1 RUNNING again", async () => (await statusOf(charge.arn)) === "RUNNING");

  // Live updates: the execution page of the redriven execution follows its history over SSE; a worker that
  // completes the task makes the new events, the status and the colours appear without a reload.
  const follow = page.waitForResponse((r) => r.url().includes("history:follow"));
  await page.goto(`${base}/#/execution/${enc(charge.arn)}`);
  await page.waitForSelector(".exec-header .badge.status-RUNNING");
  assert.equal((await follow).status(), 200);
  const completer = spawn(binary, ["--server", server.grpc, "worker", "--queue", "cards", "--", "cat"], { stdio: "ignore" });
  children.push(completer);
  await page.waitForSelector('.event-row[data-type="ExecutionSucceeded"]');
  await page.waitForSelector(".exec-header .badge.status-SUCCEEDED");
  await page.waitForSelector('g.node[data-state="Charge"][data-status="SUCCEEDED"]');
  completer.kill("SIGTERM");
  // The patched input was the task's input; ResultPath puts the task's result beside the state's own input.
  assert.deepEqual(JSON.parse(await page.textContent('pre[aria-label="output"]')), { amount: 5, payment: { paid: 1 } },
    "the patched input went through");
  // The Task's data flow: the result, then ResultSelector and ResultPath as separate steps.
  await page.click('g.node[data-state="Charge"]');
  await page.waitForSelector('.flow-step[data-step="ResultSelector"]');
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="result"] pre')), { amount: 1 });
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="ResultSelector"] pre')), { paid: 1 });
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="Parameters"] pre')), { amount: 1 }, "the patched input");
  assert.deepEqual(JSON.parse(await page.textContent('.flow-step[data-step="ResultPath"] pre')), { amount: 5, payment: { paid: 1 } });
  await page.locator('[aria-label="data flow"]').screenshot({ path: join(outDir, "console-data-flow-task.png") });

  // State machines: the list and one definition as a graph and as JSON.
  await page.goto(`${base}/#/state-machines`);
  await page.waitForSelector('tr[data-name="fanout"]');
  await shot("state-machines");
  await page.click('tr[data-name="fanout"] a');
  await page.waitForSelector('g.node.cluster[data-state="Each"]');
  assert.match(await page.textContent('pre[aria-label="definition"]'), /ItemProcessor/);
  await shot("state-machine");

  // Create from the page: the server's diagnostics are shown at their line; once fixed, the state machine is
  // created on the server. Then update it: a new version.
  await page.goto(`${base}/#/state-machines`);
  await page.click('button[name="new"]');
  await page.fill('input[name="name"]', "made-in-console");
  await page.fill('textarea[name="definition"]', JSON.stringify({ StartAt: "A", States: { A: { Type: "Pass", Next: "Nowhere" } } }, null, 2));
  await page.click('button[name="save"]');
  await page.waitForSelector('.diagnostic[data-location="/States/A/Next"]');
  assert.match(await page.textContent(".def-line.diag"), /"Next": "Nowhere"/, "the diagnostic marks its line");
  await shot("state-machine-diagnostics");
  assert.equal((await fetch(`${base}/api/v1/state-machines/made-in-console`)).status, 404, "an invalid definition is not saved");
  await page.fill('textarea[name="definition"]', JSON.stringify({ StartAt: "A", States: { A: { Type: "Pass", End: true } } }));
  await page.click('button[name="save"]');
  await page.waitForSelector('g.node[data-state="A"]');
  assert.equal((await rest("GET", "/state-machines/made-in-console")).name, "made-in-console");
  await page.click('button[name="edit"]');
  await page.fill('textarea[name="definition"]', JSON.stringify({ StartAt: "B", States: { B: { Type: "Pass", End: true } } }));
  await page.click('button[name="save"]');
  await page.waitForSelector('g.node[data-state="B"]');
  const updated = await rest("GET", "/state-machines/made-in-console");
  assert.equal(updated.definition.StartAt, "B");

  // Versions and aliases: Publish version from the page (confirmed, the new version announced and listed), then a
  // newer revision published over REST and an alias routing between the two; the page lists the versions newest
  // first (description, revision) and the alias's routing; a version's own definition is a link (in the URL).
  const smPage = `${base}/#/state-machines/${enc(updated.arn)}`;
  await page.goto(smPage);
  await page.waitForSelector("text=No published versions.");
  await page.waitForSelector("text=No aliases.");
  await page.fill('input[name="versionDescription"]', "made in the console");
  const publishConfirmations = [];
  page.once("dialog", (d) => {
    publishConfirmations.push(d.message());
    d.accept();
  });
  await page.click('button[name="publish"]');
  await page.waitForSelector(".ok-banner >> text=Published version 1 (revision 2).");
  await page.waitForSelector('tr[data-version="1"]');
  assert.deepEqual(publishConfirmations, ["Publish revision 2 of made-in-console as a new version?"]);
  const published = (await rest("GET", `/state-machines/${enc(updated.arn)}/versions`)).versions;
  assert.deepEqual(published.map((v) => [v.version, v.revision, v.description]), [["1", "2", "made in the console"]]);
  await rest("PUT", `/state-machines/${enc(updated.arn)}`, { definition: { StartAt: "C", States: { C: { Type: "Pass", End: true } } } });
  const v2 = await rest("POST", `/state-machines/${enc(updated.arn)}/versions`, { description: "over REST" });
  await rest("POST", "/aliases", { name: "live", routing: [{ versionArn: v2.arn, weight: 90 }, { versionArn: published[0].arn, weight: 10 }] });
  await page.reload();
  await page.waitForSelector('tr[data-name="live"]');
  await page.waitForSelector('g.node[data-state="C"]');
  const versionRows = await page.$$eval('table[aria-label="versions"] tbody tr', (rows) =>
    rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent)));
  assert.deepEqual(versionRows.map(([n, description, , revision]) => [n, description, revision]),
    [["2", "over REST", "3"], ["1", "made in the console", "2"]], "newest first");
  assert.ok(versionRows.every(([, , created]) => /^\d{4}-\d\d-\d\d \d\d:\d\d/.test(created)), "creation dates shown");
  assert.equal(await page.textContent('tr[data-name="live"] .routing'), "version 2: 90%, version 1: 10%");
  await page.focus('tr[data-version="1"] a');
  await page.keyboard.press("Enter");
  await page.waitForSelector('g.node[data-state="B"]');
  await page.waitForSelector(".shown-version >> text=revision 2");
  assert.match(page.url(), /version=1/, "the version shown is in the URL");
  assert.equal(await page.$('g.node[data-state="C"]'), null);
  await shot("state-machine-versions");
  // Publish guards the revision the page shows: changed meanwhile over REST, the server refuses, the page says so.
  await rest("PUT", `/state-machines/${enc(updated.arn)}`, { definition: { StartAt: "D", States: { D: { Type: "Pass", End: true } } } });
  page.once("dialog", (d) => d.accept());
  await page.click('button[name="publish"]');
  await page.waitForSelector(".error-banner >> text=ConflictException");
  assert.equal((await rest("GET", `/state-machines/${enc(updated.arn)}/versions`)).versions.length, 2, "nothing published unseen");

  // Time range: executions started after a future instant: none, asked of the server.
  const ranged = page.waitForResponse((r) => r.url().includes("/api/v1/executions?") && r.url().includes("startedAfter="));
  await page.goto(`${base}/#/executions?after=2999-01-01T00:00`);
  await ranged;
  await page.waitForSelector("text=No executions match.");

  // Paging: the list walks the server's cursor, page by page, and the cursor is in the URL.
  await page.goto(`${base}/#/executions?pageSize=2`);
  const seen = new Set();
  const pages = 8; // the 16 seeded executions (9, the 2 of the bulk actions, the 5 of the filter's), two a page
  for (let pageNo = 0; pageNo < pages; pageNo++) {
    await page.waitForFunction((known) => {
      const rows = [...document.querySelectorAll("table.list tbody tr")];
      return rows.length === 2 && rows.every((r) => !known.includes(r.getAttribute("data-arn")));
    }, [...seen]);
    for (const arn of await page.$$eval("table.list tbody tr", (rows) => rows.map((r) => r.getAttribute("data-arn")))) seen.add(arn);
    if (pageNo < pages - 1) await page.click("text=Next page");
  }
  assert.equal(seen.size, 2 * pages, "eight pages of two: every execution once");
  assert.match(page.url(), /page=/);
  assert.equal(await page.$("text=Next page"), null, "no next page after the last");

  // Keyboard: the event table moves with the arrow keys.
  await page.goto(`${base}/#/execution/${enc(ok.arn)}`);
  await page.waitForSelector(".event-row");
  await page.focus(".event-scroll");
  await page.keyboard.press("ArrowDown");
  await page.waitForSelector(".event-row.selected");

  // A server with tokens: the page loads, the console asks for a token once on the first 401 (the list and the
  // counts are refused together), sends it as a bearer token, and shows the data.
  const token = randomBytes(16).toString("hex");
  const tokenFile = join(dataDir, "tokens.json");
  writeFileSync(tokenFile, JSON.stringify({ tokens: [{ name: "console-test", role: "admin",
    sha256: createHash("sha256").update(token).digest("hex") }] }));
  // (Started without --console-dir when the console was built beside the binary, as make does.)
  const besideBinary = resolve(consoleDir) === resolve(dirname(binary), "console");
  const secured = await startServer("secured", ["--token-file", tokenFile], { defaultConsole: besideBinary });
  const securedBase = `http://${secured.http}`;
  await rest("POST", "/state-machines", { name: "hello", definition: machines.hello }, { root: securedBase, token });
  const securedExec = await rest("POST", "/executions", { stateMachine: "hello", name: "secured-1" }, { root: securedBase, token });
  const page2 = await browser.newPage();
  page2.setDefaultTimeout(TIMEOUT_MS);
  page2.on("pageerror", (e) => pageErrors.push(e));
  let prompts = 0;
  page2.on("dialog", (d) => {
    prompts += d.type() === "prompt" ? 1 : 0;
    d.type() === "prompt" ? d.accept(token) : d.dismiss();
  });
  const withToken = page2.waitForRequest((r) => r.url().includes("/api/v1/executions?") && r.headers().authorization === `Bearer ${token}`);
  await page2.goto(`${securedBase}/#/executions`);
  await withToken;
  await page2.waitForSelector(`tr[data-arn="${securedExec.arn}"]`);
  assert.equal(prompts, 1, "one prompt for the requests refused together");
  await page2.screenshot({ path: join(outDir, "console-token.png") });
  await page2.close();
  secured.child.kill("SIGTERM");

  assert.deepEqual(pageErrors.map(String), [], "no uncaught errors in the page");
  console.log(`console e2e: all checks passed; screenshots in ${outDir}`);
} catch (e) {
  await shot("failure").catch(() => undefined);
  throw e;
} finally {
  await browser.close();
  server.child.kill("SIGTERM");
}
