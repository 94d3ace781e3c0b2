/**
 * Computer use end to end, in both protocol eras over streamable HTTP: a real SDK client, the
 * real server with the desktop toolset, the real local backend, and a real Tk app on the X
 * display inside a desktop-template sandbox. What the screen shows is checked by its pixels.
 */
import { connect as tcpConnect } from 'node:net';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Client } from '@modelcontextprotocol/client';
import type { HttpServer } from '../../src/transports/http.js';
import { decodePng, differingPixels, pixelAt, type Pixels } from '../support/png.js';
import { callTool, connectHttp, useHttpFixture, waitFor } from './helpers.js';

const { backend, serve, track } = useHttpFixture();
let server: HttpServer;
let desktopTemplate = false;

/** The app under test. It reports where its widgets are (screen = screenshot pixels) whenever its window moves. */
const APP = `
import json, tkinter as tk
r = tk.Tk(); r.title("Demo"); r.geometry("420x220+60+60")
state = tk.StringVar(value="waiting")
label = tk.Label(r, textvariable=state, font=("TkDefaultFont", 20), width=16)
label.pack(pady=8)
def clicked():
    state.set("CLICKED"); label.configure(bg="#ff0000")
    open("/workspace/clicked", "w").write("1")
button = tk.Button(r, text="Press me", command=clicked); button.pack()
entry = tk.Entry(r, width=30); entry.pack(pady=8)
def save(event=None):
    open("/workspace/typed.txt", "w").write(entry.get())
r.bind_all("<Control-s>", save)
def layout(event=None):
    box = lambda w: [w.winfo_rootx(), w.winfo_rooty(), w.winfo_width(), w.winfo_height()]
    with open("/workspace/layout.tmp", "w") as f:
        json.dump({"button": box(button), "entry": box(entry), "label": box(label)}, f)
    __import__("os").replace("/workspace/layout.tmp", "/workspace/layout.json")
r.bind("<Configure>", layout)
r.mainloop()
`;

type Box = [number, number, number, number];
const center = (b: Box) => ({ x: b[0] + Math.floor(b[2] / 2), y: b[1] + Math.floor(b[3] / 2) });

beforeAll(async () => {
  desktopTemplate = backend().backend.probe.desktop.available;
  if (!desktopTemplate) {
    // CI installs the desktop packages (.ci/run): there a missing desktop is a failure, not a skip.
    if (process.env.CI === 'true') throw new Error(`CI has no desktop template: ${backend().backend.probe.desktop.missing.join(', ')} missing`);
    console.warn(`desktop tests skipped: ${backend().backend.probe.desktop.missing.join(', ')} missing (apt-get install xvfb openbox xdotool wmctrl x11vnc xclip python3-tk)`);
  }
});
// The fixture closes servers after each test.
beforeEach(async () => {
  // No per-caller rate limit: the test polls the screen while it waits for the app to react.
  server = await serve({ server: { toolsets: ['sandbox', 'commands', 'files', 'desktop'] }, limits: { requestsPerMinute: 0 } });
});

async function screenshot(client: Client, args: Record<string, unknown> = {}): Promise<{ pixels: Pixels; text: string; structured: Record<string, unknown> }> {
  const result = await client.callTool({ name: 'sandbox_desktop_screenshot', arguments: args });
  const content = result.content as Array<{ type: string; text?: string; data?: string; mimeType?: string }>;
  expect(result.isError, content[0]?.text).toBeFalsy();
  const image = content.find((c) => c.type === 'image');
  expect(image?.mimeType).toBe('image/png');
  return { pixels: decodePng(Buffer.from(image!.data!, 'base64')), text: content[0]!.text!, structured: result.structuredContent as Record<string, unknown> };
}

async function readFile(client: Client, path: string): Promise<string | null> {
  const r = await callTool(client, 'sandbox_read_file', { path });
  return r.isError ? null : ((r.structured?.content as string | null) ?? null);
}

/** The RFB greeting a VNC server sends first: "RFB 003.008\n". */
function rfbGreeting(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname);
    socket.setTimeout(15_000, () => socket.destroy(new Error('no RFB greeting within 15 s')));
    let got = '';
    socket.on('data', (chunk) => {
      got += chunk.toString('latin1');
      if (got.length >= 12) {
        socket.destroy();
        resolve(got.slice(0, 12));
      }
    });
    socket.on('error', reject);
  });
}

