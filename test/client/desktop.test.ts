/**
 * Agent contract, desktop automation (docs/hopx-wire.md §5.14): every endpoint, in each variant the
 * spec, the JS SDK and the Python SDK document — verbs, paths, bodies and response shapes — and
 * desktop-not-available as a typed error.
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DesktopNotAvailableError, HopxError, ServerError, ValidationError } from '../../src/client/index.js';
import { flatError } from '../support/wire-server.js';
import { primeAgent, SANDBOX_ID, TOKEN_1, useWireServer } from './helpers.js';

const h = useWireServer();
const desktop = () => h.client.agent(SANDBOX_ID).desktop;

/** A real (tiny) PNG: 3x2 pixels. */
function png(width = 3, height = 2): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    return Buffer.concat([len, Buffer.from(type), data, Buffer.alloc(4)]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  const rows = Buffer.alloc((width * 3 + 1) * height);
  return Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))]);
}

const ROUTE_MISSING = { status: 404, text: '404 page not found' };
const METHOD_MISSING = { status: 405, json: flatError('Method not allowed', 'METHOD_NOT_ALLOWED') };
const OK = { json: { success: true } };

describe('desktop.screenshot', () => {
  it('Python form: GET /desktop/screenshot answering PNG bytes; asks for PNG first, sizes from the PNG header', async () => {
    primeAgent(h.wire);
    const image = png(1280, 800);
    h.wire.on('GET', '/desktop/screenshot', { bytes: image, headers: { 'content-type': 'image/png' } });
    const shot = await desktop().screenshot();
    expect(shot).toMatchObject({ mimeType: 'image/png', width: 1280, height: 800 });
    expect(shot.data.equals(image)).toBe(true);
    const [req] = h.wire.calls('/desktop/screenshot');
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN_1}`);
    expect(req!.headers.accept).toMatch(/^image\/png/);
  });

  it('JS form: GET answering JSON {image (base64), format, width, height}', async () => {
    primeAgent(h.wire);
    const image = png(4, 5);
    h.wire.on('GET', '/desktop/screenshot', { json: { image: image.toString('base64'), format: 'png', width: 4, height: 5 } });
    const shot = await desktop().screenshot();
    expect(shot).toMatchObject({ mimeType: 'image/png', width: 4, height: 5 });
    expect(shot.data.equals(image)).toBe(true);
  });

  it('spec form: GET not routed (405) → POST /desktop/screenshot', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/screenshot', METHOD_MISSING);
    h.wire.on('POST', '/desktop/screenshot', { bytes: png(), headers: { 'content-type': 'image/png' } });
    const shot = await desktop().screenshot();
    expect(shot.width).toBe(3);
    expect(h.wire.calls('/desktop/screenshot').map((r) => r.method)).toEqual(['GET', 'POST']);
  });

  it('a body that is no image is an error, not a broken picture', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/screenshot', { bytes: Buffer.from('hello'), headers: { 'content-type': 'application/octet-stream' } });
    await expect(desktop().screenshot()).rejects.toThrow(/not an image/);
    h.wire.on('GET', '/desktop/screenshot', { json: { format: 'png' } });
    await expect(desktop().screenshot()).rejects.toThrow(/no "image" field/);
  });

  it('region: POST /desktop/screenshot/region {x, y, width, height} → bytes; bad regions refused before sending', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/screenshot/region', { bytes: png(10, 20), headers: { 'content-type': 'image/png' } });
    const shot = await desktop().screenshotRegion({ x: 5, y: 6, width: 10, height: 20 });
    expect(shot).toMatchObject({ width: 10, height: 20 });
    expect(h.wire.calls('/desktop/screenshot/region')[0]!.body).toEqual({ x: 5, y: 6, width: 10, height: 20 });
    await expect(desktop().screenshotRegion({ x: -1, y: 0, width: 1, height: 1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(desktop().screenshotRegion({ x: 0, y: 0, width: 0, height: 1 })).rejects.toThrow(/width must be/);
  });

  it('capture_window: GET /desktop/x11/capture_window?window_id= → bytes', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/x11/capture_window', { bytes: png(7, 8), headers: { 'content-type': 'image/png' } });
    expect((await desktop().captureWindow('0x1a')).width).toBe(7);
    expect(h.wire.calls('/desktop/x11/capture_window')[0]!.query).toEqual({ window_id: '0x1a' });
  });
});

describe('desktop mouse', () => {
  it('click {x, y, button, clicks} (both SDKs); move {x, y}', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/mouse/click', OK);
    h.wire.on('POST', '/desktop/mouse/move', OK);
    await desktop().click({ x: 10, y: 20 });
    await desktop().click({ x: 1, y: 2, button: 'right', clicks: 2 });
    await desktop().move({ x: 3, y: 4 });
    expect(h.wire.calls('/desktop/mouse/click').map((r) => r.body)).toEqual([
      { x: 10, y: 20, button: 'left', clicks: 1 },
      { x: 1, y: 2, button: 'right', clicks: 2 },
    ]);
    expect(h.wire.calls('/desktop/mouse/move')[0]!.body).toEqual({ x: 3, y: 4 });
    await expect(desktop().click({ x: 1.5, y: 2 })).rejects.toThrow(/x must be a whole number/);
    await expect(desktop().click({ x: 1, y: 2, clicks: 4 })).rejects.toThrow(/clicks must be 1, 2 or 3/);
  });

  it('drag {from_x, from_y, to_x, to_y, button} (Python adds button); falls back to /x11/drag_drop', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/mouse/drag', ROUTE_MISSING);
    h.wire.on('POST', '/desktop/x11/drag_drop', OK);
    await desktop().drag({ fromX: 1, fromY: 2, toX: 3, toY: 4 });
    const body = { from_x: 1, from_y: 2, to_x: 3, to_y: 4, button: 'left' };
    expect(h.wire.calls('/desktop/mouse/drag')[0]!.body).toEqual(body);
    expect(h.wire.calls('/desktop/x11/drag_drop')[0]!.body).toEqual(body);
  });

  it('scroll sends JS delta_y and Python amount + direction together', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/mouse/scroll', OK);
    await desktop().scroll({ amount: 3, direction: 'up', x: 5, y: 6 });
    await desktop().scroll({ amount: 2 });
    await desktop().scroll({ amount: 1, direction: 'right' });
    expect(h.wire.calls('/desktop/mouse/scroll').map((r) => r.body)).toEqual([
      { amount: 3, direction: 'up', delta_y: -3, x: 5, y: 6 },
      { amount: 2, direction: 'down', delta_y: 2 },
      { amount: 1, direction: 'right', delta_x: 1 },
    ]);
  });
});

describe('desktop keyboard', () => {
  it('type {text, delay_ms}; press {key}', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/keyboard/type', OK);
    h.wire.on('POST', '/desktop/keyboard/press', OK);
    await desktop().type('hello', { delayMs: 5 });
    await desktop().type('x');
    await desktop().press('Return');
    expect(h.wire.calls('/desktop/keyboard/type').map((r) => r.body)).toEqual([{ text: 'hello', delay_ms: 5 }, { text: 'x' }]);
    expect(h.wire.calls('/desktop/keyboard/press')[0]!.body).toEqual({ key: 'Return' });
    await expect(desktop().type('')).rejects.toBeInstanceOf(ValidationError);
  });

  it('combination sends JS keys[] and Python modifiers[] + key together; falls back to /x11/hotkey', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/keyboard/combination', OK);
    await desktop().combination(['ctrl', 'shift', 't']);
    expect(h.wire.calls('/desktop/keyboard/combination')[0]!.body).toEqual({ keys: ['ctrl', 'shift', 't'], modifiers: ['ctrl', 'shift'], key: 't' });
    h.wire.on('POST', '/desktop/keyboard/combination', METHOD_MISSING);
    h.wire.on('POST', '/desktop/x11/hotkey', OK);
    await desktop().combination(['alt', 'F4']);
    expect(h.wire.calls('/desktop/x11/hotkey')[0]!.body).toEqual({ keys: ['alt', 'F4'], modifiers: ['alt'], key: 'F4' });
    await expect(desktop().combination([])).rejects.toThrow(/non-empty list/);
  });
});

describe('desktop clipboard', () => {
  it('get reads JS content or Python text; set sends both; history', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/clipboard/get', { json: { content: 'from js' } }, { json: { text: 'from py' } });
    expect(await desktop().getClipboard()).toBe('from js');
    expect(await desktop().getClipboard()).toBe('from py');
    h.wire.on('POST', '/desktop/clipboard/set', OK);
    await desktop().setClipboard('abc');
    expect(h.wire.calls('/desktop/clipboard/set')[0]!.body).toEqual({ content: 'abc', text: 'abc' });
    h.wire.on('GET', '/desktop/clipboard/history', { json: { history: ['b', 'a', 3] } });
    expect(await desktop().clipboardHistory()).toEqual(['b', 'a']);
  });
});

describe('desktop windows', () => {
  it('JS GET /desktop/windows/list; Python GET /desktop/windows when the first is not routed; numeric ids as strings', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/windows/list', { json: { windows: [{ id: '0x1', title: 'A', x: 1, y: 2, width: 3, height: 4 }] } });
    expect(await desktop().windows()).toEqual([{ id: '0x1', title: 'A', x: 1, y: 2, width: 3, height: 4, desktop: null, pid: null }]);
    h.wire.on('GET', '/desktop/windows/list', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/windows', { json: { windows: [{ id: 42, title: 'B', x: 0, y: 0, width: 9, height: 9, desktop: 0, pid: 77 }, { title: 'no id' }] } });
    expect(await desktop().windows()).toEqual([{ id: '42', title: 'B', x: 0, y: 0, width: 9, height: 9, desktop: 0, pid: 77 }]);
  });

  it('focus / close / minimize {window_id}; resize {window_id, width, height}', async () => {
    primeAgent(h.wire);
    for (const a of ['focus', 'close', 'minimize', 'resize']) h.wire.on('POST', `/desktop/windows/${a}`, OK);
    await desktop().focusWindow('0x1');
    await desktop().closeWindow('0x2');
    await desktop().minimizeWindow('0x3');
    await desktop().resizeWindow('0x4', 800, 600);
    expect(h.wire.calls('/desktop/windows/focus')[0]!.body).toEqual({ window_id: '0x1' });
    expect(h.wire.calls('/desktop/windows/close')[0]!.body).toEqual({ window_id: '0x2' });
    expect(h.wire.calls('/desktop/windows/minimize')[0]!.body).toEqual({ window_id: '0x3' });
    expect(h.wire.calls('/desktop/windows/resize')[0]!.body).toEqual({ window_id: '0x4', width: 800, height: 600 });
  });
});

describe('desktop display', () => {
  it('spec /display/current, JS /display/info, Python /desktop/display, in that order', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/display/current', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/display/info', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/display', { json: { width: 1920, height: 1080, depth: 24 } });
    expect(await desktop().display()).toEqual({ width: 1920, height: 1080, depth: 24 });
    expect(h.wire.requests.filter((r) => r.path.startsWith('/desktop/display')).map((r) => r.path)).toEqual([
      '/desktop/display/current',
      '/desktop/display/info',
      '/desktop/display',
    ]);
  });

  it('resolutions as JS pairs or Python objects; set via /display/set, else JS /display/resolution', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/display/available', { json: { resolutions: [[1280, 800], [1920, 1080]] } }, ROUTE_MISSING);
    h.wire.on('GET', '/desktop/display/resolutions', { json: { resolutions: [{ width: 800, height: 600 }, { width: 'x' }] } });
    expect(await desktop().resolutions()).toEqual([[1280, 800], [1920, 1080]]);
    expect(await desktop().resolutions()).toEqual([[800, 600]]);
    h.wire.on('POST', '/desktop/display/set', METHOD_MISSING);
    h.wire.on('POST', '/desktop/display/resolution', { json: {} });
    expect(await desktop().setResolution(1024, 768)).toEqual({ width: 1024, height: 768, depth: null });
    expect(h.wire.calls('/desktop/display/resolution')[0]!.body).toEqual({ width: 1024, height: 768 });
  });
});

describe('desktop VNC', () => {
  it('start: spec/Python POST {display, password} → {running, display, port, url}', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/vnc/start', { json: { running: true, display: ':1', port: 5901, url: 'vnc://x:5901' } });
    expect(await desktop().vncStart({ display: 1, password: 'pw' })).toEqual({ running: true, display: ':1', port: 5901, url: 'vnc://x:5901' });
    expect(h.wire.calls('/desktop/vnc/start')[0]!.body).toEqual({ display: 1, password: 'pw' });
  });

  it('start: JS GET when POST is not routed; stop POST then GET; status then JS /vnc/info', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/vnc/start', METHOD_MISSING);
    h.wire.on('GET', '/desktop/vnc/start', { json: { port: 5900, url: 'https://5900-x.vms.hopx.dev/' } });
    expect(await desktop().vncStart()).toEqual({ running: true, display: null, port: 5900, url: 'https://5900-x.vms.hopx.dev/' });
    h.wire.on('POST', '/desktop/vnc/stop', METHOD_MISSING);
    h.wire.on('GET', '/desktop/vnc/stop', OK);
    await desktop().vncStop();
    expect(h.wire.calls('/desktop/vnc/stop').map((r) => r.method)).toEqual(['POST', 'GET']);
    h.wire.on('GET', '/desktop/vnc/status', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/vnc/info', { json: { running: false } });
    expect(await desktop().vncStatus()).toEqual({ running: false, display: null, port: null, url: null });
  });
});

describe('desktop recording, X11 extras, debug', () => {
  it('recording start (JS output_file / Python fps, format, quality), stop {recording_id}, status ?id=', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/recording/start', { json: { recording_id: 'rec_1', status: 'recording' } });
    h.wire.on('POST', '/desktop/recording/stop', { json: { status: 'stopped', duration: 2.5, file_size: 1000 } });
    h.wire.on('GET', '/desktop/recording/status', { json: { id: 'rec_1', status: 'ready' } });
    expect(await desktop().recordingStart({ fps: 10, format: 'mp4', quality: 'high', outputFile: '/tmp/a.mp4' })).toEqual({
      recordingId: 'rec_1',
      status: 'recording',
      durationSeconds: null,
      fileSize: null,
    });
    expect(h.wire.calls('/desktop/recording/start')[0]!.body).toEqual({ output_file: '/tmp/a.mp4', fps: 10, format: 'mp4', quality: 'high' });
    expect(await desktop().recordingStop('rec_1')).toMatchObject({ status: 'stopped', durationSeconds: 2.5, fileSize: 1000 });
    expect(h.wire.calls('/desktop/recording/stop')[0]!.body).toEqual({ recording_id: 'rec_1' });
    expect(await desktop().recordingStatus('rec_1')).toMatchObject({ recordingId: 'rec_1', status: 'ready' });
    expect(h.wire.calls('/desktop/recording/status')[0]!.query).toEqual({ id: 'rec_1' });
  });

  it('recording download: spec/Python ?id=, else JS /recording/{id}/download', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/recording/download', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/recording/rec_1/download', { bytes: Buffer.from('video'), headers: { 'content-type': 'video/mp4' } });
    expect((await desktop().recordingDownload('rec_1')).toString()).toBe('video');
    expect(h.wire.calls('/desktop/recording/download')[0]!.query).toEqual({ id: 'rec_1' });
  });

  it('ocr → text; find_element / wait_for → element; get_bounds → bounds', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/x11/ocr', { json: { text: 'Hello' } });
    h.wire.on('POST', '/desktop/x11/find_element', { json: { element: { x: 1, y: 2, width: 3, height: 4 } } }, { json: {} });
    h.wire.on('POST', '/desktop/x11/wait_for', { json: { element: { x: 5, y: 6, width: 7, height: 8 } } });
    h.wire.on('POST', '/desktop/x11/get_bounds', { json: { x: 9, y: 9, width: 9, height: 9 } });
    expect(await desktop().ocr({ x: 0, y: 0, width: 10, height: 10 })).toBe('Hello');
    expect(h.wire.calls('/desktop/x11/ocr')[0]!.body).toEqual({ x: 0, y: 0, width: 10, height: 10, language: 'eng' });
    expect(await desktop().findElement('OK')).toEqual({ x: 1, y: 2, width: 3, height: 4 });
    expect(await desktop().findElement('OK')).toBeNull();
    expect(await desktop().waitFor('OK', 5)).toEqual({ x: 5, y: 6, width: 7, height: 8 });
    expect(h.wire.calls('/desktop/x11/wait_for')[0]!.body).toEqual({ text: 'OK', timeout: 5 });
    expect(await desktop().getBounds('OK')).toEqual({ x: 9, y: 9, width: 9, height: 9 });
  });

  it('debug logs and processes', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/debug/logs', { json: { logs: ['a', 'b'] } });
    h.wire.on('GET', '/desktop/debug/processes', { json: { processes: [{ pid: 1, name: 'Xvfb', command: 'Xvfb :0' }] } });
    expect(await desktop().debugLogs()).toEqual(['a', 'b']);
    expect(await desktop().debugProcesses()).toEqual([{ pid: 1, name: 'Xvfb', command: 'Xvfb :0' }]);
  });
});

describe('desktop not available', () => {
  it('503 DESKTOP_NOT_AVAILABLE → DesktopNotAvailableError with missing_dependencies, asked once (no retry)', async () => {
    primeAgent(h.wire);
    h.wire.on('GET', '/desktop/screenshot', {
      status: 503,
      json: flatError('Desktop automation is not available', 'DESKTOP_NOT_AVAILABLE', { details: { missing_dependencies: ['xvfb', 'xdotool'] } }),
    });
    const error = await desktop().screenshot().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DesktopNotAvailableError);
    expect((error as DesktopNotAvailableError).missingDependencies).toEqual(['xvfb', 'xdotool']);
    expect((error as Error).message).toMatch(/has no desktop, so it cannot .*; its template lacks xvfb, xdotool\.$/);
    expect(h.wire.calls('/desktop/screenshot')).toHaveLength(1);
  });

  it('a bare 501 (JS SDK) and a 503 that names the desktop (spec) are the same error; the code wins on any status', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/mouse/click', { status: 501, text: 'Not Implemented' });
    await expect(desktop().click({ x: 1, y: 1 })).rejects.toBeInstanceOf(DesktopNotAvailableError);
    h.wire.on('GET', '/desktop/vnc/status', { status: 503, json: { error: 'desktop not available' } });
    await expect(desktop().vncStatus()).rejects.toBeInstanceOf(DesktopNotAvailableError);
    h.wire.on('POST', '/desktop/keyboard/press', { status: 400, json: flatError('no desktop', 'DESKTOP_NOT_AVAILABLE') });
    await expect(desktop().press('a')).rejects.toBeInstanceOf(DesktopNotAvailableError);
  });

  it('a plain 500 stays a ServerError; an agent with no form of an operation says which forms it tried', async () => {
    primeAgent(h.wire);
    h.wire.on('POST', '/desktop/keyboard/type', { status: 500, json: flatError('xdotool crashed', 'DESKTOP_ERROR') });
    await expect(desktop().type('a')).rejects.toBeInstanceOf(ServerError);
    h.wire.on('GET', '/desktop/vnc/status', ROUTE_MISSING);
    h.wire.on('GET', '/desktop/vnc/info', ROUTE_MISSING);
    const error = await desktop().vncStatus().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HopxError);
    expect((error as Error).message).toMatch(/GET \/desktop\/vnc\/status, GET \/desktop\/vnc\/info/);
  });
});
