// Polling cycle: a polling-only socket.io-client (`transports: ['polling']`, forceNew) connects,
// emits one event the server acknowledges, and disconnects. Timed from `io()` until every HTTP
// request of the cycle is answered and its connection closed (the server has then seen the
// disconnect and the engine close). switchboard and socket.io 4 run with the same options
// (polling only, defaults otherwise), each server in its own process (bench/lib/server-sio.mjs),
// interleaved in the same run; the client runs here.
//
// Usage: node bench/polling-cycle.mjs [--quick] [--runs 3] [--cycles 300] [--concurrency 20]
//        [--duration 3000] [--src]
// Writes bench/results/polling-cycle.json (.partial.json with --quick).
//
// Reported per implementation: sequential cycles (one at a time) p50/p90/p99, concurrent cycles
// (C clients cycling back to back) p50/p99 and cycles/s, and the wire cost of a cycle (HTTP
// requests and bytes both ways, headers included), with ratios ours / socket.io.
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
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

async function measure(impl, { cycles, concurrency, durationMs, warmup }) {
  const { io: ioc } = await import('socket.io-client');
  await waitForQuiet(5000);
  const server = await startServer(SERVER, ['--impl', impl, '--transports', 'polling']);
  const url = `http://127.0.0.1:${server.port}`;
  try {
    for (let i = 0; i < warmup; i++) await cycle(ioc, url);
    const seq = new Histogram();
    let requests = 0;
    let bytes = 0;
    const srv0 = await server.rpc({ cmd: 'stats' });
    for (let i = 0; i < cycles; i++) {
      const c = await cycle(ioc, url);
      seq.add(c.us);
      requests += c.requests;
      bytes += c.bytes;
    }
    const srv1 = await server.rpc({ cmd: 'stats' });
    const conc = new Histogram();
    let done = 0;
    const t0 = performance.now();
    const until = t0 + durationMs;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        conc.add((await cycle(ioc, url)).us);
        done++;
      }
    }));
    const elapsed = (performance.now() - t0) / 1e3;
    return {
      seq: seq.toJSON(),
      conc: conc.toJSON(),
      concCycles: done,
      concSeconds: elapsed,
      requestsPerCycle: requests / cycles,
      bytesPerCycle: bytes / cycles,
      serverCpuUsPerCycle: (srv1.cpu.user + srv1.cpu.system - srv0.cpu.user - srv0.cpu.system) / cycles,
    };
  } finally {
    await server.stop();
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
  const opts = { runs, cycles, concurrency, durationMs, warmup: quick ? 20 : 50 };
  const load = [loadavg()[0]];
  console.log('\nPolling cycle: socket.io-client (polling only, forceNew) connect → one acked event → disconnect, until every HTTP request is answered');
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${pinning}; client in the orchestrator`);
  console.log(`method: ${runs} interleaved runs of ${opts.warmup} warm-up + ${cycles} sequential cycles, then ${concurrency} clients cycling for ${durationMs} ms; load average ${load[0].toFixed(2)}`);
  const by = Object.fromEntries(impls.map((i) => [i, []]));
  for (let r = 0; r < runs; r++) {
    for (const impl of impls) {
      const res = await measure(impl, opts);
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

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
  const quick = argv.includes('--quick');
  if (argv.includes('--src')) process.env.BENCH_FROM_SRC = '1';
  await pollingCycleSuite({
    quick,
    runs: Number(value('runs', quick ? 1 : 3)),
    cycles: Number(value('cycles', quick ? 100 : 300)),
    concurrency: Number(value('concurrency', 20)),
    durationMs: Number(value('duration', quick ? 1000 : 3000)),
  });
  process.exit(0);
}
