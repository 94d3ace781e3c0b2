import { describe, expect, it } from 'vitest';
import { countLines, cutMarker, cutMiddle, HeadTailBuffer, joinCut, utf8Bytes } from '../../src/text/cut.js';

const note = { label: 'stdout', where: '/tmp/hopx-outputs/x.stdout.txt' };
const lines = (n: number, width = 10) => Array.from({ length: n }, (_, i) => `line ${String(i + 1).padStart(width - 5, '0')}`).join('\n') + '\n';

/** The text before and after the one marker, and what the marker says. */
function parts(text: string) {
  const m = /\n… \[(\d+) bytes \((\d+) lines\) of (\S+) cut after line (\d+); ([^\]]*)\] …\n/.exec(text);
  if (!m) throw new Error(`no marker in ${JSON.stringify(text.slice(0, 200))}`);
  return { head: text.slice(0, m.index), tail: text.slice(m.index + m[0].length), bytes: +m[1], lines: +m[2], label: m[3], afterLine: +m[4], whole: m[5] };
}

describe('cutMiddle', () => {
  it('leaves text within the limit alone', () => {
    expect(cutMiddle('short\n', { maxChars: 100 }, note)).toEqual({ text: 'short\n', cut: null });
  });

  it('keeps head and tail within the limit, whole lines only, and counts exactly what it cut', () => {
    const text = lines(5000);
    const r = cutMiddle(text, { maxChars: 2000 }, note);
    expect(r.text.length).toBeLessThanOrEqual(2000);
    const p = parts(r.text);
    expect(p.head).toMatch(/^line 00001\n/);
    expect(text.startsWith(p.head)).toBe(true);
    expect(text.endsWith(p.tail)).toBe(true);
    const all = new Set(text.split('\n'));
    for (const l of [...p.head.split('\n'), ...p.tail.split('\n')]) expect(all.has(l), l).toBe(true);
    // What was cut, in bytes and lines, is what is missing between head and tail.
    const cut = text.slice(p.head.length, text.length - p.tail.length);
    expect(p.bytes).toBe(utf8Bytes(cut));
    expect(p.lines).toBe(countLines(cut));
    expect(p.afterLine).toBe(countLines(p.head) + 1);
    // The next line to read after the head is afterLine + 1.
    expect(text.split('\n')[p.afterLine]).toBe(cut.slice(1).split('\n')[0]);
    expect(p.whole).toBe('whole stdout: /tmp/hopx-outputs/x.stdout.txt');
    expect(r.cut).toEqual({ bytes: p.bytes, lines: p.lines, afterLine: p.afterLine });
  });

  it('gives roughly 40% to the head and 60% to the tail, or what headShare says', () => {
    const text = 'x'.repeat(100_000);
    const p = parts(cutMiddle(text, { maxChars: 10_000 }, note).text);
    expect(p.head.length / (p.head.length + p.tail.length)).toBeCloseTo(0.4, 1);
    const half = parts(cutMiddle(text, { maxChars: 10_000, headShare: 0.5 }, note).text);
    expect(Math.abs(half.head.length - half.tail.length)).toBeLessThanOrEqual(1);
  });

  it('never splits a surrogate pair, even with no line end near', () => {
    for (let shift = 0; shift < 4; shift++) {
      const text = 'a'.repeat(shift) + '😀'.repeat(20_000);
      const r = cutMiddle(text, { maxChars: 1001 + shift }, { label: 'x', where: null });
      const p = parts(r.text);
      expect(Buffer.from(p.head, 'utf8').toString('utf8')).toBe(p.head);
      expect(/[\ud800-\udbff]$/.test(p.head)).toBe(false);
      expect(/^[\udc00-\udfff]/.test(p.tail)).toBe(false);
      expect(p.bytes).toBe(utf8Bytes(text) - utf8Bytes(p.head) - utf8Bytes(p.tail));
    }
  });

  it('says when the whole was not kept, and adds a hint after where it is', () => {
    expect(parts(cutMiddle('y'.repeat(5000), { maxChars: 500 }, { label: 'stderr', where: null }).text).whole).toBe('the whole stderr was not kept');
    expect(cutMarker({ bytes: 1, lines: 0, afterLine: 3 }, { label: 'file', where: '/a', hint: 'page it' })).toContain('whole file: /a (page it)');
  });

  it('with the whole size given, counts against the whole (text already cut once)', () => {
    const r = joinCut('a\nb\n', 'y\nz\n', { bytes: 0, lines: 0 }, { maxChars: 300 }, note, { bytes: 1_000_000, lines: 50_000 });
    // Nothing fit-wise was cut here, yet the whole is larger: counts are the whole's minus what is kept.
    const p = parts(r.text);
    expect(p.bytes).toBe(1_000_000 - utf8Bytes(p.head) - utf8Bytes(p.tail));
    expect(p.lines).toBe(50_000 - countLines(p.head) - countLines(p.tail));
  });
});

describe('HeadTailBuffer', () => {
  it('gives the same cut as cutMiddle over the whole text, in bounded memory', () => {
    const text = lines(200_000);
    const buffer = new HeadTailBuffer({ maxChars: 20_000 });
    for (let i = 0; i < text.length; i += 4093) buffer.append(text.slice(i, i + 4093));
    expect(buffer.lossy).toBe(true);
    expect(buffer.whole()).toBeNull();
    expect(buffer.size).toEqual({ bytes: utf8Bytes(text), lines: 200_000, chars: text.length });
    const streamed = buffer.finish(note);
    expect(streamed.text).toBe(cutMiddle(text, { maxChars: 20_000 }, note).text);
    expect(streamed.text.length).toBeLessThanOrEqual(20_000);
  });

  it('keeps everything under the limit, and says so', () => {
    const buffer = new HeadTailBuffer({ maxChars: 1000 });
    buffer.append('a\n');
    buffer.append('b\n');
    expect(buffer.whole()).toBe('a\nb\n');
    expect(buffer.finish(note)).toEqual({ text: 'a\nb\n', cut: null });
  });

  it('splits chunks between surrogates without breaking a character', () => {
    const text = '😀'.repeat(30_000);
    const buffer = new HeadTailBuffer({ maxChars: 3000 });
    for (let i = 0; i < text.length; i += 7) buffer.append(text.slice(i, i + 7));
    const p = parts(buffer.finish({ label: 'x', where: null }).text);
    expect(/[\ud800-\udbff]$/.test(p.head)).toBe(false);
    expect(/^[\udc00-\udfff]/.test(p.tail)).toBe(false);
  });
});
