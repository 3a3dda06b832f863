// Server-side conformance, case by case after the Autobahn fuzzing client: a raw TCP peer sends
// exact bytes (chopped, fragmented, malformed) and checks what our server answers on the wire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawClient, delay, startServer } from './helpers.js';
import {
  OPCODE_BINARY as BIN,
  OPCODE_CLOSE as CLOSE,
  OPCODE_CONTINUATION as CONT,
  OPCODE_PING as PING,
  OPCODE_PONG as PONG,
  OPCODE_TEXT as TEXT,
} from '../../src/protocol/ws-frame.js';
import type { TestContext } from 'node:test';

async function echoServer(t: TestContext, maxPayload = 16 << 20) {
  const { wss, port } = await startServer(t, { maxPayload });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary })));
  const connect = async () => {
    const client = await RawClient.connect(port);
    t.after(() => client.destroy());
    return client;
  };
  return { wss, port, connect };
}

const closePayload = (code: number, reason = ''): Buffer => {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code);
  b.write(reason, 2);
  return b;
};

/** The fuzzer closes cleanly: the server must answer with `expected` and close TCP first. */
async function closeCleanly(client: RawClient, code = 1000, expected: number = code): Promise<void> {
  client.sendFrame(CLOSE, closePayload(code));
  await client.until(() => client.events.some((e) => e[0] === 'close'), 'close frame');
  assert.deepEqual(client.events.at(-1), ['close', expected, '']);
  await client.untilClosed();
}

/** The server must fail the connection with `code` and close TCP, sending nothing else. */
async function expectFailure(client: RawClient, code: number, before: unknown[] = []): Promise<void> {
  await client.until(() => client.events.some((e) => e[0] === 'close'), 'close frame');
  assert.deepEqual(client.events, [...before, ['close', code, '']]);
  await client.untilClosed();
}

test('1.x framing: echo of text and binary at every length boundary, also in 997-byte chops', async (t) => {
  const { connect } = await echoServer(t);
  const client = await connect();
  const expected: unknown[] = [];
  for (const n of [0, 125, 126, 127, 128, 65535, 65536]) {
    for (const chop of [0, 997]) {
      client.sendFrame(TEXT, '*'.repeat(n), { chop });
      client.sendFrame(BIN, Buffer.alloc(n, 0xfe), { chop });
      expected.push(['message', false, '*'.repeat(n)], ['message', true, 'fe'.repeat(n)]);
    }
  }
  await client.until(() => client.events.length === expected.length, 'echoes');
  assert.deepEqual(client.events, expected);
  await closeCleanly(client);
});

test('2.x pings: pongs with the same payload, in order, also in 1-byte chops', async (t) => {
  const { connect } = await echoServer(t);
  const client = await connect();
  client.sendFrame(PING, '');
  client.sendFrame(PING, 'Hello, world!');
  client.sendFrame(PING, Buffer.alloc(125, 0x41), { chop: 1 });
  client.sendFrame(PONG, 'unsolicited'); // 2.7-2.9: no answer to a pong
  for (let i = 0; i < 10; i++) client.sendFrame(PING, `payload-${i}`, { chop: i % 2 });
  await client.until(() => client.events.length === 13, 'pongs');
  assert.deepEqual(client.events, [
    ['pong', ''],
    ['pong', 'Hello, world!'],
    ['pong', 'A'.repeat(125)],
    ...Array.from({ length: 10 }, (_, i) => ['pong', `payload-${i}`]),
  ]);
  await closeCleanly(client);
});

test('2.5 a 126-byte ping fails with 1002', async (t) => {
  const client = await (await echoServer(t)).connect();
  client.sendFrame(PING, Buffer.alloc(126));
  await expectFailure(client, 1002);
});

