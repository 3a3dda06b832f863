// Benchmark: three server nodes behind nginx, polling-only clients (socket.io-client), each
// sending events with acknowledgements in a loop. Setups, same run, same clients:
// - switchboard, sticky: nginx `ip_hash` (every request of the load generator goes to one node per
//   client address; the clients connect from different loopback addresses so they spread), no router;
// - switchboard, no sticky: nginx round-robin, every request to the next node, and the session
//   router passing requests on to the session's owner over HTTP (2 in 3 of them take an extra hop);
// - socket.io 4 with @socket.io/redis-adapter, sticky: the same ip_hash nginx (socket.io's usual setup);
// - socket.io 4 + @socket.io/cluster-engine (RedisEngine), no sticky: the same round-robin nginx;
//   a node that receives a request for another node's session asks every node over Redis pub/sub
//   who owns it, then carries the request's packets to the owner (and the answer back) over Redis.
//   Runs only when @socket.io/cluster-engine is installed (npm install --no-save @socket.io/cluster-engine).
// Reported: acknowledged events per second over the window, and the median round trip.
//
// Usage: node bench/no-sticky.mjs [--clients 60] [--seconds 10] [--size 64] [--src] [--quick]
//   --quick: 12 clients, 3 s per setup, a short warm-up: checks that every setup runs (the figures
//   of a quick run are not worth publishing).
// Needs Redis (REDIS_URL, default redis://127.0.0.1:6379) and nginx (apt-get install nginx-light).
import { spawnSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';

// The nginx harness is the tests' (TypeScript): load it through tsx.
if (!process.execArgv.some((a) => a.includes('tsx'))) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(run.status ?? 1);
}

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const QUICK = process.argv.includes('--quick');
const CLIENTS = arg('clients', QUICK ? 12 : 60);
const SECONDS = arg('seconds', QUICK ? 3 : 10);
const WARMUP_MS = QUICK ? 300 : 1000;
const SIZE = arg('size', 64);
const FROM_SRC = process.argv.includes('--src') || process.env.BENCH_FROM_SRC === '1';
const nodeScript = fileURLToPath(new URL('./no-sticky-node.mjs', import.meta.url));
const { startBalancer, nginxBinary } = await import('../test/scaling/nginx.ts');
const { io: connect } = await import('socket.io-client');
const { createClient } = await import('redis');

if (!nginxBinary()) {
  console.error('nginx is not installed (apt-get install -y nginx-light)');
  process.exit(1);
}

const SETUPS = [
  { name: 'switchboard, sticky (ip_hash)', impl: 'switchboard', sticky: true },
  { name: 'switchboard, round-robin + session router', impl: 'switchboard', sticky: false },
  { name: 'socket.io, sticky (ip_hash)', impl: 'socket.io', sticky: true },
  { name: 'socket.io + cluster-engine, round-robin', impl: 'socket.io', sticky: false },
];

/** Why a setup cannot run here, or undefined. */
async function missing(setup) {
  if (setup.impl !== 'socket.io' || setup.sticky) return undefined;
  try {
    await import('@socket.io/cluster-engine');
    return undefined;
  } catch {
    return '@socket.io/cluster-engine is not installed (npm install --no-save @socket.io/cluster-engine)';
  }
}

function startNode(prefix, setup) {
  const child = fork(nodeScript, [], {
    env: {
      ...process.env,
      PREFIX: prefix,
      IMPL: setup.impl,
      ROUTER: setup.sticky ? '' : '1',
      ...(FROM_SRC ? { BENCH_FROM_SRC: '1' } : {}),
    },
    execArgv: FROM_SRC ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`node exited (${code})`)));
    child.on('message', (msg) => msg.ready && resolve({ child, port: msg.port }));
  });
}

/** The value at quantile `q` of sorted `values` (ms, 2 decimals); null when there is none. */
const at = (values, q) => (values.length ? +values[Math.floor(values.length * q)].toFixed(2) : null);

async function measure(setup) {
  const prefix = `bench-nosticky-${randomBytes(4).toString('hex')}`;
  const nodes = await Promise.all([0, 1, 2].map(() => startNode(prefix, setup)));
  const balancer = await startBalancer({ upstreams: nodes.map((n) => `127.0.0.1:${n.port}`), sticky: setup.sticky });
  const payload = 'x'.repeat(SIZE);
  const clients = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      // A different source address per client, so that ip_hash spreads them over the nodes.
      const localAddress = `127.0.${Math.floor(i / 250)}.${(i % 250) + 2}`;
      const socket = connect(balancer.url, { forceNew: true, reconnection: false, transports: ['polling'], localAddress });
      await new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      clients.push(socket);
    }
    const rtts = [];
    let acks = 0;
    let failures = 0;
    let running = true;
    const loop = async (socket) => {
      while (running && socket.connected) {
        const start = performance.now();
        try {
          await socket.timeout(10_000).emitWithAck('echo', payload);
        } catch {
          failures++;
          continue;
        }
        rtts.push(performance.now() - start);
        acks++;
      }
    };
    // Warm-up, then the window.
    const loops = clients.map(loop);
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    acks = 0;
    rtts.length = 0;
    const load = loadavg()[0];
    const start = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const elapsed = (performance.now() - start) / 1000;
    const counted = acks;
    const lost = failures + clients.filter((c) => !c.connected).length;
    running = false;
    await Promise.allSettled(loops);
    rtts.sort((a, b) => a - b);
    return { setup: setup.name, acksPerSecond: Math.round(counted / elapsed), medianMs: at(rtts, 0.5), p99Ms: at(rtts, 0.99), failures: lost, load1: +load.toFixed(2) };
  } finally {
    for (const c of clients) c.disconnect();
    await balancer.stop();
    for (const n of nodes) n.child.kill();
    const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
    await redis.connect();
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}*` })) if (keys.length) await redis.del(keys);
    await redis.close();
  }
}

const rows = [];
for (const setup of SETUPS) {
  const why = await missing(setup);
  if (why) {
    console.log(`${setup.name.padEnd(44)} skipped: ${why}`);
    continue;
  }
  const row = await measure(setup);
  rows.push(row);
  console.log(`${setup.name.padEnd(44)} ${String(row.acksPerSecond).padStart(7)} acks/s   median ${row.medianMs} ms   p99 ${row.p99Ms} ms   failures ${row.failures}   (load ${row.load1})`);
}
const [sticky, ...others] = rows;
for (const row of others) console.log(`${row.setup} / ${sticky.setup}: ${(row.acksPerSecond / sticky.acksPerSecond).toFixed(2)}x`);
if (QUICK) console.log('(--quick: a check that every setup runs, not figures to publish)');
else {
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(new URL('./results/no-sticky.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), clients: CLIENTS, seconds: SECONDS, size: SIZE, rows }, null, 2) + '\n');
}
