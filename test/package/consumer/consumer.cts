// The CommonJS side of consumer.ts: `require` through the package's "require" conditions, whose
// declarations must be CommonJS ones (module node16 refuses ES module types here: TS1479).
import http = require('node:http');
import net = require('node:net');
import switchboard = require('switchboard');
import redisAdapters = require('switchboard/adapters/redis');
import client = require('switchboard/client');
import cluster = require('switchboard/cluster');
import engine = require('switchboard/engine');
import websocket = require('switchboard/websocket');

interface ClientToServer {
  hello: (name: string, ack: (reply: string) => void) => void;
}

const httpServer = http.createServer();
const server = new switchboard.Server<ClientToServer>(httpServer, { cors: { origin: 'https://app.example.com' } });
server.on('connection', (socket) => socket.on('hello', (name, ack) => ack(`hello, ${name}`)));
cluster.setupWorker(httpServer, server);
cluster.setupPrimary(net.createServer(), { loadBalancing: 'round-robin' });

const socket = client.io('http://localhost:3000', { transports: ['polling', 'websocket'] });
socket.timeout(1000).emit('hello', 'ada', (err: Error | null, reply: string) => console.log(err ?? reply));

new engine.EngineServer().attach(httpServer);
const wss = new websocket.WebSocketServer({ noServer: true });
wss.on('connection', (ws) => ws.send('hi'));

wss.on('error', (error) => console.log(error instanceof redisAdapters.RedisAdapterError));
