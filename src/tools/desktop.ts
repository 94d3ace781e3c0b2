/**
 * Desktop (computer use): look at the sandbox's screen, click, type, press keys, scroll, drag,
 * manage windows, open VNC. Toolset `desktop`, off by default (--toolsets desktop or all). The
 * sandbox must come from a desktop template; any other answers DesktopNotAvailableError, which
 * the seam turns into an isError that says to create one. Coordinates are screenshot pixels.
 * Descriptions are terse on purpose: the whole toolset must add at most 6 KB to tools/list.
 */
import { z } from 'zod';
import { NotFoundError } from '../client/errors.js';
import { defineSandboxTool, type ToolDefinition } from './tool.js';

const X = z.number().int().min(0).max(10_000).describe('Screen x');
const Y = z.number().int().min(0).max(10_000).describe('Screen y');
const BUTTON = z.enum(['left', 'middle', 'right']).optional().describe('Default left');
const SIZE = z.number().int().min(1).max(10_000);

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${Math.round(bytes / 1024)} KB`;
}

const screenshot = defineSandboxTool({
  name: 'sandbox_desktop_screenshot',
  title: 'Desktop screenshot',
  description: "Screenshot of the sandbox's desktop, or a region. Desktop tools take pixels of the full screenshot.",
  toolset: 'desktop',
  kind: 'read',
  idempotent: true,
  input: z.strictObject({
    region: z
      .strictObject({ x: X, y: Y, width: SIZE, height: SIZE })
      .optional()
      .describe('Default: whole screen'),
  }),
  output: z.object({ sandbox_id: z.string(), width: z.number().optional(), height: z.number().optional(), bytes: z.number(), inlined: z.boolean() }),
  async handle(ctx, args) {
    const shot = args.region ? await ctx.agent.desktop.screenshotRegion(args.region, ctx.call) : await ctx.agent.desktop.screenshot(ctx.call);
    const size = shot.width !== null && shot.height !== null ? `${shot.width}x${shot.height}` : 'unknown size';
    const where = args.region ? ` region at (${args.region.x}, ${args.region.y})` : '';
    const base64 = shot.data.toString('base64');
    const inlined = base64.length <= ctx.budget.imageChars;
    const structured = { sandbox_id: ctx.sandboxId, width: shot.width ?? undefined, height: shot.height ?? undefined, bytes: shot.data.length, inlined };
    if (!inlined) {
      return {
        text:
          `Screenshot${where} of sandbox ${ctx.sandboxId}: ${size}, ${kb(shot.data.length)}, more than this server's image budget ` +
          `(${kb(Math.floor((ctx.budget.imageChars * 3) / 4))}), so it is not shown. Take a smaller region with "region".`,
        structured,
      };
    }
    return {
      text: `Screenshot${where} of sandbox ${ctx.sandboxId}: ${size} ${shot.mimeType.replace('image/', '').toUpperCase()}, ${kb(shot.data.length)}.`,
      structured,
      content: [{ type: 'image', data: base64, mimeType: shot.mimeType }],
    };
  },
});

const click = defineSandboxTool({
  name: 'sandbox_desktop_click',
  title: 'Desktop click',
  description: "Click on the sandbox's desktop.",
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({ x: X, y: Y, button: BUTTON, double: z.boolean().optional().describe('Default false') }),
  confirmation: true,
  async handle(ctx, args) {
    await ctx.agent.desktop.click({ x: args.x, y: args.y, button: args.button ?? 'left', clicks: args.double ? 2 : 1 }, ctx.call);
    const what = `${args.double ? 'Double-clicked' : 'Clicked'}${args.button && args.button !== 'left' ? ` ${args.button}` : ''}`;
    return { text: `${what} at (${args.x}, ${args.y}) in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId } };
  },
});

const type = defineSandboxTool({
  name: 'sandbox_desktop_type',
  title: 'Desktop type',
  description: 'Type into the focused window of the sandbox desktop.',
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({ text: z.string().min(1).max(10_000).describe('Text to type') }),
  confirmation: true,
  async handle(ctx, args) {
    await ctx.agent.desktop.type(args.text, {}, ctx.call);
    return { text: `Typed ${args.text.length} character${args.text.length === 1 ? '' : 's'} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId } };
  },
});

const key = defineSandboxTool({
  name: 'sandbox_desktop_key',
  title: 'Desktop key',
  description: 'Press keys on the sandbox desktop: "Return", "F5", "ctrl+s".',
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({ keys: z.string().min(1).max(100).describe('Joined by "+"') }),
  confirmation: true,
  async handle(ctx, args) {
    const parts = args.keys.length > 1 ? args.keys.split('+').map((k) => k.trim()) : [args.keys];
    if (parts.some((p) => p === '')) {
      return { text: `keys "${args.keys}" has an empty part: join key names with "+", e.g. "ctrl+s" (the + key is "plus").`, isError: true };
    }
    if (parts.length === 1) await ctx.agent.desktop.press(parts[0], ctx.call);
    else await ctx.agent.desktop.combination(parts, ctx.call);
    return { text: `Pressed ${args.keys} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId } };
  },
});

const scroll = defineSandboxTool({
  name: 'sandbox_desktop_scroll',
  title: 'Desktop scroll',
  description: 'Mouse wheel on the sandbox desktop, at x, y if given.',
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({
    direction: z.enum(['up', 'down', 'left', 'right']).describe('Wheel'),
    amount: z.number().int().min(1).max(100).optional().describe('Clicks. Default 3'),
    x: X.optional(),
    y: Y.optional(),
  }),
  confirmation: true,
  async handle(ctx, args) {
    if ((args.x === undefined) !== (args.y === undefined)) {
      return { text: 'Give both x and y (the point to scroll at), or neither.', isError: true };
    }
    const amount = args.amount ?? 3;
    await ctx.agent.desktop.scroll({ direction: args.direction, amount, ...(args.x !== undefined ? { x: args.x, y: args.y } : {}) }, ctx.call);
    const at = args.x !== undefined ? ` at (${args.x}, ${args.y})` : '';
    return { text: `Scrolled ${args.direction} ${amount}${at} in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId } };
  },
});

