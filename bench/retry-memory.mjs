// Soak: what a server keeps per socket while clients keep asking for acknowledgements. N clients
// (socket.io-client) each send one acked 'echo' every 1-2 s for the run; the server's heap (after
// full collections) is sampled along the way. The same app on socket.io 4 and on ours, one after the
// other, in the same run. A flat second half means the per-socket state is bounded.
// Usage: node bench/retry-memory.mjs [--clients N] [--minutes M] [--reply bytes] [--only impl] [--src]
// (--only writes bench/results/retry-memory.partial.json, so a one-sided run does not replace both.)
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { mkdirSync, writeFileSync } from 'node:fs';
import { io } from 'socket.io-client';
import { startServer } from './lib/harness.mjs';

const samples = 8;
const SERVER = fileURLToPath(new URL('./lib/server-sio.mjs', import.meta.url));
const MiB = 1024 * 1024;

async function soak(impl, { clients, minutes, reply }) {
  const server = await startServer(SERVER, ['--impl', impl]);
  const url = `http://127.0.0.1:${server.port}`;
  const sockets = [];
  for (let i = 0; i < clients; i++) {
    sockets.push(io(url, { transports: ['websocket'], forceNew: true, reconnection: false }));
    if (i % 200 === 199) await sleep(50);
  }
  await Promise.all(sockets.map((s) => (s.connected ? null : new Promise((resolve) => s.once('connect', resolve)))));
  const payload = 'x'.repeat(reply);
  let acked = 0;
  let running = true;
  for (const s of sockets) {
    const tick = () => {
      if (!running) return;
      s.emit('echo', payload, () => acked++);
      setTimeout(tick, 1000 + Math.random() * 1000);
    };
    setTimeout(tick, Math.random() * 1000);
  }
  const heap = [];
  const stepMs = (minutes * 60_000) / samples;
  heap.push((await server.rpc({ cmd: 'mem' })).mem.heapUsed / MiB);
  for (let i = 0; i < samples; i++) {
    await sleep(stepMs);
    heap.push((await server.rpc({ cmd: 'mem' })).mem.heapUsed / MiB);
  }
  running = false;
  for (const s of sockets) s.disconnect();
  await server.stop();
  const half = heap.slice(Math.floor(heap.length / 2));
  const slope = ((half.at(-1) - half[0]) / (((half.length - 1) * stepMs) / 60_000));
  return { impl, heapMiB: heap.map((h) => Number(h.toFixed(1))), acked, secondHalfMiBPerMinute: Number(slope.toFixed(2)) };
}

/** Runs the soak on each implementation (or `only` one) and writes bench/results/retry-memory[.partial].json. */
export async function retryMemorySuite({ clients = 2000, minutes = 3, reply = 32, only = null, partial = false } = {}) {
  console.log(`\nRetry memory soak: ${clients} socket.io-client sockets, one acked 'echo' (${reply} B) each every 1-2 s, ` +
    `${minutes} min per server; server heap after full GCs, ${samples + 1} samples`);
  const results = [];
  for (const impl of ['socket.io', 'switchboard'].filter((name) => !only || name === only)) {
    const r = await soak(impl, { clients, minutes, reply });
    results.push(r);
    console.log(`${impl.padEnd(12)} heap MiB ${r.heapMiB.join(' → ')}; second half ${r.secondHalfMiBPerMinute} MiB/min; ${r.acked} acks`);
  }
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const name = partial || only ? 'retry-memory.partial.json' : 'retry-memory.json';
  writeFileSync(new URL(`./results/${name}`, import.meta.url), JSON.stringify({ date: new Date().toISOString(), clients, minutes, reply, results }, null, 2) + '\n');
  return results;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const value = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
  if (argv.includes('--src')) process.env.BENCH_FROM_SRC = '1';
  await retryMemorySuite({
    clients: Number(value('clients', 2000)),
    minutes: Number(value('minutes', 3)),
    reply: Number(value('reply', 32)),
    only: value('only', null),
  });
}
