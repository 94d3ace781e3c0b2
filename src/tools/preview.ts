import { z } from 'zod';
import { defineSandboxTool, type ToolDefinition } from './tool.js';

const sandboxGetPreviewUrl = defineSandboxTool({
  name: 'sandbox_get_preview_url',
  title: 'Get preview URL',
  description:
    'Get the URL at which a port of the remote sandbox can be reached, e.g. a web server started in the background. ' +
    'The server must listen on 0.0.0.0, not 127.0.0.1. On HopX cloud the URL is public: anyone with it can open it.',
  toolset: 'preview',
  kind: 'read',
  idempotent: true,
  input: z.strictObject({
    port: z.number().int().min(1).max(65_535).describe('Port the server listens on inside the sandbox, e.g. 8000.'),
  }),
  output: z.object({ sandbox_id: z.string(), port: z.number(), url: z.string() }),
  async handle(ctx, args) {
    const url = await ctx.agent.previewUrl(args.port, ctx.call);
    const note = ctx.conversation.backend === 'local' ? ' (local backend: reachable from this machine only)' : ' (public URL, no authentication)';
    return { text: `Port ${args.port} of sandbox ${ctx.sandboxId}: ${url}${note}`, structured: { sandbox_id: ctx.sandboxId, port: args.port, url } };
  },
});

const tools: ToolDefinition[] = [sandboxGetPreviewUrl];
export default tools;
