// One server node of the no-sticky benchmark (started by bench/no-sticky.mjs). Answers `echo` with
// an acknowledgement. IMPL picks the server:
// - switchboard (default): the Redis pub/sub adapter, and with ROUTER=1 the Redis session router
//   so that any node serves any session;
// - socket.io: socket.io 4 with @socket.io/redis-adapter, and with ROUTER=1 the engine of
//   @socket.io/cluster-engine (RedisEngine), socket.io's way to run without sticky sessions.
// BENCH_FROM_SRC=1 (started with --import tsx): ours from src/ instead of dist/.
import http from 'node:http';
import { createClient } from 'redis';

const prefix = process.env.PREFIX;
const router = process.env.ROUTER === '1';
const pub = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const sub = pub.duplicate();
pub.on('error', () => {});
sub.on('error', () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
// Same engine settings for both: polling only, no heartbeat during the window.
const engineOptions = { transports: ['polling'], pingInterval: 120_000, pingTimeout: 120_000 };
let io;
if (process.env.IMPL === 'socket.io') {
  const { Server } = await import('socket.io');
  const { createAdapter } = await import('@socket.io/redis-adapter');
  if (router) {
    const { RedisEngine } = await import('@socket.io/cluster-engine');
    // Its own pair of clients: it subscribes to channels of its own on the subscriber.
    const [enginePub, engineSub] = [pub.duplicate(), sub.duplicate()];
    for (const c of [enginePub, engineSub]) c.on('error', () => {});
    await Promise.all([enginePub.connect(), engineSub.connect()]);
    const engine = new RedisEngine(enginePub, engineSub, { ...engineOptions, channelPrefix: `${prefix}-engine` });
    engine.attach(httpServer, { path: '/socket.io/' });
    io = new Server({ adapter: createAdapter(pub, sub, { key: prefix }) });
    io.bind(engine);
  } else {
    io = new Server(httpServer, { ...engineOptions, adapter: createAdapter(pub, sub, { key: prefix }) });
  }
} else {
  const ours = async (name) => import(process.env.BENCH_FROM_SRC ? `../src/${name}.ts` : `../dist/esm/${name}.js`);
  const { Server } = await ours('server/index');
  const { createAdapter, createSessionRouter } = await ours('adapters/redis/index');
  io = new Server(httpServer, {
    ...engineOptions,
    adapter: createAdapter(pub, sub, { key: prefix }),
    sessionRouter: router ? createSessionRouter(pub, { key: prefix }) : undefined,
  });
}
io.on('connection', (socket) => {
  socket.on('echo', (payload, ack) => ack(payload));
});
process.on('disconnect', () => process.exit(0));
httpServer.listen(0, '127.0.0.1', () => process.send({ ready: true, port: httpServer.address().port }));
