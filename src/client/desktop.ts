/**
 * Agent: desktop automation (docs/hopx-wire.md §5.14). The spec, the JS SDK and the Python SDK disagree
 * on verbs, paths and bodies. Each operation lists its request forms in order; a form the agent
 * does not route (405, or a 404 without a specific code) moves on to the next. Bodies carry the
 * fields of every variant at once where they do not conflict (scroll, combination, clipboard).
 * Responses are read in every documented shape (screenshot JSON or PNG bytes, window lists,
 * resolutions as pairs or objects).
 *
 * A sandbox without a desktop answers 503 / 501 / DESKTOP_NOT_AVAILABLE: DesktopNotAvailableError.
 */
import type { AgentConnection, AgentRequest } from './agent.js';
import { HopxError, ValidationError } from './errors.js';
import { asRecord, idString, num, str, type Json } from './wire.js';
import type {
  CallOptions,
  DesktopApi,
  DesktopImage,
  DesktopRegion,
  DesktopWindow,
  DisplayInfo,
  ElementBounds,
  MouseButton,
  RecordingInfo,
  ScrollDirection,
  VncInfo,
} from './types.js';

type Form = Omit<AgentRequest, 'context'>;

const DESKTOP_NOT_ROUTED_CODES = new Set([undefined, 'NOT_FOUND', 'ROUTE_NOT_FOUND', 'METHOD_NOT_ALLOWED']);

/** 405, or a 404 without a code of its own, means "this agent has no such route": try the next form. */
function routeMissing(error: unknown): boolean {
  if (!(error instanceof HopxError)) return false;
  return error.status === 405 || (error.status === 404 && DESKTOP_NOT_ROUTED_CODES.has(error.code));
}

function coordinate(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ValidationError(`${field} must be a whole number of pixels from 0, e.g. 100; got ${String(value)}.`);
  }
  return value;
}

function size(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValidationError(`${field} must be a whole number of pixels from 1, e.g. 400; got ${String(value)}.`);
  }
  return value;
}

function nonEmpty(value: unknown, field: string, example: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new ValidationError(`${field} must be a non-empty string, e.g. ${example}.`);
  return value;
}