describe.each(['legacy', 'modern'] as const)('%s-era client', (era) => {
  it('sees a Tk app, clicks its button, types into it, presses ctrl+s, and opens VNC', async (test) => {
    if (!desktopTemplate) test.skip();
    const client = track(await connectHttp(server.url, era));
    const created = await callTool(client, 'sandbox_create', { template: 'desktop' });
    expect(created.isError, created.text).toBe(false);
    const written = await callTool(client, 'sandbox_write_file', { path: '/workspace/app.py', content: APP });
    expect(written.isError, written.text).toBe(false);
    const started = await callTool(client, 'sandbox_run_command', { command: 'python3 /workspace/app.py', background: true, timeout_seconds: 900 });
    expect(started.isError, started.text).toBe(false);

    // The window is managed (listed by the window manager) and has reported its layout.
    await waitFor(async () => {
      const list = await callTool(client, 'sandbox_desktop_windows', {});
      return /"Demo"/.test(list.text) && (await readFile(client, '/workspace/layout.json')) !== null;
    }, 60_000, 'the Tk window').catch(async (err) => {
      // What the sandbox shows, for whoever reads the failure.
      const seen = await callTool(client, 'sandbox_run_command', { command: 'echo DISPLAY=$DISPLAY; ps -eo pid,stat,args; wmctrl -l; ls /workspace' });
      console.error(`the Tk window did not appear (${era}):\n${seen.text}`);
      throw err;
    });
    const layout = JSON.parse((await readFile(client, '/workspace/layout.json'))!) as Record<'button' | 'entry' | 'label', Box>;

    const before = await screenshot(client);
    expect(before.structured).toMatchObject({ width: 1280, height: 800, inlined: true });
    expect(before.text).toMatch(/1280x800 PNG/);
    const labelEdge = { x: layout.label[0] + 3, y: layout.label[1] + Math.floor(layout.label[3] / 2) };
    expect(pixelAt(before.pixels, labelEdge.x, labelEdge.y)).not.toEqual([255, 0, 0]);

    const clicked = await callTool(client, 'sandbox_desktop_click', center(layout.button));
    expect(clicked.isError, clicked.text).toBe(false);
    await waitFor(async () => (await readFile(client, '/workspace/clicked')) === '1', 45_000, 'the click to reach the app');
    // The app repaints after its handler: look until the label is red, then compare the screens.
    let after = await screenshot(client);
    await waitFor(async () => {
      after = await screenshot(client);
      return pixelAt(after.pixels, labelEdge.x, labelEdge.y).join() === '255,0,0';
    }, 45_000, 'the red label on screen');
    expect(differingPixels(before.pixels, after.pixels)).toBeGreaterThan(1000);

    // A region is the same pixels as that part of the full screen.
    const region = await screenshot(client, { region: { x: layout.label[0], y: layout.label[1], width: layout.label[2], height: layout.label[3] } });
    expect(region.pixels.width).toBe(layout.label[2]);
    expect(pixelAt(region.pixels, 3, Math.floor(layout.label[3] / 2))).toEqual([255, 0, 0]);

    expect((await callTool(client, 'sandbox_desktop_click', center(layout.entry))).isError).toBe(false);
    const typed = await callTool(client, 'sandbox_desktop_type', { text: 'hello desktop 42' });
    expect(typed.isError, typed.text).toBe(false);
    const key = await callTool(client, 'sandbox_desktop_key', { keys: 'ctrl+s' });
    expect(key.isError, key.text).toBe(false);
    await waitFor(async () => (await readFile(client, '/workspace/typed.txt')) === 'hello desktop 42', 45_000, 'the typed text in the file');

    const vnc = await callTool(client, 'sandbox_desktop_vnc', { action: 'start' });
    expect(vnc.isError, vnc.text).toBe(false);
    expect(vnc.structured).toMatchObject({ running: true, port: 5900 });
    expect(await rfbGreeting(vnc.structured!.url as string)).toBe('RFB 003.008\n');
    const stopped = await callTool(client, 'sandbox_desktop_vnc', { action: 'stop' });
    expect(stopped.structured).toMatchObject({ running: false });

    const windows = await callTool(client, 'sandbox_desktop_windows', {});
    const demo = (windows.structured!.windows as Array<{ id: string; title: string }>).find((w) => w.title === 'Demo')!;
    const unknown = await callTool(client, 'sandbox_desktop_windows', { action: 'focus', window_id: '0x7ffffff' });
    expect(unknown.isError).toBe(true);
    expect(unknown.text).toMatch(/No window 0x7ffffff .*action "list"/);
    const closed = await callTool(client, 'sandbox_desktop_windows', { action: 'close', window_id: demo.id });
    expect(closed.isError, closed.text).toBe(false);
    await waitFor(async () => !/"Demo"/.test((await callTool(client, 'sandbox_desktop_windows', {})).text), 45_000, 'the window to close');
  }, 240_000); // a bound, not a speed target: a dozen real steps, each waiting for its event, on a shared machine
});

describe('a sandbox without a desktop', () => {
  it('answers the desktop tools with an isError that says to use a desktop template', async (test) => {
    if (!desktopTemplate) test.skip();
    const client = track(await connectHttp(server.url, 'modern'));
    const created = await callTool(client, 'sandbox_create', { template: 'base' });
    expect(created.isError, created.text).toBe(false);
    const shot = await callTool(client, 'sandbox_desktop_screenshot', {});
    expect(shot.isError).toBe(true);
    expect(shot.text).toMatch(/has no desktop/);
    expect(shot.text).toMatch(/template "desktop"/);
    const click = await callTool(client, 'sandbox_desktop_click', { x: 1, y: 1 });
    expect(click.isError).toBe(true);
    expect(click.text).toMatch(/sandbox_create/);
  });
});
