/** Validation of the request fields the execute and command endpoints share. */
import { ApiError, invalidField, missingParameter } from '../errors.js';

const DEFAULT_WORKDIR = '/workspace';

/**
 * Every string that reaches a process (argv, env, cwd, code) is refused with a NUL byte: the OS
 * cannot carry one, and spawn would fail with a 500 (or a python kernel die on the env).
 */
function withoutNul(field: string, value: string): string {
  if (value.includes('\0')) throw invalidField(field, 'contains a NUL byte (\\u0000); remove it');
  return value;
}

export function requireString(body: Record<string, unknown>, field: string, hint = ''): string {
  const value = body[field];
  if (value === undefined || value === null) throw missingParameter(field, hint);
  if (typeof value !== 'string') throw invalidField(field, 'must be a string');
  return withoutNul(field, value);
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw invalidField(field, 'must be a string');
  return withoutNul(field, value);
}

/** Timeout in seconds: a positive number no larger than `max`; absent → `fallback`. */
export function timeoutSeconds(body: Record<string, unknown>, fallback: number, max: number): number {
  const value = body.timeout ?? body.timeout_seconds;
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalidField('timeout', 'must be a positive number of seconds');
  }
  if (value > max) throw invalidField('timeout', `must be at most ${max} seconds`);
  return value;
}

/** `workdir` (SDKs) or `working_dir` (docs, agent 3.1.1); must be an absolute sandbox path. */
export function workdir(body: Record<string, unknown>): string {
  const value = body.workdir ?? body.working_dir;
  if (value === undefined || value === null || value === '') return DEFAULT_WORKDIR;
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw invalidField('workdir', 'must be an absolute path inside the sandbox, e.g. /workspace');
  }
  return withoutNul('workdir', value);
}

/** A string → string map (env); absent → {}. */
export function stringMap(body: Record<string, unknown>, field: string): Record<string, string> {
  const value = body[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw invalidField(field, 'must be an object of strings');
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new ApiError(400, 'INVALID_REQUEST', `Invalid field "${field}": "${k}" is not a valid variable name`, {
        details: { field },
      });
    }
    if (typeof v !== 'string') throw invalidField(`${field}.${k}`, 'must be a string');
    out[k] = withoutNul(`${field}.${k}`, v);
  }
  return out;
}

export function stringArray(body: Record<string, unknown>, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw invalidField(field, 'must be an array of strings');
  }
  for (const v of value as string[]) withoutNul(field, v);
  return value as string[];
}
