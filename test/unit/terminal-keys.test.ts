import { describe, expect, it } from 'vitest';
import { keySequence } from '../../src/conversation/terminal-keys.js';
import { plainText } from '../../src/conversation/terminal-session.js';

describe('keySequence', () => {
  it.each([
    ['Enter', '\r'],
    ['tab', '\t'],
    ['Ctrl-C', '\x03'],
    ['ctrl+d', '\x04'],
    ['C-z', '\x1a'],
    ['^C', '\x03'],
    ['Ctrl-\\', '\x1c'],
    ['Alt-b', '\x1bb'],
    ['Escape', '\x1b'],
    ['F5', '\x1b[15~'],
    ['PageDown', '\x1b[6~'],
  ])('%s', (name, bytes) => {
    expect(keySequence(name, false)).toBe(bytes);
  });

  it('sends arrows in the mode the program asked for', () => {
    expect(keySequence('Up', false)).toBe('\x1b[A');
    expect(keySequence('Up', true)).toBe('\x1bOA');
    expect(keySequence('Alt-Left', false)).toBe('\x1b\x1b[D');
  });

  it('returns null for names that are not keys', () => {
    for (const name of ['Hyper-Q', 'Ctrl-1', 'Enterr', '']) expect(keySequence(name, false)).toBeNull();
  });
});

describe('plainText', () => {
  it('removes escape sequences and turns carriage returns into line breaks', () => {
    expect(plainText('\x1b]0;title\x07\x1b[1;32mok\x1b[0m\r\n10%\r50%\r100%\n\x1b(B\x07done')).toBe('ok\n10%\n50%\n100%\ndone');
  });
});
