/** Pure helpers: the output budget, HTML rendering, error translation, the output store. */
import { describe, expect, it } from 'vitest';
import { allocate, seconds } from '../../src/tools/result.js';
import { htmlToText } from '../../src/tools/rich.js';
import { expiresIn } from '../../src/views/sandbox.js';
import { errorText, isKnownError, toToolError } from '../../src/errors.js';
import { errorFromResponse } from '../../src/client/error-table.js';
import {
  ConflictError,
  ExecutionTimeoutError,
  HopxError,
  NetworkError,
  PathNotAllowedError,
  RateLimitError,
  SandboxExpiredError,
  SandboxNotFoundError,
  SandboxNotRunningError,
} from '../../src/client/errors.js';
import { sandboxPathOf, fileUri } from '../../src/conversation/uris.js';
import { readAll, readBounded, trimUtf8End, trimUtf8Start } from '../../src/views/bounded-read.js';

async function* chunks(data: Buffer, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

const text = (r: ReturnType<typeof toToolError>) => (r.content[0] as { text: string }).text;

describe('seconds', () => {
  it.each([
    [null, ''],
    [0, ' in <0.01 s'],
    [0.004, ' in <0.01 s'],
    [0.25, ' in 0.25 s'],
    [12.34, ' in 12.3 s'],
  ])('%s → %j', (s, expected) => expect(seconds(s)).toBe(expected));
});

describe('expiresIn', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  it.each([
    ['2026-01-01T00:00:45Z', 'in 45 s (2026-01-01T00:00:45Z)'],
    ['2026-01-01T00:59:40Z', 'in 60 min (2026-01-01T00:59:40Z)'],
    ['2026-01-01T05:00:00Z', 'in 5.0 h (2026-01-01T05:00:00Z)'],
    ['2025-12-31T23:00:00Z', '2025-12-31T23:00:00Z (already passed)'],
    ['not a time', 'not a time'],
  ])('%s → %s', (at, expected) => expect(expiresIn(at, now)).toBe(expected));
});

describe('allocate', () => {
  it.each([
    [[10, 10], 100, [10, 10]],
    [[10, 1000], 100, [10, 90]],
    [[1000, 1000], 100, [50, 50]],
    [[0, 5, 1000, 1000], 105, [0, 5, 50, 50]],
  ])('%j within %i → %j', (lengths, budget, expected) => {
    expect(allocate(lengths, budget)).toEqual(expected);
  });
});

describe('htmlToText', () => {
  it('turns a pandas table into tab-separated rows and drops scripts', () => {
    const html = '<style>td{}</style><table><thead><tr><th></th><th>a</th></tr></thead><tbody><tr><th>0</th><td>1 &amp; 2</td></tr></tbody></table><script>x()</script>';
    expect(htmlToText(html)).toBe('\ta\n0\t1 & 2');
  });
});

describe('toToolError', () => {
  it('says what happened (the message) and the next step (the table), with the request id', () => {
    const r = toToolError(new SandboxExpiredError('Sandbox s1 has expired and its files are gone.', { requestId: 'req_1' }));
    expect(r.isError).toBe(true);
    expect(text(r)).toBe('Sandbox s1 has expired and its files are gone. Create a new sandbox with sandbox_create (and set a longer timeout if needed). (request id req_1)');
  });

  it('adds the next step from the class and its fields', () => {
    expect(text(toToolError(new SandboxNotFoundError('Sandbox s2 was not found')))).toMatch(/not found\. .*sandbox_list.*sandbox_create/);
    expect(text(toToolError(new RateLimitError('Too many requests', { retryAfterSeconds: 19.2 })))).toBe('Too many requests. Retry after 20 s.');
    expect(text(toToolError(new RateLimitError('Too many requests')))).toBe('Too many requests. Wait a little and retry.');
  });

  it('a timeout gets the tools that avoid it', () => {
    const r = toToolError(new ExecutionTimeoutError('The code timed out inside the sandbox after 2 s.', { timeoutSeconds: 2 }));
    expect(text(r)).toMatch(/^The code timed out inside the sandbox after 2 s\. Raise timeout_seconds, or run it in the background \(sandbox_run_code_background/);
  });

  it('a refused path gets advice that fits it (a sandbox root is not "use a path under /workspace")', () => {
    expect(text(toToolError(new PathNotAllowedError('The sandbox does not allow access to /etc/shadow.', { path: '/etc/shadow' })))).toBe(
      'The sandbox does not allow access to /etc/shadow. Use a path under /workspace or /tmp.',
    );
    expect(text(toToolError(new PathNotAllowedError('The sandbox does not allow access to /workspace.', { path: '/workspace' })))).toBe(
      'The sandbox does not allow access to /workspace. That is a sandbox root folder: act on paths inside it instead.',
    );
  });

  it('a sandbox state gets the step that fixes that state, whichever class carries it', () => {
    const stopped = new SandboxNotRunningError('Could not run code in sandbox s1: the sandbox is stopped.', { state: 'stopped' });
    expect(text(toToolError(stopped))).toBe('Could not run code in sandbox s1: the sandbox is stopped. Start it with sandbox_start, then retry.');
    expect(text(toToolError(new ConflictError('Sandbox s1 is paused.', { state: 'paused' })))).toBe('Sandbox s1 is paused. Resume it with sandbox_resume, then retry.');
    // A conflict whose state HopX did not name gets the generic step.
    expect(text(toToolError(new ConflictError('Could not start sandbox s1: it conflicts with the current state.')))).toMatch(/sandbox_get_info, then retry\.$/);
  });

  it('reads no message: a message that merely mentions a state gets no state advice', () => {
    expect(text(toToolError(new ConflictError('Could not write file: someone said "paused".')))).toMatch(/sandbox_get_info/);
  });

  it('starts with a capital and ends with a stop', () => {
    expect(text(toToolError(new HopxError('something odd happened')))).toBe('Something odd happened.');
  });

  it('never shows a JWT or a bearer token', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln';
    const r = text(toToolError(new NetworkError(`failed with Authorization: Bearer ${jwt}`)));
    expect(r).not.toContain(jwt);
    expect(r).toContain('[redacted');
  });

  it('hides the message of an unexpected error (it goes to the log)', () => {
    expect(text(toToolError(new TypeError('cannot read x of undefined')))).toBe('Internal error in hopx-mcp; the details are in the server log.');
    expect(text(toToolError(new HopxError('Odd failure')))).toBe('Odd failure.');
  });

  it('every HopX error class the client builds from a response gets an explanation ending in a sentence', () => {
    for (const [status, code] of [[400, 'INVALID_REQUEST'], [401, 'AUTHENTICATION_REQUIRED'], [402, 'PAYMENT_REQUIRED'], [403, 'FORBIDDEN'], [404, 'NOT_FOUND'], [409, 'CONFLICT'], [409, 'SANDBOX_PAUSED'], [410, 'SANDBOX_EXPIRED'], [429, 'RATE_LIMIT_EXCEEDED'], [500, 'INTERNAL_ERROR']] as const) {
      const err = errorFromResponse(status, { error: 'x', code }, {}, { operation: 'run code', plane: 'agent', sandboxId: 's1' });
      expect(isKnownError(err), `${status} ${code}`).toBe(true);
      expect(errorText(err), `${status} ${code}`).toMatch(/^[A-Z].*\.$/);
    }
  });
});

