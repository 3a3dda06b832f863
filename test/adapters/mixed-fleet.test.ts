// A fleet in the middle of a migration: real socket.io 4 nodes with @socket.io/redis-adapter and
// switchboard nodes with createAdapter(..., { format: 'socket.io' }) on one Redis, clients on
// every node, every cross-node operation started from each side (behaviour.ts).
import { describe } from 'node:test';
import { redisSkip } from '../shared/redis.js';
import { clusterBehaviour } from './behaviour.js';

const skip = await redisSkip();

for (const fleet of ['mixed:switchboard-first', 'mixed:socket.io-first'] as const) {
  describe(`${fleet}: socket.io and switchboard nodes sharing one Redis`, { skip }, () => {
    clusterBehaviour(fleet);
  });
}
