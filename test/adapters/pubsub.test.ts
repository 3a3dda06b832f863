import { describe } from "node:test";
import { clusterBehaviour } from './behaviour.js';

for (const adapter of ['pubsub', 'sharded'] as const) {
  describe(`${adapter} adapter: three nodes sharing one Redis`, () => {
    clusterBehaviour(adapter);
  });
}
