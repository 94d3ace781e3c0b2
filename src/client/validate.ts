/**
 * Argument checks done before any request, so bad input fails fast with a message that names the
 * field and says how to fix it (instead of an opaque 400 from HopX, or worse, a wrong URL).
 */
import { ValidationError } from './errors.js';
import type { Language } from './types.js';

const LANGUAGES: readonly Language[] = ['python', 'javascript', 'bash', 'go'];

export function sandboxId(value: unknown, field = 'sandboxId'): string {
  if (typeof value !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(value)) {
    throw new ValidationError(
      `${field} must be a sandbox id like "1761048129dsaqav4n" (letters, digits, "-", "_", "."); got ${describe(value)}.`,
      { field },
    );
  }
  return value;
}

export function nonEmptyString(value: unknown, field: string, example: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(`${field} must be a non-empty string, e.g. ${example}; got ${describe(value)}.`);
  }
  return value;
}

/** Sandbox paths are absolute (the agent API resolves nothing relative). */
export function sandboxPath(value: unknown, field = 'path'): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new ValidationError(
      `${field} must be an absolute path inside the sandbox, e.g. /workspace/data.csv; got ${describe(value)}.`,
    );
  }
  if (value.includes('\0')) throw new ValidationError(`${field} must not contain NUL bytes.`);
  return value;
}

export function positiveInteger(value: unknown, field: string, max?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0 || (max !== undefined && value > max)) {
    throw new ValidationError(
      `${field} must be a whole number greater than 0${max === undefined ? '' : ` and at most ${max}`}; got ${describe(value)}.`,
    );
  }
  return value;
}

export function port(value: unknown, field = 'port'): number {
  return positiveInteger(value, field, 65535);
}

export function language(value: unknown, field = 'language'): Language {
  if (value === undefined) return 'python';
  if (typeof value !== 'string' || !(LANGUAGES as readonly string[]).includes(value)) {
    throw new ValidationError(`${field} must be one of ${LANGUAGES.join(', ')}; got ${describe(value)}.`);
  }
  return value as Language;
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envName(value: unknown, field = 'env var name'): string {
  if (typeof value !== 'string' || !ENV_NAME.test(value)) {
    throw new ValidationError(
      `${field} must be a valid variable name (letters, digits, "_", not starting with a digit), e.g. API_URL; got ${describe(value)}.`,
    );
  }
  return value;
}

export function envVars(value: unknown, field = 'env'): Record<string, string> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ValidationError(`${field} must be an object of NAME: "value" strings, e.g. {"DEBUG": "1"}.`);
  }
  for (const [key, v] of Object.entries(value)) {
    envName(key, `${field} key`);
    if (typeof v !== 'string') {
      // The value itself may be a secret: name the key, never echo the value.
      throw new ValidationError(`${field}.${key} must be a string (quote numbers, e.g. "8080").`);
    }
  }
  return value as Record<string, string>;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'an array' : `a ${typeof value}`;
}
