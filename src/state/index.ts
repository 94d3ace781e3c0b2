/**
 * Opens the state store the configuration names: memory (default) or Redis (`redis://…`,
 * `rediss://…`). See types.ts for what lives there.
 */
import type { Logger } from '../log.js';
import { MemoryStateStore } from './memory.js';
import type { StateStore } from './types.js';

export { MemoryStateStore } from './memory.js';
export { StateUnavailableError, type AttachedSandbox, type ConversationMeta, type ConversationRecord, type SandboxOrigin, type StateStore, type TokenTake } from './types.js';

export async function openStateStore(url: string | undefined, logger: Logger, options: { prefix?: string } = {}): Promise<StateStore> {
  if (!url || url === 'memory') return new MemoryStateStore();
  // Loaded only when used: one-process setups never load ioredis.
  const { RedisStateStore } = await import('./redis.js');
  return RedisStateStore.open({ url, logger, prefix: options.prefix });
}
