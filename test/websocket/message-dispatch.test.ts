// How 'message' reaches listeners: a lone listener is called directly (not through emit()), which
// must stay invisible: an overridden emit() still sees every message, and with captureRejections a
// listener's rejected promise still becomes an 'error' event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import { WebSocket } from '../../src/websocket/index.js';
import { startServer } from './helpers.js';

test('an overridden emit() sees every message', async (t) => {
  const { wss, url } = await startServer(t);
  wss.on('connection', (ws) => ws.send('hello'));
  const seen: string[] = [];
  class Spy extends WebSocket {
    override emit(event: string | symbol, ...args: any[]): boolean {
      if (event === 'message') seen.push(String(args[0]));
      return super.emit(event, ...args);
    }
  }
  const client = new Spy(url);
  t.after(() => client.terminate());
  const [data] = (await once(client, 'message')) as [Buffer];
  assert.equal(data.toString(), 'hello');
  assert.deepEqual(seen, ['hello']);
});

test('with captureRejections, a message listener that rejects emits error', async (t) => {
  const { wss, url } = await startServer(t);
  wss.on('connection', (ws) => ws.send('hello'));
  const previous = EventEmitter.captureRejections;
  EventEmitter.captureRejections = true;
  let client: WebSocket;
  try {
    client = new WebSocket(url);
  } finally {
    EventEmitter.captureRejections = previous;
  }
  t.after(() => client.terminate());
  client.on('message', async () => {
    throw new Error('listener failed');
  });
  const [error] = (await once(client, 'error')) as [Error];
  assert.equal(error.message, 'listener failed');
});
