/**
 * Client configuration, resolved once from options and the environment.
 *
 * Defaults (all overridable through `HopxClientOptions`):
 * - apiKey: env `HOPX_API_KEY` (may be absent: `GET /health` works without it; other control-plane
 *   calls then fail with a clear AuthenticationError instead of sending an empty header).
 * - baseUrl: env `HOPX_BASE_URL`, else `https://api.hopx.dev` (trailing slash removed).
 * - requestTimeoutMs: 60 000 (per call; code/command runs use their own timeout + 30 s).
 * - maxRetries: 2 (so at most 3 attempts), retryBaseDelayMs: 1000 (1 s, 2 s, ... + jitter),
 *   maxRetryDelayMs: 10 000, maxRetryAfterSeconds: 60 (a longer server-requested wait is not
 *   slept through: the RateLimitError is returned with its retry-after instead).
 * - tokenRefreshThresholdMs: 1 h (as both official SDKs).
 * - maxResponseBytes: 256 MiB, the largest buffered response body (execute output, readBytes).
 */
import { ValidationError } from './errors.js';
import type { ClientLogger, HopxClientOptions } from './types.js';

export const DEFAULT_BASE_URL = 'https://api.hopx.dev';
/** Largest response body the client buffers (JSON, text, readBytes); downloads stream instead. */
const DEFAULT_MAX_RESPONSE_BYTES = 256 * 2 ** 20;

export interface ClientConfig {
  apiKey: string | undefined;
  baseUrl: string;
  requestTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  maxRetryDelayMs: number;
  maxRetryAfterSeconds: number;
  tokenRefreshThresholdMs: number;
  maxResponseBytes: number;
  logger: ClientLogger;
}

const SILENT_LOGGER: ClientLogger = { debug() {}, warn() {} };

function nonNegativeNumber(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError(`HopxClient option "${name}" must be a non-negative number of milliseconds/retries; got ${String(value)}.`);
  }
  return value;
}

/** Resolve options + env into a complete config. Throws ValidationError naming the bad option. */
export function resolveClientConfig(options: HopxClientOptions = {}, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const apiKey = (options.apiKey ?? env.HOPX_API_KEY)?.trim() || undefined;
  const rawBase = (options.baseUrl ?? env.HOPX_BASE_URL)?.trim() || DEFAULT_BASE_URL;
  let parsed: URL;
  try {
    parsed = new URL(rawBase);
  } catch {
    throw new ValidationError(
      `HopX base URL "${rawBase}" is not a valid URL. Set HOPX_BASE_URL (or the baseUrl option) to e.g. https://api.hopx.dev.`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ValidationError(`HopX base URL must start with http:// or https://; got "${rawBase}". Fix HOPX_BASE_URL.`);
  }
  const timeout = nonNegativeNumber('requestTimeoutMs', options.requestTimeoutMs, 60_000);
  if (timeout === 0) throw new ValidationError('HopxClient option "requestTimeoutMs" must be greater than 0.');
  return {
    apiKey,
    baseUrl: rawBase.replace(/\/+$/, ''),
    requestTimeoutMs: timeout,
    maxRetries: Math.floor(nonNegativeNumber('maxRetries', options.maxRetries, 2)),
    retryBaseDelayMs: nonNegativeNumber('retryBaseDelayMs', options.retryBaseDelayMs, 1000),
    maxRetryDelayMs: nonNegativeNumber('maxRetryDelayMs', options.maxRetryDelayMs, 10_000),
    maxRetryAfterSeconds: nonNegativeNumber('maxRetryAfterSeconds', options.maxRetryAfterSeconds, 60),
    tokenRefreshThresholdMs: nonNegativeNumber('tokenRefreshThresholdMs', options.tokenRefreshThresholdMs, 3_600_000),
    maxResponseBytes: nonNegativeNumber('maxResponseBytes', options.maxResponseBytes, DEFAULT_MAX_RESPONSE_BYTES),
    logger: options.logger ?? SILENT_LOGGER,
  };
}
