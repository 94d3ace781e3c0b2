/**
 * /desktop/...: desktop automation (docs/hopx-wire.md §5.14). The spec, the JS SDK and the Python SDK
 * disagree on verbs, paths and bodies, so this serves their union: GET and POST for VNC
 * start/stop, both list paths for windows, both body shapes for scroll, combination, clipboard.
 * A full screenshot is JSON `{image, format, width, height}` when the Accept header asks for JSON
 * first (the JS SDK), else PNG bytes (the Python SDK); a region is always PNG bytes.
 *
 * Sandboxes not made from the desktop template answer every /desktop path with 503
 * DESKTOP_NOT_AVAILABLE and `details.missing_dependencies`, as HopX does.
 *
 * Not served (no 404 is faked into success): recording (no encoder in the template) and OCR /
 * find_element / wait_for / get_bounds (no OCR engine).
 */
import type { IncomingMessage } from 'node:http';
import type { ServerResponse } from 'node:http';
import { ApiError, invalidField, missingParameter } from '../errors.js';
import { type Handler, type Router, readJsonBody, sendJson } from '../http.js';
import type { AgentContext } from './context.js';
import type { DesktopSession } from './desktop-session.js';

/** The Debian packages of the local desktop template. */
const DESKTOP_PACKAGES = ['xvfb', 'openbox', 'xdotool', 'wmctrl', 'x11vnc', 'xclip'];

const BUTTONS: Record<string, number> = { left: 1, middle: 2, right: 3 };
const SCROLL_BUTTONS: Record<string, number> = { up: 4, down: 5, left: 6, right: 7 };
/** Common key names agents use → X keysyms (xdotool takes keysyms). Case-insensitive. */
const KEY_ALIASES: Record<string, string> = {
  enter: 'Return', return: 'Return', esc: 'Escape', escape: 'Escape', backspace: 'BackSpace', tab: 'Tab',
  delete: 'Delete', del: 'Delete', insert: 'Insert', home: 'Home', end: 'End', pageup: 'Prior', page_up: 'Prior',
  pagedown: 'Next', page_down: 'Next', up: 'Up', down: 'Down', left: 'Left', right: 'Right', space: 'space',
  ctrl: 'ctrl', control: 'ctrl', alt: 'alt', shift: 'shift', super: 'super', win: 'super', meta: 'super', cmd: 'super',
  command: 'super', option: 'alt',
};
const MAX_TEXT = 10_000;

/** One key name as xdotool wants it: aliases mapped, F-keys upper-cased, anything else as given. */
function keysym(name: string): string {
  const trimmed = name.trim();
  if (!trimmed) throw invalidField('key', 'is empty; name a key such as "Return", "a" or "F5"');
  if (/[\s]/.test(trimmed) || trimmed.length > 40) throw invalidField('key', `"${trimmed.slice(0, 40)}" is not a key name`);
  const alias = KEY_ALIASES[trimmed.toLowerCase()];
  if (alias) return alias;
  if (/^f\d{1,2}$/i.test(trimmed)) return trimmed.toUpperCase();
  return trimmed;
}

/** "ctrl+s", ["ctrl", "s"] or {modifiers, key} → the xdotool chord "ctrl+s". */
function chord(parts: string[]): string {
  if (parts.length === 0) throw missingParameter('keys', 'e.g. ["ctrl", "s"]');
  return parts.map(keysym).join('+');
}

function int(body: Record<string, unknown>, field: string, options: { min?: number; fallback?: number } = {}): number {
  const value = body[field];
  if (value === undefined || value === null) {
    if (options.fallback !== undefined) return options.fallback;
    throw missingParameter(field);
  }
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) throw invalidField(field, 'must be a number');
  const rounded = Math.round(n);
  if (options.min !== undefined && rounded < options.min) throw invalidField(field, `must be at least ${options.min}`);
  return rounded;
}

function text(body: Record<string, unknown>, ...fields: string[]): string {
  for (const field of fields) {
    const value = body[field];
    if (typeof value === 'string') return value;
  }
  throw missingParameter(fields[0]);
}

function button(body: Record<string, unknown>): number {
  const value = body.button ?? 'left';
  if (typeof value === 'number' && [1, 2, 3].includes(value)) return value;
  const n = typeof value === 'string' ? BUTTONS[value.toLowerCase()] : undefined;
  if (!n) throw invalidField('button', 'must be "left", "middle" or "right"');
  return n;
}

function windowId(body: Record<string, unknown>): string {
  const value = body.window_id ?? body.id;
  const id = typeof value === 'number' ? `0x${value.toString(16)}` : typeof value === 'string' ? value.trim() : '';
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(id)) throw invalidField('window_id', 'must be a window id from /desktop/windows/list, e.g. "0x00400007"');
  return id;
}

