import type { SandboxRuntimeState } from './types.js';

/** Raised when work is asked of a sandbox that is not running; `state` is what it is instead. */
export class SandboxStateError extends Error {
  override name = 'SandboxStateError';

  constructor(
    readonly state: SandboxRuntimeState,
    message: string,
  ) {
    super(message);
  }
}

/** Raised by LocalSandbox.resolvePath when a path leaves the sandbox's allowed roots. */
export class SandboxPathError extends Error {
  constructor(
    readonly code: 'PATH_NOT_ALLOWED' | 'INVALID_PATH',
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'SandboxPathError';
  }
}

/** Raised by createRuntime when the machine cannot isolate sandboxes and no opt-out was given. */
export class IsolationUnavailableError extends Error {
  override name = 'IsolationUnavailableError';

  constructor(
    message: string,
    /** The probe's finding alone (e.g. "bwrap is not installed"), for callers that phrase their own advice. */
    readonly reason: string,
    /** Whether running unisolated (allowUnisolated) would get past this. */
    readonly unisolatedWouldHelp: boolean,
  ) {
    super(message);
  }
}
