// Orchestration: a server child pinned to one core, load generator workers pinned to the other,
// driven over IPC through the phases connect → start → warm up → mark → measure → report.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Histogram } from './hist.mjs';
import { buildCGen } from './cgen.mjs';

const LOADGEN = fileURLToPath(new URL('./loadgen.mjs', import.meta.url));

const canPin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
export const SERVER_CPU = 0;
export const GEN_CPU = 1;
export const pinning = canPin
  ? `server pinned to CPU ${SERVER_CPU}, load generator workers pinned to CPU ${GEN_CPU} (taskset), both at nice ${process.env.BENCH_NICE ?? -10}`
  : 'no pinning (fewer than 2 CPUs or no taskset)';

// Busy CPU seconds of the whole machine (all processes), to see load from outside the benchmark.
function machineBusySeconds() {
  try {
    const f = readFileSync('/proc/stat', 'latin1').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    return (f.reduce((a, b) => a + b, 0) - idle) / 100; // USER_HZ
  } catch {
    return NaN;
  }
}

// BENCH_PROF=server|gen|all writes V8 CPU profiles of those children to bench/profiles/.
const PROFILE_DIR = fileURLToPath(new URL('../profiles/', import.meta.url));
function profileFlags(role) {
  const want = process.env.BENCH_PROF;
  return want && (want === 'all' || want === role) ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
}

/** Wait (up to maxWaitMs) until the machine is nearly idle, so other jobs do not skew a run. */
export async function waitForQuiet(maxWaitMs = 30_000, maxBusyCores = 0.25) {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const b0 = machineBusySeconds();
    await sleep(300);
    const busy = (machineBusySeconds() - b0) / 0.3;
    if (!(busy > maxBusyCores) || Date.now() > deadline) return busy;
  }
}

// BENCH_NICE (default -10): run server and generator at a higher priority than other jobs on the
// machine, so that test runs elsewhere disturb the measurement less (ignored when not permitted).
function priority() {
  const n = Number(process.env.BENCH_NICE ?? -10);
  return n ? `nice -n ${n} ` : '';
}

const quote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;

