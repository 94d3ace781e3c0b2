import { z } from 'zod';
import { defineSandboxTool, type ToolDefinition } from './tool.js';

const sandboxCacheStats = defineSandboxTool({
  name: 'sandbox_cache_stats',
  title: 'Cache statistics',
  description: (backend) =>
    backend === 'local' ? "Size, hits and misses of the sandbox's Go build cache." : "Size, hits and misses of the sandbox agent's execution cache.",
  toolset: 'cache',
  kind: 'read',
  input: z.strictObject({}),
  output: z.object({ sandbox_id: z.string(), size: z.number().nullable(), hits: z.number().nullable(), misses: z.number().nullable(), hit_rate: z.number().nullable() }),
  async handle(ctx) {
    const s = await ctx.agent.cacheStats(ctx.call);
    const v = { sandbox_id: ctx.sandboxId, size: s.size, hits: s.hits, misses: s.misses, hit_rate: s.hitRate };
    return { text: `Cache of sandbox ${ctx.sandboxId}: size ${s.size ?? '?'}, hits ${s.hits ?? '?'}, misses ${s.misses ?? '?'}, hit rate ${s.hitRate ?? '?'}.`, structured: v };
  },
});

const sandboxCacheClear = defineSandboxTool({
  name: 'sandbox_cache_clear',
  title: 'Clear cache',
  description: (backend) =>
    `Empty ${backend === 'local' ? "the sandbox's Go build cache" : "the sandbox agent's execution cache"}; files and variables are not touched.`,
  toolset: 'cache',
  kind: 'write',
  idempotent: true,
  confirmation: true,
  input: z.strictObject({}),
  output: z.object({ sandbox_id: z.string(), entries_removed: z.number().nullable(), message: z.string().nullable() }),
  async handle(ctx) {
    const r = await ctx.agent.clearCache(ctx.call);
    return {
      text: `Cleared the cache of sandbox ${ctx.sandboxId}${r.entriesRemoved !== null ? ` (${r.entriesRemoved} entries removed)` : ''}.`,
      structured: { sandbox_id: ctx.sandboxId, entries_removed: r.entriesRemoved, message: r.message },
    };
  },
});

const tools: ToolDefinition[] = [sandboxCacheStats, sandboxCacheClear];
export default tools;
