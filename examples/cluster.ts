import cluster from 'node:cluster';
import { once } from 'node:events';
import { createServer } from 'node:http';
import net from 'node:net';
import { Server } from 'switchboard';
import { io } from 'switchboard/client';
import { setupPrimary, setupWorker } from 'switchboard/cluster';

if (cluster.isPrimary) {
  const workers = [cluster.fork(), cluster.fork()];
  await Promise.all(workers.map((worker) => once(worker, 'message'))); // each says "ready"
  const primary = setupPrimary(net.createServer(), { loadBalancing: 'least-connections' }).listen(0);
  await once(primary, 'listening');
  const { port } = primary.address() as net.AddressInfo;

  const socket = io(`http://localhost:${port}`, { transports: ['polling'] });
  const workerIds = new Set();
  for (let i = 0; i < 5; i++) workerIds.add(await socket.timeout(2000).emitWithAck('whoami'));
  console.log(`5 requests, ${workerIds.size} worker`); // → 5 requests, 1 worker

  socket.disconnect();
  primary.close();
  for (const worker of workers) worker.kill();
} else {
  const httpServer = createServer(); // workers do not listen: the primary hands them connections
  const server = new Server(httpServer);
  server.on('connection', (socket) => {
    socket.on('whoami', (ack: (id: number) => void) => ack(cluster.worker!.id));
  });
  setupWorker(httpServer, server);
  process.send!('ready');
}
