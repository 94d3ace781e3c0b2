import { describe, expect, test } from 'vitest';
import { RawStream } from '../../../src/local/runtime/kernel-client.js';

const MARKER = '\x1eabc123\x1e';

function feed(chunks: string[]): string[] {
  const events: string[] = [];
  const stream = new RawStream(MARKER, (t) => events.push(`text:${t}`), () => events.push('marker'));
  for (const chunk of chunks) stream.push(chunk);
  return events;
}

describe('RawStream (end-of-cell markers on the kernel fd 1/2)', () => {
  test('text before the marker belongs to the cell, text after to the next', () => {
    expect(feed([`out\n${MARKER}next`])).toEqual(['text:out\n', 'marker', 'text:next']);
  });

  test('a marker split across chunks is still found and never leaks as text', () => {
    const events = feed(['a\x1eab', 'c1', '23\x1eb']);
    expect(events).toEqual(['text:a', 'marker', 'text:b']);
  });

  test('a held-back prefix that turns out not to be a marker is released', () => {
    expect(feed(['x\x1eab', 'zz']).join('')).toBe('text:xtext:\x1eabzz');
  });

  test('two markers in one chunk', () => {
    expect(feed([`${MARKER}${MARKER}`])).toEqual(['marker', 'marker']);
  });
});
