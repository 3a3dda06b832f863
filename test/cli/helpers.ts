// Shared helpers for the CLI tests: spawn the CLI as a real process and read its output line by line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { Logger } from '../../src/cli/log.js';
import { startHub, type Hub, type HubOptions } from '../../src/cli/hub.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const entry = fileURLToPath(new URL('./cli-entry.ts', import.meta.url));
export const publicDir = fileURLToPath(new URL('../../src/cli/public/', import.meta.url));

/** A CLI process with its output collected; `next()` waits for a matching line. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  private lines: string[] = [];

  constructor(args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      cwd: root, env: { ...process.env, ...env }, stdio: 'pipe',
    });
    let partial = '';
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) this.onLine(line);
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk; });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  private onLine(line: string): void {
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => (w.test(line) ? (w.resolve(line), false) : true));
  }

  /** Resolves with the first stdout line (seen so far or to come) that passes `test`. */
  next(test: (line: string) => boolean, timeoutMs = 10_000, what = 'a matching line'): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push({ test, resolve: (line) => { clearTimeout(timer); resolve(line); } });
    });
  }

  /** Next JSON line whose fields match `fields`. */
  async nextJson(fields: Record<string, unknown>, timeoutMs?: number): Promise<Record<string, any>> {
    const line = await this.next((l) => {
      try {
        const value = JSON.parse(l) as Record<string, unknown>;
        return Object.entries(fields).every(([k, v]) => value[k] === v);
      } catch { return false; }
    }, timeoutMs, JSON.stringify(fields));
    return JSON.parse(line) as Record<string, any>;
  }

  jsonLines(): Record<string, any>[] {
    return this.lines.flatMap((l) => { try { return [JSON.parse(l) as Record<string, any>]; } catch { return []; } });
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }
}

/** `switchboard serve --port 0 --json ...` as a process; resolves once it listens. */
export async function startServeProcess(args: string[] = [], env?: NodeJS.ProcessEnv): Promise<{ cli: CliProcess; port: number; url: string; token: string }> {
  const cli = new CliProcess(['serve', '--port', '0', '--json', ...args], env);
  const ready = await Promise.race([
    cli.nextJson({ event: 'listening' }, 20_000),
    cli.exited.then(({ code }) => { throw new Error(`serve exited early (${code}): ${cli.stderr}`); }),
  ]);
  return { cli, port: ready.port as number, url: `http://127.0.0.1:${ready.port}`, token: ready.token as string };
}

/** Runs the CLI to completion, feeding `input` to stdin. */
export async function runCli(args: string[], input = '', env?: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = new CliProcess(args, env);
  cli.child.stdin.end(input);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout, stderr: cli.stderr };
}

/** An in-process hub on a free port with its log captured. */
export async function startTestHub(options: Partial<HubOptions> = {}): Promise<Hub & { log: () => string; base: string }> {
  let log = '';
  const sink = new PassThrough();
  sink.setEncoding('utf8').on('data', (c: string) => { log += c; });
  const hub = await startHub({ port: 0, publicDir, logger: new Logger('json', sink, sink), metricsIntervalMs: 100, ...options });
  return Object.assign(hub, { log: () => log, base: `http://127.0.0.1:${hub.port}` });
}

/** Resolves when `emitter` emits `event`, with the listener's arguments. */
export function once<T extends unknown[] = unknown[]>(emitter: { once(event: string, fn: (...args: any[]) => void): unknown }, event: string, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for "${event}"`)), timeoutMs);
    emitter.once(event, (...args: unknown[]) => { clearTimeout(timer); resolve(args as T); });
  });
}
