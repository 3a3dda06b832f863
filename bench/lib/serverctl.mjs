// The control side shared by the server children: they listen on port 0, tell the parent the port,
// then answer `stats` (CPU time, client count) and `mem` (memory after full GCs) over IPC.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeHeapSnapshot } from 'node:v8';
import { mkdirSync } from 'node:fs';

export function arg(name, fallback) {
  const i = process.argv.indexOf('--' + name);
  return i === -1 ? fallback : process.argv[i + 1];
}

/**
 * The built module of ours (dist/esm/<dir>/index.js), or null when it is not built. With
 * BENCH_FROM_SRC=1 (the --src option) the TypeScript source, loaded through tsx.
 */
export function oursPath(dir) {
  const rel = process.env.BENCH_FROM_SRC ? `../../src/${dir}/index.ts` : `../../dist/esm/${dir}/index.js`;
  const path = fileURLToPath(new URL(rel, import.meta.url));
  return existsSync(path) ? path : null;
}

async function settledMemory() {
  // Several full collections: weak callbacks and finalizers of the first round free more.
  for (let i = 0; i < 4; i++) {
    globalThis.gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

/** Report the port, then serve control requests until told to exit. */
export function serveControl(port, clientCount) {
  process.on('message', async (msg) => {
    let reply;
    if (msg.cmd === 'stats') reply = { cpu: process.cpuUsage(), clients: clientCount() };
    else if (msg.cmd === 'mem') {
      reply = { mem: await settledMemory(), clients: clientCount() };
      // BENCH_HEAPSNAP=1: a heap snapshot of the loaded server, for bench/tools/heap-summary.mjs
      if (process.env.BENCH_HEAPSNAP && reply.clients > 0) {
        const dir = fileURLToPath(new URL('../profiles/', import.meta.url));
        mkdirSync(dir, { recursive: true });
        reply.snapshot = writeHeapSnapshot(`${dir}/${arg('impl', 'server')}-${reply.clients}-${process.pid}.heapsnapshot`);
      }
    }
    else if (msg.cmd === 'exit') { process.send({ id: msg.id }); setImmediate(() => process.exit(0)); return; }
    else reply = { error: 'unknown command ' + msg.cmd };
    process.send({ id: msg.id, ...reply });
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ev: 'listening', port });
}
