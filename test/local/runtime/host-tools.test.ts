import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { reachableByOthers, visibleInSandbox } from '../../../src/local/runtime/host-tools.js';

const base = mkdtempSync(join(tmpdir(), 'hopx-reach-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

test('reachableByOthers needs o+rx on the dir and o+x on every ancestor', () => {
  const open = join(base, 'open', 'bin');
  const hidden = join(base, 'private', 'bin');
  mkdirSync(open, { recursive: true });
  mkdirSync(hidden, { recursive: true });
  chmodSync(base, 0o711);
  chmodSync(join(base, 'open'), 0o755);
  chmodSync(join(base, 'private'), 0o700);
  expect(reachableByOthers(open)).toBe(true);
  expect(reachableByOthers(hidden)).toBe(false);
  expect(reachableByOthers(join(base, 'missing'))).toBe(false);
});

test('visibleInSandbox: /usr is bound, /usr/local is masked', () => {
  expect(visibleInSandbox('/usr/bin/node')).toBe(true);
  expect(visibleInSandbox('/usr/local/bin/node')).toBe(false);
  expect(visibleInSandbox('/opt/node/bin/node')).toBe(false);
});
