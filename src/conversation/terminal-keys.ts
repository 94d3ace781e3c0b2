/**
 * Named keys → the bytes a terminal sends for them (xterm conventions). Arrow, Home and End keys
 * depend on the application-cursor mode a program such as `less` or `vim` switches on.
 */

const CSI = '\x1b[';
const SS3 = '\x1bO';

/** Keys that are one fixed sequence whatever the terminal mode. */
const FIXED: Record<string, string> = {
  enter: '\r',
  return: '\r',
  tab: '\t',
  backtab: `${CSI}Z`,
  space: ' ',
  backspace: '\x7f',
  escape: '\x1b',
  esc: '\x1b',
  delete: `${CSI}3~`,
  insert: `${CSI}2~`,
  pageup: `${CSI}5~`,
  pagedown: `${CSI}6~`,
  f1: `${SS3}P`,
  f2: `${SS3}Q`,
  f3: `${SS3}R`,
  f4: `${SS3}S`,
  f5: `${CSI}15~`,
  f6: `${CSI}17~`,
  f7: `${CSI}18~`,
  f8: `${CSI}19~`,
  f9: `${CSI}20~`,
  f10: `${CSI}21~`,
  f11: `${CSI}23~`,
  f12: `${CSI}24~`,
};

/** Keys whose sequence uses SS3 in application-cursor mode and CSI otherwise. */
const CURSOR: Record<string, string> = { up: 'A', down: 'B', right: 'C', left: 'D', home: 'H', end: 'F' };

/** Control characters reachable as Ctrl-<key> besides the letters. */
const CONTROL_PUNCTUATION: Record<string, string> = { '@': '\x00', '[': '\x1b', '\\': '\x1c', ']': '\x1d', '^': '\x1e', _: '\x1f', space: '\x00' };

export const KEY_NAMES_HELP =
  'Enter, Tab, Backspace, Escape, Up, Down, Left, Right, Home, End, PageUp, PageDown, Delete, F1-F12, Space, Ctrl-A … Ctrl-Z (e.g. Ctrl-C), Alt-<key>';

/**
 * The bytes for one named key, or null when the name is not a key. Accepts `Ctrl-C`, `ctrl+c`,
 * `C-c` and `^C` alike, and `Alt-x` / `Meta-x` (ESC prefix).
 */
export function keySequence(name: string, applicationCursor: boolean): string | null {
  const trimmed = name.trim();
  if (/^\^.$/.test(trimmed)) return control(trimmed.slice(1));
  const lower = trimmed.toLowerCase();
  const modifier = /^(ctrl|control|c|alt|meta|m)[-+](.+)$/.exec(lower);
  if (modifier) {
    const rest = modifier[2];
    if (modifier[1].startsWith('c')) return control(rest);
    const inner = rest.length === 1 ? rest : keySequence(rest, applicationCursor);
    return inner === null ? null : `\x1b${inner}`;
  }
  const fixed = FIXED[lower];
  if (fixed !== undefined) return fixed;
  const cursor = CURSOR[lower];
  if (cursor !== undefined) return `${applicationCursor ? SS3 : CSI}${cursor}`;
  return null;
}

function control(key: string): string | null {
  const lower = key.toLowerCase();
  if (/^[a-z]$/.test(lower)) return String.fromCharCode(lower.charCodeAt(0) - 96);
  return CONTROL_PUNCTUATION[lower] ?? null;
}
