import cluster from 'node:cluster';
import { once } from 'node:events';
import { createServer } from 'node:http';
import net from 'node:net';
import { Server } from 'switchboard';
import { io } from 'switchboard/client';
import { createAdapter, setupPrimary, setupWorker } from 'switchboard/cluster';

if (cluster.isPrimary) {
  // One port for every worker: sticky routing, and the relay the workers' adapters talk through.
  const primary = setupPrimary(net.createServer(), { loadBalancing: 'round-robin' });
  const workers = [cluster.fork(), cluster.fork()];
  await Promise.all(workers.map((worker) => once(worker, 'message'))); // each says "ready"
  primary.listen(0);
  await once(primary, 'listening');
  const url = `http://localhost:${(primary.address() as net.AddressInfo).port}`;

  const ada = io(url, { forceNew: true });
  const bob = io(url, { forceNew: true });
  const homes = [await ada.emitWithAck('whoami'), await bob.emitWithAck('whoami')];
  console.log(homes[0] !== homes[1] ? 'ada and bob on different workers' : 'same worker'); // → ada and bob on different workers

  await ada.emitWithAck('join', 'lobby');
  await bob.emitWithAck('join', 'lobby');
  const heard = new Promise<string>((resolve) => bob.once('chat', resolve));
  ada.emit('chat', 'hi from another core');
  console.log(`bob got: ${await heard}`); // → bob got: hi from another core
  console.log(`lobby: ${await ada.emitWithAck('count', 'lobby')} sockets`); // → lobby: 2 sockets

  ada.disconnect();
  bob.disconnect();
  primary.close();
  for (const worker of workers) worker.kill();
} else {
  const httpServer = createServer(); // workers do not listen: the primary hands them connections
  const server = new Server(httpServer, { adapter: createAdapter() });
  server.on('connection', (socket) => {
    socket.on('whoami', (ack: (id: number) => void) => ack(cluster.worker!.id));
    socket.on('join', async (room: string, ack: () => void) => {
      await socket.join(room);
      ack();
    });
    // Reaches the room's members in every worker.
    socket.on('chat', (text: string) => socket.to('lobby').emit('chat', text));
    // fetchSockets() asks every worker.
    socket.on('count', async (room: string, ack: (n: number) => void) => ack((await server.in(room).fetchSockets()).length));
  });
  setupWorker(httpServer, server);
  process.send!('ready');
}
