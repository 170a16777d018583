// The real `stepflow server` for the SDK tests: started on 127.0.0.1 (port 0, or a fixed free port for the
// restart test) with a temp data directory, stopped with SIGTERM. Its log goes to a file printed on failure.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const LISTENING = 'stepflow server listening on ';

export function binary(): string {
  const path = process.env.STEPFLOW_BINARY;
  if (!path) {
    throw new Error('set STEPFLOW_BINARY to the stepflow binary');
  }
  return path;
}

export function tempDir(): string {
  return mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'stepflow-ts-'));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export class Server {
  address = '';
  private process: ChildProcess | undefined;
  readonly logPath: string;

  constructor(readonly directory: string, readonly extra: string[] = [], readonly port = 0) {
    mkdirSync(directory, { recursive: true });
    this.logPath = join(directory, 'server.log');
  }

  static async start(extra: string[] = [], directory = tempDir(), port = 0): Promise<Server> {
    const s = new Server(directory, extra, port);
    await s.start();
    return s;
  }

  async start(timeoutMs = 30000): Promise<void> {
    const log = openSync(this.logPath, 'a');
    const child = spawn(binary(), ['server', '--data-dir', join(this.directory, 'data'), '--grpc-address',
      `127.0.0.1:${this.port}`, '--http-address', '127.0.0.1:0', ...this.extra], { stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    this.process = child;
    this.address = await new Promise<string>((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`the server did not listen:\n${this.log()}`)), timeoutMs);
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const newline = buffer.indexOf('\n');
        if (newline >= 0) {
          clearTimeout(timer);
          const line = buffer.slice(0, newline);
          line.startsWith(LISTENING) ? resolve(line.slice(LISTENING.length)) : reject(new Error(`unexpected: ${line}`));
        }
      });
      child.once('exit', () => reject(new Error(`the server exited before listening:\n${this.log()}`)));
    });
    child.stdout!.resume();
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const child = this.process;
    if (child === undefined) {
      return null;
    }
    this.process = undefined;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    return exited;
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8').slice(-20000);
    } catch {
      return '';
    }
  }
}

export function taskMachine(queue: string, state: Record<string, unknown> = {}): unknown {
  return { StartAt: 'Work', States: { Work: { Type: 'Task', Resource: `activity:${queue}`, End: true, ...state } } };
}