/** JSON first in Accept (the JS SDK's axios) → JSON screenshot; anything else → PNG bytes. */
function wantsJson(req: IncomingMessage): boolean {
  const accept = (req.headers.accept ?? '').toLowerCase();
  const json = accept.indexOf('application/json');
  if (json < 0) return false;
  const image = accept.search(/image\/(png|\*)/);
  return image < 0 || json < image;
}

function sendPng(res: ServerResponse, png: Buffer, width: number, height: number): void {
  res.writeHead(200, {
    'content-type': 'image/png',
    'content-length': png.length,
    'x-screenshot-width': String(width),
    'x-screenshot-height': String(height),
  });
  res.end(png);
}

export function registerDesktopRoutes(router: Router, ctx: AgentContext): void {
  const desktop = ctx.desktop;
  const add = (method: string, paths: string[], handler: (session: DesktopSession, c: Parameters<Handler>[0]) => Promise<void>) => {
    for (const path of paths) {
      router.add(method, path, async (c) => {
        if (!desktop) throw notAvailable(ctx);
        await handler(desktop, c);
      });
    }
  };
  const ok = (res: ServerResponse, extra: Record<string, unknown> = {}) => sendJson(res, 200, { success: true, ...extra });
  const xdotool = (session: DesktopSession, args: (string | number)[], timeoutMs?: number) =>
    session.request('xdotool', { args, ...(timeoutMs ? { timeout: Math.ceil(timeoutMs / 1000) } : {}) }, (timeoutMs ?? 20_000) + 10_000);

  // --- screenshots
  const screenshot = async (session: DesktopSession, req: IncomingMessage, res: ServerResponse, region: Record<string, unknown> | null, json: boolean) => {
    const shot = await session.request('screenshot', { region });
    const width = Number(shot.width);
    const height = Number(shot.height);
    if (json) {
      sendJson(res, 200, { image: shot.png, format: 'png', width, height });
      return;
    }
    sendPng(res, Buffer.from(String(shot.png), 'base64'), width, height);
  };
  add('GET', ['/desktop/screenshot'], async (s, { req, res }) => screenshot(s, req, res, null, wantsJson(req)));
  add('POST', ['/desktop/screenshot'], async (s, { req, res }) => screenshot(s, req, res, null, wantsJson(req)));
  add('POST', ['/desktop/screenshot/region'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const region = { x: int(body, 'x', { min: 0 }), y: int(body, 'y', { min: 0 }), width: int(body, 'width', { min: 1 }), height: int(body, 'height', { min: 1 }) };
    await screenshot(s, req, res, region, false);
  });
  add('GET', ['/desktop/x11/capture_window'], async (s, { req, res, url }) => {
    const wanted = url.searchParams.get('window_id');
    const { windows } = (await s.request('windows')) as { windows: Array<Record<string, number | string>> };
    const win = wanted ? windows.find((w) => String(w.id).toLowerCase() === wanted.toLowerCase()) : windows.at(-1);
    if (!win) throw new ApiError(404, 'WINDOW_NOT_FOUND', `No window ${wanted ?? ''} on the desktop; list them with /desktop/windows/list`);
    const screen = await s.request('display');
    const x = Math.max(0, Number(win.x));
    const y = Math.max(0, Number(win.y));
    const width = Math.min(Number(screen.width) - x, Number(win.width));
    const height = Math.min(Number(screen.height) - y, Number(win.height));
    if (width < 1 || height < 1) throw new ApiError(409, 'WINDOW_NOT_VISIBLE', `Window ${String(win.id)} is off screen`);
    await screenshot(s, req, res, { x, y, width, height }, false);
  });

  // --- mouse
  add('POST', ['/desktop/mouse/click'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const clicks = Math.min(int(body, 'clicks', { min: 1, fallback: body.double === true ? 2 : 1 }), 3);
    await xdotool(s, ['mousemove', '--sync', int(body, 'x', { min: 0 }), int(body, 'y', { min: 0 }), 'click', '--repeat', clicks, '--delay', 80, button(body)]);
    ok(res);
  });
  add('POST', ['/desktop/mouse/move'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    await xdotool(s, ['mousemove', '--sync', int(body, 'x', { min: 0 }), int(body, 'y', { min: 0 })]);
    ok(res);
  });
  const drag = async (s: DesktopSession, req: IncomingMessage, res: ServerResponse) => {
    const body = await readJsonBody(req);
    const [fx, fy, tx, ty] = ['from_x', 'from_y', 'to_x', 'to_y'].map((f) => int(body, f, { min: 0 }));
    const b = button(body);
    // A step halfway: toolkits start a drag only after the pointer moves with the button held.
    const mx = Math.round((fx + tx) / 2);
    const my = Math.round((fy + ty) / 2);
    // Short pauses: window managers and toolkits ignore a press, moves and release that arrive at once.
    await xdotool(s, ['mousemove', '--sync', fx, fy, 'mousedown', b, 'sleep', 0.05, 'mousemove', '--sync', mx, my, 'sleep', 0.05, 'mousemove', '--sync', tx, ty, 'sleep', 0.05, 'mouseup', b]);
    ok(res);
  };
  add('POST', ['/desktop/mouse/drag', '/desktop/x11/drag_drop', '/desktop/x11/drag-drop'], (s, { req, res }) => drag(s, req, res));
  add('POST', ['/desktop/mouse/scroll'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    let direction: string;
    let amount: number;
    if (body.direction !== undefined) {
      direction = typeof body.direction === 'string' ? body.direction.toLowerCase() : '';
      if (!SCROLL_BUTTONS[direction]) throw invalidField('direction', 'must be "up", "down", "left" or "right"');
      amount = int(body, 'amount', { min: 1, fallback: 3 });
    } else {
      const dy = int(body, body.delta_y !== undefined ? 'delta_y' : 'amount');
      direction = dy < 0 ? 'up' : 'down';
      amount = Math.abs(dy);
    }
    amount = Math.min(amount, 200);
    const at = body.x !== undefined && body.y !== undefined ? ['mousemove', '--sync', int(body, 'x', { min: 0 }), int(body, 'y', { min: 0 })] : [];
    if (amount > 0) await xdotool(s, [...at, 'click', '--repeat', amount, '--delay', 20, SCROLL_BUTTONS[direction]]);
    ok(res, { direction, amount });
  });

  // --- keyboard
  add('POST', ['/desktop/keyboard/type'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const value = text(body, 'text');
    if (value.length > MAX_TEXT) throw invalidField('text', `is longer than ${MAX_TEXT} characters; type it in parts`);
    const delay = Math.min(int(body, 'delay_ms', { min: 0, fallback: 12 }), 500);
    await xdotool(s, ['type', '--delay', delay, '--', value], 20_000 + value.length * (delay + 10));
    ok(res);
  });
  add('POST', ['/desktop/keyboard/press'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const key = text(body, 'key');
    await xdotool(s, ['key', '--', key.includes('+') && key.length > 1 ? chord(key.split('+')) : keysym(key)]);
    ok(res);
  });
  add('POST', ['/desktop/keyboard/combination', '/desktop/x11/hotkey'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    let parts: string[];
    if (Array.isArray(body.keys)) parts = body.keys.map(String);
    else if (Array.isArray(body.modifiers)) parts = [...body.modifiers.map(String), text(body, 'key')];
    else if (typeof body.keys === 'string') parts = body.keys.split('+');
    else throw missingParameter('keys', 'e.g. {"keys": ["ctrl", "s"]} or {"modifiers": ["ctrl"], "key": "s"}');
    await xdotool(s, ['key', '--', chord(parts)]);
    ok(res);
  });

  // --- clipboard
  add('GET', ['/desktop/clipboard/get'], async (s, { res }) => {
    const got = await s.request('clipboard_get');
    sendJson(res, 200, { content: got.text, text: got.text });
  });
  add('POST', ['/desktop/clipboard/set'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const value = text(body, 'content', 'text');
    await s.request('clipboard_set', { text: value });
    s.clipboardHistory.push(value);
    if (s.clipboardHistory.length > 50) s.clipboardHistory.shift();
    ok(res);
  });
  add('GET', ['/desktop/clipboard/history'], async (s, { res }) => sendJson(res, 200, { history: [...s.clipboardHistory].reverse() }));

  // --- windows
  add('GET', ['/desktop/windows/list', '/desktop/windows'], async (s, { res }) => sendJson(res, 200, await s.request('windows')));
  /** The id of a window the window manager lists: acting on any other id "succeeds" silently in wmctrl. */
  const listedWindow = async (s: DesktopSession, body: Record<string, unknown>): Promise<string> => {
    const id = windowId(body);
    const { windows } = (await s.request('windows')) as { windows: Array<{ id: string }> };
    if (!windows.some((w) => Number.parseInt(w.id, 16) === Number(id.startsWith('0x') ? Number.parseInt(id, 16) : id))) {
      throw new ApiError(404, 'WINDOW_NOT_FOUND', `No window ${id} on the desktop of sandbox ${ctx.sandbox.id} (it may have closed); list them with /desktop/windows/list`, {
        details: { window_id: id },
      });
    }
    return id;
  };
  add('POST', ['/desktop/windows/focus'], async (s, { req, res }) => {
    await s.request('wmctrl', { args: ['-i', '-a', await listedWindow(s, await readJsonBody(req))] });
    ok(res);
  });
  add('POST', ['/desktop/windows/close'], async (s, { req, res }) => {
    await s.request('wmctrl', { args: ['-i', '-c', await listedWindow(s, await readJsonBody(req))] });
    ok(res);
  });
  add('POST', ['/desktop/windows/minimize'], async (s, { req, res }) => {
    await xdotool(s, ['windowminimize', await listedWindow(s, await readJsonBody(req))]);
    ok(res);
  });
  add('POST', ['/desktop/windows/resize'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    await xdotool(s, ['windowsize', await listedWindow(s, body), int(body, 'width', { min: 1 }), int(body, 'height', { min: 1 })]);
    ok(res);
  });

  // --- display
  const displayInfo = async (s: DesktopSession) => {
    const d = await s.request('display');
    return { width: d.width, height: d.height, depth: d.depth, display: d.display, resolution: `${String(d.width)}x${String(d.height)}` };
  };
  add('GET', ['/desktop/display', '/desktop/display/current', '/desktop/display/info'], async (s, { res }) => sendJson(res, 200, await displayInfo(s)));
  add('GET', ['/desktop/display/available', '/desktop/display/resolutions'], async (s, { res }) => {
    const d = await displayInfo(s);
    sendJson(res, 200, { resolutions: [[d.width, d.height]], current: d.resolution });
  });
  add('POST', ['/desktop/display/set', '/desktop/display/resolution'], async (s, { req, res }) => {
    const body = await readJsonBody(req);
    const width = int(body, 'width', { min: 1 });
    const height = int(body, 'height', { min: 1 });
    const d = await displayInfo(s);
    if (width !== d.width || height !== d.height) {
      throw new ApiError(409, 'RESOLUTION_FIXED', `The local desktop's screen is fixed at ${d.resolution}; it cannot change to ${width}x${height} while apps run on it`);
    }
    sendJson(res, 200, d);
  });

  // --- VNC (x11vnc inside the sandbox; reached from the host through a port forward)
  const vncInfo = async (s: DesktopSession, state: HelperReplyVnc) => {
    if (!state.running || state.port === null) return { running: false, display: state.display, port: null, url: null };
    const { hostPort } = await ctx.sandbox.runtime.forwardPort(state.port);
    return { running: true, display: state.display, port: state.port, url: `http://127.0.0.1:${hostPort}/`, password_protected: s.vncPassword };
  };
  const vncStart = async (s: DesktopSession, req: IncomingMessage, res: ServerResponse) => {
    if (!ctx.probe.desktop.vnc) throw notAvailable(ctx, ['x11vnc']);
    const body = req.method === 'POST' ? await readJsonBody(req) : {};
    const password = typeof body.password === 'string' && body.password ? body.password : null;
    const state = (await s.request('vnc_start', { password })) as unknown as HelperReplyVnc;
    s.vncPassword = password !== null || s.vncPassword;
    sendJson(res, 200, await vncInfo(s, state));
  };
  add('POST', ['/desktop/vnc/start'], (s, { req, res }) => vncStart(s, req, res));
  add('GET', ['/desktop/vnc/start'], (s, { req, res }) => vncStart(s, req, res));
  const vncStop = async (s: DesktopSession, res: ServerResponse) => {
    const state = (await s.request('vnc_stop')) as unknown as HelperReplyVnc;
    s.vncPassword = false;
    sendJson(res, 200, { success: true, running: false, display: state.display });
  };
  add('POST', ['/desktop/vnc/stop'], (s, { res }) => vncStop(s, res));
  add('GET', ['/desktop/vnc/stop'], (s, { res }) => vncStop(s, res));
  add('GET', ['/desktop/vnc/status', '/desktop/vnc/info'], async (s, { res }) => {
    sendJson(res, 200, await vncInfo(s, (await s.request('vnc_status')) as unknown as HelperReplyVnc));
  });

  // --- debug
  add('GET', ['/desktop/debug/logs'], async (s, { res }) => sendJson(res, 200, { logs: [...s.logs] }));
  add('GET', ['/desktop/debug/processes'], async (_s, { res }) => {
    const processes = await ctx.sandbox.runtime.processes();
    sendJson(res, 200, { processes: processes.map((p) => ({ pid: p.pid, name: p.name, command: p.command })) });
  });
}

interface HelperReplyVnc {
  running: boolean;
  display: string;
  port: number | null;
}

function notAvailable(ctx: AgentContext, missing = DESKTOP_PACKAGES): ApiError {
  const message = ctx.desktop
    ? `The desktop of sandbox ${ctx.sandbox.id} lacks ${missing.join(', ')} on this machine`
    : `Sandbox ${ctx.sandbox.id} has no desktop: it was created from the "${ctx.sandbox.templateName}" template. Create a sandbox from the "desktop" template for desktop automation.`;
  return new ApiError(503, 'DESKTOP_NOT_AVAILABLE', message, { details: { missing_dependencies: missing, template: ctx.sandbox.templateName } });
}
