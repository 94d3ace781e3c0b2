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
}
