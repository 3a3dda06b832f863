// `switchboard serve --workers N`: the hub in N node:cluster workers behind one port, sharing
// broadcasts over IPC; a worker that dies is replaced and its clients come back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { runCli, startServeProcess } from './helpers.js';

/** The worker that owns a client's session: sticky session ids start with `w<worker id>.`. */
function workerOf(socket: ClientSocket): number {
  return Number(/^w(\d+)\./.exec(socket.io.engine.id)![1]);
}

function connected(socket: ClientSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

async function shoutReachesEveryone(clients: ClientSocket[], text: string): Promise<void> {
  const heard = clients.slice(1).map((c) => new Promise((resolve) => c.once('shout', resolve)));
  clients[0]!.emit('shout', text);
  assert.deepEqual(await Promise.all(heard), clients.slice(1).map(() => text));
}

test('serve --workers 2: clients on both workers share broadcasts; a killed worker is replaced and its clients come back', async () => {
  const { cli, url } = await startServeProcess(['--workers', '2']);
  const clients: ClientSocket[] = [];
  try {
    const ready = cli.jsonLines().filter((l) => l.event === 'worker-ready');
    assert.equal(ready.length, 2, 'the primary announces the hub once both workers are ready');
    for (let i = 0; i < 4; i++) {
      const c = connect(url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 300 });
      clients.push(c);
      await connected(c);
    }
    const homes = clients.map(workerOf);
    assert.deepEqual(new Set(homes), new Set(ready.map((l) => l.worker)), 'clients are spread over both workers');
    await shoutReachesEveryone(clients, 'before');

    const victim = ready.find((l) => l.worker === homes[1])!;
    const orphans = clients.filter((c) => workerOf(c) === victim.worker);
    const back = orphans.map((c) => new Promise((resolve) => c.once('disconnect', () => c.once('connect', () => resolve(c.id)))));
    process.kill(victim.pid, 'SIGKILL');
    const died = await cli.nextJson({ event: 'worker-died', worker: victim.worker });
    assert.equal(died.signal, 'SIGKILL');
    await Promise.all(back);
    for (const c of orphans) assert.notEqual(workerOf(c), victim.worker, 'back on a live worker');
    await cli.next((line) => line.includes('"worker-ready"') && !ready.some((r) => line.includes(`"pid":${r.pid}`)), 20_000, 'a replacement worker');
    await shoutReachesEveryone(clients, 'after');
  } finally {
    for (const c of clients) c.disconnect();
    cli.kill('SIGTERM');
  }
  assert.equal((await cli.exited).code, 0);
  const pids = cli.jsonLines().filter((l) => l.event === 'worker-ready').map((l) => l.pid as number);
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone after the hub stopped`);
});

test('serve --workers: bad counts and a memory adapter are usage errors', async () => {
  for (const args of [['--workers', '0'], ['--workers', 'many'], ['--workers', '2', '--adapter', 'memory']]) {
    const { code, stderr } = await runCli(['serve', '--port', '0', ...args]);
    assert.equal(code, 2, args.join(' '));
    assert.match(stderr, /--workers|--adapter memory/);
  }
});
