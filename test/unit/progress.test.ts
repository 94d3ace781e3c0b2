/**
 * The live progress feed: which lines a message shows, how often notifications go out (at most
 * every 250 ms while output flows, at least every 5 s when quiet), and that it stops. Fake timers
 * make the schedule exact; no wall clock is read by the assertions.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ProgressFeed } from '../../src/tools/progress.js';

let sent: { progress: number; message: string; at: number }[];
let t0: number;

function feed(options = {}) {
  return new ProgressFeed('sandbox_run_code', async (progress, message) => void sent.push({ progress, message, at: Date.now() - t0 }), options);
}
const body = (message: string) => message.split('\n').slice(1);

beforeEach(() => {
  vi.useFakeTimers();
  t0 = Date.now();
  sent = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('progress message', () => {
  it('shows the newest five lines of both streams in arrival order, stderr marked, with the elapsed time', () => {
    const f = feed();
    f.lines('stdout', 'one\ntwo\nthr');
    f.lines('stdout', 'ee\n');
    f.lines('stderr', 'warn A\n');
    f.lines('stdout', 'four\nfive\nsix');
    vi.advanceTimersByTime(1500);
    const m = f.message();
    expect(m.split('\n')[0]).toBe('sandbox_run_code running (1.5 s)');
    expect(body(m)).toEqual(['three', '[stderr] warn A', 'four', 'five', 'six']);
    f.stop();
  });

  it('cuts long lines, shows what a carriage return leaves, and keeps bounded memory for a line without end', () => {
    const f = feed();
    f.lines('stdout', `${'x'.repeat(1000)}\n`);
    f.lines('stdout', 'progress 10%\rprogress 55%\r\n');
    for (let i = 0; i < 1000; i++) f.lines('stderr', 'y'.repeat(1000));
    const [long, bar, endless] = body(f.message());
    expect(long).toBe(`${'x'.repeat(199)}…`);
    expect(bar).toBe('progress 55%');
    expect(endless).toBe(`[stderr] ${'y'.repeat(199)}…`);
    expect(JSON.stringify(f).length).toBeLessThan(10_000);
    f.stop();
  });

  it('says the status when one is set', () => {
    const f = feed();
    f.status('waiting for process p-1');
    expect(f.message()).toBe('sandbox_run_code running (0.0 s): waiting for process p-1');
    f.stop();
  });
});

describe('progress schedule', () => {
  it('sends the first output at once, then at most every 250 ms while output flows', async () => {
    const f = feed();
    f.lines('stdout', 'a\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.at)).toEqual([0]);
    for (let ms = 0; ms < 1000; ms += 10) {
      f.lines('stdout', `${ms}\n`);
      await vi.advanceTimersByTimeAsync(10);
    }
    const gaps = sent.slice(1).map((s, i) => s.at - sent[i].at);
    expect(gaps.every((g) => g >= 250)).toBe(true);
    expect(sent.length).toBeGreaterThanOrEqual(4);
    expect(sent.map((s) => s.progress)).toEqual(sent.map((_, i) => i + 1));
    // The newest line reaches the client within one interval.
    const last = sent.at(-1)!;
    expect(body(last.message).at(-1)).toBe('990');
    f.stop();
  });

  it('sends a keepalive every 5 s when there is no output, and nothing after stop', async () => {
    const f = feed();
    await vi.advanceTimersByTimeAsync(12_000);
    expect(sent.map((s) => s.at)).toEqual([5000, 10_000]);
    expect(sent[1].message).toBe('sandbox_run_code running (10 s)');
    f.stop();
    f.lines('stdout', 'late\n');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sent).toHaveLength(2);
  });

  it('output after a quiet spell goes out at once and restarts the keepalive clock', async () => {
    const f = feed();
    await vi.advanceTimersByTimeAsync(4000);
    f.lines('stdout', 'hello\n');
    await vi.advanceTimersByTimeAsync(0);
    expect(sent.map((s) => s.at)).toEqual([4000]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.map((s) => s.at)).toEqual([4000, 9000]);
    f.stop();
  });

  it('stops sending when the transport refuses a notification', async () => {
    let calls = 0;
    const f = new ProgressFeed('t', async () => {
      calls += 1;
      throw new Error('closed');
    });
    f.lines('stdout', 'a\n');
    await vi.advanceTimersByTimeAsync(30_000);
    expect(calls).toBe(1);
  });
});
