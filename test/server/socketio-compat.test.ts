// Behaviours an application moving from socket.io observes unchanged: each test states what
// socket.io documents or does on the wire, with the real socket.io-client where a client is needed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { delay, once, setup, until } from './helpers.js';
import { request } from '../engine/helpers.js';
import { Server, type Socket } from '../../src/server/index.js';

describe('decoding errors', () => {
  for (const [name, text] of [['a bad attachment count', '5woooot'], ['an empty binary packet', '5']] as const) {
    test(`${name} is refused with socket.io's "Illegal attachments" message`, async (t) => {
      const h = await setup(t);
      const c = h.client();
      const [socket] = await once<[Socket]>(h.io, 'connection');
      await once(c, 'connect');
      const error = once<[Error]>(socket, 'error');
      const disconnected = once<[string]>(socket, 'disconnect');
      (c.io.engine as unknown as { write(data: string): void }).write(text);
      const [err] = await error;
      assert.match(err.message, /Illegal attachments/);
      assert.equal((await disconnected)[0], 'parse error');
    });
  }
});

describe('io.close()', () => {
  test('passes ERR_SERVER_NOT_RUNNING to the callback when the HTTP server never listened, and resolves', async () => {
    const io = new Server(createServer());
    const err = await new Promise<(Error & { code?: string }) | undefined>((resolve) => void io.close(resolve));
    assert.equal(err?.code, 'ERR_SERVER_NOT_RUNNING');
    await io.close(); // the Promise form does not reject
  });

  test('passes no error when it closed a listening server', async () => {
    const httpServer = createServer();
    const io = new Server(httpServer);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    const err = await new Promise<Error | undefined>((resolve) => void io.close(resolve));
    assert.equal(err, undefined);
    assert.equal(httpServer.listening, false);
  });
});
