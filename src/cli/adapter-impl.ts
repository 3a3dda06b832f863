// The one place the hub picks its Redis adapters: ours (src/adapters/redis). Loaded lazily: only
// `--adapter redis|redis-streams` needs it (and the optional `redis` package).
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
