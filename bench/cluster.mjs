// Benchmark: broadcast to N clients from a node:cluster of 1 then 2 workers behind one port,
// switchboard (switchboard/cluster: sticky front + IPC adapter) next to socket.io@4 +
// @socket.io/sticky + @socket.io/cluster-adapter, in the same run.
//
// The clients (raw load generator, WebSocket only) connect through the primary's front, which
// spreads them over the workers. A round = the first worker emits K broadcasts (io.emit); with 2
// workers half of the clients are reached through the primary's IPC relay. The round ends when
// every client has received all K frames. Reported: deliveries per second (K x clients / time).
//
// Usage: node bench/cluster.mjs [--clients 4000] [--burst 50] [--rounds 5] [--size 32] [--src]
// (npm run build first, or --src to run ours from src/ through tsx)
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectClient, forkServer, measureBursts } from './lib/broadcast-clients.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 4000);
const BURST = arg('burst', 50);
const ROUNDS = arg('rounds', 5);
const SIZE = arg('size', 32);
const FROM_SRC = process.argv.includes('--src') || process.env.BENCH_FROM_SRC === '1';
const nodeScript = fileURLToPath(new URL('./cluster-node.mjs', import.meta.url));

function startCluster(impl, workers) {
  const env = { IMPL: impl, WORKERS: String(workers), ...(FROM_SRC ? { BENCH_FROM_SRC: '1' } : {}) };
  return forkServer(nodeScript, env, FROM_SRC ? ['--import', 'tsx'] : []);
}

async function measure(impl, workers) {
  const node = await startCluster(impl, workers);
  for (let i = 0; (await node.call('serverCount')) < workers; i++) {
    if (i > 200) throw new Error(`${impl}: workers do not see each other`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const clients = [];
  for (let i = 0; i < CLIENTS; i += 250) {
    clients.push(...(await Promise.all(Array.from({ length: Math.min(250, CLIENTS - i) }, () => connectClient(node.port)))));
  }
  const perWorker = await node.call('clients');

  const { frame, rates, median } = await measureBursts(clients, (count) => node.call('burst', { count, size: SIZE }), { count: BURST, rounds: ROUNDS });
  for (const c of clients) c.socket.destroy();
  node.child.disconnect();
  return { impl, workers, clients: clients.length, perWorker, frameBytes: frame, rates, median };
}

const results = [];
for (const impl of ['socket.io', 'switchboard']) {
  for (const workers of [1, 2]) {
    const r = await measure(impl, workers);
    results.push(r);
    console.log(
      `${impl.padEnd(12)} ${workers} worker${workers > 1 ? 's' : ' '} ${r.clients} clients (${r.perWorker.join('/')}), burst ${BURST} x ${SIZE} B: ` +
        `median ${Math.round(r.median).toLocaleString()} deliveries/s  (rounds: ${r.rates.map((x) => Math.round(x / 1000) + 'k').join(', ')})`,
    );
  }
}
const median = (impl, workers) => results.find((r) => r.impl === impl && r.workers === workers).median;
const summary = {
  scaling: { 'socket.io': median('socket.io', 2) / median('socket.io', 1), switchboard: median('switchboard', 2) / median('switchboard', 1) },
  ratio: { '1 worker': median('switchboard', 1) / median('socket.io', 1), '2 workers': median('switchboard', 2) / median('socket.io', 2) },
};
console.log(
  `2 workers / 1 worker: socket.io ${summary.scaling['socket.io'].toFixed(2)}x, switchboard ${summary.scaling.switchboard.toFixed(2)}x; ` +
    `switchboard / socket.io: ${summary.ratio['1 worker'].toFixed(2)}x (1 worker), ${summary.ratio['2 workers'].toFixed(2)}x (2 workers)`,
);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/cluster.json', import.meta.url),
  JSON.stringify({ date: new Date().toISOString(), clients: CLIENTS, burst: BURST, size: SIZE, fromSrc: FROM_SRC, results, ...summary }, null, 2),
);
process.exit(0);
