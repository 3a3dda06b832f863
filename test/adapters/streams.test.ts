import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { redisSkip } from '../shared/redis.js';
import { clusterBehaviour } from './behaviour.js';
import { collect, connectClient, connected, deleteKeys, sleep, startNode, streamLength, uniquePrefix, until, type ServerNode } from './helpers.js';

const skip = await redisSkip();

describe('streams adapter: three nodes sharing one Redis', { skip }, () => {
  clusterBehaviour('streams');
});

describe('streams adapter: connection state recovery across nodes', { skip }, () => {
  const nodes: ServerNode[] = [];
  const prefixes: string[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    for (const p of prefixes) await deleteKeys(p);
  });

  test('a client that reconnects to another node gets its session and the broadcasts it missed', async () => {
    const prefix = uniquePrefix('csr');
    prefixes.push(prefix);
    nodes.push(...(await Promise.all(['A', 'B', 'C'].map((name) => startNode({ name, adapter: 'streams', prefix, recovery: true })))));
    await until(async () => (await nodes[0]!.call('serverCount')) === 3, 'nodes to see each other');

    const client = await connected(connectClient(nodes[0]!.port, { auth: { tag: 'csr' } }));
    const onA = client.id!;
    await client.emitWithAck('join', 'news');
    const news = collect(client, 'news');
    await nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: ['before'] });
    await until(() => news.length === 1, 'first broadcast');
    assert.equal(news[0]![0], 'before');
    assert.match(String(news[0]![1]), /^\d+-\d+$/, 'the offset is the stream entry id');

    // Cut the transport (not a namespace disconnect), so the server keeps the session.
    const dropped = new Promise((resolve) => client.once('disconnect', resolve));
    client.io.engine.close(); // the server sees "transport close": a recoverable reason
    await dropped;
    await until(async () => !(await nodes[0]!.call<string[]>('localSockets')).includes(onA), 'A to drop the socket');

    // Broadcasts while the client is away: to its room, to all, to another room (not for it), from several nodes.
    // Emits are fire-and-forget, and the stream orders entries by arrival: wait for missed-1 to be
    // appended before another node emits, so the expected order is the stream's order.
    const stream = `${prefix}-stream`;
    const appended = await streamLength(stream);
    await nodes[1]!.call('broadcast', { event: 'news', rooms: ['news'], args: ['missed-1'] });
    await until(async () => (await streamLength(stream)) > appended, 'missed-1 to reach the stream');
    await nodes[2]!.call('broadcast', { event: 'news', args: ['missed-2'] });
    await nodes[0]!.call('broadcast', { event: 'news', rooms: ['other'], args: ['not-for-you'] });
    await nodes[1]!.call('remote', { id: onA, op: 'emit', event: 'news', args: ['gone'] }).catch(() => {});
    await nodes[2]!.call('broadcast', { event: 'news', rooms: [onA], args: ['missed-3'] });

    // Reconnect to node C.
    (client.io as unknown as { uri: string }).uri = `http://127.0.0.1:${nodes[2]!.port}`;
    client.connect();
    await connected(client);
    assert.equal(client.recovered, true, 'session recovered');
    assert.equal(client.id, onA, 'same socket id');
    await until(() => news.length >= 4, 'missed broadcasts');
    await sleep(100);
    assert.deepEqual(news.map((n) => n[0]), ['before', 'missed-1', 'missed-2', 'missed-3']);

    // Rooms and data came along.
    assert.ok((await client.emitWithAck('rooms')).includes('news'));
    const sockets = await nodes[1]!.call<{ id: string; data: { node: string; tag: string } }[]>('fetchSockets', { rooms: ['news'] });
    assert.deepEqual(sockets, [{ id: onA, rooms: [onA, 'news'].sort(), data: { node: 'A', tag: 'csr' } }]);
    await nodes[0]!.call('broadcast', { event: 'news', rooms: ['news'], args: ['after'] });
    await until(() => news.length === 5, 'broadcast after recovery');

    // A second recovery starts from the newest offset (not the first one).
    client.io.engine.close();
    await until(async () => !(await nodes[2]!.call<string[]>('localSockets')).includes(onA), 'C to drop the socket');
    await nodes[0]!.call('broadcast', { event: 'news', args: ['missed-4'] });
    (client.io as unknown as { uri: string }).uri = `http://127.0.0.1:${nodes[1]!.port}`;
    client.connect();
    await connected(client);
    assert.equal(client.recovered, true);
    await until(() => news.length === 6, 'second recovery');
    assert.deepEqual(news.slice(4).map((n) => n[0]), ['after', 'missed-4']);
    client.disconnect();

    // An unknown session or offset means a fresh session, not an error.
    const stranger = connectClient(nodes[0]!.port);
    (stranger as unknown as { _pid: string; _lastOffset: string })._pid = 'nope';
    (stranger as unknown as { _pid: string; _lastOffset: string })._lastOffset = '1-0';
    await connected(stranger);
    assert.equal(stranger.recovered, false);
    stranger.disconnect();
  });

  test('a client that received no broadcast (so has no offset) is recovered on another node too', async () => {
    const prefix = uniquePrefix('csr-quiet');
    prefixes.push(prefix);
    const [a, b] = await Promise.all(['A', 'B'].map((name) => startNode({ name, adapter: 'streams', prefix, recovery: true })));
    nodes.push(a!, b!);
    await until(async () => (await a!.call('serverCount')) === 2, 'nodes to see each other');
    await a!.call('broadcast', { event: 'news', args: ['before it connected'] }); // the stream is not empty

    const client = await connected(connectClient(a!.port));
    const id = client.id!;
    await client.emitWithAck('join', 'quiet');
    const news = collect(client, 'news');
    client.io.engine.close();
    await until(async () => !(await a!.call<string[]>('localSockets')).includes(id), 'A to drop the socket');
    await b!.call('broadcast', { event: 'news', rooms: ['quiet'], args: ['missed'] });

    (client.io as unknown as { uri: string }).uri = `http://127.0.0.1:${b!.port}`;
    client.connect();
    await connected(client);
    assert.equal(client.recovered, true, 'recovered without an offset');
    assert.equal(client.id, id);
    await until(() => news.length === 1, 'the missed broadcast');
    await sleep(100);
    assert.deepEqual(news.map((n) => n[0]), ['missed'], 'nothing from before it connected');
    assert.ok((await client.emitWithAck('rooms')).includes('quiet'));
    client.disconnect();
  });

  test('the stream length stays bounded by maxLen', async () => {
    const prefix = uniquePrefix('maxlen');
    prefixes.push(prefix);
    const node = await startNode({ name: 'M', adapter: 'streams', prefix, adapterOptions: { maxLen: 50 } });
    nodes.push(node);
    await node.call('series', { event: 'tick', count: 600, interval: 0 });
    const length = await node.call<number>('redis', { command: ['XLEN', `${prefix}-stream`] });
    // MAXLEN ~ trims whole radix-tree nodes (100 entries by default): the bound is approximate.
    assert.ok(length >= 50 && length <= 50 + 100, `stream length ${length}`);
  });
});
