import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { REDACT_PATHS } from '../../src/log.js';

it('redacts keys, tokens, auth headers and env values wherever the log object carries them', () => {
  const lines: string[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, sink);
  log.info(
    {
      apiKey: 'SECRET-1',
      token: 'SECRET-2',
      headers: { authorization: 'Bearer SECRET-3', 'x-api-key': 'SECRET-4', 'x-hopx-api-key': 'SECRET-5' },
      req: { headers: { 'x-hopx-api-key': 'SECRET-6' } },
      sandbox: { env: { DB_PASSWORD: 'SECRET-7' }, authToken: 'SECRET-8' },
      env_vars: { A: 'SECRET-9' },
      sandbox_id: 'kept-visible',
    },
    'request',
  );
  const out = lines.join('');
  expect(out).not.toMatch(/SECRET-\d/);
  expect(out).toContain('kept-visible');
});
