import { describe } from "node:test";
import { redisSkip } from '../shared/redis.js';
import { clusterBehaviour } from './behaviour.js';

const skip = await redisSkip();

for (const adapter of ['pubsub', 'sharded'] as const) {
  describe(`${adapter} adapter: three nodes sharing one Redis`, { skip }, () => {
    clusterBehaviour(adapter);
  });
}
