// Polling cycle: a polling-only socket.io-client (`transports: ['polling']`, forceNew) connects,
// emits one event the server acknowledges, and disconnects. Timed from `io()` until every HTTP
// request of the cycle is answered and its connection closed (the server has then seen the
// disconnect and the engine close). switchboard and socket.io 4 run with the same options
// (polling only, defaults otherwise), each server in its own process (bench/lib/server-sio.mjs),
// both up at once and the cycles alternating between them; the client runs here.
//
// Usage: node bench/polling-cycle.mjs [--quick] [--runs 3] [--cycles 300] [--concurrency 20]
//        [--duration 3000] [--src]
//        node bench/polling-cycle.mjs --instructions [--warmup 400] [--cycles 100] [--src]
// Writes bench/results/polling-cycle.json (.partial.json with --quick).
//
// --instructions: each server in turn under `valgrind --tool=callgrind`, counters zeroed after the
// warm-up, then the instructions of --cycles sequential cycles divided by their number (every
// thread of the server: JIT code, GC, libuv; not the kernel): a cost that other work on the
// machine does not disturb, unlike the times. Printed, not written to the results.
//
// Reported per implementation: sequential cycles (one at a time) p50/p90/p99, concurrent cycles
// (C clients cycling back to back) p50/p99 and cycles/s, and the wire cost of a cycle (HTTP
// requests and bytes both ways, headers included), with ratios ours / socket.io.
import http from 'node:http';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GEN_CPU, pinning, startServer, waitForQuiet } from './lib/harness.mjs';
import { Histogram } from './lib/hist.mjs';

const SERVER = fileURLToPath(new URL('./lib/server-sio.mjs', import.meta.url));
const PAYLOAD = 'x'.repeat(32);

/** An http.Agent (no keep-alive, as the client's default) that counts a cycle's requests and bytes. */
class CountingAgent extends http.Agent {
  constructor() {
    super();
    this.requests = 0;
    this.bytes = 0;
    this.open = 0;
    this.waiter = null;
  }

  addRequest(req, options) {
    this.requests++;
    this.open++;
    req.once('socket', (socket) => {
      socket.once('close', () => {
        this.bytes += socket.bytesRead + socket.bytesWritten;
        this.done();
      });
    });
    super.addRequest(req, options);
  }

  done() {
    if (--this.open === 0 && this.waiter) this.waiter();
  }

  /** Resolves once every request made so far is over and its connection closed. */
  idle() {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => { this.waiter = resolve; });
  }
}

async function cycle(ioc, url) {
  const agent = new CountingAgent();
  const t0 = performance.now();
  const socket = ioc(url, { transports: ['polling'], forceNew: true, reconnection: false, agent });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  const echoed = await socket.timeout(10_000).emitWithAck('echo', PAYLOAD);
  if (echoed !== PAYLOAD) throw new Error('wrong ack');
  socket.disconnect();
  await agent.idle();
  return { us: (performance.now() - t0) * 1e3, requests: agent.requests, bytes: agent.bytes };
}

/**
 * One run: both servers up side by side (each in its own process, on the server CPU), the cycles
 * alternating between them one by one (the concurrent part in alternating slices), so that other
 * work on the machine falls on both alike.
 */
async function measure(impls, { cycles, concurrency, durationMs, warmup, slices }) {
  const { io: ioc } = await import('socket.io-client');
  await waitForQuiet(5000);
  const servers = [];
  try {
    for (const impl of impls) servers.push(await startServer(SERVER, ['--impl', impl, '--transports', 'polling']));
    const urls = servers.map((s) => `http://127.0.0.1:${s.port}`);
    const res = impls.map(() => ({ seq: new Histogram(), conc: new Histogram(), requests: 0, bytes: 0, cpuUs: 0, concCycles: 0, concSeconds: 0 }));
    for (let i = 0; i < warmup; i++) for (const url of urls) await cycle(ioc, url);
    const cpu = async (i) => { const { cpu: c } = await servers[i].rpc({ cmd: 'stats' }); return c.user + c.system; };
    const cpu0 = await Promise.all(servers.map((_, i) => cpu(i)));
    for (let n = 0; n < cycles; n++) {
      // Alternate which goes first, so neither always follows the other's cycle.
      for (let k = 0; k < impls.length; k++) {
        const i = (n + k) % impls.length;
        const c = await cycle(ioc, urls[i]);
        res[i].seq.add(c.us);
        res[i].requests += c.requests;
        res[i].bytes += c.bytes;
      }
    }
    const cpu1 = await Promise.all(servers.map((_, i) => cpu(i)));
    for (let s = 0; s < slices * impls.length; s++) {
      const i = s % impls.length;
      const t0 = performance.now();
      const until = t0 + durationMs / slices;
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (performance.now() < until) {
          res[i].conc.add((await cycle(ioc, urls[i])).us);
          res[i].concCycles++;
        }
      }));
      res[i].concSeconds += (performance.now() - t0) / 1e3;
    }
    return res.map((r, i) => ({
      seq: r.seq.toJSON(),
      conc: r.conc.toJSON(),
      concCycles: r.concCycles,
      concSeconds: r.concSeconds,
      requestsPerCycle: r.requests / cycles,
      bytesPerCycle: r.bytes / cycles,
      serverCpuUsPerCycle: (cpu1[i] - cpu0[i]) / cycles,
    }));
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const q = (h, x) => h.quantile(x) / 1e3;
const fmt = (ms) => (ms < 10 ? ms.toFixed(2) : ms.toFixed(1));