/** A child node process on a given CPU, with the fd limit raised to the hard limit. */
class Child {
  constructor(script, args, { cpu, role, nodeFlags = [] }) {
    const cmd = [process.execPath, ...nodeFlags, ...profileFlags(role), script, ...args].map(quote).join(' ');
    this.exitCommand = role === 'server' ? 'exit' : 'close';
    const pin = (canPin && cpu != null ? `taskset -c ${cpu} ` : '') + priority();
    this.proc = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin}${cmd}`], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.pending = new Map();
    this.nextId = 1;
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.events = [];
    this.waiters = [];
    this.proc.on('message', (msg) => {
      if (msg.id != null) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error));
        else p?.resolve(msg);
      } else {
        this.events.push(msg);
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.proc.once('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`${script} exited with ${code}`));
      this.pending.clear();
      for (const w of this.waiters.splice(0)) w();
    });
  }

  rpc(msg, timeoutMs = 120_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`timeout on ${msg.cmd}`)); }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => { clearTimeout(timer); resolve(v); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      });
      this.proc.send({ ...msg, id });
    });
  }

  async event(name, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.find((e) => e.ev === name);
      if (found) return found;
      if (this.proc.exitCode !== null || Date.now() > deadline) throw new Error(`no '${name}' from child`);
      await new Promise((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 200); });
    }
  }

  /** Ask the child to exit (so --cpu-prof can write its profile), kill it if it does not. */
  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    if (this.proc.connected) this.proc.send({ cmd: this.exitCommand }, () => {});
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * The C generator (bench/loadgen/loadgen.c) as one process on the generator's CPU: it opens its
 * connections on its own (`proto` 'ws' or 'sio': Socket.IO over the websocket transport), says
 * {"ev":"connected"}, then answers the same start / mark / report / stop commands as the Node
 * workers, one JSON line each, over stdin/stdout.
 */
export class CGen {
  constructor({ port, mode, conns, size, window, proto = 'ws' }) {
    const args = [buildCGen(), '--port', port, '--mode', mode, '--conns', conns, '--size', size, '--window', window, '--proto', proto];
    const pin = (canPin ? `taskset -c ${GEN_CPU} ` : '') + priority();
    this.proc = spawn('bash', ['-c', `ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec ${pin}${args.map(quote).join(' ')}`], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.lines = [];
    this.waiters = [];
    let rest = '';
    this.proc.stdout.setEncoding('utf8').on('data', (chunk) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop();
      for (const line of parts) this.waiters.length ? this.waiters.shift().resolve(JSON.parse(line)) : this.lines.push(JSON.parse(line));
    });
    this.proc.once('exit', (code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`C load generator exited with ${code}`));
    });
  }

  next(timeoutMs = 120_000) {
    if (this.lines.length) return Promise.resolve(this.lines.shift());
    if (this.proc.exitCode !== null) return Promise.reject(new Error(`C load generator exited with ${this.proc.exitCode}`));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timeout waiting for the C load generator')), timeoutMs);
      this.waiters.push({ resolve: (v) => { clearTimeout(timer); resolve(v); }, reject: (e) => { clearTimeout(timer); reject(e); } });
    });
  }

  async rpc(msg) {
    this.proc.stdin.write(msg.cmd + '\n');
    const reply = await this.next();
    if (reply.error) throw new Error(reply.error);
    return reply;
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin.end('close\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }
}

export async function startServer(script, args) {
  const server = new Child(script, args, { cpu: SERVER_CPU, role: 'server', nodeFlags: ['--expose-gc', ...(process.env.BENCH_FROM_SRC ? ['--import', import.meta.resolve('tsx')] : [])] });
  try {
    server.port = (await server.event('listening')).port;
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

function split(total, parts) {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}

async function waitForClients(server, n, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { clients } = await server.rpc({ cmd: 'stats' });
    if (clients >= n) return;
    if (Date.now() > deadline) throw new Error(`server has ${clients} of ${n} clients`);
    await sleep(50);
  }
}

// The publisher (broadcast runs) gets a worker of its own, so it republishes the moment its own
// copy arrives instead of after its worker has read thousands of other sockets.
async function openClients(server, gens, conns, publisher) {
  const subscribers = publisher ? gens.slice(0, -1) : gens;
  const shares = split(publisher ? conns - 1 : conns, subscribers.length);
  const results = await Promise.all(subscribers.map((g, i) => g.rpc({ cmd: 'connect', n: shares[i] })));
  let failed = results.reduce((sum, r) => sum + r.failed, 0);
  if (publisher) failed += (await gens.at(-1).rpc({ cmd: 'connect', n: 1, publisher: true })).failed;
  if (failed) throw new Error(`${failed} of ${conns} connections failed`);
  await waitForClients(server, conns);
}

function spawnGens(workers, cfg) {
  const gens = Array.from({ length: workers }, () => new Child(LOADGEN, [], { cpu: GEN_CPU, role: 'gen' }));
  return { gens, configured: Promise.all(gens.map((g) => g.rpc({ cmd: 'config', cfg }))) };
}

async function shutdown(server, gens) {
  await Promise.allSettled(gens.map((c) => c.stop()));
  await server.stop();
}

/**
 * Throughput run. Returns delivered messages (echo round trips or broadcast deliveries) per
 * second, latency quantiles (broadcast), and CPU use of the server and of the generator.
 */
export async function runLoad({ script, impl, mode, proto, conns, size, window = 1, workers, warmupMs, durationMs, quietWaitMs = 30_000, gen = 'node' }) {
  await waitForQuiet(quietWaitMs);
  const server = await startServer(script, ['--impl', impl, '--mode', mode]);
  const broadcast = mode === 'broadcast';
  let gens = [];
  try {
    if (gen === 'c') {
      // One C process drives every connection; in echo each keeps `window` messages in flight.
      gens = [new CGen({ port: server.port, mode, conns, size, window, proto })];
      const { failed } = await gens[0].next(60_000);
      if (failed) throw new Error(`${failed} of ${conns} connections failed`);
      await waitForClients(server, conns);
    } else {
      const spawned = spawnGens(workers + (broadcast ? 1 : 0), { proto, mode, port: server.port, size, window });
      gens = spawned.gens;
      await spawned.configured;
      await openClients(server, gens, conns, broadcast);
    }
    await Promise.all(gens.map((g) => g.rpc({ cmd: 'start' })));
    await sleep(warmupMs);
    const [srvStart] = await Promise.all([server.rpc({ cmd: 'stats' }), ...gens.map((g) => g.rpc({ cmd: 'mark' }))]);
    const t0 = process.hrtime.bigint();
    const busy0 = machineBusySeconds();
    await sleep(durationMs);
    const busy1 = machineBusySeconds();
    const [srvEnd, ...reports] = await Promise.all([server.rpc({ cmd: 'stats' }), ...gens.map((g) => g.rpc({ cmd: 'report' }))]);
    const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
    await Promise.all(gens.map((g) => g.rpc({ cmd: 'stop' })));

    const hist = new Histogram();
    for (const r of reports) hist.merge(r.hist);
    const delivered = reports.reduce((s, r) => s + r.delivered, 0);
    const genWallUs = reports.reduce((s, r) => Math.max(s, r.wallUs), 0);
    const srvCpuUs = srvEnd.cpu.user + srvEnd.cpu.system - srvStart.cpu.user - srvStart.cpu.system;
    const failures = reports.reduce((s, r) => s + r.failures, 0);
    if (failures) throw new Error(`${failures} connections failed during the run`);
    const serverCpu = srvCpuUs / wallUs;
    const genCpu = reports.reduce((s, r) => s + r.cpuUs, 0) / genWallUs;
    return {
      rate: delivered / (genWallUs / 1e6),
      delivered,
      p50Ms: hist.quantile(0.5) / 1e3,
      p99Ms: hist.quantile(0.99) / 1e3,
      serverCpu,
      serverSys: (srvEnd.cpu.system - srvStart.cpu.system) / wallUs,
      genCpu,
      genSys: reports.reduce((s, r) => s + r.sysUs, 0) / genWallUs,
      // CPU used by anything else on the machine meanwhile (other jobs, kernel threads), in cores
      otherCpu: Math.max(0, (busy1 - busy0) / (wallUs / 1e6) - serverCpu - genCpu),
    };
  } finally {
    await shutdown(server, gens);
  }
}

/** Server memory per idle connection: heap and RSS deltas after full GCs, divided by conns. */
export async function runIdleMemory({ script, impl, proto, conns, workers, settleMs = 1000 }) {
  const server = await startServer(script, ['--impl', impl, '--mode', 'echo']);
  const { gens, configured } = spawnGens(workers, { proto, mode: 'idle', port: server.port, size: 32, window: 1 });
  try {
    await configured;
    const before = (await server.rpc({ cmd: 'mem' })).mem;
    await openClients(server, gens, conns, false);
    await sleep(settleMs);
    const after = await server.rpc({ cmd: 'mem' });
    if (after.clients !== conns) throw new Error(`server holds ${after.clients} of ${conns} clients`);
    const m = after.mem;
    return {
      heapPerConn: (m.heapUsed - before.heapUsed) / conns,
      rssPerConn: (m.rss - before.rss) / conns,
      externalPerConn: (m.external - before.external) / conns,
    };
  } finally {
    await shutdown(server, gens);
  }
}
