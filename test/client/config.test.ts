/** Pure pieces: config resolution, token refresh rule, preview URL derivation, multipart framing. */
import { describe, expect, it } from 'vitest';
import { cloudPreviewUrl, resolveClientConfig, ValidationError } from '../../src/client/index.js';
import { multipartBody } from '../../src/client/multipart.js';
import { MAX_SANDBOXES, SandboxSessionCache } from '../../src/client/token-cache.js';

describe('resolveClientConfig', () => {
  it('applies documented defaults and reads the environment', () => {
    const config = resolveClientConfig({}, { HOPX_API_KEY: ' key ', HOPX_BASE_URL: 'http://127.0.0.1:9/' });
    expect(config).toMatchObject({
      apiKey: 'key',
      baseUrl: 'http://127.0.0.1:9',
      requestTimeoutMs: 60_000,
      maxRetries: 2,
      retryBaseDelayMs: 1000,
      maxRetryDelayMs: 10_000,
      maxRetryAfterSeconds: 60,
      tokenRefreshThresholdMs: 3_600_000,
    });
    expect(resolveClientConfig({}, {}).baseUrl).toBe('https://api.hopx.dev');
    expect(resolveClientConfig({}, {}).apiKey).toBeUndefined();
  });

  it('options win over the environment', () => {
    expect(resolveClientConfig({ apiKey: 'a', baseUrl: 'https://x.test' }, { HOPX_API_KEY: 'b', HOPX_BASE_URL: 'https://y.test' })).toMatchObject({
      apiKey: 'a',
      baseUrl: 'https://x.test',
    });
  });

  it('names the bad option', () => {
    expect(() => resolveClientConfig({ maxRetries: -1 }, {})).toThrow(/"maxRetries"/);
    expect(() => resolveClientConfig({ requestTimeoutMs: 0 }, {})).toThrow(/"requestTimeoutMs"/);
    expect(() => resolveClientConfig({ baseUrl: 'api.hopx.dev' }, {})).toThrow(ValidationError);
  });
});

describe('token refresh rule', () => {
  const hour = 3_600_000;
  it('refreshes when there is no token or less than the threshold is left', () => {
    const cache = new SandboxSessionCache();
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(cache.needsRefresh('s', hour, now)).toBe(true);
    cache.setToken('s', { token: 't', expiresAt: '2030-01-02T00:00:00Z' }, now);
    expect(cache.needsRefresh('s', hour, now)).toBe(false);
    expect(cache.needsRefresh('s', hour, now + 23.5 * hour)).toBe(true);
  });

  it('caps the threshold at half the lifetime for short-lived tokens', () => {
    const cache = new SandboxSessionCache();
    const now = Date.parse('2030-01-01T00:00:00Z');
    cache.setToken('s', { token: 't', expiresAt: '2030-01-01T00:30:00Z' }, now); // 30 min token
    expect(cache.needsRefresh('s', hour, now + 60_000)).toBe(false);
    expect(cache.needsRefresh('s', hour, now + 16 * 60_000)).toBe(true);
  });

  it('stays bounded: the least recently set sandbox is dropped past MAX_SANDBOXES', () => {
    const cache = new SandboxSessionCache();
    for (let i = 0; i <= MAX_SANDBOXES; i++) cache.setHost(`s${i}`, `http://h${i}`);
    cache.setToken('s1', { token: 't', expiresAt: '2030-01-02T00:00:00Z' });
    expect(cache.size).toBe(MAX_SANDBOXES);
    expect(cache.host('s0')).toBeUndefined();
    expect(cache.host(`s${MAX_SANDBOXES}`)).toBe(`http://h${MAX_SANDBOXES}`);
    cache.forget('s1');
    expect([cache.host('s1'), cache.token('s1')]).toEqual([undefined, undefined]);
  });

  it('treats an unparseable expiry as due now', () => {
    const cache = new SandboxSessionCache();
    cache.setToken('s', { token: 't', expiresAt: 'soon' });
    expect(cache.needsRefresh('s', hour)).toBe(true);
  });
});

describe('cloudPreviewUrl', () => {
  it.each([
    ['https://7777-176329715051artmzu.eu-1001.vms.hopx.dev', 8080, 'https://8080-176329715051artmzu.eu-1001.vms.hopx.dev/'],
    ['https://176329715051artmzu.us-east.vms.hopx.dev/', 3000, 'https://3000-176329715051artmzu.us-east.vms.hopx.dev/'],
    ['http://127.0.0.1:40001', 8080, null],
    ['https://sandbox_abc123xyz.hopx.dev', 8080, null],
  ])('%s port %d → %s', (host, port, expected) => {
    expect(cloudPreviewUrl(host, port)).toBe(expected);
  });
});

describe('multipartBody', () => {
  it('computes the exact Content-Length when the size is known', async () => {
    async function* data() {
      yield Buffer.from('abc');
    }
    const body = multipartBody({ path: '/workspace/a' }, { field: 'file', filename: 'a', contentType: 'text/plain', data: data(), size: 3 });
    const chunks: Buffer[] = [];
    for await (const chunk of body.stream) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).length).toBe(body.contentLength);
  });

  it('fails rather than send a body that contradicts its declared size', async () => {
    async function* data() {
      yield Buffer.from('abcd');
    }
    const body = multipartBody({}, { field: 'file', filename: 'a', contentType: 'text/plain', data: data(), size: 3 });
    await expect(
      (async () => {
        for await (const _chunk of body.stream) void _chunk;
      })(),
    ).rejects.toThrow(/produced 4 bytes but its size was given as 3/);
  });
});
