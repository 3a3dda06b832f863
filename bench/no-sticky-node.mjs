// One server node of the no-sticky benchmark (started by bench/no-sticky.mjs): a switchboard
// Server with the Redis pub/sub adapter, and with ROUTER=1 the Redis session router so that any
// node serves any session. Answers `echo` with an acknowledgement.
// BENCH_FROM_SRC=1 (started with --import tsx): ours from src/ instead of dist/.
import http from 'node:http';
import { createClient } from 'redis';

const ours = async (name) => import(process.env.BENCH_FROM_SRC ? `../src/${name}.ts` : `../dist/esm/${name}.js`);
const { Server } = await ours('server/index');
const { createAdapter, createSessionRouter } = await ours('adapters/redis/index');

const prefix = process.env.PREFIX;
const pub = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
const sub = pub.duplicate();
pub.on('error', () => {});
sub.on('error', () => {});
await Promise.all([pub.connect(), sub.connect()]);

const httpServer = http.createServer();
const io = new Server(httpServer, {
  adapter: createAdapter(pub, sub, { key: prefix }),
  sessionRouter: process.env.ROUTER === '1' ? createSessionRouter(pub, { key: prefix }) : undefined,
  transports: ['polling'],
  pingInterval: 120_000,
  pingTimeout: 120_000,
});
io.on('connection', (socket) => {
  socket.on('echo', (payload, ack) => ack(payload));
});
process.on('disconnect', () => process.exit(0));
httpServer.listen(0, '127.0.0.1', () => process.send({ ready: true, port: httpServer.address().port }));
