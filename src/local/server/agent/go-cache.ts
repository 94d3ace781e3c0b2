/**
 * The agent cache (/cache/stats, /cache/clear): compiled Go programs, keyed by a hash of the
 * source. A Go run is `go build` (≈300 ms) + run; a cache hit skips the build. Same source gives
 * the same binary, so reusing it is always correct (unlike caching execution *results*).
 * Binaries live in the sandbox's home (/root/.cache/hopx-go-builds/<hash>/prog).
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, stat } from 'node:fs/promises';
import type { ExecHandle, ExecRequest, LocalSandbox } from '../../runtime/types.js';
import { collect, exitCodeOf } from './output.js';

const CACHE_ROOT = '/root/.cache/hopx-go-builds';

/** Go needs writable caches and no module downloads (there is no network in a sandbox). */
export const GO_ENV = {
  GOCACHE: '/root/.cache/go-build',
  GOPATH: '/root/go',
  GOPROXY: 'off',
  GOFLAGS: '-buildvcs=false',
  CGO_ENABLED: '0',
};

export type GoRun =
  | { kind: 'built'; handle: ExecHandle; cacheHit: boolean }
  | { kind: 'build-failed'; stdout: string; stderr: string; exitCode: number; timedOut: boolean };

export class GoBuildCache {
  hits = 0;
  misses = 0;
  private readonly building = new Map<string, Promise<GoRun | null>>();

  constructor(private readonly sandbox: () => LocalSandbox) {}

  /** Build (or reuse) the program, then start it with the caller's cwd/env/timeout. */
  async run(code: string, request: Omit<ExecRequest, 'argv'>): Promise<GoRun> {
    const started = Date.now();
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 24);
    const dir = `${CACHE_ROOT}/${hash}`;
    const binary = `${dir}/prog`;
    let cacheHit = await this.exists(binary);
    if (cacheHit) {
      this.hits++;
    } else {
      this.misses++;
      let pending = this.building.get(hash);
      if (!pending) {
        pending = this.build(code, dir, request).finally(() => this.building.delete(hash));
        this.building.set(hash, pending);
      } else {
        cacheHit = true; // someone else is building the very same source
      }
      const failure = await pending;
      if (failure) return failure;
    }
    const remaining = request.timeoutMs > 0 ? Math.max(1, request.timeoutMs - (Date.now() - started)) : 0;
    const handle = this.sandbox().exec({ ...request, argv: [binary], env: { ...GO_ENV, ...request.env }, timeoutMs: remaining });
    return { kind: 'built', handle, cacheHit };
  }

  async stats(): Promise<{ entries: number; bytes: number }> {
    const root = await this.hostRoot();
    if (!root) return { entries: 0, bytes: 0 };
    let entries = 0;
    let bytes = 0;
    for (const name of await readdir(root).catch(() => [] as string[])) {
      // lstat: a `prog` symlink must not report the size of whatever it points to on the host.
      const st = await lstat(`${root}/${name}/prog`).catch(() => null);
      if (st?.isFile()) {
        entries++;
        bytes += st.size;
      }
    }
    return { entries, bytes };
  }

  async clear(): Promise<number> {
    const { entries } = await this.stats();
    // Removed from inside the sandbox, as its user: a recursive rm on the host (as root) would
    // follow a directory the sandbox swaps for a symlink between the path check and the removal.
    await collect(this.sandbox().exec({ argv: ['rm', '-rf', CACHE_ROOT], env: {}, timeoutMs: 30_000, stdin: '' }));
    this.hits = 0;
    this.misses = 0;
    return entries;
  }

  /** Returns null on success, or the failed build's output (compile errors are user errors). */
  private async build(code: string, dir: string, request: Omit<ExecRequest, 'argv'>): Promise<GoRun | null> {
    const script =
      'set -e; mkdir -p "$1"; cat > "$1/main.go"; cd "$1"; ' +
      'go build -o "prog.tmp.$$" main.go; mv -f "prog.tmp.$$" prog';
    const handle = this.sandbox().exec({
      argv: ['/bin/sh', '-c', script, 'sh', dir],
      cwd: '/root',
      env: { ...request.env, ...GO_ENV },
      timeoutMs: request.timeoutMs,
      stdin: code,
    });
    const { stdout, stderr, outcome } = await collect(handle);
    if (outcome.exitCode === 0) return null;
    return { kind: 'build-failed', stdout, stderr, exitCode: exitCodeOf(outcome), timedOut: outcome.timedOut };
  }

  private async exists(sandboxPath: string): Promise<boolean> {
    try {
      const { hostPath } = await this.sandbox().resolvePath(sandboxPath);
      return (await stat(hostPath)).isFile();
    } catch {
      return false;
    }
  }

  private async hostRoot(): Promise<string | null> {
    try {
      return (await this.sandbox().resolvePath(CACHE_ROOT)).hostPath;
    } catch {
      return null;
    }
  }
}
