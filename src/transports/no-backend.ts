/**
 * The server with no backend (docs/decisions.md decision 10): no HOPX_API_KEY, and the local backend cannot
 * run here (not Linux, no usable bubblewrap, ...). The server still starts and lists its tools;
 * every tool that needs a backend answers an isError result saying why and what to configure.
 */
import type { HopxClientApi } from '../client/types.js';
import type { BackendUnavailableError } from '../errors.js';

/** Where a HopX API key comes from (docs/hopx-wire.md §2.1: the console). */
const HOPX_KEY_URL = 'https://console.hopx.dev';

/** The longest probe finding quoted in the message (keeps the whole message short enough to read in one go). */
const MAX_REASON_CHARS = 160;

/** What went wrong with the local backend, as the runtime reports it. */
export interface LocalBackendFailure {
  /** The probe's finding, or the error's message. */
  reason: string;
  /** Installing bubblewrap would fix it. */
  bubblewrapWouldHelp: boolean;
  /** --allow-unisolated would get past it. */
  unisolatedWouldHelp: boolean;
}

/** Reads a local backend start failure (the runtime's IsolationUnavailableError carries its reason). */
export function localFailure(error: unknown): LocalBackendFailure {
  const e = error as { name?: unknown; reason?: unknown; unisolatedWouldHelp?: unknown; message?: unknown } | null;
  if (e?.name === 'IsolationUnavailableError' && typeof e.reason === 'string') {
    const unisolated = e.unisolatedWouldHelp === true;
    return { reason: e.reason, bubblewrapWouldHelp: unisolated, unisolatedWouldHelp: unisolated };
  }
  return { reason: error instanceof Error ? error.message : String(error), bubblewrapWouldHelp: false, unisolatedWouldHelp: false };
}

/** Local sandboxes are Linux-only; elsewhere there is nothing to probe. */
export function unsupportedPlatform(platform: NodeJS.Platform): LocalBackendFailure | null {
  if (platform === 'linux') return null;
  const name = platform === 'darwin' ? 'macOS' : platform === 'win32' ? 'Windows' : platform;
  return { reason: `local sandboxes need Linux with bubblewrap, and this is ${name}`, bubblewrapWouldHelp: false, unisolatedWouldHelp: false };
}

/** One paragraph: no backend, why, and each thing that would fix it. */
export function noBackendMessage(failure: LocalBackendFailure): string {
  const reason = failure.reason.replace(/\s+/g, ' ').trim();
  const why = reason.length > MAX_REASON_CHARS ? `${reason.slice(0, MAX_REASON_CHARS)}…` : reason;
  const fixes = [`set HOPX_API_KEY to use HopX cloud sandboxes (get a key at ${HOPX_KEY_URL})`];
  if (failure.bubblewrapWouldHelp) fixes.push('install bubblewrap (apt-get install bubblewrap) for local sandboxes');
  if (failure.unisolatedWouldHelp) fixes.push('add --allow-unisolated (HOPX_MCP_ALLOW_UNISOLATED=1) if running code unisolated on this machine is acceptable');
  const list = fixes.length === 1 ? fixes[0] : `${fixes.slice(0, -1).join('; ')}; or ${fixes.at(-1)}`;
  return `No sandbox backend is available: HOPX_API_KEY is not set, and ${why}. To fix, ${list}; then restart the MCP server.`;
}

/**
 * A client whose every call rejects with `error`. Any property path is accepted
 * (`client.sandboxes.create`, `client.agent(id).files.read`, ...) and every call returns a value
 * that rejects once awaited, so tools that reach the backend get the explanation, and new client
 * methods need nothing here. Closing it succeeds.
 */
export function failingClient(error: BackendUnavailableError): HopxClientApi {
  const handler: ProxyHandler<() => unknown> = {
    get(_target, property) {
      if (property === 'close') return () => Promise.resolve();
      // Awaiting a call's value rejects; nothing rejects before someone awaits it.
      if (property === 'then') return (_resolve: unknown, reject?: (e: unknown) => void) => reject?.(error);
      if (property === Symbol.asyncIterator || property === Symbol.iterator) return () => node;
      if (typeof property === 'symbol') return undefined;
      return node;
    },
    apply: () => node,
  };
  const node: unknown = new Proxy(() => undefined, handler);
  return node as HopxClientApi;
}
