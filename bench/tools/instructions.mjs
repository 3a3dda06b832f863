// Instructions per message of one WebSocket server (bench/lib/server-ws.mjs) under callgrind, driven
// by the C load generator: a CPU cost that other work on the machine does not disturb.
// Usage: node bench/tools/instructions.mjs --impl switchboard|ws|uws|net|handle [--mode echo|broadcast]
//          [--conns 100] [--window 4] [--size 32] [--warmup N] [--messages N] [--src]
// The server runs under `valgrind --tool=callgrind`; after a warm-up of N messages (so the JIT has
// optimised the hot path) its counters are zeroed, then dumped once the generator has counted
// --messages more (echo round trips, or broadcast deliveries), and the total (every thread: JIT
// code, GC, compiler threads, libuv; not the kernel) is divided by the messages counted. Counting
// messages rather than time keeps the figure independent of how busy the machine is.
import { spawn, spawnSync } from 'node:child_process';
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
const window = Number(value('window', 4));
const size = Number(value('size', 32));
const warmup = Number(value('warmup', 20_000));
const messages = Number(value('messages', 30_000));

const dir = mkdtempSync(join(tmpdir(), 'sb-callgrind-'));
// --impl handle: the TCP-handle transport spike of bench/handle-spike (echo only).
const script = fileURLToPath(new URL(impl === 'handle' ? '../handle-spike/server.mjs' : '../lib/server-ws.mjs', import.meta.url));
const nodeArgs = argv.includes('--src') ? ['--import', import.meta.resolve('tsx')] : [];
const env = argv.includes('--src') ? { ...process.env, BENCH_FROM_SRC: '1' } : process.env;
const server = spawn('valgrind', [
  '--tool=callgrind', '--trace-children=no', '--smc-check=all-non-file', '--dump-instr=no',
  `--callgrind-out-file=${dir}/callgrind.out.%p`,
  process.execPath, ...nodeArgs, script, '--impl', impl, '--mode', mode,
], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env });
const port = await new Promise((resolve, reject) => {
  server.on('message', (m) => { if (m.ev === 'listening') resolve(m.port); });
  server.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
let nextId = 1;
const rpc = (cmd) => new Promise((resolve) => {
  const id = nextId++;
  const on = (m) => { if (m.id === id) { server.off('message', on); resolve(m); } };
  server.on('message', on);
  server.send({ cmd, id });
});
const control = (flag) => {
  const r = spawnSync('callgrind_control', [flag, String(server.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${flag}: ${r.stderr || r.stdout}`);
};

const gen = new CGen({ port, mode, conns, size, window });
try {
  const { failed } = await gen.next(600_000);
  if (failed) throw new Error(`${failed} connections failed`);
  while ((await rpc('stats')).clients < conns) await sleep(100);
  await gen.rpc({ cmd: 'start' });
  await gen.rpc({ cmd: 'mark' });
  const until = async (n) => {
    for (;;) {
      await sleep(100);
      const r = await gen.rpc({ cmd: 'report' });
      if (r.delivered >= n) return r;
    }
  };
  await until(warmup);
  control('-z');
  await gen.rpc({ cmd: 'mark' });
  const report = await until(messages);
  control('-d');
  await gen.rpc({ cmd: 'stop' });
  const dumps = readdirSync(dir).filter((f) => /\.\d+$/.test(f)).sort();
  const text = readFileSync(join(dir, dumps.at(-1)), 'utf8');
  const total = Number(/^(?:summary|totals): (\d+)/m.exec(text)[1]);
  console.log(JSON.stringify({
    impl, mode, conns, window, size, messages: report.delivered,
    instructions: total, perMessage: Math.round(total / report.delivered), dump: join(dir, dumps.at(-1)),
  }));
} finally {
  await gen.stop();
  server.kill('SIGKILL');
}
