// The one place the hub picks its adapters: ours (src/adapters/redis, switchboard/cluster). Loaded
// lazily: only `--adapter redis|redis-streams|cluster` needs them (redis: and the optional `redis` package).
import type { AdapterConstructor } from '../server/index.js';

export type AdapterFactory = AdapterConstructor;

export async function pubSubAdapter(pub: unknown, sub: unknown): Promise<AdapterFactory> {
  const { createAdapter } = await import('../adapters/redis/index.js');
  return createAdapter(pub as never, sub as never, { key: 'switchboard-hub' });
}

export async function streamsAdapter(client: unknown): Promise<AdapterFactory> {
  const { createStreamsAdapter } = await import('../adapters/redis/index.js');
  return createStreamsAdapter(client as never, { streamName: 'switchboard-hub' });
}

/** node:cluster IPC between the workers of `serve --workers` (switchboard/cluster). */
export async function clusterAdapter(): Promise<AdapterFactory> {
  const { createAdapter } = await import('../adapters/cluster.js');
  return createAdapter();
}