function summarize(runs) {
  const seq = new Histogram();
  const conc = new Histogram();
  for (const r of runs) {
    seq.merge(r.seq);
    conc.merge(r.conc);
  }
  const avg = (k) => runs.reduce((s, r) => s + r[k], 0) / runs.length;
  return {
    seq: { p50Ms: q(seq, 0.5), p90Ms: q(seq, 0.9), p99Ms: q(seq, 0.99), count: seq.total },
    conc: { p50Ms: q(conc, 0.5), p90Ms: q(conc, 0.9), p99Ms: q(conc, 0.99), rate: runs.reduce((s, r) => s + r.concCycles, 0) / runs.reduce((s, r) => s + r.concSeconds, 0) },
    runP50Ms: runs.map((r) => { const h = new Histogram(); h.merge(r.seq); return q(h, 0.5); }),
    requestsPerCycle: avg('requestsPerCycle'),
    bytesPerCycle: avg('bytesPerCycle'),
    serverCpuUsPerCycle: avg('serverCpuUsPerCycle'),
  };
}

/** Runs both servers interleaved; writes bench/results/polling-cycle[.partial].json. */
export async function pollingCycleSuite({ quick = false, runs = quick ? 1 : 3, cycles = quick ? 100 : 300, concurrency = 20, durationMs = quick ? 1000 : 3000, partial = quick } = {}) {
  // The client (this process) on the generator's CPU, the server child on the other.
  spawnSync('taskset', ['-cp', String(GEN_CPU), String(process.pid)], { stdio: 'ignore' });
  const impls = ['socket.io', 'switchboard'];
  const opts = { runs, cycles, concurrency, durationMs, warmup: quick ? 20 : 50, slices: quick ? 2 : 6 };
  const load = [loadavg()[0]];
  console.log('\nPolling cycle: socket.io-client (polling only, forceNew) connect → one acked event → disconnect, until every HTTP request is answered');
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${pinning}; client in the orchestrator`);
  console.log(`method: ${runs} runs; in each, both servers up side by side, ${opts.warmup} warm-up + ${cycles} sequential cycles each, alternating cycle by cycle, then ${concurrency} clients cycling for ${durationMs} ms each, in ${opts.slices} alternating slices; load average ${load[0].toFixed(2)}`);
  const by = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < runs; r++) {
    const both = await measure(impls, opts);
    for (const [k, impl] of impls.entries()) {
      const res = both[k];
      by[impl].push(res);
      const h = new Histogram();
      h.merge(res.seq);
      console.log(`  run ${r + 1} ${impl.padEnd(12)} sequential p50 ${fmt(q(h, 0.5))} ms p99 ${fmt(q(h, 0.99))} ms; concurrent ${(res.concCycles / res.concSeconds).toFixed(0)} cycles/s; ${res.requestsPerCycle.toFixed(1)} requests, ${res.bytesPerCycle.toFixed(0)} B per cycle`);
    }
  }
  load.push(loadavg()[0]);
  const results = Object.fromEntries(impls.map((i) => [i, summarize(by[i])]));
  const peer = results['socket.io'];
  const ours = results.switchboard;
  const ratios = {
    seqP50: ours.seq.p50Ms / peer.seq.p50Ms,
    seqP90: ours.seq.p90Ms / peer.seq.p90Ms,
    seqP99: ours.seq.p99Ms / peer.seq.p99Ms,
    concP50: ours.conc.p50Ms / peer.conc.p50Ms,
    concP99: ours.conc.p99Ms / peer.conc.p99Ms,
    concRate: ours.conc.rate / peer.conc.rate,
  };
  console.log('\n| | socket.io | switchboard | ours / socket.io |');
  console.log('|---|---|---|---|');
  const line = (name, a, b, x) => console.log(`| ${name} | ${a} | ${b} | ${x} |`);
  for (const k of ['p50', 'p90', 'p99']) {
    line(`sequential ${k} (ms)`, fmt(peer.seq[k + 'Ms']), fmt(ours.seq[k + 'Ms']), ratios['seq' + k.toUpperCase()].toFixed(2) + 'x');
  }
  line(`${concurrency} concurrent p50 (ms)`, fmt(peer.conc.p50Ms), fmt(ours.conc.p50Ms), ratios.concP50.toFixed(2) + 'x');
  line(`${concurrency} concurrent p99 (ms)`, fmt(peer.conc.p99Ms), fmt(ours.conc.p99Ms), ratios.concP99.toFixed(2) + 'x');
  line(`${concurrency} concurrent cycles/s`, peer.conc.rate.toFixed(0), ours.conc.rate.toFixed(0), ratios.concRate.toFixed(2) + 'x');
  line('HTTP requests per cycle', peer.requestsPerCycle.toFixed(1), ours.requestsPerCycle.toFixed(1), '');
  line('bytes per cycle (both ways)', peer.bytesPerCycle.toFixed(0), ours.bytesPerCycle.toFixed(0), '');
  line('server CPU per sequential cycle (µs)', peer.serverCpuUsPerCycle.toFixed(0), ours.serverCpuUsPerCycle.toFixed(0), (ours.serverCpuUsPerCycle / peer.serverCpuUsPerCycle).toFixed(2) + 'x');
  console.log(`(times: lower is better; load average ${load.map((l) => l.toFixed(2)).join(' → ')})`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `polling-cycle${partial ? '.partial' : ''}.json`;
  writeFileSync(dir + file, JSON.stringify({ title: 'Polling cycle', date: new Date().toISOString(), node: process.version, pinning, loadavg: load, opts, results, ratios }, null, 2) + '\n');
  console.log(`results written to bench/results/${file}`);
  return { results, ratios };
}

/** Server instructions per sequential cycle under callgrind (see the header). */
async function instructionsPerCycle(impl, { warmup, cycles }) {
  const { io: ioc } = await import('socket.io-client');
  const dir = mkdtempSync(join(tmpdir(), 'sb-callgrind-'));
  const nodeArgs = process.env.BENCH_FROM_SRC ? ['--import', import.meta.resolve('tsx')] : [];
  const server = spawn('valgrind', [
    '--tool=callgrind', '--trace-children=no', '--smc-check=all-non-file', '--dump-instr=no',
    `--callgrind-out-file=${dir}/callgrind.out.%p`,
    process.execPath, ...nodeArgs, SERVER, '--impl', impl, '--transports', 'polling',
  ], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  try {
    const port = await new Promise((resolve, reject) => {
      server.on('message', (m) => { if (m.ev === 'listening') resolve(m.port); });
      server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    const url = `http://127.0.0.1:${port}`;
    // Warm-up four at a time (the JIT counts calls, not time), the measured cycles one by one.
    await Promise.all(Array.from({ length: 4 }, async () => { for (let i = 0; i < warmup / 4; i++) await cycle(ioc, url); }));
    const control = (flag) => {
      const r = spawnSync('callgrind_control', [flag, String(server.pid)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`callgrind_control ${flag}: ${r.stderr || r.stdout}`);
    };
    control('-z');
    let requests = 0;
    for (let i = 0; i < cycles; i++) requests += (await cycle(ioc, url)).requests;
    control('-d');
    const dump = readdirSync(dir).filter((f) => /\.\d+$/.test(f)).sort().at(-1);
    const total = Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))[1]);
    return { impl, cycles, requestsPerCycle: requests / cycles, instructionsPerCycle: Math.round(total / cycles), dump: join(dir, dump) };
  } finally {
    server.kill('SIGKILL');
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
  const quick = argv.includes('--quick');
  if (argv.includes('--src')) process.env.BENCH_FROM_SRC = '1';
  if (argv.includes('--instructions')) {
    for (const impl of ['socket.io', 'switchboard']) {
      console.log(JSON.stringify(await instructionsPerCycle(impl, { warmup: Number(value('warmup', 400)), cycles: Number(value('cycles', 100)) })));
    }
    process.exit(0);
  }
  await pollingCycleSuite({
    quick,
    runs: Number(value('runs', quick ? 1 : 3)),
    cycles: Number(value('cycles', quick ? 100 : 300)),
    concurrency: Number(value('concurrency', 20)),
    durationMs: Number(value('duration', quick ? 1000 : 3000)),
  });
  process.exit(0);
}