const drag = defineSandboxTool({
  name: 'sandbox_desktop_drag',
  title: 'Desktop drag',
  description: 'Drag with the left button on the sandbox desktop.',
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({ from_x: X, from_y: Y, to_x: X, to_y: Y }),
  confirmation: true,
  async handle(ctx, args) {
    await ctx.agent.desktop.drag({ fromX: args.from_x, fromY: args.from_y, toX: args.to_x, toY: args.to_y }, ctx.call);
    return { text: `Dragged from (${args.from_x}, ${args.from_y}) to (${args.to_x}, ${args.to_y}) in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId } };
  },
});

const windows = defineSandboxTool({
  name: 'sandbox_desktop_windows',
  title: 'Desktop windows',
  description: 'List, focus or close windows on the sandbox desktop.',
  toolset: 'desktop',
  kind: 'write',
  input: z.strictObject({
    action: z.enum(['list', 'focus', 'close']).optional().describe('Default list'),
    window_id: z.string().min(1).max(64).optional().describe('From list'),
  }),
  output: z.object({
    sandbox_id: z.string(),
    windows: z.array(z.object({ id: z.string(), title: z.string() })),
  }),
  async handle(ctx, args) {
    const action = args.action ?? 'list';
    if (action !== 'list') {
      if (!args.window_id) return { text: `window_id is required for ${action}: take it from sandbox_desktop_windows (action list).`, isError: true };
      try {
        if (action === 'focus') await ctx.agent.desktop.focusWindow(args.window_id, ctx.call);
        else await ctx.agent.desktop.closeWindow(args.window_id, ctx.call);
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        return { text: `No window ${args.window_id} on the desktop of sandbox ${ctx.sandboxId} (it may have closed); action "list" shows the current ones.`, isError: true };
      }
    }
    const list = await ctx.agent.desktop.windows(ctx.call);
    const shown = list.map(({ id, title }) => ({ id, title }));
    const lines = list.map((w) => `- ${w.id} "${w.title}"${w.width !== null ? ` ${w.width}x${w.height} at (${w.x}, ${w.y})` : ''}`);
    const done = action === 'focus' ? `Focused ${args.window_id}. ` : action === 'close' ? `Asked ${args.window_id} to close. ` : '';
    const head = list.length === 0 ? `No windows on the desktop of sandbox ${ctx.sandboxId}.` : `${list.length} window${list.length === 1 ? '' : 's'} in sandbox ${ctx.sandboxId}:`;
    return { text: [done + head, ...lines].join('\n'), structured: { sandbox_id: ctx.sandboxId, windows: shown } };
  },
});

const vnc = defineSandboxTool({
  name: 'sandbox_desktop_vnc',
  title: 'Desktop VNC',
  description: 'VNC to the sandbox desktop, for a person to watch.',
  toolset: 'desktop',
  kind: 'write',
  idempotent: true,
  input: z.strictObject({
    action: z.enum(['start', 'stop', 'status']).describe('start returns the URL'),
    password: z.string().min(1).max(8).optional().describe('Default none'),
  }),
  output: z.object({ sandbox_id: z.string(), running: z.boolean(), port: z.number().optional(), url: z.string().optional() }),
  async handle(ctx, args) {
    const desktop = ctx.agent.desktop;
    if (args.action === 'stop') {
      await desktop.vncStop(ctx.call);
      return { text: `VNC stopped in sandbox ${ctx.sandboxId}.`, structured: { sandbox_id: ctx.sandboxId, running: false } };
    }
    const info = args.action === 'start' ? await desktop.vncStart(args.password ? { password: args.password } : {}, ctx.call) : await desktop.vncStatus(ctx.call);
    if (!info.running || info.port === null) {
      return { text: `VNC is not running in sandbox ${ctx.sandboxId}; start it with action "start".`, structured: { sandbox_id: ctx.sandboxId, running: false } };
    }
    // The URL comes from the preview mechanism, as for any port of the sandbox.
    const url = await ctx.agent.previewUrl(info.port, ctx.call);
    const note =
      ctx.conversation.backend === 'local'
        ? ' (raw VNC/RFB: point a VNC viewer at its host:port; reachable from this machine only)'
        : ' (public URL)';
    const auth = args.action !== 'start' ? '' : args.password ? ' Password protected.' : ' No password: anyone with the URL can control the desktop.';
    return { text: `VNC of sandbox ${ctx.sandboxId} (port ${info.port}): ${url}${note}.${auth}`, structured: { sandbox_id: ctx.sandboxId, running: true, port: info.port, url } };
  },
});

const tools: ToolDefinition[] = [screenshot, click, type, key, scroll, drag, windows, vnc];
export default tools;
