/** Language names and aliases the agent accepts (docs/hopx-wire.md §5.4, §6). */
import type { RuntimeLanguage } from '../../runtime/types.js';
import { ApiError } from '../errors.js';

const ALIASES: Record<string, RuntimeLanguage> = {
  python: 'python',
  python3: 'python',
  py: 'python',
  javascript: 'javascript',
  js: 'javascript',
  node: 'javascript',
  nodejs: 'javascript',
  bash: 'bash',
  sh: 'bash',
  shell: 'bash',
  go: 'go',
  golang: 'go',
};

/** Resolve a requested language (default python) against what this machine really has. */
export function resolveLanguage(input: unknown, available: readonly RuntimeLanguage[]): RuntimeLanguage {
  if (input === undefined || input === null || input === '') return requireAvailable('python', available);
  if (typeof input !== 'string') throw new ApiError(400, 'INVALID_REQUEST', 'Invalid field "language": must be a string');
  const language = ALIASES[input.trim().toLowerCase()];
  if (!language) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `Invalid field "language": "${input}" is not supported; use one of ${available.join(', ')} ` +
        '(aliases: python3, node, nodejs, js, sh, shell)',
      { details: { field: 'language', supported: available } },
    );
  }
  return requireAvailable(language, available);
}

function requireAvailable(language: RuntimeLanguage, available: readonly RuntimeLanguage[]): RuntimeLanguage {
  if (!available.includes(language)) {
    throw new ApiError(
      400,
      'INVALID_REQUEST',
      `Language "${language}" is not installed on this local backend; available: ${available.join(', ')}`,
      { details: { field: 'language', supported: available } },
    );
  }
  return language;
}
