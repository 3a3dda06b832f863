// Compiled (never run) by test/package/install.test.ts inside a scratch project that installed the
// packed tarball: every entry point used as an application would, under `tsc --init` settings.
import { createServer } from 'node:http';
import net from 'node:net';
import { createClient } from 'redis';
import { Server, type Socket as ServerSocket } from 'switchboard';
import { createAdapter, createStreamsAdapter, RedisAdapterError } from 'switchboard/adapters/redis';
import { io, Manager, type Socket as ClientSocket } from 'switchboard/client';
import { setupPrimary, setupWorker } from 'switchboard/cluster';
import { EngineServer } from 'switchboard/engine';
import { WebSocket, WebSocketServer, createWebSocketStream, prepareMessage } from 'switchboard/websocket';

interface ClientToServer {
  hello: (name: string, ack: (reply: string) => void) => void;
}
interface ServerToClient {
  news: (text: string, count: number) => void;
}
interface SocketData {
  name?: string;
}

const pub = createClient({ url: 'redis://127.0.0.1:6379' });
const sub = pub.duplicate();
const httpServer = createServer();
const server = new Server<ClientToServer, ServerToClient, Record<string, never>, SocketData>(httpServer, {
  cors: { origin: ['https://app.example.com'], credentials: true },
  adapter: createAdapter(pub, sub, { key: 'app' }),
  pingInterval: 25_000,
  connectionStateRecovery: {},
});
server.use((socket, next) => next(socket.handshake.auth.token ? undefined : new Error('no token')));
server.on('connection', (socket: ServerSocket<ClientToServer, ServerToClient, Record<string, never>, SocketData>) => {
  const first: string | undefined = [...socket.rooms][0];
  socket.data.name = first ?? socket.id;
  socket.on('hello', (name, ack) => ack(`hello, ${name}`));
  socket.emit('news', 'welcome', 1);
  void socket.join('lobby');
  server.to('lobby').except(socket.id).emit('news', 'joined', 2);
});
server.engine?.use((_req, _res, next) => next());
setupWorker(httpServer, server);
setupPrimary(net.createServer(), { loadBalancing: 'least-connections' });
new Server(3001, { adapter: createStreamsAdapter(pub) });

const client: ClientSocket<ServerToClient, ClientToServer> = io('http://localhost:3000', {
  auth: { token: 'secret' },
  transports: ['websocket'],
  reconnectionAttempts: 5,
});
client.on('news', (text, count) => console.log(text.toUpperCase(), count.toFixed()));
const reply: string = await client.timeout(1000).emitWithAck('hello', 'ada');
console.log(reply, new Manager('http://localhost:3000').socket('/admin').id);

const engine = new EngineServer({ pingTimeout: 20_000, cors: { origin: 'https://app.example.com' } });
engine.attach(httpServer);
engine.on('connection', (session) => session.on('message', (data) => session.send(data)));

const wss = new WebSocketServer({ port: 0, perMessageDeflate: true, maxPayload: 1 << 20 });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
const ws = new WebSocket('ws://localhost:8080', ['chat'], { handshakeTimeout: 1000 });
ws.onmessage = (event) => console.log(event.data);
for (const peer of wss.clients) peer.sendPrepared(prepareMessage('tick'));
createWebSocketStream(ws, { encoding: 'utf8' }).pipe(process.stdout);

export function onAdapterError(error: unknown): string | undefined {
  return error instanceof RedisAdapterError ? error.code : undefined;
}
