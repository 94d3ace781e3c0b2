import { z } from 'zod';
import { defineSandboxTool, type BackendKind, type SandboxToolContext, type ToolDefinition } from './tool.js';

export type Listening = 'all_interfaces' | 'localhost_only' | 'not_listening' | 'unknown';

/**
 * Who listens on `port` inside the sandbox, from /proc/net/tcp{,6} (present in every Linux
 * sandbox, unlike ss or netstat). A server bound to 127.0.0.1 is the classic reason a preview
 * URL shows nothing, so the tool says so up front.
 */
export function listeningFrom(procNetTcp: string, port: number): Listening {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let found: Listening = 'not_listening';
  for (const line of procNetTcp.split('\n')) {
    const cols = line.trim().split(/\s+/);
    // sl local_address rem_address st ...; st 0A = LISTEN
    if (cols.length < 4 || cols[3] !== '0A') continue;
    const [addr, p] = cols[1].split(':');
    if (p !== hexPort) continue;
    if (/^0+$/.test(addr)) return 'all_interfaces';
    found = 'localhost_only';
  }
  return found;
}

async function probeListening(ctx: SandboxToolContext, port: number): Promise<Listening> {
  try {
    const r = await ctx.agent.commands.run({ command: 'cat /proc/net/tcp /proc/net/tcp6 2>/dev/null', timeoutSeconds: 10 }, ctx.call);
    return r.stdout.includes('local_address') ? listeningFrom(r.stdout, port) : 'unknown';
  } catch {
    return 'unknown';
  }
}

/**
 * HopX cloud reaches a port from outside the VM, so a server bound to 127.0.0.1 is unreachable
 * there; the local backend forwards to 127.0.0.1 inside the sandbox, so any address works.
 */
const ADVICE: Record<BackendKind, Record<Listening, string>> = {
  cloud: {
    all_interfaces: '',
    localhost_only: ' Warning: the server listens on 127.0.0.1 only, so the URL will not reach it; restart it bound to 0.0.0.0.',
    not_listening: ' Nothing listens on that port yet: start the server (in the background, bound to 0.0.0.0) first.',
    unknown: '',
  },
  local: {
    all_interfaces: '',
    localhost_only: '',
    not_listening: ' Nothing listens on that port yet: start the server (in the background) first.',
    unknown: '',
  },
};

const sandboxGetPreviewUrl = defineSandboxTool({
  name: 'sandbox_get_preview_url',
  title: 'Get preview URL',
  description: (backend) =>
    backend === 'local'
      ? 'The URL of a port of the sandbox (say, a server started in the background), and whether something listens there. The URL is on this machine (127.0.0.1).'
      : 'The URL of a port of the sandbox (say, a server started in the background, listening on 0.0.0.0), and whether something listens there. ' +
        'On HopX cloud it is public: anyone with it can open it.',
  toolset: 'preview',
  kind: 'read',
  idempotent: true,
  input: z.strictObject({
    port: z.number().int().min(1).max(65_535).describe('e.g. 8000'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    port: z.number(),
    url: z.string(),
    listening: z.enum(['all_interfaces', 'localhost_only', 'not_listening', 'unknown']),
  }),
  async handle(ctx, args) {
    const [url, listening] = await Promise.all([ctx.agent.previewUrl(args.port, ctx.call), probeListening(ctx, args.port)]);
    return {
      text: `Port ${args.port} of sandbox ${ctx.sandboxId}: ${url}${previewNote(url, ctx.conversation.backend, listening)}`,
      structured: { sandbox_id: ctx.sandboxId, port: args.port, url, listening },
    };
  },
});

/**
 * What to say after the URL. The URL itself says where it leads: a loopback URL is a local
 * backend's forward (also when HOPX_API_KEY points at a local backend), whatever the configured one.
 */
export function previewNote(url: string, configured: BackendKind, listening: Listening): string {
  const servedBy: BackendKind = isLoopbackUrl(url) ? 'local' : configured;
  const where = servedBy === 'local' ? ' (reachable from this machine only)' : ' (public URL, no authentication)';
  return `${where}.${ADVICE[servedBy][listening]}`;
}

function isLoopbackUrl(url: string): boolean {
  try {
    return ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname);
  } catch {
    return false;
  }
}

const tools: ToolDefinition[] = [sandboxGetPreviewUrl];
export default tools;
