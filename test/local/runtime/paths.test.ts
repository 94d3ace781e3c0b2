import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SandboxPathError } from '../../../src/local/runtime/errors.js';
import { normaliseSandboxPath, resolveSandboxPath } from '../../../src/local/runtime/paths.js';
import { sandboxDirs } from '../../../src/local/runtime/state-dir.js';

// Real directories and real symlinks, as a sandbox would leave them; no runtime needed.
const stateDir = mkdtempSync(join(tmpdir(), 'hopx-paths-'));
const dirs = sandboxDirs(stateDir, 'p1');
const other = sandboxDirs(stateDir, 'p2');
for (const d of [dirs.workspace, dirs.home, dirs.scratch, other.workspace]) mkdirSync(d, { recursive: true });
writeFileSync(join(dirs.workspace, 'a.txt'), 'a');
writeFileSync(join(other.workspace, 'secret.txt'), 'other sandbox');
mkdirSync(join(dirs.workspace, 'sub'));
symlinkSync('/etc', join(dirs.workspace, 'etc-link'));
symlinkSync('../../../../../../../etc/passwd', join(dirs.workspace, 'rel-escape'));
symlinkSync(other.workspace, join(dirs.workspace, 'host-abs-link'));
symlinkSync('/tmp/data', join(dirs.workspace, 'to-tmp'));
symlinkSync('sub', join(dirs.workspace, 'sub-link'));
symlinkSync('loop-b', join(dirs.workspace, 'loop-a'));
symlinkSync('loop-a', join(dirs.workspace, 'loop-b'));

afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

async function refused(path: string): Promise<SandboxPathError> {
  const error = await resolveSandboxPath(dirs, path).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${path} to be refused`).toBeInstanceOf(SandboxPathError);
  return error as SandboxPathError;
}

describe('resolvePath', () => {
  test.each([
    ['/workspace/a.txt', '/workspace/a.txt', join(dirs.workspace, 'a.txt')],
    ['a.txt', '/workspace/a.txt', join(dirs.workspace, 'a.txt')],
    ['/workspace/sub/../a.txt', '/workspace/a.txt', join(dirs.workspace, 'a.txt')],
    ['/root/.config/x', '/root/.config/x', join(dirs.home, '.config/x')],
    ['/tmp/', '/tmp', dirs.scratch],
    ['/workspace//new/dir/file', '/workspace/new/dir/file', join(dirs.workspace, 'new/dir/file')],
  ])('maps %s to the sandbox dirs', async (input, sandboxPath, hostPath) => {
    expect(await resolveSandboxPath(dirs, input)).toEqual({ sandboxPath, hostPath });
  });

  test('follows links the way the sandbox sees them', async () => {
    // An absolute target is a sandbox path: /tmp/data is the sandbox's scratch dir, not the host's /tmp.
    expect((await resolveSandboxPath(dirs, '/workspace/to-tmp/x')).hostPath).toBe(join(dirs.scratch, 'data/x'));
    expect((await resolveSandboxPath(dirs, '/workspace/sub-link/f')).hostPath).toBe(join(dirs.workspace, 'sub/f'));
  });

  test.each(['/workspace/../etc/passwd', '../x', '/etc/passwd', '/', '/usr/bin/python3', '/workspacex/a', '/proc/self/environ'])(
    'refuses %s with PATH_NOT_ALLOWED',
    async (path) => {
      const error = await refused(path);
      expect(error.code).toBe('PATH_NOT_ALLOWED');
      expect(error.message).toContain('/workspace');
    },
  );

  test.each(['/workspace/etc-link/passwd', '/workspace/rel-escape'])(
    'refuses the symlink escape %s',
    async (path) => {
      expect((await refused(path)).code).toBe('PATH_NOT_ALLOWED');
    },
  );

  test("a link to another sandbox's host dir stays inside this sandbox", async () => {
    // The target is read as a sandbox path (here under /tmp), so it lands in this sandbox's scratch.
    const { hostPath } = await resolveSandboxPath(dirs, '/workspace/host-abs-link/secret.txt');
    expect(hostPath.startsWith(dirs.scratch + '/')).toBe(true);
    expect(hostPath.startsWith(other.root)).toBe(false);
  });

  test('refuses empty paths, NUL bytes and link loops with INVALID_PATH', async () => {
    expect((await refused('')).code).toBe('INVALID_PATH');
    expect((await refused('/workspace/a\0b')).code).toBe('INVALID_PATH');
    expect((await refused('/workspace/loop-a')).code).toBe('INVALID_PATH');
  });

  test('normalises without touching the disk', () => {
    expect(normaliseSandboxPath('x/../y')).toBe('/workspace/y');
    expect(() => normaliseSandboxPath('/workspace/../../root/../etc')).toThrow(SandboxPathError);
  });
});
