/**
 * Freezing a sandbox for pause and thawing it for resume (docs/isolation.md §4): the v2 freezer
 * (`cgroup.freeze`), else the v1 freezer, else a SIGSTOP / SIGCONT walk over its processes.
 */
import type { SandboxCgroup } from './cgroups.js';
import { readProc, signalPid } from './proc.js';
import type { PauseTier } from './types.js';

/** Without a freezer, how long to wait for stopped processes to show as stopped. */
const STOP_SETTLE_MS = 2000;
/** Rounds of the SIGSTOP walk: each finds what forked while the last one signalled. */
const WALK_ROUNDS = 10;

export interface FreezeTarget {
  /** The pause tier the runtime chose (docs/isolation.md §8). */
  tier: PauseTier;
  /** The sandbox's cgroups; null when it has none (the prlimit tier). */
  cgroup: SandboxCgroup | null;
  /** Every host pid of the sandbox, the anchor's own included: what the SIGSTOP walk signals. */
  pids: () => Promise<number[]>;
}

/** Freezes (`frozen`) or thaws every process of the sandbox. */
export async function setFrozen(target: FreezeTarget, frozen: boolean): Promise<void> {
  const freezer = target.tier === 'sigstop' || !target.cgroup ? null : target.cgroup.freezerKind(target.tier === 'cgroup-v1-freezer');
  if (freezer) await (frozen ? target.cgroup!.freeze(freezer) : target.cgroup!.thaw(freezer));
  else await signalWalk(target.pids, frozen ? 'SIGSTOP' : 'SIGCONT');
}

/**
 * Pause/resume without a freezer: signal every sandbox process until the set is stable (the walk
 * races with fork), then wait until the stopped ones really show as stopped.
 */
async function signalWalk(pidsNow: () => Promise<number[]>, signal: 'SIGSTOP' | 'SIGCONT'): Promise<void> {
  const done = new Set<number>();
  for (let round = 0; round < WALK_ROUNDS; round++) {
    const fresh = (await pidsNow()).filter((p) => p > 0 && !done.has(p));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signalPid(pid, signal);
      done.add(pid);
    }
  }
  if (signal !== 'SIGSTOP') return;
  const deadline = Date.now() + STOP_SETTLE_MS;
  for (const pid of done) {
    for (;;) {
      const state = (await readProc(pid))?.state;
      // T: stopped; Z/X: exiting; undefined: gone.
      if (state === undefined || state === 'T' || state === 'Z' || state === 'X' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
