/**
 * How each stateless language runs as one process: the argv, extra environment and the file the
 * code is written to. Pure; the sandbox spawns the result (stateful Python goes to the kernel).
 */
import { join } from 'node:path';
import type { RuntimeLanguage, RuntimeProbe, SandboxDirs } from './types.js';

export interface CodePlan {
  /** Program to run once the code file exists. */
  argv: string[];
  /** Environment laid under the caller's. */
  env: Record<string, string>;
  /** Where the code goes: the path the process sees, and the host path. */
  file: { inside: string; host: string };
  /** Host path removed when the process has finished. */
  cleanupHost: string;
  /** Python gets RLIMIT_AS in the prlimit tier. */
  python: boolean;
}

export interface PlanContext {
  probe: RuntimeProbe;
  dirs: SandboxDirs;
  /** Namespaces tier: the process sees /tmp and /root; otherwise host paths. */
  isolated: boolean;
  /** Unique per sandbox, for file names. */
  serial: number;
}

/** Scratch location for per-run files, under the sandbox's /tmp. */
function scratchFile(ctx: PlanContext, name: string): { inside: string; host: string } {
  const host = join(ctx.dirs.scratch, '.hopx', name);
  return { inside: ctx.isolated ? `/tmp/.hopx/${name}` : host, host };
}

function homeDir(ctx: PlanContext): string {
  return ctx.isolated ? '/root' : ctx.dirs.home;
}

export function planCode(language: RuntimeLanguage | 'bash', ctx: PlanContext): CodePlan | null {
  const { probe, serial } = ctx;
  switch (language) {
    case 'javascript': {
      if (!probe.node) throw new Error('javascript needs node on the host');
      const file = scratchFile(ctx, `code-${serial}.js`);
      return { argv: [probe.node.path, file.inside], env: {}, file, cleanupHost: file.host, python: false };
    }
    case 'python': {
      if (!probe.python) throw new Error('python needs /usr/bin/python3 on the host');
      const file = scratchFile(ctx, `code-${serial}.py`);
      const env = { MPLBACKEND: 'Agg', MPLCONFIGDIR: `${homeDir(ctx)}/.config/matplotlib` };
      return { argv: ['/usr/bin/python3', file.inside], env, file, cleanupHost: file.host, python: true };
    }
    case 'go': {
      if (!probe.go) throw new Error('go is not installed on the host (apt-get install golang-go)');
      const dir = scratchFile(ctx, `go-${serial}`);
      const home = homeDir(ctx);
      // No module downloads are possible (no internet), so the proxy is off.
      const env = { GOCACHE: `${home}/.cache/go-build`, GOPATH: `${home}/go`, GOPROXY: 'off', GOTOOLCHAIN: 'local', GOTELEMETRY: 'off' };
      const file = { inside: `${dir.inside}/main.go`, host: join(dir.host, 'main.go') };
      return { argv: [probe.go.path, 'run', file.inside], env, file, cleanupHost: dir.host, python: false };
    }
    case 'bash':
      return null; // runs as `bash -c code`, no file
    default:
      throw new Error(`unsupported language ${JSON.stringify(language)}; use python, javascript, bash or go`);
  }
}
