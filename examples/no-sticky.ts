import { once } from 'node:events';
import { createServer } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createClient } from 'redis';
import { Server } from 'switchboard';
import { createAdapter, createSessionRouter } from 'switchboard/adapters/redis';
import { io } from 'switchboard/client';

async function startNode(name: string) {
  const pubClient = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
  const subClient = pubClient.duplicate();
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const httpServer = createServer();
  const server = new Server(httpServer, {
    adapter: createAdapter(pubClient, subClient, { key: 'docs-no-sticky' }),
    // Any node serves any session: requests for another node's session are passed on to it.
    sessionRouter: createSessionRouter(pubClient, { key: 'docs-no-sticky' }),
  });
  server.on('connection', (socket) => socket.on('whoami', (ack: (node: string) => void) => ack(name)));
  httpServer.listen(0, '127.0.0.1'); // a concrete address: the one other nodes are told
  await once(httpServer, 'listening');
  const stop = async () => {
    await server.close();
    await Promise.all([pubClient.close(), subClient.close()]);
  };
  return { port: (httpServer.address() as AddressInfo).port, stop };
}

const nodes = [await startNode('A'), await startNode('B'), await startNode('C')];

// A balancer without stickiness: each new TCP connection goes to the next node.
let next = 0;
const balancer = net.createServer((conn) => {
  const upstream = net.connect(nodes[next++ % nodes.length]!.port, '127.0.0.1');
  conn.pipe(upstream).pipe(conn);
  conn.on('error', () => upstream.destroy());
  upstream.on('error', () => conn.destroy());
});
balancer.listen(0, '127.0.0.1');
await once(balancer, 'listening');

// Long-polling only: every request is a new HTTP request, through the balancer.
const client = io(`http://127.0.0.1:${(balancer.address() as AddressInfo).port}`, {
  transports: ['polling'],
  extraHeaders: { connection: 'close' }, // one request per connection, so each may land elsewhere
});
await new Promise<void>((resolve) => client.once('connect', () => resolve()));
const answers = new Set<string>();
for (let i = 0; i < 6; i++) answers.add(await client.emitWithAck('whoami'));
console.log(`6 answers from ${answers.size} node`); // → 6 answers from 1 node
console.log(`connections spread over ${Math.min(next, nodes.length)} nodes`); // → connections spread over 3 nodes

client.disconnect();
balancer.close();
await Promise.all(nodes.map((node) => node.stop()));
