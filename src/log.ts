/**
 * Logging: pino, always to stderr (fd 2). In stdio mode stdout is the MCP channel, so nothing in
 * this project may write to stdout. Keys, tokens and env-var values are redacted by path.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  'apiKey',
  'api_key',
  'token',
  'authToken',
  'auth_token',
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["x-hopx-api-key"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["x-hopx-api-key"]',
  'envVars',
  'env_vars',
  'env',
  '*.apiKey',
  '*.token',
  '*.authToken',
  '*.auth_token',
  '*.authorization',
  '*.env',
  '*.envVars',
  '*.env_vars',
];

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino(
    {
      name: options.name ?? 'hopx-mcp',
      level: options.level ?? process.env.HOPX_MCP_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
