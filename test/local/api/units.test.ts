/** Pure pieces of the local backend: agent tokens, the streaming multipart parser, ids. */
import { describe, expect, test } from 'vitest';
import { TokenSigner } from '../../../src/local/server/jwt.js';
import { parseMultipart, type PartHeaders } from '../../../src/local/server/agent/multipart.js';
import { newApiKey, newSandboxId, SANDBOX_ID_PATTERN } from '../../../src/local/server/ids.js';

describe('agent tokens', () => {
  const signer = new TokenSigner(Buffer.alloc(32, 1), 60);
  test('valid for their sandbox until exp, then rejected', () => {
    const now = Date.now();
    const { token, expiresAt } = signer.issue('1760000000abcdefgh', now);
    expect(expiresAt.getTime()).toBe(Math.floor(now / 1000) * 1000 + 60_000);
    expect(signer.verify(token, '1760000000abcdefgh', now)).toBe(true);
    expect(signer.verify(token, '1760000000abcdefgh', expiresAt.getTime() + 1)).toBe(false);
    expect(signer.verify(token, '1760000000zzzzzzzz', now)).toBe(false);
  });
  test('another backend\'s secret, a tampered payload or garbage are rejected', () => {
    const { token } = signer.issue('s1');
    expect(new TokenSigner(Buffer.alloc(32, 2)).verify(token, 's1')).toBe(false);
    const [h, , sig] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ sub: 's1', exp: 9e9 })).toString('base64url');
    expect(signer.verify(`${h}.${forged}.${sig}`, 's1')).toBe(false);
    expect(signer.verify('not-a-jwt', 's1')).toBe(false);
  });
});

describe('multipart parser', () => {
  async function parse(body: Buffer, boundary: string, chunkSize: number) {
    const parts: Array<{ headers: PartHeaders; data: Buffer }> = [];
    async function* chunks() {
      for (let i = 0; i < body.length; i += chunkSize) yield body.subarray(i, i + chunkSize);
    }
    await parseMultipart(chunks(), boundary, async (headers) => {
      const bufs: Buffer[] = [];
      return {
        async write(c) {
          bufs.push(Buffer.from(c));
        },
        async end() {
          parts.push({ headers, data: Buffer.concat(bufs) });
        },
      };
    });
    return parts;
  }

  const boundary = 'XyZ123';
  const payload = Buffer.concat([Buffer.from('a\r\n--XyZ12'), Buffer.alloc(300, 7), Buffer.from('\r\n--XyZ1')]);
  const body = Buffer.concat([
    Buffer.from(`preamble\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="f \\"q\\".bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    payload,
    Buffer.from(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="path"\r\n\r\n/workspace/x\r\n--${boundary}--\r\n`),
  ]);

  test.each([1, 2, 7, 64, 100_000])('parts survive any chunking (chunk size %i)', async (size) => {
    const parts = await parse(body, boundary, size);
    expect(parts).toHaveLength(2);
    expect(parts[0].headers).toEqual({ name: 'file', filename: 'f "q".bin', contentType: 'application/octet-stream' });
    expect(parts[0].data.equals(payload)).toBe(true);
    expect(parts[1].data.toString()).toBe('/workspace/x');
  });

  test('a body without its closing boundary is an error', async () => {
    await expect(parse(body.subarray(0, body.length - 20), boundary, 50)).rejects.toThrow(/ended early/);
  });
});

describe('identifiers', () => {
  test('sandbox ids and API keys have the HopX shapes', () => {
    expect(newSandboxId(1761048129000)).toMatch(/^1761048129[a-z0-9]{8}$/);
    expect(newSandboxId()).toMatch(SANDBOX_ID_PATTERN);
    expect(newApiKey()).toMatch(/^hopx_live_[A-Za-z0-9]{12}\.[A-Za-z0-9_-]+$/);
  });
});
