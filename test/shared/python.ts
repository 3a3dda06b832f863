// Python interop peers (Debian's python3-socketio, which brings python3-engineio): whether they can
// run here, and a runner for the clients, which report one JSON object per stdout line (a `step`).
import { execFile, spawn, spawnSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

/** `false` when the modules import; else a skip reason. Under CI (which installs them) never a skip. */
export function pythonSkip(modules: string): string | false {
  if (spawnSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' }).status === 0 || process.env.CI) return false;
  return `python modules ${modules} missing (apt-get install python3-socketio python3-websocket python3-requests python3-aiohttp); CI installs them`;
}

export interface Step {
  step: string;
  [field: string]: any;
}

/** Runs `script` with `args`; resolves with its steps by name once it exits 0 (30 s at most). */
export function runPython(script: string, args: string[]): Promise<Record<string, Step>> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [script, ...args], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python client failed: ${err.message}\n${stderr}\n${stdout}`));
      const steps: Record<string, Step> = {};
      for (const line of stdout.trim().split('\n')) {
        const step = JSON.parse(line) as Step;
        steps[step.step] = step;
      }
      resolve(steps);
    });
  });
}

/**
 * Starts a Python server script that prints `{"port": N}` once listening (fails if it exits first).
 * `reports` collects the JSON lines it prints after that.
 */
export async function startPythonServer(script: string, args: string[] = []): Promise<{ url: string; reports: Record<string, any>[]; stop(): void }> {
  const child = spawn(PYTHON, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const reports: Record<string, any>[] = [];
  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = JSON.parse(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        if (typeof line.port === 'number' && reports.length === 0) resolve(line.port);
        else reports.push(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    child.once('error', reject);
  });
  return { url: `http://127.0.0.1:${port}`, reports, stop: () => child.kill() };
}
