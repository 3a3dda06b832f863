import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'switchboard/websocket';

const wss = new WebSocketServer({ port: 0 });
await once(wss, 'listening');
wss.on('connection', (ws) => ws.on('message', (data) => ws.send(String(data).toUpperCase())));

const ws = new WebSocket(`ws://localhost:${(wss.address() as AddressInfo).port}`);
const duplex = createWebSocketStream(ws, { encoding: 'utf8' });
duplex.write('piped'); // held until the connection is open
const [chunk] = await once(duplex, 'data');
console.log(chunk); // → PIPED
duplex.end(); // closing handshake
await once(duplex, 'close');
await new Promise((resolve) => wss.close(resolve));
