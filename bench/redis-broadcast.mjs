// Benchmark (issue 6): broadcast to 10,000 clients spread over 3 server nodes sharing one Redis,
// switchboard (pub/sub adapter) vs socket.io@4 + @socket.io/redis-adapter, in the same run.
//
// Each node is its own process; the load generator holds every client as a raw TCP socket that
// speaks just enough WebSocket + Engine.IO + Socket.IO to join, then only counts bytes, so the
// client side costs the same (and little) for both servers. A round = node A emits K broadcasts
// (io.emit: 1/3 of the clients are local to A, 2/3 reached through Redis); the round ends when
// every client has received all K frames. Reported: deliveries per second (K x clients / time).
//
// Usage: npm run build && node bench/redis-broadcast.mjs [--clients 10000] [--burst 50] [--rounds 5] [--size 32] [--streams] [--cluster]
// --streams also compares the streams adapters (ours vs @socket.io/redis-streams-adapter).
// --cluster also runs both on a Redis Cluster (REDIS_CLUSTER: comma-separated node URLs, e.g. from
// `redis-cli --cluster create ... --cluster-replicas 1`): our pub/sub adapter with sharded: true vs
// @socket.io/redis-adapter's createShardedAdapter, next to the single-Redis pair of the same run.
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdirSync } from 'node:fs';
import { connectClient, forkServer, measureBursts } from './lib/broadcast-clients.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const CLIENTS = arg('clients', 10_000);
const BURST = arg('burst', 50);
const ROUNDS = arg('rounds', 5);
const SIZE = arg('size', 32);
const NODES = 3;
const nodeScript = fileURLToPath(new URL('./redis-node.mjs', import.meta.url));

function startNode(impl, prefix) {
  return forkServer(nodeScript, { IMPL: impl, PREFIX: prefix });
}

async function connectAll(nodes) {
  const clients = [];
  const batch = 250;
  for (let i = 0; i < CLIENTS; i += batch) {
    const n = Math.min(batch, CLIENTS - i);
    clients.push(...(await Promise.all(Array.from({ length: n }, (_, k) => connectClient(nodes[(i + k) % NODES].port)))));
  }
  return clients;
}

async function measure(impl) {
  const prefix = `sbbench-${impl}-${process.pid}`;
  const nodes = [];
  for (let i = 0; i < NODES; i++) nodes.push(await startNode(impl, prefix));
  for (let i = 0; ; i++) {
    const counts = await Promise.all(nodes.map((n) => n.call('serverCount')));
    if (counts.every((c) => c === NODES)) break;
    if (i > 200) throw new Error(`${impl}: nodes do not see each other (${counts})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const t0 = Date.now();
  const clients = await connectAll(nodes);
  const connectMs = Date.now() - t0;
  const perNode = await Promise.all(nodes.map((n) => n.call('clients')));

  const { frame, rates, median } = await measureBursts(clients, (count) => nodes[0].call('burst', { count, size: SIZE }), { count: BURST, rounds: ROUNDS });
  for (const c of clients) c.socket.destroy();
  for (const n of nodes) n.child.kill();
  return { impl, clients: clients.length, perNode, connectMs, frameBytes: frame, rates, median };
}

const pairs = [['socket.io', 'switchboard']];
if (process.argv.includes('--streams')) pairs.push(['socket.io-streams', 'switchboard-streams']);
if (process.argv.includes('--cluster')) {
  if (!process.env.REDIS_CLUSTER) throw new Error('--cluster needs REDIS_CLUSTER=redis://host:port[,...] (a node of a running Redis Cluster)');
  pairs.push(['socket.io-cluster', 'switchboard-cluster']);
}
const results = [];
const ratios = {};
for (const pair of pairs) {
  for (const impl of pair) {
    const r = await measure(impl);
    results.push(r);
    console.log(
      `${impl.padEnd(20)} ${r.clients} clients (${r.perNode.join('/')}), burst ${BURST} x ${SIZE} B payload: ` +
        `median ${Math.round(r.median).toLocaleString()} deliveries/s  (rounds: ${r.rates.map((x) => Math.round(x / 1000) + 'k').join(', ')})`,
    );
  }
  const [peer, ours] = results.slice(-2);
  ratios[ours.impl] = ours.median / peer.median;
  console.log(`${ours.impl} / ${peer.impl} = ${ratios[ours.impl].toFixed(2)}x`);
}
const ratio = ratios.switchboard;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/redis-broadcast.json', import.meta.url), JSON.stringify({ date: new Date().toISOString(), clients: CLIENTS, burst: BURST, size: SIZE, results, ratio, ratios }, null, 2));
process.exit(0);
