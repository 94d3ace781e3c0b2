import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, defaultLogFormat, REDACT_PATHS } from '../../src/log.js';

const SECRETS = {
  apiKey: 'SECRET-1',
  token: 'SECRET-2',
  headers: { authorization: 'Bearer SECRET-3', 'x-api-key': 'SECRET-4', 'x-hopx-api-key': 'SECRET-5' },
  req: { headers: { 'x-hopx-api-key': 'SECRET-6' } },
  sandbox: { env: { DB_PASSWORD: 'SECRET-7' }, authToken: 'SECRET-8' },
  env_vars: { A: 'SECRET-9' },
  sandbox_id: 'kept-visible',
};

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (chunks.push(String(chunk)), done()) });
  return { stream, text: () => chunks.join('') };
}

it('redacts keys, tokens, auth headers and env values wherever the log object carries them', () => {
  const out = sink();
  const log = pino({ redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, out.stream);
  log.info(SECRETS, 'request');
  expect(out.text()).not.toMatch(/SECRET-\d/);
  expect(out.text()).toContain('kept-visible');
});

describe('log formats', () => {
  it('json: one JSON object a line, secrets redacted', () => {
    const out = sink();
    createLogger({ format: 'json', destination: out.stream, level: 'info' }).info(SECRETS, 'request');
    const lines = out.text().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ msg: 'request', sandbox_id: 'kept-visible', apiKey: '[redacted]' });
    expect(out.text()).not.toMatch(/SECRET-\d/);
  });

  it('pretty: a readable line from pino-pretty (level, message, fields), no colour codes off a terminal, secrets redacted', () => {
    const out = sink();
    createLogger({ format: 'pretty', destination: out.stream, level: 'info' }).warn(SECRETS, 'request');
    const text = out.text();
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN \(hopx-mcp\): request /);
    expect(text).toContain('"sandbox_id":"kept-visible"');
    expect(text).toContain('[redacted]');
    expect(text).not.toMatch(/SECRET-\d/);
    expect(text).not.toContain('\u001b[');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('defaults to pretty on a terminal and json otherwise; HOPX_MCP_LOG_FORMAT wins', () => {
    expect(defaultLogFormat({}, true)).toBe('pretty');
    expect(defaultLogFormat({}, false)).toBe('json');
    expect(defaultLogFormat({ HOPX_MCP_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(defaultLogFormat({ HOPX_MCP_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
  });
});
