/** What a sandbox file is: its MIME type by name, and whether its bytes can be shown as text. */

const MIME_BY_EXT: Record<string, string> = {
  txt: 'text/plain', md: 'text/markdown', py: 'text/x-python', js: 'text/javascript', mjs: 'text/javascript', ts: 'text/plain',
  go: 'text/x-go', sh: 'text/x-shellscript', json: 'application/json', csv: 'text/csv', tsv: 'text/tab-separated-values',
  html: 'text/html', htm: 'text/html', css: 'text/css', xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml',
  toml: 'text/plain', log: 'text/plain', ini: 'text/plain', svg: 'image/svg+xml', png: 'image/png', jpg: 'image/jpeg',
  jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf', zip: 'application/zip',
  gz: 'application/gzip', tar: 'application/x-tar', parquet: 'application/octet-stream', bin: 'application/octet-stream',
};

export function mimeTypeFor(path: string): string {
  const ext = path.split('/').pop()?.split('.').pop()?.toLowerCase() ?? '';
  return MIME_BY_EXT[ext] ?? 'application/octet-stream';
}

/** Text we can show as text: a text MIME type, or bytes that decode as UTF-8 without control junk. */
export function looksLikeText(bytes: Uint8Array, mimeType: string): boolean {
  if (mimeType.startsWith('text/') || mimeType === 'application/json' || mimeType.endsWith('+xml') || mimeType === 'application/xml' || mimeType === 'application/yaml') return true;
  if (mimeType !== 'application/octet-stream') return false;
  const sample = bytes.subarray(0, 4096);
  if (sample.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(sample.length < bytes.length ? sample.subarray(0, lastCompleteUtf8(sample)) : sample);
    return true;
  } catch {
    return false;
  }
}

/** Length of `b` without a trailing, possibly cut multi-byte UTF-8 sequence. */
function lastCompleteUtf8(b: Uint8Array): number {
  let i = b.length;
  for (let k = 0; k < 3 && i > 0 && (b[i - 1] & 0xc0) === 0x80; k++) i--;
  if (i > 0 && b[i - 1] >= 0xc0) i--;
  return i;
}