/** PNG, JPEG or WebP by magic bytes; PNG sizes from IHDR. */
function describeImage(data: Buffer): { mimeType: string; width: number | null; height: number | null } {
  if (data.length >= 24 && data.readUInt32BE(0) === 0x89504e47) {
    return { mimeType: 'image/png', width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
  }
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return { mimeType: 'image/jpeg', width: null, height: null };
  if (data.length >= 12 && data.toString('latin1', 0, 4) === 'RIFF' && data.toString('latin1', 8, 12) === 'WEBP') {
    return { mimeType: 'image/webp', width: null, height: null };
  }
  return { mimeType: 'application/octet-stream', width: null, height: null };
}

function headerOf(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
}

/** A screenshot answer: PNG bytes (Python SDK, spec) or JSON `{image|data, format, width, height}` (JS SDK). */
function toDesktopImage(body: Buffer, contentType: string, operation: string): DesktopImage {
  const looksJson = contentType.includes('json') || body.subarray(0, 1).toString() === '{';
  if (!looksJson) {
    const described = describeImage(body);
    if (described.mimeType === 'application/octet-stream') {
      throw new HopxError(`HopX answered "${operation}" with ${body.length} bytes that are not an image (content-type ${contentType || 'none'}).`);
    }
    return { data: body, ...described };
  }
  let json: Json;
  try {
    json = asRecord(JSON.parse(body.toString('utf8')));
  } catch {
    throw new HopxError(`HopX answered "${operation}" with a body that is neither an image nor JSON.`);
  }
  const encoded = str(json.image) ?? str(json.data) ?? str(json.screenshot);
  if (!encoded) throw new HopxError(`HopX answered "${operation}" with JSON that holds no image (no "image" field).`);
  const data = Buffer.from(encoded.replace(/^data:[^,]*,/, ''), 'base64');
  const described = describeImage(data);
  return {
    data,
    mimeType: described.mimeType === 'application/octet-stream' ? `image/${str(json.format) ?? 'png'}` : described.mimeType,
    width: num(json.width) ?? described.width,
    height: num(json.height) ?? described.height,
  };
}

function toVncInfo(body: unknown): VncInfo {
  const b = asRecord(body);
  const display = typeof b.display === 'string' || typeof b.display === 'number' ? String(b.display) : null;
  return { running: b.running === true || (b.running === undefined && num(b.port) !== null), display, port: num(b.port), url: str(b.url) };
}

function toWindow(value: unknown): DesktopWindow | null {
  const w = asRecord(value);
  const id = idString(w.id) ?? idString(w.window_id);
  if (!id) return null;
  return {
    id,
    title: str(w.title) ?? str(w.name) ?? '',
    x: num(w.x),
    y: num(w.y),
    width: num(w.width),
    height: num(w.height),
    desktop: num(w.desktop),
    pid: num(w.pid),
  };
}

function toRecording(body: unknown): RecordingInfo {
  const b = asRecord(body);
  return {
    recordingId: idString(b.recording_id) ?? idString(b.id),
    status: str(b.status),
    durationSeconds: num(b.duration),
    fileSize: num(b.file_size),
  };
}

function toBounds(value: unknown): ElementBounds | null {
  const b = asRecord(value);
  const [x, y, width, height] = [num(b.x), num(b.y), num(b.width), num(b.height)];
  return x === null || y === null || width === null || height === null ? null : { x, y, width, height };
}

export class Desktop implements DesktopApi {
  constructor(private readonly conn: AgentConnection) {}

  /** Sends the forms in order until one is routed; returns its response. */
  private async first<T>(operation: string, forms: Form[], call: CallOptions): Promise<{ data: T; headers: Record<string, string | string[] | undefined> }> {
    let lastError: unknown;
    for (const form of forms) {
      try {
        return await this.conn.request<T>({ ...form, context: { operation, resource: 'desktop' } }, call);
      } catch (error) {
        if (!routeMissing(error)) throw error;
        lastError = error;
      }
    }
    throw new HopxError(
      `The agent of sandbox ${this.conn.sandboxId} serves none of the known request forms for "${operation}" ` +
        `(${forms.map((f) => `${f.method} ${f.path}`).join(', ')}).`,
      { ...(lastError instanceof HopxError && lastError.status ? { status: lastError.status } : {}), cause: lastError },
    );
  }

  private async json(operation: string, forms: Form[], call: CallOptions): Promise<Json> {
    return asRecord((await this.first<unknown>(operation, forms, call)).data);
  }

  private async image(operation: string, forms: Form[], call: CallOptions): Promise<DesktopImage> {
    const res = await this.first<Buffer>(operation, forms, call);
    return toDesktopImage(res.data, headerOf(res.headers, 'content-type'), operation);
  }

  // --- screenshots

  /** The whole screen: GET (both SDKs), then POST (spec). */
  async screenshot(call: CallOptions = {}): Promise<DesktopImage> {
    // PNG first: bytes cost a third less than base64 in JSON; agents that only speak JSON answer JSON.
    const accept = 'image/png, application/json;q=0.9';
    return this.image(
      'take a screenshot',
      [
        { method: 'GET', path: '/desktop/screenshot', accept, response: 'buffer' },
        { method: 'POST', path: '/desktop/screenshot', accept, response: 'buffer', json: {}, idempotent: true },
      ],
      call,
    );
  }

  async screenshotRegion(region: DesktopRegion, call: CallOptions = {}): Promise<DesktopImage> {
    const json = {
      x: coordinate(region.x, 'x'),
      y: coordinate(region.y, 'y'),
      width: size(region.width, 'width'),
      height: size(region.height, 'height'),
    };
    return this.image(
      'take a screenshot of a region',
      [{ method: 'POST', path: '/desktop/screenshot/region', accept: 'image/png, application/json;q=0.9', response: 'buffer', json, idempotent: true }],
      call,
    );
  }

  /** One window as an image (JS/PY `capture_window`). */
  async captureWindow(windowId?: string, call: CallOptions = {}): Promise<DesktopImage> {
    return this.image(
      'capture a window',
      [{ method: 'GET', path: '/desktop/x11/capture_window', query: { window_id: windowId }, accept: 'image/png, application/json;q=0.9', response: 'buffer' }],
      call,
    );
  }

  // --- mouse

  async click(o: { x: number; y: number; button?: MouseButton; clicks?: number }, call: CallOptions = {}): Promise<void> {
    const clicks = o.clicks ?? 1;
    if (!Number.isInteger(clicks) || clicks < 1 || clicks > 3) throw new ValidationError('clicks must be 1, 2 or 3.');
    const json = { x: coordinate(o.x, 'x'), y: coordinate(o.y, 'y'), button: o.button ?? 'left', clicks };
    await this.first('click', [{ method: 'POST', path: '/desktop/mouse/click', json, response: 'json' }], call);
  }

  async move(o: { x: number; y: number }, call: CallOptions = {}): Promise<void> {
    const json = { x: coordinate(o.x, 'x'), y: coordinate(o.y, 'y') };
    await this.first('move the mouse', [{ method: 'POST', path: '/desktop/mouse/move', json, response: 'json', idempotent: true }], call);
  }

  async drag(o: { fromX: number; fromY: number; toX: number; toY: number; button?: MouseButton }, call: CallOptions = {}): Promise<void> {
    const json = {
      from_x: coordinate(o.fromX, 'fromX'),
      from_y: coordinate(o.fromY, 'fromY'),
      to_x: coordinate(o.toX, 'toX'),
      to_y: coordinate(o.toY, 'toY'),
      button: o.button ?? 'left',
    };
    await this.first(
      'drag the mouse',
      [
        { method: 'POST', path: '/desktop/mouse/drag', json, response: 'json' },
        { method: 'POST', path: '/desktop/x11/drag_drop', json, response: 'json' },
        { method: 'POST', path: '/desktop/x11/drag-drop', json, response: 'json' },
      ],
      call,
    );
  }

  /** Wheel clicks; `x`/`y` move the pointer there first. Sends JS's `delta_y` and Python's `amount`/`direction` together. */
  async scroll(o: { amount: number; direction?: ScrollDirection; x?: number; y?: number }, call: CallOptions = {}): Promise<void> {
    const direction = o.direction ?? 'down';
    if (!['up', 'down', 'left', 'right'].includes(direction)) throw new ValidationError('direction must be "up", "down", "left" or "right".');
    const amount = size(o.amount, 'amount');
    const json: Json = { amount, direction };
    if (direction === 'up' || direction === 'down') json.delta_y = direction === 'down' ? amount : -amount;
    else json.delta_x = direction === 'right' ? amount : -amount;
    if (o.x !== undefined || o.y !== undefined) {
      json.x = coordinate(o.x, 'x');
      json.y = coordinate(o.y, 'y');
    }
    await this.first('scroll', [{ method: 'POST', path: '/desktop/mouse/scroll', json, response: 'json' }], call);
  }

  // --- keyboard

  async type(text: string, options: { delayMs?: number } = {}, call: CallOptions = {}): Promise<void> {
    const json: Json = { text: nonEmpty(text, 'text', '"hello"') };
    if (options.delayMs !== undefined) json.delay_ms = options.delayMs;
    // Typing a long text takes time inside the sandbox.
    await this.first('type text', [{ method: 'POST', path: '/desktop/keyboard/type', json, response: 'json', defaultTimeoutMs: 60_000 + text.length * 50 }], call);
  }

  async press(key: string, call: CallOptions = {}): Promise<void> {
    const json = { key: nonEmpty(key, 'key', '"Return"') };
    await this.first('press a key', [{ method: 'POST', path: '/desktop/keyboard/press', json, response: 'json' }], call);
  }

  /** Keys held together, modifiers first: ["ctrl", "s"]. Sends `keys` (JS) and `modifiers` + `key` (Python) at once. */
  async combination(keys: string[], call: CallOptions = {}): Promise<void> {
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k.length === 0)) {
      throw new ValidationError('keys must be a non-empty list of key names, e.g. ["ctrl", "s"].');
    }
    const json = { keys, modifiers: keys.slice(0, -1), key: keys[keys.length - 1] };
    await this.first(
      'press a key combination',
      [
        { method: 'POST', path: '/desktop/keyboard/combination', json, response: 'json' },
        { method: 'POST', path: '/desktop/x11/hotkey', json, response: 'json' },
      ],
      call,
    );
  }

  // --- clipboard

  async getClipboard(call: CallOptions = {}): Promise<string> {
    const body = await this.json('read the clipboard', [{ method: 'GET', path: '/desktop/clipboard/get', response: 'json' }], call);
    return str(body.content) ?? str(body.text) ?? '';
  }

  async setClipboard(text: string, call: CallOptions = {}): Promise<void> {
    if (typeof text !== 'string') throw new ValidationError('text must be a string.');
    await this.first('set the clipboard', [{ method: 'POST', path: '/desktop/clipboard/set', json: { content: text, text }, response: 'json', idempotent: true }], call);
  }

  async clipboardHistory(call: CallOptions = {}): Promise<string[]> {
    const body = await this.json('read the clipboard history', [{ method: 'GET', path: '/desktop/clipboard/history', response: 'json' }], call);
    return Array.isArray(body.history) ? body.history.filter((h): h is string => typeof h === 'string') : [];
  }

  // --- windows

  async windows(call: CallOptions = {}): Promise<DesktopWindow[]> {
    const res = await this.first<unknown>(
      'list windows',
      [
        { method: 'GET', path: '/desktop/windows/list', response: 'json' },
        { method: 'GET', path: '/desktop/windows', response: 'json' },
      ],
      call,
    );
    const list = Array.isArray(res.data) ? res.data : asRecord(res.data).windows;
    return (Array.isArray(list) ? list : []).map(toWindow).filter((w): w is DesktopWindow => w !== null);
  }

  async focusWindow(windowId: string, call: CallOptions = {}): Promise<void> {
    await this.windowAction('focus', 'focus a window', windowId, {}, call);
  }

  async closeWindow(windowId: string, call: CallOptions = {}): Promise<void> {
    await this.windowAction('close', 'close a window', windowId, {}, call);
  }

  async minimizeWindow(windowId: string, call: CallOptions = {}): Promise<void> {
    await this.windowAction('minimize', 'minimize a window', windowId, {}, call);
  }

  async resizeWindow(windowId: string, width: number, height: number, call: CallOptions = {}): Promise<void> {
    await this.windowAction('resize', 'resize a window', windowId, { width: size(width, 'width'), height: size(height, 'height') }, call);
  }

  private async windowAction(action: string, operation: string, windowId: string, extra: Json, call: CallOptions): Promise<void> {
    const json = { window_id: nonEmpty(windowId, 'windowId', '"0x00400007"'), ...extra };
    await this.first(operation, [{ method: 'POST', path: `/desktop/windows/${action}`, json, response: 'json' }], call);
  }

  // --- display

  async display(call: CallOptions = {}): Promise<DisplayInfo> {
    const body = await this.json(
      'read the display',
      [
        { method: 'GET', path: '/desktop/display/current', response: 'json' },
        { method: 'GET', path: '/desktop/display/info', response: 'json' },
        { method: 'GET', path: '/desktop/display', response: 'json' },
      ],
      call,
    );
    return { width: num(body.width), height: num(body.height), depth: num(body.depth) };
  }

  /** `[[w, h]]` (JS) or `[{width, height}]` (Python), as pairs. */
  async resolutions(call: CallOptions = {}): Promise<Array<[number, number]>> {
    const body = await this.json(
      'list display resolutions',
      [
        { method: 'GET', path: '/desktop/display/available', response: 'json' },
        { method: 'GET', path: '/desktop/display/resolutions', response: 'json' },
      ],
      call,
    );
    const list = Array.isArray(body.resolutions) ? body.resolutions : [];
    const pairs: Array<[number, number]> = [];
    for (const r of list) {
      const [w, h] = Array.isArray(r) ? [num(r[0]), num(r[1])] : [num(asRecord(r).width), num(asRecord(r).height)];
      if (w !== null && h !== null) pairs.push([w, h]);
    }
    return pairs;
  }

  async setResolution(width: number, height: number, call: CallOptions = {}): Promise<DisplayInfo> {
    const json = { width: size(width, 'width'), height: size(height, 'height') };
    const body = await this.json(
      'set the display resolution',
      [
        { method: 'POST', path: '/desktop/display/set', json, response: 'json', idempotent: true },
        { method: 'POST', path: '/desktop/display/resolution', json, response: 'json', idempotent: true },
      ],
      call,
    );
    return { width: num(body.width) ?? width, height: num(body.height) ?? height, depth: num(body.depth) };
  }

  // --- VNC

  /** POST with `{display?, password?}` (spec, Python), then GET (JS). */
  async vncStart(options: { password?: string; display?: number } = {}, call: CallOptions = {}): Promise<VncInfo> {
    const json: Json = {};
    if (options.display !== undefined) json.display = options.display;
    if (options.password !== undefined) json.password = nonEmpty(options.password, 'password', '"s3cret"');
    const body = await this.json(
      'start VNC',
      [
        { method: 'POST', path: '/desktop/vnc/start', json, response: 'json', idempotent: true },
        ...(options.password === undefined ? [{ method: 'GET', path: '/desktop/vnc/start', response: 'json' } as Form] : []),
      ],
      call,
    );
    return { ...toVncInfo(body), running: body.running === undefined ? true : body.running === true };
  }

  async vncStop(call: CallOptions = {}): Promise<void> {
    await this.first(
      'stop VNC',
      [
        { method: 'POST', path: '/desktop/vnc/stop', json: {}, response: 'json', idempotent: true },
        { method: 'GET', path: '/desktop/vnc/stop', response: 'json' },
      ],
      call,
    );
  }

  async vncStatus(call: CallOptions = {}): Promise<VncInfo> {
    const body = await this.json(
      'read VNC status',
      [
        { method: 'GET', path: '/desktop/vnc/status', response: 'json' },
        { method: 'GET', path: '/desktop/vnc/info', response: 'json' },
      ],
      call,
    );
    return toVncInfo(body);
  }

  // --- recording

  async recordingStart(options: { outputFile?: string; fps?: number; format?: string; quality?: string } = {}, call: CallOptions = {}): Promise<RecordingInfo> {
    const json: Json = {};
    if (options.outputFile !== undefined) json.output_file = options.outputFile;
    if (options.fps !== undefined) json.fps = options.fps;
    if (options.format !== undefined) json.format = options.format;
    if (options.quality !== undefined) json.quality = options.quality;
    return toRecording(await this.json('start recording', [{ method: 'POST', path: '/desktop/recording/start', json, response: 'json' }], call));
  }

  async recordingStop(recordingId?: string, call: CallOptions = {}): Promise<RecordingInfo> {
    const json = recordingId === undefined ? {} : { recording_id: recordingId };
    return toRecording(await this.json('stop recording', [{ method: 'POST', path: '/desktop/recording/stop', json, response: 'json' }], call));
  }

  async recordingStatus(recordingId?: string, call: CallOptions = {}): Promise<RecordingInfo> {
    return toRecording(
      await this.json('read recording status', [{ method: 'GET', path: '/desktop/recording/status', query: { id: recordingId }, response: 'json' }], call),
    );
  }

  /** `GET /recording/download?id=` (spec, Python), then `GET /recording/{id}/download` (JS). */
  async recordingDownload(recordingId: string, call: CallOptions = {}): Promise<Buffer> {
    const id = nonEmpty(recordingId, 'recordingId', '"rec_123"');
    const res = await this.first<Buffer>(
      'download a recording',
      [
        { method: 'GET', path: '/desktop/recording/download', query: { id }, accept: '*/*', response: 'buffer', defaultTimeoutMs: 120_000 },
        { method: 'GET', path: `/desktop/recording/${encodeURIComponent(id)}/download`, accept: '*/*', response: 'buffer', defaultTimeoutMs: 120_000 },
      ],
      call,
    );
    return res.data;
  }

  // --- X11 extras (OCR needs an OCR engine in the template)

  async ocr(region: DesktopRegion & { language?: string }, call: CallOptions = {}): Promise<string> {
    const json = { x: coordinate(region.x, 'x'), y: coordinate(region.y, 'y'), width: size(region.width, 'width'), height: size(region.height, 'height'), language: region.language ?? 'eng' };
    return str((await this.json('read text on screen', [{ method: 'POST', path: '/desktop/x11/ocr', json, response: 'json' }], call)).text) ?? '';
  }

  async findElement(text: string, call: CallOptions = {}): Promise<ElementBounds | null> {
    const body = await this.json('find an element', [{ method: 'POST', path: '/desktop/x11/find_element', json: { text: nonEmpty(text, 'text', '"OK"') }, response: 'json' }], call);
    return toBounds(body.element);
  }

  async waitFor(text: string, timeoutSeconds = 30, call: CallOptions = {}): Promise<ElementBounds | null> {
    const body = await this.json(
      'wait for an element',
      [{ method: 'POST', path: '/desktop/x11/wait_for', json: { text: nonEmpty(text, 'text', '"OK"'), timeout: timeoutSeconds }, response: 'json', defaultTimeoutMs: (timeoutSeconds + 30) * 1000 }],
      call,
    );
    return toBounds(body.element);
  }

  async getBounds(text: string, call: CallOptions = {}): Promise<ElementBounds | null> {
    return toBounds(await this.json('get element bounds', [{ method: 'POST', path: '/desktop/x11/get_bounds', json: { text: nonEmpty(text, 'text', '"OK"') }, response: 'json' }], call));
  }

  // --- debug

  async debugLogs(call: CallOptions = {}): Promise<string[]> {
    const body = await this.json('read desktop logs', [{ method: 'GET', path: '/desktop/debug/logs', response: 'json' }], call);
    return Array.isArray(body.logs) ? body.logs.map(String) : [];
  }

  async debugProcesses(call: CallOptions = {}): Promise<Array<{ pid: number | null; name: string; command: string }>> {
    const body = await this.json('list desktop processes', [{ method: 'GET', path: '/desktop/debug/processes', response: 'json' }], call);
    const list = Array.isArray(body.processes) ? body.processes : [];
    return list.map((p) => {
      const r = asRecord(p);
      return { pid: num(r.pid), name: str(r.name) ?? '', command: str(r.command) ?? '' };
    });
  }
}
