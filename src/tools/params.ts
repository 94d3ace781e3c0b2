/**
 * Parameters shared by several tools, and the words that differ by backend. Every tool's input
 * schema is sent to the model on every turn, so a parameter used in many tools is defined once,
 * here, with one short description. Bounds (lengths, patterns) are enforced by validation in the
 * registration seam, which names the field and the fix; the advertised schema keeps only what a
 * model needs (advertise.ts).
 *
 * An example in a parameter description is written "e.g. <value>" and must work on the backend
 * that shows it: test/mcp/examples.test.ts runs every one against the real local backend.
 */
import { z } from 'zod';
import type { BackendKind } from '../conversation/conversation.js';

/**
 * The optional `sandbox_id` every sandbox-scoped tool takes (added by defineSandboxTool). The one
 * parameter without a description: it appears in some 30 tools, its name says what it is, and
 * leaving it out means the current sandbox, which sandbox_create and the instructions say once.
 */
export const SANDBOX_ID = z.string().min(1).max(128).optional();

/** An id a tool returned earlier (process_id, terminal_id, ...). */
export function idParam(description: string) {
  return z.string().min(1).max(128).describe(description);
}

export const PROCESS_ID = idParam('As returned when the process was started.');

/** An environment variable name. */
export const ENV_NAME = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'variable names are letters, digits and _, not starting with a digit');

/** Environment variables as a JSON object of name → value. */
export const ENV_VARS = z.record(ENV_NAME, z.string().max(100_000));

/** Extra environment variables for one run or command. */
export const RUN_ENV = ENV_VARS.optional().describe('For this run, e.g. {"DEBUG": "1"}');

/** The folders a local sandbox's file tools reach (the local backend refuses the rest). */
const LOCAL_FILE_ROOTS = '/workspace, /tmp or /root';

const absolutePath = (example: string) => z.string().min(1).max(4096).regex(/^\//, `must be an absolute path in the sandbox, e.g. ${example}`);

/** A file or directory path for the file tools; the example must exist or be creatable where used. */
export function filePath(backend: BackendKind, example = '/workspace/data.csv') {
  const where = backend === 'local' ? `Under ${LOCAL_FILE_ROOTS}` : 'Absolute';
  return absolutePath(example).describe(`${where}, e.g. ${example}`);
}

export const WORKING_DIR = absolutePath('/workspace').optional().describe('Default /workspace.');

export const LANGUAGES = ['python', 'javascript', 'bash', 'go'] as const;

/**
 * How a tool description names the sandbox it acts in, where confusion with the caller's own machine
 * is likely. The `cloud` words hold for whatever serves the HopX API: HopX cloud (a VM) or a local
 * backend that HOPX_BASE_URL points at (an isolated sandbox on this machine).
 */
export function inTheSandbox(backend: BackendKind): string {
  return backend === 'local' ? 'in the sandbox (isolated; not your files)' : 'in the sandbox (a separate machine, not yours)';
}
