/**
 * The local backend's /desktop/... endpoints on the wire: the union of the spec's, the JS SDK's
 * and the Python SDK's forms, served by a real X display inside a desktop-template sandbox; and
 * the documented not-available answer from every other sandbox.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBackend, type TestBackend } from '../../support/local-backend.js';
import { decodePng, pixelAt } from '../../support/png.js';
import { agent, bwrapMissingReason, control, expectHopxError, until, wireSandbox, type WireSandbox } from './helpers.js';

let t: TestBackend;
let desktop: WireSandbox;
let plain: WireSandbox;
let available = false;

beforeAll(async () => {
  if (bwrapMissingReason) return;
  t = await startTestBackend();
  available = t.backend.probe.desktop.available;
  if (!available) {
    if (process.env.CI === 'true') throw new Error(`CI has no desktop template: ${t.backend.probe.desktop.missing.join(', ')} missing`);
    console.warn(`[desktop api tests] skipped: ${t.backend.probe.desktop.missing.join(', ')} missing`);
    return;
  }
  const made = await control(t, 'POST', '/v1/sandboxes', { template_name: 'desktop' });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  desktop = await wireSandbox(t, made.body.id);
  const other = await control(t, 'POST', '/v1/sandboxes', { template_name: 'base' });
  plain = await wireSandbox(t, other.body.id);
});
afterAll(async () => {
  await t?.close();
});

/** Raw bytes and content type of an agent answer, with an Accept header. */
async function raw(sandbox: WireSandbox, method: string, path: string, accept: string, body?: unknown) {
  const res = await fetch(`${sandbox.public_host}${path}`, {
    method,
    headers: { authorization: `Bearer ${sandbox.auth_token}`, accept, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: Buffer.from(await res.arrayBuffer()) };
}

describe('desktop endpoints of a desktop sandbox', () => {
  it('lists the desktop template with its features', async (test) => {
    if (!available) test.skip();
    const res = await control(t, 'GET', '/v1/templates/desktop');
    expect(res.body).toMatchObject({ name: 'desktop', category: 'desktop' });
    expect(res.body.features).toEqual(expect.arrayContaining(['desktop', 'vnc']));
  });

  it('screenshot: PNG bytes for Python (*/*), JSON {image, format, width, height} for JS (application/json first), POST for the spec', async (test) => {
    if (!available) test.skip();
    const py = await raw(desktop, 'GET', '/desktop/screenshot', '*/*');
    expect(py.type).toBe('image/png');
    const pixels = decodePng(py.bytes);
    expect([pixels.width, pixels.height]).toEqual([1280, 800]);
    const js = await raw(desktop, 'GET', '/desktop/screenshot', 'application/json, text/plain, */*');
    const body = JSON.parse(js.bytes.toString());
    expect(body).toMatchObject({ format: 'png', width: 1280, height: 800 });
    expect(decodePng(Buffer.from(body.image, 'base64')).width).toBe(1280);
    const spec = await raw(desktop, 'POST', '/desktop/screenshot', 'image/png');
    expect(spec.type).toBe('image/png');
    const region = await raw(desktop, 'POST', '/desktop/screenshot/region', 'application/json', { x: 10, y: 20, width: 30, height: 40 });
    expect(region.type).toBe('image/png');
    const part = decodePng(region.bytes);
    expect([part.width, part.height]).toEqual([30, 40]);
    expect(pixelAt(part, 0, 0)).toEqual(pixelAt(pixels, 10, 20));
  });

  it('refuses a region outside the screen and input without coordinates, naming the field', async (test) => {
    if (!available) test.skip();
    const outside = await agent(desktop, 'POST', '/desktop/screenshot/region', { x: 1200, y: 0, width: 200, height: 10 });
    expect(outside.status).toBe(400);
    expect(outside.body.message).toMatch(/outside the 1280x800 screen/);
    const noX = await agent(desktop, 'POST', '/desktop/mouse/click', { y: 3 });
    expect(noX.status).toBe(400);
    expectHopxError(noX.body, 'MISSING_PARAMETER');
    expect(noX.body.message).toMatch(/"x"/);
    const badKey = await agent(desktop, 'POST', '/desktop/keyboard/press', { key: 'two words' });
    expect(badKey.status).toBe(400);
    const badWindow = await agent(desktop, 'POST', '/desktop/windows/focus', { window_id: '; rm -rf /' });
    expect(badWindow.status).toBe(400);
  });

  it('windows under both list paths; focus, resize, close by id; a closed app is gone', async (test) => {
    if (!available) test.skip();
    const started = await agent(desktop, 'POST', '/commands/background', {
      command: 'bash',
      args: ['-c', `exec python3 -c 'import tkinter as tk; r=tk.Tk(); r.title("Wire"); r.geometry("200x100+300+300"); r.mainloop()'`],
    });
    expect(started.status, JSON.stringify(started.body)).toBeLessThan(300);
    const listed = await until(async () => {
      const res = await agent(desktop, 'GET', '/desktop/windows/list');
      return res.body.windows.find((w: { title: string }) => w.title === 'Wire');
    });
    expect(listed).toMatchObject({ width: 200, height: 100 });
    const python = await agent(desktop, 'GET', '/desktop/windows');
    expect(python.body.windows.map((w: { id: string }) => w.id)).toContain(listed.id);
    expect((await agent(desktop, 'POST', '/desktop/windows/focus', { window_id: listed.id })).status).toBe(200);
    // Dragging the title bar (just above the content) moves the window by the same distance.
    const dragged = await agent(desktop, 'POST', '/desktop/mouse/drag', { from_x: listed.x + 50, from_y: listed.y - 8, to_x: listed.x + 250, to_y: listed.y + 92 });
    expect(dragged.status).toBe(200);
    const moved = await until(async () => {
      const res = await agent(desktop, 'GET', '/desktop/windows/list');
      return res.body.windows.find((w: { id: string; x: number }) => w.id === listed.id && w.x !== listed.x);
    });
    expect([moved.x - listed.x, moved.y - listed.y]).toEqual([200, 100]);
    const unknown = await agent(desktop, 'POST', '/desktop/windows/close', { window_id: '0xdead' });
    expect(unknown.status).toBe(404);
    expectHopxError(unknown.body, 'WINDOW_NOT_FOUND');
    expect((await agent(desktop, 'POST', '/desktop/windows/resize', { window_id: listed.id, width: 300, height: 150 })).status).toBe(200);
    await until(async () => {
      const res = await agent(desktop, 'GET', '/desktop/windows/list');
      return res.body.windows.find((w: { id: string; width: number }) => w.id === listed.id && w.width === 300);
    });
    expect((await agent(desktop, 'POST', '/desktop/windows/close', { window_id: listed.id })).status).toBe(200);
    await until(async () => !(await agent(desktop, 'GET', '/desktop/windows/list')).body.windows.some((w: { id: string }) => w.id === listed.id));
  });

  it('keyboard and scroll in every documented body shape', async (test) => {
    if (!available) test.skip();
    for (const body of [{ keys: ['ctrl', 'a'] }, { modifiers: ['ctrl'], key: 'a' }]) {
      expect((await agent(desktop, 'POST', '/desktop/keyboard/combination', body)).status).toBe(200);
    }
    expect((await agent(desktop, 'POST', '/desktop/x11/hotkey', { modifiers: ['shift'], key: 'Tab' })).status).toBe(200);
    expect((await agent(desktop, 'POST', '/desktop/keyboard/press', { key: 'Enter' })).status).toBe(200);
    const py = await agent(desktop, 'POST', '/desktop/mouse/scroll', { amount: 2, direction: 'up' });
    expect(py.body).toMatchObject({ direction: 'up', amount: 2 });
    const js = await agent(desktop, 'POST', '/desktop/mouse/scroll', { x: 5, y: 5, delta_y: 4 });
    expect(js.body).toMatchObject({ direction: 'down', amount: 4 });
    expect((await agent(desktop, 'POST', '/desktop/mouse/move', { x: 7, y: 8 })).status).toBe(200);
    expect((await agent(desktop, 'POST', '/desktop/x11/drag_drop', { from_x: 1, from_y: 1, to_x: 9, to_y: 9 })).status).toBe(200);
  });

  it('clipboard: set with JS content or Python text, get answers both, history newest first', async (test) => {
    if (!available) test.skip();
    await agent(desktop, 'POST', '/desktop/clipboard/set', { content: 'first' });
    await agent(desktop, 'POST', '/desktop/clipboard/set', { text: 'second' });
    expect((await agent(desktop, 'GET', '/desktop/clipboard/get')).body).toEqual({ content: 'second', text: 'second' });
    expect((await agent(desktop, 'GET', '/desktop/clipboard/history')).body.history.slice(0, 2)).toEqual(['second', 'first']);
  });

  it('display under its three paths; the size is fixed (409 for another)', async (test) => {
    if (!available) test.skip();
    for (const path of ['/desktop/display', '/desktop/display/current', '/desktop/display/info']) {
      expect((await agent(desktop, 'GET', path)).body).toMatchObject({ width: 1280, height: 800, resolution: '1280x800' });
    }
    expect((await agent(desktop, 'GET', '/desktop/display/resolutions')).body.resolutions).toEqual([[1280, 800]]);
    expect((await agent(desktop, 'POST', '/desktop/display/set', { width: 1280, height: 800 })).status).toBe(200);
    const other = await agent(desktop, 'POST', '/desktop/display/resolution', { width: 800, height: 600 });
    expect(other.status).toBe(409);
    expectHopxError(other.body, 'RESOLUTION_FIXED');
  });

  it('VNC: JS GET start / Python POST start, status and info, stop', async (test) => {
    if (!available) test.skip();
    const started = await agent(desktop, 'GET', '/desktop/vnc/start');
    expect(started.body).toMatchObject({ running: true, port: 5900, display: ':0' });
    expect(started.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await agent(desktop, 'POST', '/desktop/vnc/start', { display: 1 })).body.url).toBe(started.body.url);
    expect((await agent(desktop, 'GET', '/desktop/vnc/info')).body).toMatchObject({ running: true, port: 5900 });
    expect((await agent(desktop, 'POST', '/desktop/vnc/stop', {})).body).toMatchObject({ running: false });
    expect((await agent(desktop, 'GET', '/desktop/vnc/status')).body).toMatchObject({ running: false, url: null });
  });

  it('debug logs and processes; recording and OCR are not served (404)', async (test) => {
    if (!available) test.skip();
    expect(Array.isArray((await agent(desktop, 'GET', '/desktop/debug/logs')).body.logs)).toBe(true);
    const names = (await agent(desktop, 'GET', '/desktop/debug/processes')).body.processes.map((p: { name: string }) => p.name);
    expect(names).toEqual(expect.arrayContaining(['Xvfb', 'openbox']));
    expect((await agent(desktop, 'POST', '/desktop/recording/start', {})).status).toBe(404);
    expect((await agent(desktop, 'POST', '/desktop/x11/ocr', { x: 0, y: 0, width: 1, height: 1 })).status).toBe(404);
  });

  it('DISPLAY is set for the sandbox\'s commands', async (test) => {
    if (!available) test.skip();
    const res = await agent(desktop, 'POST', '/commands/run', { command: 'bash', args: ['-c', 'echo "$DISPLAY"; xdotool getdisplaygeometry'] });
    expect(res.body.stdout).toBe(':0\n1280 800\n');
  });

  it('survives a stop and start: the display comes back', async (test) => {
    if (!available) test.skip();
    expect((await control(t, 'POST', `/v1/sandboxes/${desktop.id}/stop`)).status).toBe(200);
    expect((await control(t, 'POST', `/v1/sandboxes/${desktop.id}/start`)).status).toBe(200);
    const shot = await raw(desktop, 'GET', '/desktop/screenshot', 'image/png');
    expect(shot.status).toBe(200);
    expect(decodePng(shot.bytes).width).toBe(1280);
  });
});

describe('a sandbox from another template', () => {
  it('answers every desktop path with 503 DESKTOP_NOT_AVAILABLE and the missing packages', async (test) => {
    if (!available) test.skip();
    for (const [method, path] of [
      ['GET', '/desktop/screenshot'],
      ['POST', '/desktop/mouse/click'],
      ['GET', '/desktop/vnc/status'],
      ['GET', '/desktop/windows'],
    ] as const) {
      const res = await agent(plain, method, path, method === 'POST' ? { x: 1, y: 1 } : undefined);
      expect(res.status, path).toBe(503);
      expectHopxError(res.body, 'DESKTOP_NOT_AVAILABLE');
      expect(res.body.details.missing_dependencies).toEqual(expect.arrayContaining(['xvfb', 'xdotool']));
      expect(res.body.message).toMatch(/"desktop" template/);
    }
  });
});
