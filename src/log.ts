/**
 * Logging: pino, always to stderr (fd 2). In stdio mode stdout is the MCP channel, so nothing in
 * this project may write to stdout. Keys, tokens and env-var values are redacted by path.
 *
 * Two formats: JSON lines (the default, for log collectors and MCP clients that keep stderr) and
 * `pretty`, pino's own pretty printer (pino-pretty) for people at a terminal, the default when
 * stderr is a TTY. Redaction happens in pino before either format sees the object.
 */
import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { PrettyOptions } from 'pino-pretty';

export type { Logger };

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

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

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Default: HOPX_MCP_LOG_FORMAT, else pretty when stderr is a TTY, else json. */
  format?: LogFormat;
  /** Where lines go; default stderr (fd 2). Tests pass a stream. */
  destination?: NodeJS.WritableStream;
}

/** The format used when none is asked for: pretty for a person at a terminal, JSON otherwise. */
export function defaultLogFormat(env: Record<string, string | undefined> = process.env, stderrIsTTY = Boolean(process.stderr.isTTY)): LogFormat {
  const asked = env.HOPX_MCP_LOG_FORMAT?.trim().toLowerCase();
  if (asked === 'json' || asked === 'pretty') return asked;
  return stderrIsTTY ? 'pretty' : 'json';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const format = options.format ?? defaultLogFormat();
  return pino(
    {
      name: options.name ?? 'hopx-mcp',
      level: options.level ?? process.env.HOPX_MCP_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    format === 'pretty' ? prettyStream(options.destination) : (options.destination ?? pino.destination({ fd: 2, sync: true })),
  );
}

/**
 * pino-pretty as a synchronous stream in this thread (not a transport worker): lines are written
 * in order with the rest of stderr, and nothing is lost when the process exits right after
 * logging. Loaded only when asked for, so JSON logging never pays for it at startup.
 */
function prettyStream(destination: NodeJS.WritableStream | undefined): DestinationStream {
  const require = createRequire(import.meta.url);
  const pretty = require('pino-pretty') as (options: PrettyOptions) => DestinationStream;
  return pretty({
    destination: destination ?? 2,
    sync: true,
    // Colours only for a terminal: piped or redirected output stays plain text.
    colorize: destination === undefined && Boolean(process.stderr.isTTY),
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    singleLine: true,
  });
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