describe('file URIs', () => {
  it('round-trip paths with spaces and unicode', () => {
    const uri = fileUri('sbx', '/workspace/my dir/ñ.txt');
    expect(uri).toBe('hopx://sandboxes/sbx/files/workspace/my%20dir/%C3%B1.txt');
    expect(sandboxPathOf(decodeURIComponent(uri.split('/files/')[1]))).toBe('/workspace/my dir/ñ.txt');
  });
});

describe('readBounded', () => {
  const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join(''));

  it.each([1, 7, 64, 2000])('keeps the prefix and the exact tail whatever the chunk size (%i)', async (size) => {
    const r = await readBounded(chunks(data, size), 100, 30);
    expect(r).toMatchObject({ totalBytes: 1000, complete: false });
    expect(r.prefix.equals(data.subarray(0, 100))).toBe(true);
    expect(r.tail.equals(data.subarray(970))).toBe(true);
  });

  it('reports a small file as complete', async () => {
    const r = await readBounded(chunks(data, 64), 1000, 0);
    expect(r.complete).toBe(true);
    expect(r.prefix.equals(data)).toBe(true);
  });

  it('readAll stops past its cap', async () => {
    await expect(readAll(chunks(data, 64), 500, (n) => new Error(`too big at ${n}`))).rejects.toThrow(/too big at 512/);
  });

  it('never splits a UTF-8 character', () => {
    const b = Buffer.from('aé€😀');
    for (let cut = 0; cut <= b.length; cut++) {
      expect(trimUtf8End(b.subarray(0, cut)).toString('utf8')).not.toContain('\uFFFD');
      expect(trimUtf8Start(b.subarray(cut)).toString('utf8')).not.toContain('\uFFFD');
    }
  });
});

describe('listeningFrom', () => {
  const table = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 00000000:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1',
    '   1: 0100007F:1F41 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2',
    '   2: 0100007F:1F42 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 3',
    '   0: 00000000000000000000000000000000:1F43 00000000000000000000000000000000:0000 0A 0 0 0',
  ].join('\n');
  it.each([
    [8000, 'all_interfaces'],
    [8001, 'localhost_only'],
    [8002, 'not_listening'],
    [8003, 'all_interfaces'],
  ])('port %i → %s', async (port, expected) => {
    const { listeningFrom } = await import('../../src/tools/preview.js');
    expect(listeningFrom(table, port)).toBe(expected);
  });
});

describe('previewNote', () => {
  // HopX cloud reaches ports from outside the VM (127.0.0.1-only servers are unreachable); a
  // local backend's loopback forward reaches any address, whichever backend is configured.
  const cloudUrl = 'https://8000-sbx1.us-east.vms.hopx.dev/';
  const localUrl = 'http://127.0.0.1:40123/';
  it.each([
    [cloudUrl, 'cloud', 'localhost_only', / \(public URL, no authentication\)\. Warning: the server listens on 127\.0\.0\.1 only.*0\.0\.0\.0\.$/],
    [cloudUrl, 'cloud', 'not_listening', /Nothing listens on that port yet: start the server \(in the background, bound to 0\.0\.0\.0\) first\.$/],
    [cloudUrl, 'cloud', 'all_interfaces', /^ \(public URL, no authentication\)\.$/],
    [localUrl, 'cloud', 'localhost_only', /^ \(reachable from this machine only\)\.$/],
    [localUrl, 'local', 'localhost_only', /^ \(reachable from this machine only\)\.$/],
    [localUrl, 'local', 'not_listening', /Nothing listens on that port yet: start the server \(in the background\) first\.$/],
  ] as const)('%s, %s backend, %s', async (url, backend, listening, expected) => {
    const { previewNote } = await import('../../src/tools/preview.js');
    expect(previewNote(url, backend, listening)).toMatch(expected);
  });
});
