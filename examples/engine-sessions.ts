import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Engine } from 'switchboard/client';
import { EngineServer } from 'switchboard/engine';

const httpServer = createServer();
const engine = new EngineServer(); // answers under /engine.io/
engine.attach(httpServer);
engine.on('connection', (session) => {
  session.on('message', (data) => session.send(typeof data === 'string' ? data.toUpperCase() : data));
});
httpServer.listen(0);
await once(httpServer, 'listening');

const client = new Engine(`http://localhost:${(httpServer.address() as AddressInfo).port}`, { path: '/engine.io' });
client.on('open', () => client.write('hello'));
const reply = await new Promise((resolve) => client.on('message', resolve));
console.log(reply); // → HELLO

client.close();
engine.close();
httpServer.close();
