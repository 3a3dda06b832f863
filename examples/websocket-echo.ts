import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, prepareMessage } from 'switchboard/websocket';

const wss = new WebSocketServer({ port: 0 });
await once(wss, 'listening');
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })); // echo
});

const ws = new WebSocket(`ws://localhost:${(wss.address() as AddressInfo).port}`);
await once(ws, 'open');
ws.send('hello');
const [echo] = await once(ws, 'message');
console.log(String(echo)); // → hello

// A broadcast: frame once, write the same bytes to every client.
const tick = prepareMessage(JSON.stringify({ tick: 1 }));
for (const client of wss.clients) client.sendPrepared(tick);
const [update] = await once(ws, 'message');
assert.deepEqual(JSON.parse(String(update)), { tick: 1 });

ws.close(1000, 'bye');
const [code] = await once(ws, 'close');
console.log(code); // → 1000
await new Promise((resolve) => wss.close(resolve));