for (const [name, send, before] of [
  ['3.1 RSV1 without extension', (c: RawClient) => c.sendFrame(TEXT, 'Hello, world!', { rsv: 4 }), []],
  ['3.2 text, text with RSV2, ping: echo of the first only', (c: RawClient) => {
    c.sendFrame(TEXT, 'Hello, world!');
    c.sendFrame(TEXT, 'Hello, world!', { rsv: 2 });
    c.sendFrame(PING, '');
  }, [['message', false, 'Hello, world!']]],
  ['3.4 RSV4 in 1-byte chops', (c: RawClient) => {
    c.sendFrame(TEXT, 'Hello, world!', { chop: 1 });
    c.sendFrame(TEXT, 'Hello, world!', { rsv: 4, chop: 1 });
    c.sendFrame(PING, '', { chop: 1 });
  }, [['message', false, 'Hello, world!']]],
  ['3.7 close with RSV7', (c: RawClient) => c.sendFrame(CLOSE, '', { rsv: 7 }), []],
  ['4.1.1 opcode 3', (c: RawClient) => c.sendFrame(3, ''), []],
  ['4.1.3 text, opcode 5, ping', (c: RawClient) => {
    c.sendFrame(TEXT, 'Hello, world!');
    c.sendFrame(5, '');
    c.sendFrame(PING, '');
  }, [['message', false, 'Hello, world!']]],
  ['4.2.2 opcode 12 with payload', (c: RawClient) => c.sendFrame(12, 'reserved opcode payload'), []],
  ['5.1 fragmented ping', (c: RawClient) => {
    c.sendFrame(PING, 'fragment1', { fin: false });
    c.sendFrame(CONT, 'fragment2');
  }, []],
  ['5.9 continuation with nothing to continue', (c: RawClient) => {
    c.sendFrame(CONT, 'non-continuation payload');
    c.sendFrame(TEXT, 'Hello, world!');
  }, []],
  ['5.15 a message, then a stray continuation', (c: RawClient) => {
    c.sendFrame(TEXT, 'fragment1', { fin: false });
    c.sendFrame(CONT, 'fragment2');
    c.sendFrame(CONT, 'fragment3', { fin: false });
    c.sendFrame(TEXT, 'fragment4');
  }, [['message', false, 'fragment1fragment2']]],
  ['5.18 text inside a fragmented text', (c: RawClient) => {
    c.sendFrame(TEXT, 'fragment1', { fin: false });
    c.sendFrame(TEXT, 'fragment2');
  }, []],
  ['unmasked client frame', (c: RawClient) => c.sendFrame(TEXT, 'x', { mask: null }), []],
  ['7.3.2 close with a 1-byte payload', (c: RawClient) => c.sendFrame(CLOSE, 'a'), []],
  ['7.3.6 close with a 124-byte reason', (c: RawClient) => c.sendFrame(CLOSE, closePayload(1000, 'x'.repeat(124))), []],
] as Array<[string, (c: RawClient) => void, unknown[]]>) {
  test(`${name}: fails with 1002`, async (t) => {
    const client = await (await echoServer(t)).connect();
    send(client);
    await expectFailure(client, 1002, before);
  });
}

test('5.6-5.8 and 5.19: pongs go out before the fragmented message completes', async (t) => {
  const { connect } = await echoServer(t);
  const client = await connect();
  client.sendFrame(TEXT, 'fragment1', { fin: false });
  client.sendFrame(CONT, 'fragment2', { fin: false });
  client.sendFrame(PING, 'pongme 1!');
  await client.until(() => client.events.length === 1, 'first pong');
  assert.deepEqual(client.events, [['pong', 'pongme 1!']]);
  client.sendFrame(CONT, 'fragment3', { fin: false, chop: 1 });
  client.sendFrame(PING, 'pongme 2!', { chop: 1 });
  client.sendFrame(CONT, 'fragment4', { chop: 1 });
  await client.until(() => client.events.length === 3, 'message');
  assert.deepEqual(client.events.slice(1), [['pong', 'pongme 2!'], ['message', false, 'fragment1fragment2fragment3fragment4']]);
  await closeCleanly(client);
});

test('6.2.3 valid UTF-8 split into 1-byte frames is echoed', async (t) => {
  const client = await (await echoServer(t)).connect();
  const text = Buffer.from('Hello-µ@ßöäüàá-UTF-8!!');
  for (let i = 0; i < text.length; i++) client.sendFrame(i === 0 ? TEXT : CONT, text.subarray(i, i + 1), { fin: i === text.length - 1 });
  await client.until(() => client.events.length === 1, 'echo');
  assert.deepEqual(client.events, [['message', false, text.toString()]]);
  await closeCleanly(client);
});

const KOSME = Buffer.from('cebae1bdb9cf83cebcceb5', 'hex');
test('6.4.1 fail fast on a fragment: 1007 right after the invalid fragment (strict)', async (t) => {
  const client = await (await echoServer(t)).connect();
  client.sendFrame(TEXT, KOSME, { fin: false });
  await delay(50);
  client.sendFrame(CONT, Buffer.from('f4908080', 'hex'), { fin: false });
  await expectFailure(client, 1007);
});

test('6.4.3 / 6.4.4 fail fast inside ONE frame whose rest has not arrived (strict)', async (t) => {
  const { connect } = await echoServer(t);
  for (const split of [[KOSME.length, KOSME.length + 4], [KOSME.length + 1, KOSME.length + 2]]) {
    const client = await connect();
    const payload = Buffer.concat([KOSME, Buffer.from('f4908080', 'hex'), Buffer.from('edited')]);
    const wire = client.frame(TEXT, payload);
    const headerSize = wire.length - payload.length;
    client.send(wire.subarray(0, headerSize + split[0]!));
    await delay(50);
    assert.deepEqual(client.events, []);
    client.send(wire.subarray(headerSize + split[0]!, headerSize + split[1]!));
    // The rest of the frame is never sent: the server must fail on what it has.
    await expectFailure(client, 1007);
  }
});

test('6.x invalid UTF-8 vectors fail with 1007; non-characters are valid', async (t) => {
  const { connect } = await echoServer(t);
  for (const hex of ['eda080', 'c0af', 'f4908080', 'cebae1bdb9cf83cebcceb5eda080656469746564', 'ce']) {
    const client = await connect();
    client.sendFrame(TEXT, Buffer.from(hex, 'hex'));
    await expectFailure(client, 1007);
  }
  const client = await connect();
  client.sendFrame(TEXT, Buffer.from('efbfbef48fbfbf', 'hex'));
  await client.until(() => client.events.length === 1, 'echo');
  assert.deepEqual(client.events, [['message', false, Buffer.from('efbfbef48fbfbf', 'hex').toString()]]);
});

