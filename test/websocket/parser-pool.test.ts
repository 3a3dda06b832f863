// Connections share frame parsers: one holds a parser only while bytes are in flight and gives it
// back between frames. What one connection has half received must never reach another, and a
// parser that served a connection must parse the next one from a clean start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OPCODE_CONTINUATION, OPCODE_PING, OPCODE_TEXT } from '../../src/protocol/ws-frame.js';
import { RawClient, startServer } from './helpers.js';

test('connections with frames, headers and messages half received keep them apart', async (t) => {
  const { wss, port } = await startServer(t);
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  const [a, b, c] = await Promise.all([RawClient.connect(port), RawClient.connect(port), RawClient.connect(port)]);
  t.after(() => {
    for (const client of [a, b, c]) client.socket.destroy();
  });
  const messages = (client: RawClient): string[] => client.events.filter((e) => e[0] === 'message').map((e) => e[2] as string);
  const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 30));

  const whole = a.frame(OPCODE_TEXT, 'from a, whole');
  a.send(whole.subarray(0, 1)); // half a header
  const split = b.frame(OPCODE_TEXT, 'from b, split in its payload');
  b.send(split.subarray(0, 10));
  c.sendFrame(OPCODE_TEXT, 'from c, first', { fin: false }); // a fragmented message begins
  await settle();
  c.sendFrame(OPCODE_PING, 'between'); // a control frame in the middle of it
  a.send(whole.subarray(1));
  b.send(split.subarray(10));
  await settle();
  c.sendFrame(OPCODE_CONTINUATION, ', last');
  const d = await RawClient.connect(port);
  t.after(() => d.socket.destroy());
  d.sendFrame(OPCODE_TEXT, 'from d');

  await a.until(() => messages(a).length === 1, 'a echo');
  await c.until(() => messages(c).length === 1, 'c echo');
  await d.until(() => messages(d).length === 1, 'd echo');
  await b.until(() => messages(b).length === 1, 'b echo');
  assert.deepEqual(messages(a), ['from a, whole']);
  assert.deepEqual(messages(c), ['from c, first, last']);
  assert.deepEqual(messages(d), ['from d']);
  assert.deepEqual(messages(b), ['from b, split in its payload']);
  assert.ok(c.events.some((e) => e[0] === 'pong' && e[1] === 'between'));
});

test('a connection paused between messages keeps its state and resumes where it was', async (t) => {
  const { wss, port } = await startServer(t);
  const received: string[] = [];
  wss.on('connection', (ws) => ws.on('message', (data) => received.push(String(data))));
  const a = await RawClient.connect(port);
  const [serverA] = [...wss.clients];
  const b = await RawClient.connect(port);
  t.after(() => {
    a.socket.destroy();
    b.socket.destroy();
  });
  serverA!.pause();
  a.sendFrame(OPCODE_TEXT, 'a1');
  b.sendFrame(OPCODE_TEXT, 'b1');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(received, ['b1']);
  serverA!.resume();
  a.sendFrame(OPCODE_TEXT, 'a2');
  const deadline = Date.now() + 5000;
  while (received.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(received, ['b1', 'a1', 'a2']);
});
