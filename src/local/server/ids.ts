/** Identifier formats of the HopX wire protocol (docs/hopx-wire.md §1.1, §2.1), generated locally. */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' + LOWER_ALNUM;

function randomChars(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** `1761048129dsaqav4n`: 10-digit unix time + 8 lowercase alphanumerics. */
export function newSandboxId(now = Date.now()): string {
  return `${Math.floor(now / 1000)}${randomChars(LOWER_ALNUM, 8)}`;
}

export const SANDBOX_ID_PATTERN = /^\d{10}[a-z0-9]{8}$/;

/** `hopx_live_<12 alnum>.<base64url of 32 bytes>`, the shape the HopX CLI validates. */
export function newApiKey(): string {
  return `hopx_live_${randomChars(ALNUM, 12)}.${randomBytes(32).toString('base64url')}`;
}

export function newRequestId(): string {
  return `req_${randomBytes(8).toString('hex')}`;
}

/** Background job ids: `proc_…` for code, `cmd_…` for commands (docs/hopx-wire.md §1.1). */
export function newProcessId(prefix: 'proc' | 'cmd'): string {
  return `${prefix}_${Date.now()}${randomChars(LOWER_ALNUM, 6)}`;
}

export function newExecutionId(): string {
  return `exec_${randomBytes(8).toString('hex')}`;
}