test('7.1.x close handshake: echo the code, ignore what follows, server closes TCP first', async (t) => {
  const { connect } = await echoServer(t);
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]) {
    const client = await connect();
    await closeCleanly(client, code);
  }
  // 7.1.3 / 7.1.4: a ping or text after the close gets no answer.
  const client = await connect();
  client.send(Buffer.concat([client.frame(CLOSE, closePayload(1000)), client.frame(PING, 'x'), client.frame(TEXT, 'y'), client.frame(CLOSE, closePayload(1000))]));
  await client.untilClosed();
  assert.deepEqual(client.events, [['close', 1000, '']]);
  // 7.3.1: an empty close is answered with an empty close (reported as 1005).
  const empty = await connect();
  empty.sendFrame(CLOSE, '');
  await empty.untilClosed();
  assert.deepEqual(empty.events, [['close', 1005, '']]);
  // 7.1.5: a close in the middle of a fragmented message is a normal close.
  const mid = await connect();
  mid.sendFrame(TEXT, 'fragment1', { fin: false });
  mid.sendFrame(CLOSE, closePayload(1000));
  mid.sendFrame(CONT, 'fragment2');
  await mid.untilClosed();
  assert.deepEqual(mid.events, [['close', 1000, '']]);
});

test('7.9.x invalid close codes fail with 1002; 7.5.1 invalid reason fails with 1007', async (t) => {
  const { connect } = await echoServer(t);
  for (const code of [0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999, 5000, 65535]) {
    const client = await connect();
    client.sendFrame(CLOSE, closePayload(code));
    await expectFailure(client, 1002);
  }
  const client = await connect();
  client.sendFrame(CLOSE, Buffer.concat([closePayload(1000), Buffer.from('cebae1bdb9cf83cebcceb5eda080656469746564', 'hex')]));
  await expectFailure(client, 1007);
});

test('7.3.5 a 123-byte close reason is accepted', async (t) => {
  const client = await (await echoServer(t)).connect();
  client.sendFrame(CLOSE, closePayload(1000, 'x'.repeat(123)));
  await client.untilClosed();
  assert.deepEqual(client.events, [['close', 1000, '']]);
});

test('9.3.x-style: a 1 MiB message in 16,384 64-byte fragments, and 10.1.1 auto-fragmented text', async (t) => {
  const client = await (await echoServer(t)).connect();
  const payload = Buffer.alloc(1 << 20, 0x2a);
  const frames: Buffer[] = [];
  for (let i = 0; i < payload.length; i += 64) {
    frames.push(client.frame(i === 0 ? TEXT : CONT, payload.subarray(i, i + 64), { fin: i + 64 >= payload.length }));
  }
  client.send(Buffer.concat(frames));
  const big = Buffer.alloc(65536, 0x2a);
  for (let i = 0; i < big.length; i += 1300) {
    client.sendFrame(i === 0 ? TEXT : CONT, big.subarray(i, i + 1300), { fin: i + 1300 >= big.length });
  }
  await client.until(() => client.events.length === 2, 'echoes', 20000);
  assert.equal((client.events[0] as ['message', boolean, string])[2].length, 1 << 20);
  assert.equal((client.events[1] as ['message', boolean, string])[2].length, 65536);
  await closeCleanly(client);
});

test('a message over maxPayload fails with 1009, single frame or fragments', async (t) => {
  const { connect } = await echoServer(t, 1000);
  const one = await connect();
  one.sendFrame(BIN, Buffer.alloc(1001));
  await expectFailure(one, 1009);
  const frag = await connect();
  frag.sendFrame(BIN, Buffer.alloc(600), { fin: false });
  frag.sendFrame(CONT, Buffer.alloc(401));
  await expectFailure(frag, 1009);
  // Announcing a huge frame is enough: nothing is buffered first.
  const announce = await connect();
  const header = Buffer.from([0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4]);
  announce.send(header);
  await expectFailure(announce, 1009);
});

test('random bytes from a connected peer never crash the server; it fails the connection or keeps going', async (t) => {
  const fc = (await import('fast-check')).default;
  const { wss, connect } = await echoServer(t, 64 * 1024);
  let serverErrors = 0;
  wss.on('connection', (ws) => ws.on('error', () => serverErrors++));
  await fc.assert(
    fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 5 }), async (chunks) => {
      const client = await connect();
      for (const chunk of chunks) client.send(chunk);
      await delay(5);
      client.destroy();
    }),
    { numRuns: 40 },
  );
  // Still serving.
  const client = await connect();
  client.sendFrame(TEXT, 'still alive');
  await client.until(() => client.events.length === 1, 'echo');
  assert.deepEqual(client.events, [['message', false, 'still alive']]);
  assert.ok(serverErrors > 0);
});
