// One node:cluster of the cluster benchmark (started by bench/cluster.mjs): a primary with a
// sticky front and WORKERS workers sharing broadcasts over IPC.
// IMPL=switchboard: switchboard/cluster (setupPrimary(server) + createAdapter, setupWorker);
// IMPL=socket.io:   socket.io@4 + @socket.io/sticky (setupMaster, setupWorker) + @socket.io/cluster-adapter.
// BENCH_FROM_SRC=1 (started with --import tsx): ours from src/ instead of dist/.
import cluster from 'node:cluster';
import http from 'node:http';
import net from 'node:net';

const impl = process.env.IMPL;
const WORKERS = Number(process.env.WORKERS);
const ours = async (name) =>
  import(process.env.BENCH_FROM_SRC ? `../src/${name}.ts` : `../dist/esm/${name}.js`);

if (cluster.isPrimary) {
  let front;
  if (impl === 'switchboard') {
    const { setupPrimary } = await ours('adapters/cluster');
    front = setupPrimary(net.createServer(), { loadBalancing: 'round-robin' });
  } else {
    const { setupMaster } = await import('@socket.io/sticky');
    const { setupPrimary } = await import('@socket.io/cluster-adapter');
    front = http.createServer();
    setupMaster(front, { loadBalancingMethod: 'round-robin' });
    setupPrimary();
  }
  const workers = Array.from({ length: WORKERS }, () => cluster.fork());
  let next = 0;
  const pending = new Map();
  const ask = (worker, cmd, args = {}) =>
    new Promise((resolve) => {
      const id = next++;
      pending.set(id, resolve);
      worker.send({ bench: cmd, id, ...args });
    });
  let ready = 0;
  for (const w of workers) {
    w.on('message', (msg) => {
      if (msg?.bench === 'ready' && ++ready === WORKERS) {
        front.listen(0, '127.0.0.1', () => process.send({ ready: true, port: front.address().port }));
      } else if (msg?.bench === 'result') {
        pending.get(msg.id)?.(msg.result);
        pending.delete(msg.id);
      }
    });
  }
  process.on('message', async (msg) => {
    let result;
    // The first worker emits every broadcast; the others get them over IPC.
    if (msg.cmd === 'burst') result = await ask(workers[0], 'burst', { count: msg.count, size: msg.size });
    else if (msg.cmd === 'clients') result = await Promise.all(workers.map((w) => ask(w, 'clients')));
    else if (msg.cmd === 'serverCount') result = Math.min(...(await Promise.all(workers.map((w) => ask(w, 'serverCount')))));
    process.send({ id: msg.id, result });
  });
  process.on('disconnect', () => {
    for (const w of workers) w.process.kill('SIGKILL');
    process.exit(0);
  });
} else {
  const httpServer = http.createServer();
  const common = { pingInterval: 120_000, pingTimeout: 120_000, transports: ['websocket'] };
  let io;
  if (impl === 'switchboard') {
    const { Server } = await ours('server/index');
    const { createAdapter, setupWorker } = await ours('adapters/cluster');
    io = new Server(httpServer, { ...common, handshakeRate: false, adapter: createAdapter() });
    setupWorker(httpServer, io);
  } else {
    const { Server } = await import('socket.io');
    const { createAdapter } = await import('@socket.io/cluster-adapter');
    const { setupWorker } = await import('@socket.io/sticky');
    io = new Server(httpServer, { ...common, adapter: createAdapter() });
    setupWorker(io);
  }
  process.on('message', async (msg) => {
    if (!msg?.bench) return;
    let result;
    if (msg.bench === 'burst') {
      const payload = 'x'.repeat(msg.size);
      for (let i = 0; i < msg.count; i++) io.emit('tick', payload);
      result = true;
    } else if (msg.bench === 'clients') result = io.of('/').sockets.size;
    else if (msg.bench === 'serverCount') result = await io.of('/').adapter.serverCount();
    process.send({ bench: 'result', id: msg.id, result });
  });
  process.send({ bench: 'ready' });
}
