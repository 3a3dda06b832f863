// Instructions per Socket.IO message of one server (bench/lib/server-sio.mjs) under callgrind,
// driven by the Node load generator (bench/lib/loadgen.mjs, Socket.IO over WebSocket) or with
// --gen c by the C one (bench/loadgen, --proto sio): echo+ack round trips or broadcast deliveries.
// Counting messages rather than time keeps the figure independent of how busy the machine is.
// Usage: node bench/tools/sio-instructions.mjs --impl switchboard|socket.io|socket.io-uws
//          [--mode echo|broadcast] [--conns N] [--window 4] [--size 32] [--warmup 20000]
//          [--messages 20000] [--gen node|c] [--src]
// The Node generator keeps one echo in flight per connection and --window broadcasts at the
// publisher; the C generator keeps --window in flight in both.
// After --warmup messages (the JIT has optimised the hot path) the server's counters are zeroed,
// then dumped once --messages more were counted; the total (every thread of the server: JIT code,
// GC, libuv; not the kernel) is divided by the messages counted. Needs valgrind.
import { fork, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { CGen } from '../lib/harness.mjs';

const argv = process.argv.slice(2);
const value = (name, fallback) => (argv.includes('--' + name) ? argv[argv.indexOf('--' + name) + 1] : fallback);
const impl = value('impl', 'switchboard');
const mode = value('mode', 'echo');
const conns = Number(value('conns', mode === 'echo' ? 100 : 1000));
const cfg = { proto: 'sio', mode, size: Number(value('size', 32)), window: Number(value('window', 4)) };
const warmup = Number(value('warmup', 20_000));
const messages = Number(value('messages', 20_000));
const src = argv.includes('--src');
const gen = value('gen', 'node');

/** Request/response over a child's IPC channel (the bench children answer `{ id, ... }`). */
function ipc(child) {
  let next = 1;
  return (msg) => new Promise((resolve, reject) => {
    const id = next++;
    const on = (m) => {
      if (m.id !== id) return;
      child.off('message', on);
      if (m.error) reject(new Error(m.error));
      else resolve(m);
    };
    child.on('message', on);
    child.send({ ...msg, id });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'sb-callgrind-'));
const server = spawn('valgrind', [
  '--tool=callgrind', '--trace-children=no', '--smc-check=all-non-file', '--dump-instr=no',
  `--callgrind-out-file=${dir}/callgrind.out.%p`,
  process.execPath, ...(src ? ['--import', import.meta.resolve('tsx')] : []),
  fileURLToPath(new URL('../lib/server-sio.mjs', import.meta.url)), '--impl', impl,
], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: src ? { ...process.env, BENCH_FROM_SRC: '1' } : process.env });
const gens = [];
try {
  const port = await new Promise((resolve, reject) => {
    server.on('message', (m) => { if (m.ev === 'listening') resolve(m.port); });
    server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const serverRpc = ipc(server);
  let rpcs;
  if (gen === 'c') {
    // One process; in broadcast its last connection is the publisher.
    const cgen = new CGen({ ...cfg, port, conns });
    gens.push(cgen.proc);
    const { failed } = await cgen.next(600_000);
    if (failed) throw new Error(`${failed} of ${conns} connections failed`);
    rpcs = [(msg) => cgen.rpc(msg)];
  } else {
    // Broadcast: the publisher on a generator of its own, as in bench/lib/harness.mjs.
    for (let i = 0; i < (mode === 'broadcast' ? 2 : 1); i++) {
      gens.push(fork(fileURLToPath(new URL('../lib/loadgen.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    rpcs = gens.map(ipc);
    for (const rpc of rpcs) await rpc({ cmd: 'config', cfg: { ...cfg, port } });
    if (mode === 'broadcast') {
      await rpcs[0]({ cmd: 'connect', n: conns - 1 });
      await rpcs[1]({ cmd: 'connect', n: 1, publisher: true });
    } else {
      await rpcs[0]({ cmd: 'connect', n: conns });
    }
  }
  while ((await serverRpc({ cmd: 'stats' })).clients < conns) await sleep(100);
  for (const rpc of rpcs) await rpc({ cmd: 'start' });
  const counted = async (n) => {
    for (;;) {
      await sleep(100);
      const reports = await Promise.all(rpcs.map((rpc) => rpc({ cmd: 'report' })));
      const delivered = reports.reduce((sum, r) => sum + r.delivered, 0);
      if (delivered >= n) return delivered;
    }
  };
  const control = (flag) => {
    const r = spawnSync('callgrind_control', [flag, String(server.pid)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`callgrind_control ${flag}: ${r.stderr || r.stdout}`);
  };
  for (const rpc of rpcs) await rpc({ cmd: 'mark' });
  await counted(warmup);
  control('-z');
  for (const rpc of rpcs) await rpc({ cmd: 'mark' });
  const delivered = await counted(messages);
  control('-d');
  const dump = readdirSync(dir).filter((f) => /\.\d+$/.test(f)).sort().at(-1);
  const total = Number(/^(?:summary|totals): (\d+)/m.exec(readFileSync(join(dir, dump), 'utf8'))[1]);
  const reports = await Promise.all(rpcs.map((rpc) => rpc({ cmd: 'report' })));
  if (reports.some((r) => r.failures)) throw new Error(`${reports.reduce((s, r) => s + r.failures, 0)} connections failed`);
  console.log(JSON.stringify({ impl, mode, conns, ...cfg, gen, messages: delivered, instructions: total, perMessage: Math.round(total / delivered), dump: join(dir, dump) }));
} finally {
  for (const g of gens) g.kill('SIGKILL');
  server.kill('SIGKILL');
}
process.exit(0);
