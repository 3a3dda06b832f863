// The `parser` option: a socket.io-compatible custom parser (socket.io-msgpack-parser here), with
// the official socket.io-client using the same parser, over every transport. Packets the parser
// decodes are still checked like ours: a hostile one closes only that connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as msgpackParser from 'socket.io-msgpack-parser';
import { encode } from 'notepack.io';
import { WebSocket } from 'ws';
import { once, setup, TRANSPORT_MODES, type TransportMode } from './helpers.js';
import type { ParserModule } from '../../src/server/index.js';

const parser: ParserModule = msgpackParser; // assignable as the package declares itself

for (const mode of Object.keys(TRANSPORT_MODES) as TransportMode[]) {
  test(`msgpack parser (${mode}): events, acks, binary and rooms with socket.io-client`, async (t) => {
    const h = await setup(t, { parser }, mode);
    h.io.on('connection', (socket) => {
      socket.join('room');
      socket.on('echo', (data: unknown, ack: (reply: unknown) => void) => ack(data));
      socket.on('shout', (text: string) => h.io.to('room').emit('heard', text.toUpperCase(), Buffer.from([1, 2])));
    });
    const a = h.client('/', { parser: msgpackParser as never });
    const b = h.client('/', { parser: msgpackParser as never });
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);

    const payload = { n: 42, list: ['x', null, true], bytes: Buffer.from([9, 8, 7]), nested: { f: 1.5 } };
    const reply = await a.timeout(3000).emitWithAck('echo', payload);
    assert.deepEqual(reply.n, 42);
    assert.deepEqual(reply.list, ['x', null, true]);
    assert.deepEqual([...reply.bytes], [9, 8, 7]);
    assert.deepEqual(reply.nested, { f: 1.5 });

    const heard = once(b, 'heard');
    a.emit('shout', 'hi');
    const [text, bytes] = await heard;
    assert.equal(text, 'HI');
    assert.deepEqual([...bytes], [1, 2]);

    // Acks the other way: a broadcast collecting every client's answer.
    for (const c of [a, b]) c.on('ping?', (ack: (reply: string) => void) => ack('pong'));
    assert.deepEqual(await h.io.timeout(3000).emitWithAck('ping?'), ['pong', 'pong']);
  });
}

test('msgpack parser: a packet that breaks the protocol closes only its connection', async (t) => {
  const h = await setup(t, { parser });
  const good = h.client('/', { parser: msgpackParser as never });
  await once(good, 'connect');
  const errors: string[] = [];
  h.io.on('connection', (socket) => socket.on('error', (e: Error) => errors.push(e.message)));

  const raw = new WebSocket(`ws://127.0.0.1:${h.port}/socket.io/?EIO=4&transport=websocket`);
  t.after(() => raw.terminate());
  await once(raw, 'message'); // Engine.IO open
  raw.send(encode({ type: 0, nsp: '/' })); // CONNECT
  await once(raw, 'message'); // CONNECT reply
  raw.send(encode({ type: 2, nsp: '/', data: ['disconnect'] })); // a reserved event name
  const [code] = (await once(raw, 'close')) as [number];
  assert.ok(code === 1000 || code === 1005, `closed (${code})`);
  assert.equal(errors.length, 1);
  assert.match(errors[0]!, /invalid payload/);
  assert.equal(good.connected, true);
  assert.deepEqual(await good.timeout(2000).emitWithAck('missing').catch((e: Error) => e.message), 'operation has timed out');
});

test('createCodec: a single encoded part is wrapped; parser errors, extra packets and bad packets are typed decode errors', async () => {
  const { createCodec } = await import('../../src/protocol/codec.js');
  const { SocketIODecodeError } = await import('../../src/protocol/socketio.js');
  class Encoder {
    encode(packet: unknown) {
      return JSON.stringify(packet);
    }
  }
  class Decoder {
    private listener: (packet: unknown) => void = () => {};
    on(_event: 'decoded', listener: (packet: unknown) => void) {
      this.listener = listener;
    }
    add(chunk: string) {
      if (chunk === 'boom') throw new Error('cannot parse');
      for (const packet of JSON.parse(chunk) as unknown[]) this.listener(packet);
    }
  }
  const codec = createCodec({ Encoder, Decoder }, { maxAttachments: 10, maxDepth: 3 });
  assert.deepEqual(codec.encode({ type: 2, nsp: '/', data: ['a'] }), ['{"type":2,"nsp":"/","data":["a"]}']);
  const decoder = codec.createDecoder();
  assert.equal(decoder.add('[]'), null, 'nothing decoded yet');
  assert.deepEqual(decoder.add('[{"type":2,"nsp":"/","data":["a",1],"extra":true}]'), { type: 2, nsp: '/', data: ['a', 1] });
  assert.throws(() => decoder.add('boom'), (e: unknown) => e instanceof SocketIODecodeError && /cannot parse/.test(e.message));
  assert.throws(() => decoder.add('[{"type":2,"nsp":"/","data":["a"]},{"type":2,"nsp":"/","data":["b"]}]'), /more than one packet/);
  assert.throws(() => decoder.add('[{"type":3,"nsp":"/","data":[]}]'), { code: 'INVALID_ACK_ID' });
  assert.throws(() => decoder.add('[{"type":2,"nsp":"chat","data":["a"]}]'), { code: 'INVALID_PAYLOAD' });
  assert.deepEqual(decoder.add('[{"type":2,"nsp":"/","data":["a",[{"b":1}]]}]'), { type: 2, nsp: '/', data: ['a', [{ b: 1 }]] });
  assert.throws(() => decoder.add('[{"type":2,"nsp":"/","data":["a",[{"b":[]}]]}]'), { code: 'TOO_DEEP' });
});
